//! The synchronisation programs of the tutorials (`../shared/reference/`),
//! one section each, in Rust, each asserting what the Python run shows.
//! Python's seconds become tens of milliseconds (the unlocked ticket race
//! keeps its 0.1 s and 0.2 s) so the whole file runs in a few seconds;
//! endless loops run a few rounds. Covered:
//!
//! - `001_9d74dbb9051f78ff.txt` lines 5–45 (the ticket race without a
//!   lock: more than one buyer gets the last ticket), 109–150 (with the
//!   lock: exactly one), 244–266 (the room `Semaphore(2)` with acquire
//!   timeouts), 327–362 (the traffic light), 378–416 (the red-light runner);
//! - `002_8c4ca20d7732724e.txt` lines 121–131 (hello world under a lock),
//!   149–179 (two subprocesses coordinated by an `Event`, results through a
//!   `Queue`: `joo_b`'s first);
//! - `003_d4550083f0e1b2d6.txt` lines 34–65 (two tasks' lines under a
//!   mutex), 73–93 (show, then buy under the mutex);
//! - `004_9e3599775f03fa77.txt` lines 224–266 (the washroom without a
//!   lock: the tasks' lines interleave), 270–322 (with a lock: they do
//!   not), 327–355 (the mutex ticket purchase), 379–400 (`Semaphore()`, 20
//!   tasks one at a time), 415–448 (cars at the light).
//!
//! Run: `cargo run --example sync`

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipc::{Event, Lock, Process, Queue, Semaphore};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Waits for every child (the tutorials' processes run to completion).
async fn join_all<T: serde::de::DeserializeOwned>(children: Vec<Process<T>>) -> ipc::Result<Vec<T>> {
    let mut out = Vec::new();
    for mut c in children {
        out.push(c.join().await?);
    }
    Ok(out)
}

// ----- the ticket database (a JSON file, as in the tutorials) -----------

#[derive(serde::Serialize, serde::Deserialize)]
struct Db {
    count: u32,
}

fn db_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ipc-example-{name}-{}.json", std::process::id()))
}

/// Writes the database whole: into a file of this process's own, then
/// renamed over the old one, so a reader never sees a half-written file
/// (without the lock it may still read a stale one: that is the race).
fn write_db(path: &Path, count: u32) {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_string(&Db { count }).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// 001's `search()`: read and show the tickets left.
fn search(path: &Path) -> Db {
    let db: Db = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    println!("剩余票数{}", db.count);
    db
}

/// 001's `get_ticket(dic)`: a slow read-check-write, with the tutorial's
/// delays in tenths of a second. Returns whether it sold one.
async fn get_ticket(path: &Path, mut db: Db, tenths: (u64, u64)) -> bool {
    tokio::time::sleep(ms(100 * tenths.0)).await; // 模拟读数据的网络延迟
    if db.count > 0 {
        db.count -= 1;
        tokio::time::sleep(ms(100 * tenths.1)).await; // 模拟写数据的网络延迟
        write_db(path, db.count);
        println!("购票成功,剩余:{}", db.count);
        true
    } else {
        println!("抢票失败,去邀请好友助力!");
        false
    }
}

/// 001 without the lock: every buyer may see the last ticket.
async fn purchase_unlocked((path, i): (PathBuf, u32)) -> bool {
    println!("第{i}个用户");
    // The tutorial's 0.1 s and 0.2 s: every buyer reads before any writes.
    get_ticket(&path, search(&path), (1, 2)).await
}

/// 001 with the lock: `lock.acquire(); get_ticket(search()); lock.release()`.
async fn purchase_locked((lock, path, i): (Lock, PathBuf, u32)) -> bool {
    println!("第{i}个用户");
    let _guard = lock.lock().await.unwrap();
    // Scaled down: these wait for each other.
    get_ticket(&path, search(&path), (0, 0)).await
}

/// 003's `task`: `show()` outside the lock, `buy()` inside it.
fn task_003((mutex, path): (Lock, PathBuf)) -> bool {
    search(&path); // show()
    let _guard = mutex.blocking_lock().unwrap();
    let db: Db = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    if db.count > 0 {
        write_db(&path, db.count - 1);
        println!("抢票成功!");
        true
    } else {
        false
    }
}

/// 004's `buy_ticket(i, lock)`: the whole read-modify-write under the lock.
async fn buy_ticket_004((i, lock, path): (u32, Lock, PathBuf)) -> bool {
    let _guard = lock.lock().await.unwrap();
    let mut db: Db = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    tokio::time::sleep(ms(10)).await;
    let bought = db.count > 0;
    if bought {
        db.count -= 1;
        println!("{i} 买到了票");
    } else {
        println!("{i} 没有买到票");
    }
    tokio::time::sleep(ms(10)).await;
    write_db(&path, db.count);
    bought
}

async fn tickets() -> ipc::Result<()> {
    println!("== 001 抢票, 不加锁 ==");
    let path = db_path("tickets-unlocked");
    write_db(&path, 1); // 仅剩最后一张票
    let buyers = (1..=10).map(|i| Process::spawn(purchase_unlocked, (path.clone(), i))).collect::<Result<_, _>>()?;
    let sold = join_all(buyers).await?.into_iter().filter(|&b| b).count();
    println!("-> without the lock, {sold} buyers got the last ticket");
    assert!(sold > 1, "the race: more than one buyer sold the last ticket");

    println!("== 001 抢票, 加锁 ==");
    let lock = Lock::new()?;
    write_db(&path, 1);
    let buyers =
        (1..=10).map(|i| Process::spawn(purchase_locked, (lock.clone(), path.clone(), i))).collect::<Result<_, _>>()?;
    let sold = join_all(buyers).await?.into_iter().filter(|&b| b).count();
    println!("-> with the lock, {sold} ticket sold");
    assert_eq!(sold, 1, "with the lock exactly one ticket is sold");

    println!("== 003 抢票 (show, then buy under the mutex) ==");
    write_db(&path, 1);
    let buyers = (0..5).map(|_| Process::spawn(task_003, (lock.clone(), path.clone()))).collect::<Result<_, _>>()?;
    assert_eq!(join_all(buyers).await?.into_iter().filter(|&b| b).count(), 1);

    println!("== 004 互斥锁模拟抢票 ==");
    write_db(&path, 1);
    let buyers =
        (0..10).map(|i| Process::spawn(buy_ticket_004, (i, lock.clone(), path.clone()))).collect::<Result<_, _>>()?;
    assert_eq!(join_all(buyers).await?.into_iter().filter(|&b| b).count(), 1);
    std::fs::remove_file(&path)?;
    Ok(())
}

// ----- printing under a lock (002, 003, 004) ----------------------------

/// 002's `f(l, i)`: `l.acquire(); try: print(...) finally: l.release()`.
fn hello((l, i): (Lock, u32)) {
    let _guard = l.blocking_lock().unwrap();
    println!("hello world {i}");
}

/// 004's washroom task, with the lock (`Some`) or without: its lines, and
/// each going in and out noted in `log` (what a reader of the output sees).
async fn washroom((lock, name, log): (Option<Lock>, String, Queue<(String, bool)>)) {
    let _guard = match &lock {
        Some(lock) => Some(lock.lock().await.unwrap()),
        None => None,
    };
    println!("{:-^30}", format!("这是 {name} 任务"));
    println!("{name} 进了洗手间");
    log.put((name.clone(), true)).await.unwrap();
    tokio::time::sleep(ms(fastrand::u64(100..300))).await;
    println!("{name} 办事呢...");
    tokio::time::sleep(ms(fastrand::u64(100..300))).await;
    println!("{name} 走出了洗手间");
    log.put((name, false)).await.unwrap();
}

/// Runs the three washroom tasks; whether someone went in while another
/// was inside.
async fn washroom_run(lock: Option<Lock>) -> ipc::Result<bool> {
    let log = Queue::unbounded()?;
    let children = ["task1", "task2", "task3"]
        .into_iter()
        .map(|name| Process::spawn(washroom, (lock.clone(), name.to_string(), log.clone())))
        .collect::<Result<_, _>>()?;
    join_all(children).await?;
    let mut inside = 0;
    let mut crowded = false;
    while let Ok((_, going_in)) = log.try_get() {
        inside = if going_in { inside + 1 } else { inside - 1 };
        crowded |= inside > 1;
    }
    Ok(crowded)
}

/// 003's `task1`/`task2`: lines that need no lock, then three under it.
async fn nick_and_bgon((mutex, lines, n): (Lock, [String; 3], u32)) {
    println!("{n}"); // (the tutorial prints this 10,000 times)
    let _guard = mutex.lock().await.unwrap();
    for line in lines {
        tokio::time::sleep(ms(fastrand::u64(0..20))).await;
        println!("{line}");
    }
}

async fn printing() -> ipc::Result<()> {
    println!("== 002 hello world under a lock ==");
    let lock = Lock::new()?;
    let children = (0..10).map(|num| Process::spawn(hello, (lock.clone(), num))).collect::<Result<_, _>>()?;
    join_all(children).await?;

    println!("== 003 互斥锁: nick and bgon ==");
    println!("创建锁了!!!!");
    let nick = ["-------name is nick", "-------gender is girl", "-------age is 18"].map(String::from);
    let bgon = ["++++++++name is bgon", "++++++++gender is oldman", "++++++++age is 48"].map(String::from);
    let p1 = Process::spawn(nick_and_bgon, (lock.clone(), nick, 1))?;
    let p2 = Process::spawn(nick_and_bgon, (lock.clone(), bgon, 2))?;
    join_all(vec![p1, p2]).await?;

    println!("== 004 洗手间, 不加锁 ==");
    let crowded = washroom_run(None).await?;
    assert!(crowded, "without the lock the tasks go in together");
    println!("-> without the lock, someone went in while another was inside");

    println!("== 004 洗手间, 加锁 ==");
    let crowded = washroom_run(Some(lock.clone())).await?;
    assert!(!crowded, "with the lock one task at a time");
    println!("-> with the lock, one at a time");
    Ok(())
}

// ----- the room semaphore (001, 004) -------------------------------------

/// 001's `enter_room(smp, i)`: give up after a random 1–3 "seconds".
async fn enter_room((smp, i): (Semaphore, u32)) -> bool {
    match smp.acquire_timeout(ms(100 * fastrand::u64(1..=3))).await.unwrap() {
        Some(permit) => {
            println!("用户{i}进入了房间");
            tokio::time::sleep(ms(100)).await;
            drop(permit);
            println!("用户{i}离开了房间");
            true
        }
        None => {
            println!("等太久,走人");
            false
        }
    }
}

/// 004's `task(name, sem)` with `Semaphore()` (one permit).
fn task_004((name, sem): (u32, Semaphore)) {
    let _permit = sem.blocking_acquire().unwrap();
    println!("{name} 正在执行任务");
    std::thread::sleep(ms(fastrand::u64(5..15)));
    println!("{name} 任务执行完毕");
}

async fn rooms() -> ipc::Result<()> {
    println!("== 001 房间 (Semaphore(2), acquire with a timeout) ==");
    let smp = Semaphore::new(2)?;
    let users = (0..10).map(|i| Process::spawn(enter_room, (smp.clone(), i))).collect::<Result<_, _>>()?;
    let entered = join_all(users).await?.into_iter().filter(|&e| e).count();
    println!("-> {entered} of 10 users got in; the others waited too long");
    assert_eq!(smp.get_value(), 2);

    println!("== 004 Semaphore() ==");
    let sem = Semaphore::new(1)?;
    let tasks = (0..20).map(|i| Process::spawn(task_004, (i, sem.clone()))).collect::<Result<_, _>>()?;
    join_all(tasks).await?;
    assert_eq!(sem.get_value(), 1);
    Ok(())
}

// ----- the traffic light (001, 004) --------------------------------------

/// 001's `light(e)`: green (set) and red (clear) in turn — forever in the
/// tutorial; here a daemon the program stops at the end.
async fn light(e: Event) {
    loop {
        if e.is_set() {
            println!("红灯");
            e.clear();
        } else {
            println!("绿灯");
            e.set();
        }
        tokio::time::sleep(ms(250)).await;
    }
}

/// 001's `car(e, i, l)`: take the lock (the next car to go), wait for green.
async fn car((e, i, l): (Event, u32, Lock)) {
    for _ in 0..2 {
        let _turn = l.lock().await.unwrap();
        e.wait().await.unwrap(); // 红灯停,绿灯行
        println!("奔驰{i}以两秒的时间飘过");
        tokio::time::sleep(ms(40)).await;
    }
}

/// 001's red-light runner: waits at most a random 0–3 "seconds".
async fn impatient_car((e, i, l): (Event, u32, Lock)) -> u32 {
    let mut ran_red = 0;
    for _ in 0..2 {
        let _turn = l.lock().await.unwrap();
        if e.wait_timeout(ms(40 * fastrand::u64(0..=3))).await.unwrap() {
            println!("奔驰{i}以两秒的时间飘过");
        } else {
            println!("奔驰{i}闯红灯以两秒的时间飘过");
            ran_red += 1;
        }
        tokio::time::sleep(ms(40)).await;
    }
    ran_red
}

/// 004's `car(e, i)`: wait once at the light.
fn car_004((e, i): (Event, u32)) {
    if !e.is_set() {
        println!("{i} 号车在红灯处等待");
        e.blocking_wait().unwrap();
    }
    println!("{i} 号车通过");
}

async fn traffic() -> ipc::Result<()> {
    let daemon = || Process::builder().daemon(true);

    println!("== 001 红绿灯 ==");
    let (e, l) = (Event::new()?, Lock::new()?);
    let mut lamp = daemon().spawn(light, e.clone())?;
    let cars = (0..5).map(|i| Process::spawn(car, (e.clone(), i, l.clone()))).collect::<Result<_, _>>()?;
    join_all(cars).await?;
    lamp.terminate()?;
    let _ = lamp.join().await; // terminated: an error by design

    println!("== 001 闯红灯 ==");
    let (e, l) = (Event::new()?, Lock::new()?);
    let mut lamp = daemon().spawn(light, e.clone())?;
    let cars = (0..5).map(|i| Process::spawn(impatient_car, (e.clone(), i, l.clone()))).collect::<Result<_, _>>()?;
    let ran: u32 = join_all(cars).await?.into_iter().sum();
    println!("-> {ran} cars ran the red light");
    lamp.terminate()?;
    let _ = lamp.join().await;

    println!("== 004 车和红绿灯 ==");
    let e = Event::new()?;
    let mut lamp = daemon().spawn(light, e.clone())?;
    let mut cars = Vec::new();
    for i in 0..10 {
        cars.push(Process::spawn(car_004, (e.clone(), i))?);
        tokio::time::sleep(ms(fastrand::u64(0..100))).await;
    }
    join_all(cars).await?;
    lamp.terminate()?;
    let _ = lamp.join().await;
    Ok(())
}

// ----- 002: two subprocesses coordinated by an Event ---------------------

/// `joo_a(q, ev)`: waits for the event unless it is set, then puts 1..=100.
fn joo_a((q, ev): (Queue<u32>, Event)) {
    println!("subprocess joo_a start");
    if !ev.is_set() {
        ev.blocking_wait().unwrap();
    }
    q.blocking_put(fastrand::u32(1..=100)).unwrap();
    println!("subprocess joo_a ended");
}

/// `joo_b(q, ev)`: takes the run (clear), works, puts 200..=300, then lets
/// `joo_a` go (set).
async fn joo_b((q, ev): (Queue<u32>, Event)) {
    println!("subprocess joo_b start");
    ev.clear();
    tokio::time::sleep(ms(200)).await;
    q.put(fastrand::u32(200..=300)).await.unwrap();
    ev.set();
    println!("subprocess joo_b ended");
}

async fn main_event() -> ipc::Result<()> {
    println!("== 002 验证进程间通信 – Event ==");
    let qu = Queue::unbounded()?;
    let ev = Event::new()?;
    let mut sub_a = Process::spawn(joo_a, (qu.clone(), ev.clone()))?;
    let mut sub_b = Process::spawn(joo_b, (qu.clone(), ev.clone()))?;
    sub_a.join().await?;
    sub_b.join().await?;
    let mut got = Vec::new();
    while let Ok(n) = qu.try_get() {
        println!("{n}");
        got.push(n);
    }
    assert_eq!(got.len(), 2);
    assert!((200..=300).contains(&got[0]) && (1..=100).contains(&got[1]), "joo_b's number comes first: {got:?}");
    Ok(())
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    tickets().await?;
    printing().await?;
    rooms().await?;
    traffic().await?;
    main_event().await?;
    Ok(())
}

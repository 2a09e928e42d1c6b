//! Tutorial 001's process-pool programs ("(六)进程池"), in Rust, each with
//! the observable result of the Python run asserted. Python's one-second
//! sleeps become 50 ms. Covered, in `../shared/reference/001_9d74dbb9051f78ff.txt`:
//!
//! - lines 1079–1097: `Pool(5)`, ten `apply_async(func, (i,))` whose results
//!   nobody keeps, "主进程" printed at once, then `close()` + `join()`: all
//!   ten run, on at most five workers;
//! - lines 1133–1152: `map_async(fun, [(1, 2), (1, 2)], chunksize=1)`, then
//!   `result.get()`;
//! - lines 1176–1195: `imap_unordered(fun, [(1, 2), (3, 4)], chunksize=1)`
//!   iterated;
//! - lines 1218–1237: `starmap_async(fun, [(1, 2), (3, 4)], chunksize=1)`;
//! - lines 1273–1313: the ticket purchase: ten clients in a `Pool(5)` behind
//!   a `Manager().Lock()`, one ticket left: exactly one is sold;
//! - lines 1351–1372: `Pool(processes=1, maxtasksperchild=9)`,
//!   `map_async(func, keys, chunksize=1, callback=got)`: the worker's pid
//!   changes after nine tasks and the callback prints the whole list (and
//!   with `chunksize=2`, five tasks, it does not change).
//!
//! Run: `cargo run --example pool_tutorial`

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use futures::StreamExt;
use ipc::manager::LockProxy;
use ipc::{Manager, Pool};

/// Python's `time.sleep(1)`, shortened.
fn nap() {
    std::thread::sleep(Duration::from_millis(50));
}

/// 001's `func(n)`: prints, sleeps, returns `n**2` (and, here, its pid).
fn func(n: u64) -> (u64, u32) {
    println!("i={n}, pid={}", std::process::id());
    nap();
    (n * n, std::process::id())
}

/// 001's `fun(n)` of the map/imap programs, given a tuple.
fn fun(n: (u8, u8)) -> (u8, u8) {
    println!("i={n:?}, pid={}", std::process::id());
    nap();
    n
}

/// 001's `fun(n, k)` of the starmap program.
fn fun2((n, k): (u8, u8)) -> (u8, u8) {
    println!("i={n}, pid={}", std::process::id());
    nap();
    (n, k)
}

// ----- the ticket purchase -------------------------------------------------

fn search(db: &PathBuf) -> serde_json::Value {
    let dic: serde_json::Value = serde_json::from_slice(&std::fs::read(db).expect("the db")).expect("json");
    println!("剩余票数{}", dic["count"]);
    dic
}

/// Whether this client got the ticket.
fn get_ticket(db: &PathBuf, mut dic: serde_json::Value) -> bool {
    std::thread::sleep(Duration::from_millis(10)); // reading over a network
    let count = dic["count"].as_i64().expect("a count");
    if count > 0 {
        dic["count"] = (count - 1).into();
        std::thread::sleep(Duration::from_millis(20)); // writing over a network
        std::fs::write(db, serde_json::to_vec(&dic).expect("json")).expect("the db");
        println!("购票成功,剩余:{}", dic["count"]);
        true
    } else {
        println!("抢票失败,去邀请好友助力!");
        false
    }
}

/// 001's `ticket_purchase(lock, i)`, with the manager's lock.
async fn ticket_purchase((lock, i, db): (LockProxy, u32, PathBuf)) -> bool {
    println!("第{i}个用户");
    lock.acquire().await.expect("the manager's lock");
    let bought = get_ticket(&db, search(&db));
    lock.release().await.expect("the manager's lock");
    bought
}

/// 001's `func(x)` of the maxtasksperchild program: `[x, x+1]`, and the pid
/// that computed it.
fn func_x(x: u32) -> (u32, [u32; 2]) {
    println!("pid:  {}  got:  {x}", std::process::id());
    (std::process::id(), [x, x + 1])
}

#[ipc::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 001: ten apply_async calls on a Pool(5), results not kept ==");
    let p = Pool::new(5).await?;
    let (ran, finished) = mpsc::channel();
    for i in 0..10 {
        // Python drops the AsyncResult too; the task still runs.
        let ran = ran.clone();
        p.apply_async(func, i).callback(move |&(square, pid)| ran.send((square, pid)).unwrap());
    }
    println!("主进程");
    p.close();
    p.join().await?;
    let results: Vec<(u64, u32)> = finished.try_iter().collect();
    let mut squares: Vec<u64> = results.iter().map(|r| r.0).collect();
    squares.sort();
    assert_eq!(squares, (0..10).map(|i| i * i).collect::<Vec<_>>(), "all ten ran");
    let mut pids: Vec<u32> = results.iter().map(|r| r.1).collect();
    pids.sort();
    pids.dedup();
    assert!(pids.len() <= 5, "on the pool's five workers");

    println!("== 001: map_async with chunksize=1 ==");
    let p = Pool::new(4).await?;
    let result = p.map_async_chunked(fun, [(1, 2), (1, 2)], 1);
    println!("主进程");
    let got = result.await?;
    println!("{got:?}");
    assert_eq!(got, [(1, 2), (1, 2)]);

    println!("== 001: imap_unordered over tuples, chunksize=1 ==");
    let mut result = p.imap_unordered_chunked(fun, [(1, 2), (3, 4)], 1);
    println!("主进程");
    let mut seen = Vec::new();
    while let Some(i) = result.next().await {
        let i = i?;
        println!("{i:?}");
        seen.push(i);
    }
    seen.sort();
    assert_eq!(seen, [(1, 2), (3, 4)]);

    println!("== 001: starmap_async, chunksize=1 ==");
    let result = p.starmap_async_chunked(fun2, [(1, 2), (3, 4)], 1);
    println!("主进程");
    let got = result.await?;
    println!("{got:?}");
    assert_eq!(got, [(1, 2), (3, 4)]);
    p.close();
    p.join().await?;

    println!("== 001: the ticket purchase in a Pool(5) with a Manager().Lock() ==");
    let db = std::env::temp_dir().join(format!("ipc-pool-tickets-{}.txt", std::process::id()));
    std::fs::write(&db, br#"{"count": 1}"#)?; // one ticket left
    let manager = Manager::start().await?;
    let lock = manager.lock().await?;
    let p = Pool::new(5).await?;
    let (sold, outcomes) = mpsc::channel();
    for i in 0..10 {
        let sold = sold.clone();
        p.apply_async(ticket_purchase, (lock.clone(), i + 1, db.clone())).callback(move |&b| sold.send(b).unwrap());
    }
    p.close();
    p.join().await?;
    let outcomes: Vec<bool> = outcomes.try_iter().collect();
    assert_eq!(outcomes.len(), 10);
    assert_eq!(outcomes.iter().filter(|&&b| b).count(), 1, "exactly one ticket sold");
    std::fs::remove_file(&db)?;
    manager.shutdown().await?;

    println!("== 001: maxtasksperchild=9, map_async with chunksize=1 and a callback ==");
    let pool = Pool::builder().processes(1).max_tasks_per_child(9).build().await?;
    let keys: Vec<u32> = (1..=10).collect();
    let result = pool
        .map_async_chunked(func_x, keys.clone(), 1)
        .callback(|r| println!("got result:  {:?}", r.iter().map(|(_, pair)| *pair).collect::<Vec<_>>()));
    pool.close();
    pool.join().await?;
    let got = result.await?;
    let pids: Vec<u32> = got.iter().map(|(pid, _)| *pid).collect();
    assert!(pids[..9].iter().all(|&p| p == pids[0]), "one worker for the first nine tasks");
    assert_ne!(pids[9], pids[0], "a new worker for the tenth");
    assert_eq!(
        got.iter().map(|(_, pair)| *pair).collect::<Vec<_>>(),
        keys.iter().map(|&x| [x, x + 1]).collect::<Vec<_>>()
    );
    // chunksize=2: five tasks, no replacement.
    let pool = Pool::builder().processes(1).max_tasks_per_child(9).build().await?;
    let got = pool.map_async_chunked(func_x, keys, 2).await?;
    assert!(got.iter().all(|(pid, _)| *pid == got[0].0), "five tasks: the same worker throughout");
    pool.close();
    pool.join().await?;
    println!("done");
    Ok(())
}

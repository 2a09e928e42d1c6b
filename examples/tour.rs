//! A short, self-checking tour of everything `ipc` does so far. Each step
//! asserts what it shows, so a successful run is also a smoke test.
//!
//! Run: `cargo run --release --example tour`

use std::time::{Duration, Instant};

use futures::StreamExt;
use ipc::{Connection, JoinError, Pipe, Process, RecvError};

fn square(x: u64) -> u64 {
    x * x
}

async fn echo_upper(mut conn: Connection) -> usize {
    let mut n = 0;
    while let Ok(s) = conn.recv::<String>().await {
        conn.send(&s.to_uppercase()).await.unwrap();
        n += 1;
    }
    n
}

fn step(title: &str) {
    println!("\n▸ {title}");
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    let started = Instant::now();
    println!("ipc tour — main process {} on {} CPUs", std::process::id(), ipc::cpu_count());

    step("Processes: spawn a sync fn, an async fn, a closure; join their return values");
    let mut a = Process::spawn(square, 12)?;
    let mut b = Process::spawn(echo_upper, Pipe::duplex()?.0)?; // its peer is gone at once: returns 0
    let mut c = Process::builder().name("greeter").spawn(|who: String| format!("hello, {who}"), "tour".into())?;
    assert_eq!(a.join().await?, 144);
    assert_eq!(b.join().await?, 0);
    assert_eq!(c.join().await?, "hello, tour");
    println!("  square(12) = 144 in pid {}, greeter said hello, exit codes {:?}", a.pid(), c.exitcode());

    step("Failures are values: a panic, an exit code, a signal");
    let mut p = Process::spawn(|()| -> u8 { panic!("deliberate") }, ())?;
    match p.join().await {
        Err(JoinError::Panicked { message, location }) => println!("  panic {message:?} at {}", location.unwrap()),
        other => panic!("expected a panic, got {other:?}"),
    }
    let mut p = Process::spawn(|code: i32| -> u8 { std::process::exit(code) }, 3)?;
    assert!(matches!(p.join().await, Err(JoinError::Exited { code: 3 })));
    let mut p = Process::spawn(|()| std::thread::sleep(Duration::from_secs(30)), ())?;
    p.terminate()?;
    assert!(matches!(p.join().await, Err(JoinError::Signaled { .. })));
    println!("  exit(3) → exitcode {:?}; terminate() → exitcode {:?}", Some(3), p.exitcode());

    step("join_timeout leaves a slow child running; is_alive / active_children see it");
    let mut slow = Process::spawn(|ms: u64| std::thread::sleep(Duration::from_millis(ms)), 200)?;
    assert!(matches!(slow.join_timeout(Duration::from_millis(10)).await, Err(JoinError::Timeout)));
    assert!(slow.is_alive() && ipc::active_children().iter().any(|c| c.pid == slow.pid()));
    slow.join().await?;
    println!("  timed out after 10 ms, then joined; alive now: {}", slow.is_alive());

    step("Identity: names, parent, inherited authkey");
    let mut p = Process::builder().name("child-A").spawn(
        |()| {
            let me = ipc::current_process();
            (me.name().to_owned(), ipc::parent_process().map(|p| p.pid()), *me.authkey())
        },
        (),
    )?;
    let (name, ppid, key) = p.join().await?;
    assert_eq!((name.as_str(), ppid), ("child-A", Some(std::process::id())));
    assert_eq!(&key, ipc::current_process().authkey());
    println!("  child {name:?} sees parent {}, same 32-byte authkey", ppid.unwrap());

    step("Pipes: duplex and simplex, objects and bytes, message boundaries, EOF");
    let (mut left, mut right) = Pipe::duplex()?;
    left.send(&("包子", 3u32)).await?;
    left.send_bytes(b"").await?;
    right.send(&vec![1.5f64, 2.5]).await?;
    assert_eq!(right.recv::<(String, u32)>().await?, ("包子".into(), 3));
    assert_eq!(right.recv_bytes(16).await?, b"");
    assert_eq!(left.recv::<Vec<f64>>().await?, [1.5, 2.5]);
    let (mut rx, mut tx) = Pipe::simplex()?;
    tx.send(&"one way").await?;
    drop(tx);
    assert_eq!(rx.recv::<String>().await?, "one way");
    assert!(rx.recv::<String>().await.unwrap_err().is_eof());
    println!("  objects, an empty message and EOF all arrived as sent");

    step("Errors: BufferTooShort carries the message, BrokenPipe instead of SIGPIPE, poll");
    left.send_bytes("包子包子包子".as_bytes()).await?;
    let mut buf = [0u8; 10];
    match right.recv_bytes_into(&mut buf).await {
        Err(RecvError::BufferTooShort { message, .. }) => {
            println!("  too short: {}", String::from_utf8_lossy(&message))
        }
        other => panic!("expected BufferTooShort, got {other:?}"),
    }
    assert!(!right.poll(Some(Duration::from_millis(5))).await?);
    drop(right);
    assert!(left.send(&1u8).await.unwrap_err().is_broken_pipe());
    println!("  poll timed out on an empty pipe; sending to a closed peer is BrokenPipe");

    step("Handles travel: a Connection into a child, and one through a Connection");
    let (mut here, there) = Pipe::duplex()?;
    let mut echo = Process::spawn(echo_upper, there)?;
    here.send(&"ping").await?;
    assert_eq!(here.recv::<String>().await?, "PING");
    drop(here);
    assert_eq!(echo.join().await?, 1);
    let (mut control, child_end) = Pipe::duplex()?;
    let mut relay = Process::spawn(
        |mut control: Connection| {
            let mut passed: Connection = control.blocking_recv().unwrap();
            passed.blocking_send(&"written by the child").unwrap();
        },
        child_end,
    )?;
    let (mut near, far) = Pipe::duplex()?;
    control.send(&far).await?; // the descriptor travels with the message
    drop(far);
    assert_eq!(near.recv::<String>().await?, "written by the child");
    relay.join().await?;
    println!("  the echo child got its pipe as an argument; the relay child wrote through a passed one");

    step("Several processes share one pipe end without tearing messages");
    let (mut tx, rx) = Pipe::duplex()?;
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(Process::spawn(
            |mut rx: Connection| {
                let mut sum = 0u64;
                while let Ok(v) = rx.blocking_recv::<Vec<u64>>() {
                    sum += v.iter().sum::<u64>();
                }
                sum
            },
            rx.try_clone()?,
        )?);
    }
    drop(rx);
    for i in 0..300u64 {
        tx.send(&vec![i; 1000]).await?;
    }
    drop(tx);
    let mut total = 0;
    for r in &mut readers {
        total += r.join().await?;
    }
    assert_eq!(total, (0..300u64).sum::<u64>() * 1000);
    println!("  3 readers received 300 messages exactly once between them (sum {total})");

    step("Event: every waiter in every process wakes on set()");
    let (go, ready) = (ipc::Event::new()?, ipc::Event::new()?);
    let mut waiters = Vec::new();
    for i in 0..3u32 {
        waiters.push(Process::spawn(
            |(go, ready, i): (ipc::Event, ipc::Event, u32)| async move {
                ready.set();
                go.wait().await.unwrap();
                i
            },
            (go.clone(), ready.clone(), i),
        )?);
    }
    ready.wait().await?;
    let local: Vec<_> = (0..100)
        .map(|_| {
            let go = go.clone();
            tokio::spawn(async move { go.wait().await })
        })
        .collect();
    go.set();
    for task in local {
        task.await.expect("task")?;
    }
    let mut released = 0;
    for w in &mut waiters {
        released += w.join().await?;
    }
    assert_eq!(released, 3); // 0 + 1 + 2
    println!("  one set() released 3 child processes and 100 local tasks");

    step("Lock: 4 processes x 250 increments of a file counter under the lock = 1000");
    let lock = ipc::Lock::new()?;
    let counter = std::env::temp_dir().join(format!("ipc-tour-counter-{}", std::process::id()));
    std::fs::write(&counter, "0")?;
    let mut workers = Vec::new();
    for _ in 0..4 {
        workers.push(Process::spawn(
            |(lock, path): (ipc::Lock, std::path::PathBuf)| async move {
                for _ in 0..250 {
                    let _guard = lock.lock().await.unwrap();
                    let n: u32 = std::fs::read_to_string(&path).unwrap().parse().unwrap();
                    std::fs::write(&path, (n + 1).to_string()).unwrap();
                }
            },
            (lock.clone(), counter.clone()),
        )?);
    }
    for w in &mut workers {
        w.join().await?;
    }
    let total: u32 = std::fs::read_to_string(&counter)?.parse().expect("a number");
    std::fs::remove_file(&counter)?;
    assert_eq!(total, 1000);
    println!("  counter = {total}: no increment lost");

    step("Owner death: a holder SIGKILLed with the lock hands it on as OwnerDied");
    let held = ipc::Event::new()?;
    let mut holder = Process::spawn(
        |(lock, held): (ipc::Lock, ipc::Event)| async move {
            let _guard = lock.lock().await.unwrap();
            held.set();
            std::future::pending::<()>().await
        },
        (lock.clone(), held.clone()),
    )?;
    held.wait().await?;
    let killed = Instant::now();
    holder.kill()?;
    match lock.lock().await {
        Err(ipc::LockError::OwnerDied(guard)) => guard.make_consistent(),
        other => panic!("expected OwnerDied, got {other:?}"),
    }
    assert!(holder.join().await.is_err());
    println!("  the next acquirer had the lock {:.1?} after the SIGKILL", killed.elapsed());

    step("Semaphore, Condition, Barrier: a room for 2, a notification, a meeting of 3");
    let (room, barrier) = (ipc::Semaphore::new(2)?, ipc::Barrier::new(3)?);
    let cond = ipc::Condition::new()?;
    let mut guests = Vec::new();
    for _ in 0..2 {
        guests.push(Process::spawn(
            |(room, barrier, cond): (ipc::Semaphore, ipc::Barrier, ipc::Condition)| async move {
                let _permit = room.acquire().await.unwrap();
                let index = barrier.wait().await.unwrap();
                let guard = cond.lock().await.unwrap();
                drop(guard.wait().await.unwrap());
                index
            },
            (room.clone(), barrier.clone(), cond.clone()),
        )?);
    }
    let mine = barrier.wait().await?;
    assert!(room.try_acquire().is_none(), "both guests are in the room");
    while cond.get_lock().is_locked() || guests.iter().any(|g| g.is_alive()) {
        cond.lock().await?.notify_all();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut indices = vec![mine];
    for g in &mut guests {
        indices.push(g.join().await?);
    }
    indices.sort();
    assert_eq!(indices, [0, 1, 2]);
    assert_eq!(room.get_value(), 2);
    println!("  barrier indices {indices:?}, room empty again, both waiters notified");

    step("Queues: 2 producers x 2 consumers, close() instead of sentinels, exact accounting");
    let q = ipc::Queue::<u64>::bounded(16)?;
    let mut producers = Vec::new();
    for p in 0..2u64 {
        producers.push(Process::spawn(
            |(q, p): (ipc::Queue<u64>, u64)| async move {
                for i in 0..1000 {
                    q.put(p * 1000 + i).await.unwrap();
                }
            },
            (q.clone(), p),
        )?);
    }
    let mut consumers = Vec::new();
    for _ in 0..2 {
        consumers.push(Process::spawn(
            |q: ipc::Queue<u64>| async move {
                use futures::StreamExt;
                q.stream().fold((0u64, 0u64), |(n, sum), v| async move { (n + 1, sum + v.unwrap()) }).await
            },
            q.clone(),
        )?);
    }
    for p in &mut producers {
        p.join().await?;
    }
    q.close(); // consumers drain the rest, then their streams end: no sentinels
    let (mut n, mut sum) = (0, 0);
    for c in &mut consumers {
        let (cn, csum) = c.join().await?;
        n += cn;
        sum += csum;
    }
    assert_eq!((n, sum), (2000, 1999 * 2000 / 2));
    let jobs = ipc::JoinableQueue::<u32>::unbounded()?;
    let _worker = Process::builder().daemon(true).spawn(
        |jobs: ipc::JoinableQueue<u32>| async move {
            while jobs.get().await.is_ok() {
                jobs.task_done().unwrap();
            }
        },
        jobs.clone(),
    )?;
    for j in 0..100 {
        jobs.put(j).await?;
    }
    jobs.join().await?;
    println!("  2000 items, each received exactly once; a JoinableQueue joined after 100 tasks were done");

    step("Shared data: a Value under its lock, an Array, a ShareableList Python can read");
    let total = ipc::Value::new(0u64)?;
    let adders: Vec<Process<()>> = (0..3)
        .map(|_| {
            Process::spawn(
                |total: ipc::Value<u64>| async move {
                    for _ in 0..1000 {
                        *total.get_lock().await.unwrap() += 1;
                    }
                },
                total.clone(),
            )
        })
        .collect::<Result<_, _>>()?;
    for mut a in adders {
        a.join().await?;
    }
    assert_eq!(total.load().await?, 3000);
    let squares = ipc::Array::<u64>::zeroed(8)?;
    let mut filler = Process::spawn(
        |a: ipc::Array<u64>| async move {
            for (i, x) in a.get_lock().await.unwrap().iter_mut().enumerate() {
                *x = (i * i) as u64;
            }
        },
        squares.clone(),
    )?;
    filler.join().await?;
    assert_eq!(squares.to_vec().await?, [0, 1, 4, 9, 16, 25, 36, 49]);
    let list = ipc::ShareableList::create(None, [ipc::shared::Item::from("howdy"), 42.into(), 2.5.into()])?;
    let mut changer = Process::spawn(
        |name: String| {
            ipc::ShareableList::open(&name).and_then(|l| l.set(-1, -999).map_err(std::io::Error::other)).is_ok()
        },
        list.shm().name().to_owned(),
    )?;
    assert!(changer.join().await?);
    assert_eq!(list.get(-1)?, (-999).into());
    println!(
        "  3 processes x 1000 locked increments = {}; squares {:?}; ShareableList {} in Python's layout (name {})",
        total.load().await?,
        squares.to_vec().await?,
        list.iter().map(|i| i.map(|i| i.to_string()).unwrap_or_default()).collect::<Vec<_>>().join(", "),
        list.shm().name()
    );
    list.shm().unlink()?;

    step("Pool: map in order, a panicking task and a killed worker fail alone");
    let pool = ipc::Pool::new(2).await?;
    let squares = pool.map(square, 0..100).await?;
    assert_eq!(squares.iter().sum::<u64>(), (0..100u64).map(|x| x * x).sum());
    let outcomes: Vec<Result<u64, ipc::TaskError>> = pool
        .imap(
            |i: u64| {
                match i {
                    3 => panic!("task {i} gives up"),
                    // SAFETY: SIGKILL to this very process (the worker holding task 6).
                    6 => unsafe { libc::kill(std::process::id() as i32, libc::SIGKILL) },
                    _ => 0,
                };
                i
            },
            0..10,
        )
        .collect()
        .await;
    let failed: Vec<String> = outcomes.iter().filter_map(|o| o.as_ref().err().map(|e| e.to_string())).collect();
    assert_eq!((outcomes.iter().filter(|o| o.is_ok()).count(), failed.len()), (8, 2), "{outcomes:?}");
    println!("  100 squares in order; of 10 tasks 8 returned, and: {}", failed.join("; "));
    pool.terminate().await;

    step("Managers: a dict and a list in a server process, a child edits them, an exited holder frees its lock");
    let manager = ipc::Manager::builder().register::<Tally>().start().await?;
    let d = manager.dict::<String, u32>().await?;
    let l = manager.list_from(&(0..5).collect::<Vec<u32>>()).await?;
    let lock = manager.lock().await?;
    let mut child = ipc::Process::spawn(edit_managed, (d.clone(), l.clone(), lock.clone()))?;
    child.join().await?;
    assert_eq!(d.get(&"from the child".to_string()).await?, Some(7));
    assert_eq!(l.to_vec().await?, [4, 3, 2, 1, 0]);
    // The child exited holding the lock: its connection closed, so the
    // server released it (Python's manager would keep it locked).
    assert!(lock.acquire_timeout(Duration::from_secs(5)).await?);
    println!("  dict {:?}, list reversed, lock recovered from an exited holder", d.items().await?);
    // A type of our own, served by the manager; only #[expose]d methods are callable.
    let tally = manager.create(&Tally { total: 0 }).await?;
    let mut adders: Vec<_> =
        (1..=3).map(|n| ipc::Process::spawn(add_to_tally, (tally.clone(), n))).collect::<Result<_, _>>()?;
    for adder in &mut adders {
        adder.join().await?;
    }
    assert_eq!(tally.add(0).await?, 6);
    println!("  a custom Tally, added to by 3 processes: {}", tally.add(0).await?);
    manager.shutdown().await?;

    step("Daemons die with the parent; main waits for the rest at exit");
    let daemon = Process::builder().daemon(true).spawn(|()| std::thread::sleep(Duration::from_secs(60)), ())?;
    println!("  daemon {} is left running on purpose: #[ipc::main] terminates it on return", daemon.pid());

    println!("\ntour finished in {:.0?}: every step checked itself", started.elapsed());
    Ok(())
}

/// A custom managed type: one value in the manager, shared by every proxy.
#[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
struct Tally {
    total: u64,
}

#[ipc::managed]
impl Tally {
    /// Adds `n`; the new total.
    #[expose]
    fn add(&mut self, n: u64) -> u64 {
        self.total += n;
        self.total
    }
}

async fn add_to_tally((tally, n): (TallyProxy, u64)) {
    tally.add(n).await.unwrap();
}

async fn edit_managed(
    args: (ipc::manager::DictProxy<String, u32>, ipc::manager::ListProxy<u32>, ipc::manager::LockProxy),
) {
    let (d, l, lock) = args;
    lock.acquire().await.unwrap();
    d.insert(&"from the child".to_string(), &7).await.unwrap();
    l.reverse().await.unwrap();
    // Exits without releasing.
}

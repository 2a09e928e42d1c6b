//! Managers, as in tutorial 002 ("6、共享内存管理器Manager",
//! `../shared/reference/002_8c4ca20d7732724e.txt`):
//!
//! 1. Lines 306–322: `Manager()` with a `dict` and a `list` changed by a
//!    child process (`d[1] = '1'; d['2'] = 2; d[0.25] = None; l.reverse()`).
//! 2. Lines 341–356: a custom type registered with a manager
//!    (`MyManager.register('Maths', MathsClass)`), used through its proxy:
//!    prints 7 and 56.
//! 3. Lines 329–338: `SharedMemoryManager`: a `ShareableList` of 2000
//!    numbers whose halves two processes work on, summed afterwards; its
//!    block is unlinked at the manager's shutdown.
//! 4. A remote manager: a server program serving two queues by name on a
//!    TCP address with an authkey (Python's `register('get_queue',
//!    callable=...)`), worker programs and a producer that share only the
//!    address and the key and find the queues by name (`register('get_queue')`
//!    and `m.get_queue()`): three *separate programs* (this example re-run
//!    as plain commands, not children of one tree).
//!
//! Run with `cargo run --example managers`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use ipc::ShareableList;
use ipc::manager::{DictProxy, ListProxy, Named, QueueProxy, SharedMemoryManager};
use ipc::shared::Item;

/// 002's `f(d, l)`.
async fn f(args: (DictProxy<Item, Item>, ListProxy<i64>)) {
    let (d, l) = args;
    d.insert(&Item::from(1), &Item::from("1")).await.unwrap();
    d.insert(&Item::from("2"), &Item::from(2)).await.unwrap();
    d.insert(&Item::from(0.25), &Item::None).await.unwrap();
    l.reverse().await.unwrap();
}

/// A Python-style rendering of the dict: `{1: '1', '2': 2, 0.25: None}`.
async fn render(d: &DictProxy<Item, Item>) -> ipc::Result<String> {
    let items = d.items().await?;
    let repr = |item: &Item| match item {
        Item::Str(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    let inner: Vec<String> = items.iter().map(|(k, v)| format!("{}: {}", repr(k), repr(v))).collect();
    Ok(format!("{{{}}}", inner.join(", ")))
}

/// The SharedMemoryManager program's `do_work(sl, start, stop)`: squares
/// its part of the list in place.
fn do_work((name, start, stop): (String, isize, isize)) -> Result<(), String> {
    let sl = ShareableList::open(&name).map_err(|e| e.to_string())?;
    for i in start..stop {
        if let Item::Int(n) = sl.get(i).map_err(|e| e.to_string())? {
            sl.set(i, n * n).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// 002's `MathsClass`: its values live in the manager's server process;
/// `#[expose]` marks what a proxy may call.
#[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
struct MathsClass;

#[ipc::managed]
impl MathsClass {
    #[expose]
    fn add(&self, x: i64, y: i64) -> i64 {
        x + y
    }

    #[expose]
    fn mul(&self, x: i64, y: i64) -> i64 {
        x * y
    }
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("--worker") => return worker().await,
        Some("--server") => return server(),
        _ => {}
    }

    println!("== Manager: a dict and a list changed by a child ==");
    let manager = ipc::Manager::start().await?;
    let d = manager.dict::<Item, Item>().await?;
    let l = manager.list_from(&(0..10).collect::<Vec<i64>>()).await?;
    let mut p = ipc::Process::spawn(f, (d.clone(), l.clone()))?;
    p.join().await?;
    // Python ≥ 3.7 prints insertion order: {1: '1', '2': 2, 0.25: None}
    // (the tutorial shows an older Python's order).
    let shown = render(&d).await?;
    println!("{shown}");
    assert_eq!(shown, "{1: '1', '2': 2, 0.25: None}");
    let reversed = l.to_vec().await?;
    println!("{reversed:?}");
    assert_eq!(reversed, (0..10).rev().collect::<Vec<_>>());
    manager.shutdown().await?;

    println!("== A registered type: MathsClass ==");
    let manager = ipc::Manager::builder().register::<MathsClass>().start().await?;
    let maths = manager.create(&MathsClass).await?;
    let (sum, product) = (maths.add(4, 3).await?, maths.mul(7, 8).await?);
    println!("{sum}");
    println!("{product}");
    assert_eq!((sum, product), (7, 56));
    manager.shutdown().await?;

    println!("== SharedMemoryManager: two processes share the work on a ShareableList ==");
    let smm = SharedMemoryManager::start().await?;
    let sl = smm.shareable_list(0..2000i64).await?;
    let name = sl.shm().name().to_string();
    // Python pickles a ShareableList by its name; the children open it by name.
    let mut p1 = ipc::Process::spawn(do_work, (name.clone(), 0, 1000))?;
    let mut p2 = ipc::Process::spawn(do_work, (name.clone(), 1000, 2000))?; // a Pool might be more efficient
    p1.join().await?.map_err(std::io::Error::other)?;
    p2.join().await?.map_err(std::io::Error::other)?;
    let mut total_result = 0;
    for item in sl.iter() {
        if let Item::Int(n) = item? {
            total_result += n;
        }
    }
    println!("total_result = {total_result}");
    assert_eq!(total_result, (0..2000i64).map(|i| i * i).sum::<i64>());
    drop(sl);
    smm.shutdown().await?;
    assert!(ipc::SharedMemory::open(&name).is_err(), "the block outlived its manager");
    println!("the list's block {name} was unlinked at shutdown");

    println!("== A remote manager: a distributed queue over TCP ==");
    // Three kinds of program that share only an address and a key, as in
    // Python's "Using a remote manager": a server program serving two
    // queues by name, worker programs, and this one, the producer. None is
    // a child of another's ipc tree (each is a plain command).
    let exe = std::env::current_exe()?;
    let mut server = Command::new(&exe).arg("--server").stdout(Stdio::piped()).spawn()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("piped")).read_line(&mut line)?;
    let address: ipc::Address = line.trim().parse()?;
    println!("the server listens at {address}");
    let mut workers = Vec::new();
    for _ in 0..2 {
        workers.push(Command::new(&exe).arg("--worker").arg(address.to_string()).spawn()?);
    }
    let manager = ipc::Manager::connect(address, KEY).await?;
    let tasks: QueueProxy<u64> = manager.named("tasks").await?;
    let results: QueueProxy<(u64, u64)> = manager.named("results").await?;
    // The producer side: ten numbers, then one stop sign per worker.
    for n in 1..=10 {
        tasks.put(n).await?;
    }
    for _ in &workers {
        tasks.put(0).await?;
    }
    let mut squares = Vec::new();
    for _ in 1..=10 {
        squares.push(results.get().await?);
    }
    squares.sort();
    println!("results: {squares:?}");
    assert_eq!(squares, (1..=10).map(|n| (n, n * n)).collect::<Vec<_>>());
    for mut worker in workers {
        assert!(worker.wait()?.success());
    }
    drop((tasks, results));
    manager.shutdown().await?;
    assert!(server.wait()?.success());
    println!("done");
    Ok(())
}

/// The key the three programs share (as Python's `authkey=b'abracadabra'`).
const KEY: &[u8] = b"distributed";

/// The server program: two queues served by name on a TCP port it picks,
/// whose address it prints; it runs until a client shuts it down.
fn server() -> ipc::Result<()> {
    let listener = ipc::Listener::builder("127.0.0.1:0".parse()?).authkey(KEY).bind()?;
    println!("{}", listener.address());
    std::io::stdout().flush()?;
    ipc::Manager::builder().named("tasks", Named::queue(0)).named("results", Named::queue(0)).serve(listener)?;
    Ok(())
}

/// A worker program: given the server's address (and knowing the key), it
/// finds the queues by name and squares numbers until it takes a 0.
async fn worker() -> ipc::Result<()> {
    let address: ipc::Address = std::env::args().nth(2).expect("the server's address").parse()?;
    let manager = ipc::Manager::connect(address, KEY).await?;
    let tasks: QueueProxy<u64> = manager.named("tasks").await?;
    let results: QueueProxy<(u64, u64)> = manager.named("results").await?;
    loop {
        let n = tasks.get().await?;
        if n == 0 {
            return Ok(());
        }
        println!("worker {} squares {n}", std::process::id());
        results.put((n, n * n)).await?;
    }
}

//! Managers, as in tutorial 002 ("6、共享内存管理器Manager"):
//!
//! 1. `Manager()` with a `dict` and a `list` changed by a child process
//!    (`d[1] = '1'; d['2'] = 2; d[0.25] = None; l.reverse()`).
//! 2. A custom type registered with a manager (`MyManager.register('Maths',
//!    MathsClass)`), used through its proxy: prints 7 and 56.
//! 3. `SharedMemoryManager`: a `ShareableList` of 2000 numbers whose
//!    halves two processes work on, summed afterwards; its block is
//!    unlinked at the manager's shutdown.
//! 4. A remote manager: a server on a TCP address with an authkey, and a
//!    distributed queue fed by a producer and drained by workers in
//!    *separate programs* (this example re-run as a plain command, not a
//!    child of this tree), which reach the server over TCP.
//!
//! Run with `cargo run --example managers`.

use std::io::Write;
use std::process::{Command, Stdio};

use ipc::manager::{DictProxy, ListProxy, QueueProxy, SharedMemoryManager};
use ipc::shared::Item;
use ipc::ShareableList;

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

/// What a worker program is given on its stdin.
#[derive(serde::Serialize, serde::Deserialize)]
struct Job {
    tasks: QueueProxy<u64>,
    results: QueueProxy<(u64, u64)>,
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
    if std::env::args().nth(1).as_deref() == Some("--worker") {
        return worker().await;
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
    let listener = ipc::Listener::builder("127.0.0.1:0".parse()?).authkey(b"distributed").bind()?;
    let address = listener.address().clone();
    let server = std::thread::spawn(move || ipc::manager::serve(listener));
    let manager = ipc::Manager::connect(address.clone(), b"distributed").await?;
    println!("serving at {address}");
    let tasks = manager.queue::<u64>(0).await?;
    let results = manager.queue::<(u64, u64)>(0).await?;

    // Two workers: separate programs (not children of this process tree),
    // each given the server's address and the queue proxies on its stdin.
    // A proxy carries no key: a worker connects with the key it was
    // configured with (here the same constant), as Python's clients do.
    let exe = std::env::current_exe()?;
    let mut workers = Vec::new();
    for _ in 0..2 {
        let mut worker = Command::new(&exe).arg("--worker").arg(address.to_string()).stdin(Stdio::piped()).spawn()?;
        let job = serde_json::to_vec(&Job { tasks: tasks.clone(), results: results.clone() })
            .map_err(std::io::Error::other)?;
        worker.stdin.take().expect("piped").write_all(&job)?;
        workers.push(worker);
    }
    // The producer side: ten numbers, then one stop sign per worker.
    for n in 1..=10 {
        tasks.put(&n).await?;
    }
    for _ in &workers {
        tasks.put(&0).await?;
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
    server.join().expect("server thread")?;
    println!("done");
    Ok(())
}

/// A worker program: squares numbers until it takes a 0.
async fn worker() -> ipc::Result<()> {
    let address: ipc::Address = std::env::args().nth(2).expect("the server's address").parse()?;
    let _manager = ipc::Manager::connect(address, b"distributed").await?;
    let job: Job = serde_json::from_reader(std::io::stdin()).map_err(std::io::Error::other)?;
    loop {
        let n = job.tasks.get().await?;
        if n == 0 {
            return Ok(());
        }
        println!("worker {} squares {n}", std::process::id());
        job.results.put(&(n, n * n)).await?;
    }
}

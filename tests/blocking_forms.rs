//! Every waiting method has a `blocking_*` twin that works in synchronous
//! code with no runtime: the README's claim, checked over the sources, and
//! used the way Python code is shaped — a synchronous child target that
//! works a manager dict and a pool — with blocking and async calls mixed on
//! one connection.

mod support;

use std::path::Path;

use serde::{Deserialize, Serialize};

use ipc::manager::{DictProxy, ListProxy, QueueProxy};
use ipc::{Manager, Pool, Process};
use support::bounded;

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_public_async_method_has_a_blocking_twin() {
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut missing = Vec::new();
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let Some(rest) = line.trim_start().strip_prefix("pub async fn ") else { continue };
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            seen += 1;
            if !text.contains(&format!("pub fn blocking_{name}")) {
                missing.push(format!("{}: {name}", file.display()));
            }
        }
    }
    assert!(seen > 150, "the scan found the async methods ({seen})");
    assert!(missing.is_empty(), "async methods without a blocking_* twin:\n{}", missing.join("\n"));
}

#[derive(Serialize, Deserialize, ipc::Managed)]
struct Counter {
    n: u64,
}

#[ipc::managed]
impl Counter {
    #[expose]
    fn add(&mut self, k: u64) -> u64 {
        self.n += k;
        self.n
    }
}

/// A synchronous child target, as Python code is shaped: no runtime, a
/// manager dict, a list and a queue, a custom proxy, and a pool of its own.
fn sync_worker(
    (d, l, q, c): (DictProxy<String, u64>, ListProxy<u64>, QueueProxy<u64>, CounterProxy),
) -> (u64, Vec<u64>) {
    assert!(tokio::runtime::Handle::try_current().is_err(), "a synchronous target has no runtime");
    let pool = Pool::blocking_new(2).unwrap();
    let squares = pool.blocking_map(|x: u64| x * x, 0..5).unwrap();
    for s in &squares {
        l.blocking_push(s).unwrap();
    }
    d.blocking_insert("sum", &squares.iter().sum()).unwrap();
    let n = d.blocking_setdefault("seen", &0).unwrap();
    d.blocking_insert("seen", &(n + 1)).unwrap();
    q.blocking_put(7).unwrap();
    c.blocking_add(5).unwrap();
    pool.close();
    pool.blocking_join().unwrap();
    (d.blocking_get("sum").unwrap().unwrap(), l.blocking_to_vec().unwrap())
}

#[ipc::test]
async fn a_synchronous_child_target_uses_a_manager_dict_and_a_pool() {
    let manager = bounded(Manager::builder().register::<Counter>().start()).await.unwrap();
    let d = manager.dict::<String, u64>().await.unwrap();
    let l = manager.list::<u64>().await.unwrap();
    let q = manager.queue::<u64>(0).await.unwrap();
    let c = manager.create(&Counter { n: 1 }).await.unwrap();
    let mut child = Process::spawn(sync_worker, (d.clone(), l.clone(), q.clone(), c.clone())).unwrap();
    let (sum, list) = bounded(child.join()).await.unwrap();
    assert_eq!(sum, 30);
    assert_eq!(list, [0, 1, 4, 9, 16]);
    assert_eq!(d.get("seen").await.unwrap(), Some(1));
    assert_eq!(q.get().await.unwrap(), 7);
    assert_eq!(c.add(0).await.unwrap(), 6);
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn blocking_and_async_calls_mix_on_one_connection() {
    // Threads making blocking calls and tasks making async ones, on the
    // same proxies of one process: every call gets its own reply.
    let manager = bounded(Manager::start()).await.unwrap();
    let d = manager.dict::<u64, u64>().await.unwrap();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let d = d.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let k = t * 1000 + i;
                    d.blocking_insert(&k, &(k * 2)).unwrap();
                    assert_eq!(d.blocking_get(&k).unwrap(), Some(k * 2));
                }
            })
        })
        .collect();
    let tasks: Vec<_> = (4..8u64)
        .map(|t| {
            let d = d.clone();
            tokio::spawn(async move {
                for i in 0..200 {
                    let k = t * 1000 + i;
                    d.insert(&k, &(k * 2)).await.unwrap();
                    assert_eq!(d.get(&k).await.unwrap(), Some(k * 2));
                }
            })
        })
        .collect();
    for t in tasks {
        bounded(t).await.unwrap();
    }
    let joined = tokio::task::spawn_blocking(move || threads.into_iter().try_for_each(|t| t.join()));
    bounded(joined).await.unwrap().unwrap();
    assert_eq!(d.len().await.unwrap(), 1600);
    bounded(manager.shutdown()).await.unwrap();
}

/// A whole synchronous program: a manager and a pool started without a
/// runtime anywhere.
fn synchronous_program(_: ()) -> Vec<u8> {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let manager = Manager::blocking_start().unwrap();
    let d = manager.blocking_dict::<String, String>().unwrap();
    d.blocking_update(&[("k".into(), "v".into())]).unwrap();
    assert_eq!(d.blocking_keys().unwrap(), ["k"]);
    let lock = manager.blocking_lock().unwrap();
    lock.blocking_acquire().unwrap();
    lock.blocking_release().unwrap();
    manager.blocking_shutdown().unwrap();
    let pool = Pool::blocking_new(1).unwrap();
    let doubled: Vec<u8> = pool.blocking_imap(|x: u8| x * 2, [1, 2, 3]).map(Result::unwrap).collect();
    pool.blocking_terminate();
    doubled
}

#[ipc::test]
async fn a_synchronous_program_starts_a_manager_and_a_pool() {
    let mut p = Process::spawn(synchronous_program, ()).unwrap();
    assert_eq!(bounded(p.join()).await.unwrap(), [2, 4, 6]);
}

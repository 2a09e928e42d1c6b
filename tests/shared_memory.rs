//! `SharedMemory` across processes: CPython's shared_memory behaviours
//! (`_test_multiprocessing.py`, `_TestSharedMemory`) and the resource
//! tracker (a separate process tree, SIGKILLed, leaves nothing behind).
//!
//! Every test that makes a block is an `#[ipc::test]`, so the resource
//! tracker unlinks what a failing test leaves.
#![allow(clippy::disallowed_types)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ipc::{AccessError, Event, Process, SharedMemory};
use support::bounded;

/// A name no parallel test (or test run) uses.
fn unique(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("ipc_t{}_{what}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn exists(name: &str) -> bool {
    Path::new("/dev/shm").join(name).exists()
}

#[ipc::test]
async fn the_tutorials_walk_through() {
    let a = SharedMemory::create(None, 10).unwrap();
    assert_eq!(a.size(), 10);
    a.write_at(0, &[22, 33, 44, 55]).unwrap();
    a.write_at(4, &[100]).unwrap();
    let b = SharedMemory::open(a.name()).unwrap();
    let mut buf = [0u8; 5];
    b.read_at(0, &mut buf).unwrap();
    assert_eq!(buf, [22, 33, 44, 55, 100]);
    b.write_at(0, b"howdy").unwrap();
    a.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"howdy");
    b.close();
    a.unlink().unwrap();
    assert!(!exists(a.name()));
}

#[ipc::test]
async fn names_sizes_and_errors_as_in_python() {
    let name = unique("errors");
    let shm = SharedMemory::create(Some(&name), 512).unwrap();
    assert_eq!(shm.name(), name);
    assert!(exists(&name), "a Python-compatible name in /dev/shm");
    // A leading slash is the same name, as in Python.
    assert_eq!(SharedMemory::open(&format!("/{name}")).unwrap().size(), 512);
    assert_eq!(SharedMemory::create(Some(&name), 1).unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(SharedMemory::create(None, 0).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(SharedMemory::create(Some("a/b"), 1).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    assert!(matches!(shm.read_at(510, &mut [0; 3]), Err(AccessError::OutOfBounds { offset: 510, len: 3, size: 512 })));
    assert!(shm.write_at(usize::MAX, &[1]).is_err(), "an overflowing offset is out of bounds, not a panic");
    shm.unlink().unwrap();
    assert_eq!(shm.unlink().unwrap_err().kind(), std::io::ErrorKind::NotFound);
    assert_eq!(SharedMemory::open(&name).unwrap_err().kind(), std::io::ErrorKind::NotFound);
    // Random names are Python's: psm_ and eight hex digits.
    let r = SharedMemory::create(None, 1).unwrap();
    assert!(r.name().len() == 12 && r.name().starts_with("psm_"), "{}", r.name());
    r.unlink().unwrap();
}

#[ipc::test]
async fn blocks_travel_to_children_and_attachers_leave_them_in_place() {
    let name = unique("travel");
    let shm = SharedMemory::create(Some(&name), 64).unwrap();
    // As a handle (its descriptor travels), and by name.
    let mut p = Process::spawn(
        |(shm, name): (SharedMemory, String)| {
            shm.write_at(0, b"by handle").unwrap();
            let by_name = SharedMemory::open(&name).unwrap();
            by_name.write_at(32, b"by name").unwrap();
        },
        (shm_handle(&shm), name.clone()),
    )
    .unwrap();
    bounded(p.join()).await.unwrap();
    let mut buf = [0u8; 9];
    shm.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"by handle");
    shm.read_at(32, &mut buf[..7]).unwrap();
    assert_eq!(&buf[..7], b"by name");
    assert!(exists(&name), "an attacher's exit leaves the block");
    shm.unlink().unwrap();
}

/// A second handle to the same block, to move into a spawn argument.
fn shm_handle(shm: &SharedMemory) -> SharedMemory {
    SharedMemory::open(shm.name()).unwrap()
}

/// Run by `a_killed_tree_leaves_no_blocks_behind` as a process tree of its
/// own: a child creates two blocks (one persistent) and both wait to be
/// killed.
#[ipc::test]
#[ignore = "a helper: run by a_killed_tree_leaves_no_blocks_behind as a separate process tree"]
async fn tracker_helper_tree() {
    let Ok(base) = std::env::var("IPC_TRACKER_TEST_BASE") else { return };
    let ready = Event::new().unwrap();
    let _child = Process::spawn(
        |(base, ready): (String, Event)| async move {
            let a = SharedMemory::create(Some(&format!("{base}_tracked")), 4096).unwrap();
            let b = SharedMemory::create(Some(&format!("{base}_kept")), 4096).unwrap();
            b.persist();
            ready.set();
            std::future::pending::<()>().await;
            drop((a, b));
        },
        (base, ready.clone()),
    )
    .unwrap();
    ready.wait().await.unwrap();
    println!("READY");
    std::future::pending::<()>().await
}

#[test]
fn a_killed_tree_leaves_no_blocks_behind() {
    let base = unique("tree");
    let (tracked, kept) = (format!("{base}_tracked"), format!("{base}_kept"));
    let mut tree = Command::new(std::env::current_exe().unwrap())
        .args(["tracker_helper_tree", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("IPC_TRACKER_TEST_BASE", &base)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = tree.stdout.take().unwrap();
    let reader =
        std::thread::spawn(move || BufReader::new(stdout).lines().any(|l| l.is_ok_and(|l| l.ends_with("READY"))));
    let deadline = Instant::now() + support::WATCHDOG;
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let ready = reader.is_finished() && reader.join().unwrap();
    // SIGKILL the tree's root; its child dies with it (PDEATHSIG).
    tree.kill().unwrap();
    tree.wait().unwrap();
    assert!(ready, "the helper tree never got ready");
    assert!(exists(&kept), "the persistent block is there");
    let deadline = Instant::now() + support::WATCHDOG;
    while exists(&tracked) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = exists(&tracked);
    SharedMemory::open(&kept).unwrap().unlink().unwrap();
    if left {
        let _ = SharedMemory::open(&tracked).map(|s| s.unlink());
    }
    assert!(!left, "the tracker did not unlink the block of a killed tree");
    assert!(!exists(&kept));
}

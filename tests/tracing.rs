//! The crate's `tracing` events, seen by a subscriber as a user's
//! `tracing_subscriber::fmt()` would see them: spawns and reaps, a pool
//! worker's death and replacement, the fork server, a lock's dead owner, a
//! refused handshake, manager objects and clients. (One test: the
//! subscriber is the process's global one.)
#![cfg(feature = "tracing")]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipc::{Lock, LockError, Manager, Pool, Process, TaskError};
use support::bounded;

/// Everything the subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Waits (bounded) until a line holds every one of `parts`.
    async fn expect(&self, parts: &[&str]) {
        let found = tokio::time::timeout(support::WATCHDOG, async {
            loop {
                if self.text().lines().any(|l| parts.iter().all(|p| l.contains(p))) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(found.is_ok(), "no line with {parts:?} in:\n{}", self.text());
    }
}

async fn hold_and_die(lock: Lock) {
    std::mem::forget(lock.lock().await.unwrap());
    std::process::exit(0);
}

/// A manager client that connects, makes an object and leaves.
fn visit(address: ipc::Address) {
    let manager = Manager::blocking_connect(address, b"key").unwrap();
    drop(manager.blocking_namespace().unwrap());
}

#[ipc::test]
async fn the_events_a_user_sees() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        // Spans show when they open, as a user asks for them.
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::NEW)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // A child spawned and reaped.
    let mut child = Process::builder().name("traced").spawn(|x: u8| x, 1).unwrap();
    let pid = child.pid();
    assert_eq!(bounded(child.join()).await.unwrap(), 1);
    captured.expect(&["spawned a child process", &format!("pid={pid}"), "name=traced"]).await;
    captured.expect(&["reaped a child process", &format!("pid={pid}")]).await;
    // One copied from the fork server says so.
    let forked = Process::builder().start_method(ipc::process::StartMethod::ForkServer);
    let mut copy = forked.name("copied").spawn(|x: u8| x, 2).unwrap();
    assert_eq!(bounded(copy.join()).await.unwrap(), 2);
    captured.expect(&["spawned a child process", &format!("pid={}", copy.pid()), "name=copied", "forked=true"]).await;

    // A lock whose holder died, taken over.
    let lock = Lock::new().unwrap();
    let mut holder = Process::spawn(hold_and_die, lock.clone()).unwrap();
    let _ = bounded(holder.join()).await;
    assert!(matches!(bounded(lock.lock()).await, Err(LockError::OwnerDied(_))));
    captured.expect(&["WARN", "took over a lock whose holder died", &format!("dead_pid={}", holder.pid())]).await;

    // The fork server, a worker's death and its replacement, inside the
    // pool's slot span.
    let pool = bounded(Pool::new(1)).await.unwrap();
    let died = bounded(pool.apply(|()| -> u8 { std::process::exit(3) }, ())).await;
    assert!(matches!(died, Err(TaskError::WorkerDied { .. })));
    captured.expect(&["the fork server started"]).await;
    captured.expect(&["WARN", "ipc.pool.slot", "a pool worker died", "exitcode=Some(3)"]).await;
    captured.expect(&["a replacement pool worker is ready"]).await;
    pool.close();
    bounded(pool.join()).await.unwrap();

    // A refused handshake, on both sides.
    let listener = ipc::Listener::builder("127.0.0.1:0".parse().unwrap()).authkey(b"right").bind().unwrap();
    let client = ipc::Client::new(listener.address().clone()).authkey(b"wrong");
    let (accepted, connected) = tokio::join!(listener.accept(), client.connect());
    assert!(accepted.is_err() && connected.is_err());
    captured.expect(&["WARN", "refused a peer at the authkey handshake"]).await;
    captured.expect(&["WARN", "the authkey handshake with the listener failed"]).await;

    // Manager objects made and freed, calls in their span, a client gone,
    // from a server this process runs (a started server is a child, with
    // its own subscriber or none).
    let listener = ipc::Listener::builder("127.0.0.1:0".parse().unwrap()).authkey(b"key").bind().unwrap();
    let address = listener.address().clone();
    let server = std::thread::spawn(move || ipc::manager::serve(listener));
    let manager = bounded(Manager::connect(address.clone(), b"key")).await.unwrap();
    let d = bounded(manager.dict::<u8, u8>()).await.unwrap();
    bounded(d.insert(&1, &2)).await.unwrap();
    captured.expect(&["made a manager object", "type=dict"]).await;
    captured.expect(&["ipc.manager.call", "method=insert"]).await;
    drop(d);
    captured.expect(&["freed a manager object", "type=dict"]).await;
    // Another process connects and leaves.
    let mut other = Process::spawn(visit, address).unwrap();
    bounded(other.join()).await.unwrap();
    captured.expect(&["a manager client left"]).await;
    bounded(manager.shutdown()).await.unwrap();
    server.join().unwrap().unwrap();
}

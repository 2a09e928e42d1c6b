//! Compile-time checks that handles and the futures of their async methods
//! are `Send` (and handles `Sync`), so they work with `tokio::spawn` and
//! across threads. Nothing here runs; it only has to compile.
#![allow(dead_code, clippy::let_underscore_future)]

use std::time::Duration;

use ipc::{Connection, Process};

fn send<T: Send>(_: &T) {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync() {
    send_sync::<Connection>();
    send_sync::<Process<String>>();
    send_sync::<ipc::Pipe>();
    send_sync::<ipc::Error>();
    send_sync::<ipc::JoinError>();
    send_sync::<ipc::RecvError>();
    send_sync::<ipc::SendError>();
    send_sync::<ipc::Event>();
    send_sync::<ipc::Lock>();
    send_sync::<ipc::LockGuard<'static>>();
    send_sync::<ipc::RLock>();
    send_sync::<ipc::Semaphore>();
    send_sync::<ipc::SemaphorePermit<'static>>();
    send_sync::<ipc::OwnedSemaphorePermit>();
    send_sync::<ipc::OwnedLockGuard>();
    send_sync::<ipc::Condition>();
    send_sync::<ipc::ConditionGuard<'static>>();
    send_sync::<ipc::Barrier>();
    send_sync::<ipc::SyncError>();
    send_sync::<ipc::Queue<String>>();
    send_sync::<ipc::JoinableQueue<String>>();
    send_sync::<ipc::SimpleQueue<String>>();
    send_sync::<ipc::GetError>();
}

fn sync_futures_are_send(
    e: &ipc::Event,
    l: &ipc::Lock,
    r: &ipc::RLock,
    s: &ipc::Semaphore,
    c: &ipc::Condition,
    b: &ipc::Barrier,
) {
    send(&e.wait());
    send(&l.lock());
    send(&l.lock_timeout(Duration::ZERO));
    send(&l.acquire());
    send(&r.lock());
    send(&s.acquire());
    send(&s.acquire_owned());
    send(&l.lock_owned());
    send(&s.acquire_timeout(Duration::ZERO));
    send(&c.lock());
    send(&b.wait());
    send(&b.wait_timeout(Duration::ZERO));
}

fn queue_futures_are_send(q: &ipc::Queue<String>, j: &ipc::JoinableQueue<String>) {
    send(&q.put(String::new()));
    send(&q.get());
    send(&q.put_timeout(String::new(), Duration::ZERO));
    send(&q.get_timeout(Duration::ZERO));
    send(&q.stream());
    send(&j.join());
}

async fn condition_waits_are_send(c: &ipc::Condition) {
    let g = c.lock().await.unwrap();
    send(&g.wait());
}

fn futures_are_send(conn: &mut Connection, p: &mut Process<u8>) {
    send(&conn.send(&1u8));
    send(&conn.recv::<String>());
    send(&conn.recv_timeout::<String>(Duration::ZERO));
    send(&conn.send_bytes(b""));
    send(&conn.recv_bytes(1));
    send(&conn.poll(Some(Duration::ZERO)));
    send(&p.join());
    send(&p.join_timeout(Duration::ZERO));
}

#[test]
fn futures_compile_as_send() {
    // The function above is the check; reference it so it is type-checked.
    let _ = futures_are_send as fn(&mut Connection, &mut Process<u8>);
    let _ = sync_futures_are_send;
    let _ = condition_waits_are_send;
    let _ = queue_futures_are_send;
}

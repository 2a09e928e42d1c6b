//! A timeout the clock cannot hold (`Duration::MAX`, or anything an
//! `Instant` cannot be moved by) means "wait without end", in every form
//! that takes one: the blocking and the async waits of each primitive, a
//! connection, a process, and the manager server, which receives its
//! timeouts from clients. Each wait here is ended by another thread or task
//! after a moment, so a wait that ignored the other side would fail by the
//! watchdog, and one that computed `now + timeout` would panic.

mod support;

use std::thread;
use std::time::Duration;

use ipc::{Barrier, Condition, Event, JoinableQueue, Lock, Pipe, Process, Queue, RLock, Semaphore};
use support::bounded;

const MAX: Duration = Duration::MAX;
/// How long the other side waits before it ends the wait.
const SOON: Duration = Duration::from_millis(20);

/// Runs `f` on another thread after [`SOON`].
fn soon(f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(SOON);
        f();
    })
}

#[test]
fn blocking_waits_of_the_primitives() {
    let lock = Lock::new().unwrap();
    lock.try_acquire().unwrap();
    let t = soon({
        let lock = lock.clone();
        move || lock.release().unwrap()
    });
    assert!(lock.blocking_lock_timeout(MAX).is_ok());
    t.join().unwrap();
    assert!(lock.blocking_acquire_timeout(MAX).unwrap());
    lock.release().unwrap();

    let rlock = RLock::new().unwrap();
    assert!(rlock.blocking_lock_timeout(MAX).is_ok());

    let event = Event::new().unwrap();
    let t = soon({
        let event = event.clone();
        move || event.set()
    });
    assert!(event.blocking_wait_timeout(MAX).unwrap());
    t.join().unwrap();

    let sem = Semaphore::new(0).unwrap();
    let t = soon({
        let sem = sem.clone();
        move || sem.release().unwrap()
    });
    assert!(sem.blocking_acquire_timeout(MAX).unwrap().is_some());
    t.join().unwrap();

    let barrier = Barrier::new(2).unwrap();
    let t = soon({
        let barrier = barrier.clone();
        move || {
            barrier.blocking_wait().unwrap();
        }
    });
    barrier.blocking_wait_timeout(MAX).unwrap();
    t.join().unwrap();

    let cond = Condition::new().unwrap();
    let waiter = thread::spawn({
        let cond = cond.clone();
        move || cond.blocking_lock().unwrap().blocking_wait_timeout(MAX).unwrap().1
    });
    while !waiter.is_finished() {
        cond.blocking_lock().unwrap().notify(1);
        thread::sleep(Duration::from_millis(1));
    }
    assert!(waiter.join().unwrap(), "notified, not timed out");
}

#[test]
fn blocking_waits_of_the_queues() {
    let q = Queue::<u32>::bounded(1).unwrap();
    let t = soon({
        let q = q.clone();
        move || q.blocking_put(7).unwrap()
    });
    assert_eq!(q.blocking_get_timeout(MAX).unwrap(), 7);
    t.join().unwrap();
    q.blocking_put(1).unwrap();
    let t = soon({
        let q = q.clone();
        move || assert_eq!(q.blocking_get().unwrap(), 1)
    });
    q.blocking_put_timeout(2, MAX).unwrap();
    t.join().unwrap();

    let jq = JoinableQueue::<u8>::unbounded().unwrap();
    jq.blocking_put(0).unwrap();
    let t = soon({
        let jq = jq.clone();
        move || {
            jq.blocking_get().unwrap();
            jq.task_done().unwrap();
        }
    });
    assert!(jq.blocking_join_timeout(MAX).unwrap());
    t.join().unwrap();
}

#[test]
fn a_blocking_receive() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    let t = thread::spawn(move || {
        thread::sleep(SOON);
        b.blocking_send(&5u8).unwrap();
        b
    });
    assert_eq!(a.blocking_recv_timeout::<u8>(MAX).unwrap(), Some(5));
    let mut b = t.join().unwrap();
    let t = soon(move || b.blocking_send(&6u8).unwrap());
    assert!(a.blocking_poll(Some(MAX)).unwrap());
    assert_eq!(a.blocking_recv::<u8>().unwrap(), 6);
    t.join().unwrap();
}

#[ipc::test]
async fn async_waits() {
    let lock = Lock::new().unwrap();
    let held = lock.lock().await.unwrap();
    let (got, ()) = tokio::join!(bounded(lock.lock_timeout(MAX)), async {
        tokio::time::sleep(SOON).await;
        drop(held);
    });
    assert!(got.is_ok());

    let event = Event::new().unwrap();
    let (woken, ()) = tokio::join!(bounded(event.wait_timeout(MAX)), async {
        tokio::time::sleep(SOON).await;
        event.set();
    });
    assert!(woken.unwrap());

    let q = Queue::<u8>::unbounded().unwrap();
    let (item, ()) = tokio::join!(bounded(q.get_timeout(MAX)), async {
        tokio::time::sleep(SOON).await;
        q.put(3).await.unwrap();
    });
    assert_eq!(item.unwrap(), 3);

    let cond = Condition::new().unwrap();
    let guard = cond.lock().await.unwrap();
    let (_guard, ok) = bounded(guard.wait_for_timeout(|| true, MAX)).await.unwrap();
    assert!(ok);

    let (mut a, mut b) = Pipe::duplex().unwrap();
    let (got, ()) = tokio::join!(bounded(a.recv_timeout::<u8>(MAX)), async {
        tokio::time::sleep(SOON).await;
        b.send(&9u8).await.unwrap();
    });
    assert_eq!(got.unwrap(), Some(9));
}

#[ipc::test]
async fn joining_a_process() {
    let mut p = Process::spawn(|()| 4u8, ()).unwrap();
    assert_eq!(bounded(p.join_timeout(MAX)).await.unwrap(), 4);
    let mut p = Process::spawn(|()| 5u8, ()).unwrap();
    let got = tokio::task::spawn_blocking(move || p.blocking_join_timeout(MAX)).await.unwrap();
    assert_eq!(got.unwrap(), 5);
}

#[cfg(feature = "manager")]
#[ipc::test]
async fn the_manager_server_takes_a_huge_timeout_from_a_client() {
    let m = bounded(ipc::Manager::start()).await.unwrap();
    let q = m.queue::<u32>(0).await.unwrap();
    let (item, ()) = tokio::join!(bounded(q.get_timeout(MAX)), async {
        tokio::time::sleep(SOON).await;
        q.put(&11).await.unwrap();
    });
    assert_eq!(item.unwrap(), 11);
    let e = m.event().await.unwrap();
    let (set, ()) = tokio::join!(bounded(e.wait_timeout(MAX)), async {
        tokio::time::sleep(SOON).await;
        e.set().await.unwrap();
    });
    assert!(set.unwrap());
    bounded(m.shutdown()).await.unwrap();
}

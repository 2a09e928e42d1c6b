//! `Lock` and `RLock` across processes: CPython's lock behaviours
//! (`_test_multiprocessing.py`, `_TestLock`), mutual exclusion with exact
//! accounting, cancel safety, and a holder SIGKILLed while holding.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipc::{Event, Lock, LockError, Pipe, Process, RLock, SyncError, TryLockError};
use support::bounded;

#[test]
fn lock_acquire_and_release_as_in_python() {
    let lock = Lock::new().unwrap();
    assert!(lock.try_acquire().unwrap()); // acquire() -> True
    assert!(!lock.try_acquire().unwrap()); // acquire(False) -> False
    lock.release().unwrap(); // release() -> None
    assert!(matches!(lock.release(), Err(SyncError::NotLocked))); // release() -> ValueError
    assert!(!lock.is_locked());
}

#[test]
fn rlock_acquire_and_release_as_in_python() {
    let lock = RLock::new().unwrap();
    for _ in 0..3 {
        lock.blocking_acquire().unwrap();
    }
    assert_eq!(lock.depth(), 3);
    for _ in 0..3 {
        lock.release().unwrap();
    }
    assert!(matches!(lock.release(), Err(SyncError::NotLocked)));
    // Another thread can neither re-enter nor release it.
    let _held = lock.try_lock().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(matches!(lock.try_lock(), Err(TryLockError::WouldBlock)));
            assert!(matches!(lock.release(), Err(SyncError::NotOwner)));
        });
    });
}

#[tokio::test]
async fn timeouts_and_guards() {
    let lock = Lock::new().unwrap();
    let guard = lock.lock().await.unwrap();
    let start = Instant::now();
    assert!(matches!(lock.lock_timeout(Duration::from_millis(30)).await, Err(TryLockError::WouldBlock)));
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert!(matches!(lock.blocking_lock_timeout(Duration::from_millis(5)), Err(TryLockError::WouldBlock)));
    assert!(!lock.acquire_timeout(Duration::ZERO).await.unwrap());
    drop(guard);
    assert!(lock.lock_timeout(Duration::ZERO).await.is_ok());
    assert!(!lock.is_locked(), "the guard of the timed lock was dropped at once");
}

#[ipc::test]
async fn a_child_waits_while_the_parent_holds_the_lock() {
    let lock = Lock::new().unwrap();
    let took = Event::new().unwrap();
    let guard = lock.lock().await.unwrap();
    let mut child = Process::spawn(
        |(lock, took): (Lock, Event)| async move {
            let _g = lock.lock().await.unwrap();
            took.set();
        },
        (lock.clone(), took.clone()),
    )
    .unwrap();
    assert!(!took.wait_timeout(Duration::from_millis(100)).await.unwrap(), "the child took a held lock");
    drop(guard);
    bounded(took.wait()).await.unwrap();
    bounded(child.join()).await.unwrap();
}

#[ipc::test]
async fn any_process_may_release_a_lock() {
    let lock = Lock::new().unwrap();
    lock.acquire().await.unwrap();
    let mut child = Process::spawn(|lock: Lock| lock.release().is_ok(), lock.clone()).unwrap();
    assert!(bounded(child.join()).await.unwrap());
    assert!(!lock.is_locked());
    // And releasing it again, anywhere, is an error.
    let mut child = Process::spawn(|lock: Lock| matches!(lock.release(), Err(SyncError::NotLocked)), lock).unwrap();
    assert!(bounded(child.join()).await.unwrap());
}

#[ipc::test]
async fn locks_travel_through_connections() {
    let (mut here, there) = Pipe::duplex().unwrap();
    let mut child = Process::spawn(
        |mut conn: ipc::Connection| async move {
            let lock: Lock = conn.recv().await.unwrap();
            let rlock: RLock = conn.recv().await.unwrap();
            let rlock_held = rlock.try_lock().is_err();
            (lock.is_locked(), rlock_held)
        },
        there,
    )
    .unwrap();
    let lock = Lock::new().unwrap();
    let rlock = RLock::new().unwrap();
    let _g = lock.lock().await.unwrap();
    let _r = rlock.lock().await.unwrap();
    here.send(&lock).await.unwrap();
    here.send(&rlock).await.unwrap();
    assert_eq!(bounded(child.join()).await.unwrap(), (true, true));
}

/// A counter in a file: read, parse, write back. Without the lock,
/// concurrent increments are lost.
fn bump(path: &PathBuf) {
    let n: u64 = std::fs::read_to_string(path).unwrap().trim().parse().unwrap();
    std::fs::write(path, (n + 1).to_string()).unwrap();
}

fn counter_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ipc-test-{name}-{}", std::process::id()));
    std::fs::write(&path, "0").unwrap();
    path
}

#[ipc::test]
async fn n_processes_times_m_increments_under_the_lock_is_n_times_m() {
    const N: usize = 4;
    const M: usize = 300;
    let path = counter_file("lock-stress");
    let lock = Lock::new().unwrap();
    let rlock = RLock::new().unwrap();
    let children: Vec<Process<()>> = (0..N)
        .map(|i| {
            Process::spawn(
                |(lock, rlock, path, i): (Lock, RLock, PathBuf, usize)| async move {
                    for j in 0..M {
                        // Mix the four ways of taking the lock.
                        match (i + j) % 4 {
                            0 => {
                                let _g = lock.lock().await.unwrap();
                                bump(&path);
                            }
                            1 => {
                                // Blocks this child's only thread, which is all it runs.
                                let _g = lock.blocking_lock().unwrap();
                                bump(&path);
                            }
                            2 => {
                                lock.acquire().await.unwrap();
                                bump(&path);
                                lock.release().unwrap();
                            }
                            _ => {
                                // An RLock taken twice, guarding the same file
                                // only while the Lock is held too.
                                let _a = rlock.lock().await.unwrap();
                                let _b = rlock.lock().await.unwrap();
                                let _g = lock.lock().await.unwrap();
                                bump(&path);
                            }
                        }
                    }
                },
                (lock.clone(), rlock.clone(), path.clone(), i),
            )
            .unwrap()
        })
        .collect();
    for mut c in children {
        bounded(c.join()).await.unwrap();
    }
    let total: usize = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(total, N * M);
}

#[tokio::test]
async fn a_cancelled_lock_wait_loses_no_wake_up() {
    let lock = Lock::new().unwrap();
    let guard = lock.lock().await.unwrap();
    // A timed-out waiter leaves without the lock, and the lock still works.
    assert!(lock.lock_timeout(Duration::from_millis(20)).await.is_err());
    // Two sleeping waiters; the one the release would wake is cancelled
    // before it runs: the other must get the lock.
    let a = tokio::spawn({
        let lock = lock.clone();
        async move { drop(lock.lock().await.unwrap()) }
    });
    let b = tokio::spawn({
        let lock = lock.clone();
        async move { drop(lock.lock().await.unwrap()) }
    });
    tokio::time::sleep(Duration::from_millis(100)).await; // both sleep (spins end)
    drop(guard);
    a.abort();
    bounded(b).await.unwrap();
    let _ = a.await;
    assert!(!lock.is_locked());
    drop(bounded(lock.lock()).await.unwrap());
}

#[tokio::test]
async fn a_thousand_tasks_take_turns_without_a_thread_each() {
    let lock = Lock::new().unwrap();
    let guard = lock.lock().await.unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let lock = lock.clone();
            tokio::spawn(async move { drop(lock.lock().await.unwrap()) })
        })
        .collect();
    tokio::task::yield_now().await;
    drop(guard);
    for t in tasks {
        bounded(t).await.unwrap();
    }
    assert!(!lock.is_locked());
}

/// A child that takes the lock, says so, and hangs until killed.
async fn hold_forever((lock, held): (Lock, Event)) {
    let guard = lock.lock().await.unwrap();
    held.set();
    std::future::pending::<()>().await;
    drop(guard);
}

#[ipc::test]
async fn a_holder_killed_while_holding_hands_the_lock_on_as_owner_died() {
    let lock = Lock::new().unwrap();
    let held = Event::new().unwrap();
    let mut child = Process::spawn(hold_forever, (lock.clone(), held.clone())).unwrap();
    bounded(held.wait()).await.unwrap();
    assert!(matches!(lock.try_lock(), Err(TryLockError::WouldBlock)));
    // Sleepers: one async, one blocking, both waiting before the kill.
    let waiter = tokio::spawn({
        let lock = lock.clone();
        async move {
            let start = Instant::now();
            match lock.lock().await {
                Err(LockError::OwnerDied(g)) => {
                    drop(g); // not made consistent: the next acquirer is told too
                    start
                }
                other => panic!("expected OwnerDied, got {other:?}"),
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let killed = Instant::now();
    child.kill().unwrap();
    let _ = bounded(waiter).await.unwrap();
    eprintln!("owner death noticed {:?} after SIGKILL", killed.elapsed());
    // Still inconsistent: the next one gets OwnerDied, repairs, and from
    // then on guards are plain.
    match bounded(lock.lock()).await {
        Err(LockError::OwnerDied(g)) => g.make_consistent(),
        other => panic!("expected OwnerDied again, got {other:?}"),
    }
    assert!(bounded(lock.lock()).await.is_ok());
    bounded(child.join()).await.unwrap_err();
}

// A fork-server child is a copy of the server: it must hold locks as
// itself (its own pid and start time), or its death would go unseen.
#[ipc::test]
async fn a_fork_server_child_killed_while_holding_hands_the_lock_on_too() {
    for _ in 0..2 {
        let lock = Lock::new().unwrap();
        let held = Event::new().unwrap();
        let forked = Process::builder().start_method(ipc::process::StartMethod::ForkServer);
        let mut child = forked.spawn(hold_forever, (lock.clone(), held.clone())).unwrap();
        bounded(held.wait()).await.unwrap();
        child.kill().unwrap();
        bounded(child.join()).await.unwrap_err();
        assert!(matches!(bounded(lock.lock()).await, Err(LockError::OwnerDied(_))));
    }
}

#[ipc::test]
async fn a_blocking_waiter_and_try_lock_see_the_holder_die_too() {
    let lock = Lock::new().unwrap();
    let held = Event::new().unwrap();
    let mut child = Process::spawn(hold_forever, (lock.clone(), held.clone())).unwrap();
    bounded(held.wait()).await.unwrap();
    let blocking = std::thread::spawn({
        let lock = lock.clone();
        move || match lock.blocking_lock_timeout(support::WATCHDOG) {
            Err(TryLockError::OwnerDied(g)) => g.make_consistent(),
            other => panic!("expected OwnerDied, got {other:?}"),
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    child.kill().unwrap();
    bounded(child.join()).await.unwrap_err();
    tokio::task::spawn_blocking(move || blocking.join().unwrap()).await.unwrap();
    // A holder that died while nobody waited: try_lock takes it over.
    let mut child = Process::spawn(hold_forever, (lock.clone(), held.clone())).unwrap();
    held.clear();
    bounded(held.wait()).await.unwrap();
    child.kill().unwrap();
    bounded(child.join()).await.unwrap_err();
    assert!(matches!(lock.try_lock(), Err(TryLockError::OwnerDied(_))));
}

#[ipc::test]
async fn an_rlock_holder_killed_while_holding_is_survived_too() {
    async fn hold((lock, held): (RLock, Event)) {
        lock.acquire().await.unwrap();
        lock.acquire().await.unwrap();
        held.set();
        std::future::pending::<()>().await;
    }
    let lock = RLock::new().unwrap();
    let held = Event::new().unwrap();
    let mut child = Process::spawn(hold, (lock.clone(), held.clone())).unwrap();
    bounded(held.wait()).await.unwrap();
    assert!(matches!(lock.release(), Err(SyncError::NotOwner)));
    child.kill().unwrap();
    match bounded(lock.lock()).await {
        Err(LockError::OwnerDied(g)) => {
            assert_eq!(lock.depth(), 1, "the dead holder's depth is not inherited");
            g.make_consistent();
        }
        other => panic!("expected OwnerDied, got {other:?}"),
    }
    assert_eq!(lock.depth(), 0);
    bounded(child.join()).await.unwrap_err();
}

#[tokio::test]
async fn an_owned_guard_moves_into_a_task_and_releases_there() {
    let lock = Lock::new().unwrap();
    let guard = lock.lock_owned().await.unwrap();
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(guard);
    });
    assert!(matches!(lock.try_lock(), Err(TryLockError::WouldBlock)));
    drop(bounded(lock.lock()).await.unwrap());
    task.await.unwrap();
    assert!(!lock.is_locked());
}

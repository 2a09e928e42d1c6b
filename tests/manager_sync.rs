//! Manager-served RLock, Semaphore, BoundedSemaphore, Condition and
//! Barrier: CPython's behaviours (re-entrance, misuse errors, bounded
//! releases, notify counts, barrier indices, timeouts breaking barriers),
//! plus what Python cannot do: a dead holder gives its RLock back, a dead
//! party breaks its barrier, and cancelled waits leave everything
//! consistent.

mod support;

use std::time::Duration;

use ipc::manager::{BarrierProxy, ConditionProxy, RLockProxy, SemaphoreProxy, ValueProxy};
use ipc::{CallError, Manager, Process, RemoteError};
use support::{bounded, wait_reaped};

fn remote<T: std::fmt::Debug>(r: Result<T, CallError>) -> RemoteError {
    match r {
        Err(CallError::Remote(e)) => e,
        other => panic!("expected a remote error, got {other:?}"),
    }
}

async fn try_rlock(lock: RLockProxy) -> bool {
    lock.try_acquire().await.unwrap()
}

async fn hold_rlock_and_hang((lock, ready): (RLockProxy, ipc::Event)) {
    lock.acquire().await.unwrap();
    lock.acquire().await.unwrap();
    ready.set();
    std::future::pending::<()>().await;
}

#[ipc::test]
async fn rlock_is_reentrant_per_task_and_a_dead_holder_gives_it_back() {
    let manager = bounded(Manager::start()).await.unwrap();
    let lock = manager.rlock().await.unwrap();
    assert!(matches!(remote(lock.release().await), RemoteError::RuntimeError(_)));
    lock.acquire().await.unwrap();
    assert!(lock.try_acquire().await.unwrap());
    // Another task of this process, and another process, must wait.
    let other_task = tokio::spawn({
        let lock = lock.clone();
        async move { lock.try_acquire().await.unwrap() }
    });
    assert!(!bounded(other_task).await.unwrap());
    let mut child = Process::spawn(try_rlock, lock.clone()).unwrap();
    assert!(!bounded(child.join()).await.unwrap());
    // Another task cannot release it either.
    let foreign = tokio::spawn({
        let lock = lock.clone();
        async move { lock.release().await }
    });
    assert!(matches!(remote(bounded(foreign).await.unwrap()), RemoteError::RuntimeError(_)));
    lock.release().await.unwrap();
    lock.release().await.unwrap();

    // A holder that dies (at depth 2) gives it back.
    let ready = ipc::Event::new().unwrap();
    let mut holder = Process::spawn(hold_rlock_and_hang, (lock.clone(), ready.clone())).unwrap();
    bounded(ready.wait()).await.unwrap();
    assert!(!lock.try_acquire().await.unwrap());
    holder.kill().unwrap();
    let pid = holder.pid();
    let _ = bounded(holder.join()).await;
    wait_reaped(pid).await;
    assert!(bounded(lock.acquire_timeout(Duration::from_secs(10))).await.unwrap());
    lock.release().await.unwrap();
    bounded(manager.shutdown()).await.unwrap();
}

async fn churn_permits((s, n): (SemaphoreProxy, u32)) {
    for _ in 0..n {
        s.acquire().await.unwrap();
        s.release().await.unwrap();
    }
}

#[ipc::test]
async fn semaphores_count_bound_and_survive_cancelled_acquires() {
    let manager = bounded(Manager::start()).await.unwrap();
    let s = manager.semaphore(2).await.unwrap();
    assert!(s.try_acquire().await.unwrap() && s.try_acquire().await.unwrap());
    assert!(!s.try_acquire().await.unwrap());
    assert!(!s.acquire_timeout(Duration::from_millis(20)).await.unwrap());
    s.release_n(5).await.unwrap(); // unbounded: any number
    assert_eq!(s.value().await.unwrap(), 5);

    let b = manager.bounded_semaphore(1).await.unwrap();
    assert!(matches!(remote(b.release().await), RemoteError::ValueError(_)));
    b.acquire().await.unwrap();
    b.release().await.unwrap();

    // A child takes and gives back the only permit while this process
    // cancels acquires at 0–50 µs: no permit may be lost or made.
    let mut child = Process::spawn(churn_permits, (b.clone(), 500)).unwrap();
    let mut cancelled = 0;
    let mut acquired = 0;
    for round in 0..2000u64 {
        match tokio::time::timeout(Duration::from_micros(round % 50), b.acquire()).await {
            Ok(got) => {
                got.unwrap();
                acquired += 1;
                b.release().await.unwrap();
            }
            Err(_) => cancelled += 1,
        }
    }
    bounded(child.join()).await.unwrap();
    assert!(cancelled > 0 && acquired > 0, "{cancelled} cancelled, {acquired} acquired");
    // An undo (release) is sent when a late reply arrives, which may be
    // after this point: wait for the count to settle, then check it stays.
    bounded(async {
        while b.value().await.unwrap() != 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(b.value().await.unwrap(), 1);
    assert!(matches!(remote(b.release().await), RemoteError::ValueError(_)));
    bounded(manager.shutdown()).await.unwrap();
}

async fn wait_on_condition((cond, waiting, woken): (ConditionProxy, ValueProxy<u32>, ValueProxy<u32>)) {
    cond.acquire().await.unwrap();
    waiting.set(&(waiting.get().await.unwrap() + 1)).await.unwrap();
    cond.wait().await.unwrap();
    woken.set(&(woken.get().await.unwrap() + 1)).await.unwrap();
    cond.release().await.unwrap();
}

#[ipc::test]
async fn condition_notify_wakes_as_many_as_asked_across_processes() {
    let manager = bounded(Manager::start()).await.unwrap();
    let cond = manager.condition().await.unwrap();
    assert!(matches!(remote(cond.wait().await), RemoteError::RuntimeError(_)));
    assert!(matches!(remote(cond.notify(1).await), RemoteError::RuntimeError(_)));
    let waiting = manager.value(&0u32).await.unwrap();
    let woken = manager.value(&0u32).await.unwrap();
    let mut children: Vec<_> = (0..3)
        .map(|_| Process::spawn(wait_on_condition, (cond.clone(), waiting.clone(), woken.clone())).unwrap())
        .collect();
    // Each child counts itself in while holding the lock and waits (which
    // releases it): once the count is 3 and we hold the lock, all 3 wait.
    bounded(async {
        loop {
            cond.acquire().await.unwrap();
            if waiting.get().await.unwrap() == 3 {
                break;
            }
            cond.release().await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    cond.notify(1).await.unwrap();
    cond.release().await.unwrap();
    bounded(async {
        while woken.get().await.unwrap() < 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(woken.get().await.unwrap(), 1, "notify(1) woke more than one");
    cond.acquire().await.unwrap();
    cond.notify_all().await.unwrap();
    cond.release().await.unwrap();
    for child in &mut children {
        bounded(child.join()).await.unwrap();
    }
    assert_eq!(woken.get().await.unwrap(), 3);

    // A timed-out wait holds the lock again; a cancelled one leaves it released.
    cond.acquire().await.unwrap();
    assert!(!cond.wait_timeout(Duration::from_millis(10)).await.unwrap());
    assert!(tokio::time::timeout(Duration::from_millis(10), cond.wait()).await.is_err());
    let other = tokio::spawn({
        let cond = cond.clone();
        async move { cond.acquire_timeout(Duration::from_secs(10)).await.unwrap() }
    });
    assert!(bounded(other).await.unwrap(), "a cancelled wait kept the lock");
    bounded(manager.shutdown()).await.unwrap();
}

async fn meet(barrier: BarrierProxy) -> Result<u64, String> {
    barrier.wait().await.map_err(|e| e.to_string())
}

#[ipc::test]
async fn a_barrier_wait_that_times_out_breaks_the_round_for_everyone() {
    let manager = bounded(Manager::start()).await.unwrap();
    let barrier = manager.barrier(3).await.unwrap();
    let patient = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait().await }
    });
    bounded(async {
        while barrier.n_waiting().await.unwrap() < 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(matches!(remote(barrier.wait_timeout(Duration::from_millis(20)).await), RemoteError::BrokenBarrier));
    assert!(matches!(remote(bounded(patient).await.unwrap()), RemoteError::BrokenBarrier));
    assert!(barrier.broken().await.unwrap());
    assert_eq!(barrier.n_waiting().await.unwrap(), 0, "Python's: 0 while broken");
    barrier.reset().await.unwrap();
    assert!(!barrier.broken().await.unwrap());
    assert_eq!(barrier.parties().await.unwrap(), 3);
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn barriers_pass_together_and_break_when_a_party_dies() {
    let manager = bounded(Manager::start()).await.unwrap();
    let barrier = manager.barrier(3).await.unwrap();
    for _round in 0..2 {
        let mut children: Vec<_> = (0..2).map(|_| Process::spawn(meet, barrier.clone()).unwrap()).collect();
        let mut indices = vec![bounded(barrier.wait()).await.unwrap()];
        for child in &mut children {
            indices.push(bounded(child.join()).await.unwrap().unwrap());
        }
        indices.sort();
        assert_eq!(indices, [0, 1, 2]);
    }

    // One party waits, another is killed while waiting: the first is told.
    let mut doomed = Process::spawn(meet, barrier.clone()).unwrap();
    bounded(async {
        while barrier.n_waiting().await.unwrap() < 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    let mut survivor = Process::spawn(meet, barrier.clone()).unwrap();
    bounded(async {
        while barrier.n_waiting().await.unwrap() < 2 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    doomed.kill().unwrap();
    let got = bounded(survivor.join()).await.unwrap();
    assert!(got.unwrap_err().contains("BrokenBarrier"));
    let _ = bounded(doomed.join()).await;
    assert!(barrier.broken().await.unwrap());
    assert!(matches!(remote(barrier.wait().await), RemoteError::BrokenBarrier));

    // reset makes it usable; a cancelled wait withdraws its party.
    barrier.reset().await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(10), barrier.wait()).await.is_err());
    bounded(async {
        while barrier.n_waiting().await.unwrap() != 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(!barrier.broken().await.unwrap());
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn arrays_keep_their_length() {
    let manager = bounded(Manager::start()).await.unwrap();
    let a = manager.array(&[1i32, 2, 3]).await.unwrap();
    a.set(0, &10).await.unwrap();
    assert_eq!(a.get(-3).await.unwrap(), 10);
    assert!(matches!(remote(a.get(3).await), RemoteError::IndexError(_)));
    assert!(matches!(remote(a.set(-4, &0).await), RemoteError::IndexError(_)));
    assert_eq!(a.to_vec().await.unwrap(), [10, 2, 3]);
    assert_eq!(a.len().await.unwrap(), 3);
    bounded(manager.shutdown()).await.unwrap();
}

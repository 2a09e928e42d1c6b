//! `Condition` across processes: CPython's condition behaviours
//! (`_test_multiprocessing.py`, `_TestCondition`: notify, notify(n),
//! notify_all, timeouts, wait_for), a notification never reaching a waiter
//! that started after it, and cancel safety.

mod support;

use std::time::{Duration, Instant};

use ipc::{Condition, Process, Semaphore, SyncError};
use support::bounded;

/// CPython's `f`: count as sleeping while holding the lock, wait, count as
/// woken.
async fn sleeper((cond, sleeping, woken): (Condition, Semaphore, Semaphore)) {
    let guard = cond.lock().await.unwrap();
    sleeping.release().unwrap();
    let guard = guard.wait().await.unwrap();
    woken.release().unwrap();
    drop(guard);
}

async fn settle_at(sem: &Semaphore, value: u32) {
    bounded(async {
        while sem.get_value() < value {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await; // nobody else wakes late
    assert_eq!(sem.get_value(), value);
}

fn spawn_sleepers(n: usize, cond: &Condition, sleeping: &Semaphore, woken: &Semaphore) -> Vec<Process<()>> {
    (0..n).map(|_| Process::spawn(sleeper, (cond.clone(), sleeping.clone(), woken.clone())).unwrap()).collect()
}

#[ipc::test]
async fn notify_wakes_one_and_notify_n_wakes_n() {
    let cond = Condition::new().unwrap();
    let (sleeping, woken) = (Semaphore::new(0).unwrap(), Semaphore::new(0).unwrap());
    let children = spawn_sleepers(4, &cond, &sleeping, &woken);
    settle_at(&sleeping, 4).await;
    assert_eq!(woken.get_value(), 0);
    cond.lock().await.unwrap().notify(1);
    settle_at(&woken, 1).await;
    cond.lock().await.unwrap().notify(2);
    settle_at(&woken, 3).await;
    cond.lock().await.unwrap().notify(5); // more than are waiting
    settle_at(&woken, 4).await;
    for mut c in children {
        bounded(c.join()).await.unwrap();
    }
}

#[ipc::test]
async fn notify_all_wakes_every_waiter_in_every_process() {
    let cond = Condition::new().unwrap();
    let (sleeping, woken) = (Semaphore::new(0).unwrap(), Semaphore::new(0).unwrap());
    let children = spawn_sleepers(3, &cond, &sleeping, &woken);
    // And two tasks here.
    let local: Vec<_> =
        (0..2).map(|_| tokio::spawn(sleeper((cond.clone(), sleeping.clone(), woken.clone())))).collect();
    settle_at(&sleeping, 5).await;
    cond.get_lock().acquire().await.unwrap();
    cond.notify_all().unwrap();
    cond.get_lock().release().unwrap();
    settle_at(&woken, 5).await;
    for mut c in children {
        bounded(c.join()).await.unwrap();
    }
    for t in local {
        bounded(t).await.unwrap();
    }
}

#[tokio::test]
async fn notify_without_the_lock_is_an_error_and_timeouts_return_false() {
    let cond = Condition::new().unwrap();
    assert!(matches!(cond.notify(1), Err(SyncError::NotLocked)));
    assert!(matches!(cond.notify_all(), Err(SyncError::NotLocked)));
    let guard = cond.lock().await.unwrap();
    let start = Instant::now();
    let (guard, notified) = guard.wait_timeout(Duration::from_millis(50)).await.unwrap();
    assert!(!notified);
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert!(cond.get_lock().is_locked(), "a timed-out wait holds the lock again");
    let (guard, notified) = guard.blocking_wait_timeout(Duration::from_millis(10)).unwrap();
    assert!(!notified);
    drop(guard);
    assert!(!cond.get_lock().is_locked());
}

#[ipc::test]
async fn wait_for_rechecks_its_predicate_after_each_notification() {
    let cond = Condition::new().unwrap();
    let state = Semaphore::new(0).unwrap(); // the shared state, guarded by cond's lock
    let mut child = Process::spawn(
        |(cond, state): (Condition, Semaphore)| async move {
            let guard = cond.lock().await.unwrap();
            let (guard, early) =
                guard.wait_for_timeout(|| state.get_value() >= 4, Duration::from_millis(20)).await.unwrap();
            assert!(!early, "the predicate cannot hold yet");
            let _guard = guard.wait_for(|| state.get_value() >= 4).await.unwrap();
            state.get_value()
        },
        (cond.clone(), state.clone()),
    )
    .unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let guard = cond.lock().await.unwrap();
        state.release().unwrap();
        guard.notify_all();
    }
    assert_eq!(bounded(child.join()).await.unwrap(), 4);
}

#[tokio::test]
async fn a_notification_never_reaches_a_waiter_that_started_after_it() {
    let cond = Condition::new().unwrap();
    let (sleeping, woken) = (Semaphore::new(0).unwrap(), Semaphore::new(0).unwrap());
    let early = tokio::spawn(sleeper((cond.clone(), sleeping.clone(), woken.clone())));
    settle_at(&sleeping, 1).await;
    let guard = cond.lock().await.unwrap();
    guard.notify(1);
    drop(guard);
    // A waiter arriving now must not take the early one's notification.
    let late = cond.lock().await.unwrap();
    let (late, notified) = late.wait_timeout(Duration::from_millis(100)).await.unwrap();
    assert!(!notified);
    drop(late);
    bounded(early).await.unwrap();
    assert_eq!(woken.get_value(), 1);
}

#[tokio::test]
async fn a_cancelled_waiter_passes_its_notification_on() {
    let cond = Condition::new().unwrap();
    let (sleeping, woken) = (Semaphore::new(0).unwrap(), Semaphore::new(0).unwrap());
    let a = tokio::spawn(sleeper((cond.clone(), sleeping.clone(), woken.clone())));
    let b = tokio::spawn(sleeper((cond.clone(), sleeping.clone(), woken.clone())));
    settle_at(&sleeping, 2).await;
    let guard = cond.lock().await.unwrap();
    guard.notify(1);
    drop(guard);
    a.abort(); // whichever the notification was for, one of them wakes
    let a_done = a.await.is_ok();
    if !a_done {
        bounded(b).await.unwrap();
    } else {
        b.abort();
    }
    assert_eq!(woken.get_value(), 1);
    assert!(!cond.get_lock().is_locked());
}

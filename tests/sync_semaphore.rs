//! `Semaphore` (and its bounded form) across processes: CPython's semaphore
//! behaviours (`_test_multiprocessing.py`, `_TestSemaphore`), a room that
//! never holds more than its permits, cancel safety, and permits of a
//! SIGKILLed holder given back.

mod support;

use std::time::{Duration, Instant};

use ipc::{Event, Process, Semaphore, SyncError};
use support::bounded;

#[test]
fn semaphore_counts_as_in_python() {
    let sem = Semaphore::new(2).unwrap();
    let a = sem.try_acquire().unwrap();
    assert_eq!(sem.get_value(), 1);
    let b = sem.try_acquire().unwrap();
    assert_eq!(sem.get_value(), 0);
    assert!(sem.try_acquire().is_none());
    assert_eq!(sem.get_value(), 0);
    a.forget();
    b.forget();
    sem.release().unwrap();
    assert_eq!(sem.get_value(), 1);
    sem.release().unwrap();
    assert_eq!(sem.get_value(), 2);
    // An unbounded semaphore may go above its initial value.
    sem.release().unwrap();
    assert_eq!(sem.get_value(), 3);
}

#[test]
fn bounded_semaphore_refuses_to_go_above_its_value() {
    let sem = Semaphore::bounded(2).unwrap();
    let p = sem.try_acquire().unwrap();
    p.forget();
    sem.release().unwrap();
    assert!(matches!(sem.release(), Err(SyncError::TooManyReleases { bound: 2 })));
    assert_eq!(sem.get_value(), 2, "a refused release changes nothing");
    assert!(matches!(sem.release_n(2), Err(SyncError::TooManyReleases { .. })));
    assert!(Semaphore::bounded(0).is_err());
    assert!(matches!(Semaphore::new(Semaphore::MAX + 1), Err(SyncError::Invalid(_))));
}

#[tokio::test]
async fn timeouts_as_in_python() {
    let sem = Semaphore::new(0).unwrap();
    assert!(sem.try_acquire().is_none());
    assert!(sem.acquire_timeout(Duration::ZERO).await.unwrap().is_none());
    let start = Instant::now();
    assert!(sem.acquire_timeout(Duration::from_millis(50)).await.unwrap().is_none());
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert!(sem.blocking_acquire_timeout(Duration::from_millis(10)).unwrap().is_none());
}

#[ipc::test]
async fn a_room_of_two_never_holds_three() {
    let room = Semaphore::new(2).unwrap();
    // Incremented on the way in, decremented on the way out: it must never
    // be seen above 2.
    let inside = Semaphore::new(0).unwrap();
    let children: Vec<Process<u32>> = (0..5)
        .map(|_| {
            Process::spawn(
                |(room, inside): (Semaphore, Semaphore)| async move {
                    let mut most = 0;
                    for _ in 0..20 {
                        let _permit = room.acquire().await.unwrap();
                        inside.release().unwrap();
                        most = most.max(inside.get_value());
                        tokio::time::sleep(Duration::from_micros(200)).await;
                        inside.try_acquire().unwrap().forget();
                    }
                    most
                },
                (room.clone(), inside.clone()),
            )
            .unwrap()
        })
        .collect();
    for mut c in children {
        let most = bounded(c.join()).await.unwrap();
        assert!((1..=2).contains(&most), "saw {most} inside a room for two");
    }
    assert_eq!(room.get_value(), 2);
}

#[ipc::test]
async fn a_permit_taken_here_may_be_released_there() {
    let sem = Semaphore::new(1).unwrap();
    sem.acquire().await.unwrap().forget();
    let mut child = Process::spawn(|sem: Semaphore| sem.release().is_ok(), sem.clone()).unwrap();
    assert!(bounded(child.join()).await.unwrap());
    assert_eq!(sem.get_value(), 1);
}

#[tokio::test]
async fn a_cancelled_acquire_loses_no_permit_and_no_wake_up() {
    let sem = Semaphore::new(0).unwrap();
    let a = tokio::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.unwrap().forget() }
    });
    let b = tokio::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.unwrap().forget() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    sem.release().unwrap();
    a.abort(); // if the token was meant for `a`, `b` must get it
    let a_took = a.await.is_ok();
    if !a_took {
        bounded(b).await.unwrap();
    } else {
        b.abort();
    }
    assert_eq!(sem.get_value(), 0, "exactly one permit, taken exactly once");
    // A timed-out acquire takes nothing either.
    assert!(sem.acquire_timeout(Duration::from_millis(10)).await.unwrap().is_none());
    sem.release().unwrap();
    assert_eq!(sem.get_value(), 1);
}

#[ipc::test]
async fn permits_of_a_killed_holder_are_given_back() {
    async fn hold((sem, held): (Semaphore, Event)) {
        let a = sem.acquire().await.unwrap();
        let b = sem.acquire().await.unwrap();
        held.set();
        std::future::pending::<()>().await;
        drop((a, b));
    }
    let sem = Semaphore::new(2).unwrap();
    let held = Event::new().unwrap();
    let mut child = Process::spawn(hold, (sem.clone(), held.clone())).unwrap();
    bounded(held.wait()).await.unwrap();
    assert_eq!(sem.get_value(), 0);
    assert_eq!(sem.recover(), 0, "a live holder keeps its permits");
    let waiter = tokio::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.unwrap().forget() }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let killed = Instant::now();
    child.kill().unwrap();
    bounded(waiter).await.unwrap();
    eprintln!("permits recovered {:?} after SIGKILL", killed.elapsed());
    assert_eq!(sem.get_value(), 1, "two given back, one taken by the waiter");
    bounded(child.join()).await.unwrap_err();
}

#[ipc::test]
async fn owned_permits_move_into_tasks_and_are_recovered_like_the_others() {
    async fn hold((sem, held): (Semaphore, Event)) {
        let permit = sem.acquire_owned().await.unwrap();
        held.set();
        tokio::spawn(async move {
            let _permit = permit;
            std::future::pending::<()>().await
        });
        std::future::pending::<()>().await
    }
    let sem = Semaphore::new(1).unwrap();
    let held = Event::new().unwrap();
    let mut child = Process::spawn(hold, (sem.clone(), held.clone())).unwrap();
    bounded(held.wait()).await.unwrap();
    assert!(sem.try_acquire().is_none());
    child.kill().unwrap();
    bounded(child.join()).await.unwrap_err();
    let permit = bounded(sem.acquire_owned()).await.unwrap();
    drop(permit);
    assert_eq!(sem.get_value(), 1);
}

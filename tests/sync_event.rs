//! `Event` across processes and tasks: CPython's event behaviours
//! (`_test_multiprocessing.py`, `_TestEvent`), every waiter waking, a thousand
//! waiters without a thread each, cancel safety, handles in transit.

mod support;

use std::time::{Duration, Instant};

use ipc::{Event, Pipe, Process};
use support::bounded;

#[tokio::test]
async fn set_clear_is_set_and_timeouts_as_in_python() {
    let e = Event::new().unwrap();
    assert!(!e.is_set());
    // Python: wait(0.0) on a clear event is False at once; wait(t) False after t.
    assert!(!e.wait_timeout(Duration::ZERO).await.unwrap());
    let start = Instant::now();
    assert!(!e.wait_timeout(Duration::from_millis(50)).await.unwrap());
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert!(!e.blocking_wait_timeout(Duration::from_millis(10)).unwrap());
    e.set();
    assert!(e.is_set());
    // Set: every form returns at once, repeatedly.
    assert!(e.wait_timeout(Duration::ZERO).await.unwrap());
    bounded(e.wait()).await.unwrap();
    e.blocking_wait().unwrap();
    e.set(); // setting twice is harmless
    e.clear();
    assert!(!e.is_set());
    e.clear();
    assert!(!e.wait_timeout(Duration::from_millis(5)).await.unwrap());
}

#[ipc::test]
async fn a_child_waits_for_the_parent_and_the_parent_for_the_child() {
    let (go, done) = (Event::new().unwrap(), Event::new().unwrap());
    let mut child = Process::spawn(
        |(go, done): (Event, Event)| async move {
            go.wait().await.unwrap();
            done.set();
        },
        (go.clone(), done.clone()),
    )
    .unwrap();
    assert!(!done.wait_timeout(Duration::from_millis(50)).await.unwrap(), "the child must still be waiting");
    go.set();
    bounded(done.wait()).await.unwrap();
    bounded(child.join()).await.unwrap();
}

#[ipc::test]
async fn every_waiter_in_every_process_wakes() {
    let e = Event::new().unwrap();
    let ready = Event::new().unwrap();
    // Three children, each with 100 waiting tasks on a current-thread runtime
    // (so: without a thread each), report how many woke.
    let mut children: Vec<Process<usize>> = (0..3)
        .map(|_| {
            Process::spawn(
                |(e, ready): (Event, Event)| async move {
                    let tasks: Vec<_> = (0..100)
                        .map(|_| {
                            let e = e.clone();
                            tokio::spawn(async move { e.wait().await.unwrap() })
                        })
                        .collect();
                    tokio::task::yield_now().await;
                    ready.set();
                    let mut woke = 0;
                    for t in tasks {
                        t.await.unwrap();
                        woke += 1;
                    }
                    woke
                },
                (e.clone(), ready.clone()),
            )
            .unwrap()
        })
        .collect();
    // And a thousand tasks here.
    let local: Vec<_> = (0..1000)
        .map(|_| {
            let e = e.clone();
            tokio::spawn(async move { e.wait().await.unwrap() })
        })
        .collect();
    bounded(ready.wait()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await; // let everyone go to sleep
    e.set();
    for t in local {
        bounded(t).await.unwrap();
    }
    for c in &mut children {
        assert_eq!(bounded(c.join()).await.unwrap(), 100);
    }
}

#[ipc::test]
async fn set_then_clear_at_once_still_releases_the_waiters() {
    let e = Event::new().unwrap();
    let started = Event::new().unwrap();
    let mut child = Process::spawn(
        |(e, started): (Event, Event)| {
            started.set();
            e.blocking_wait().unwrap();
            "released".to_string()
        },
        (e.clone(), started.clone()),
    )
    .unwrap();
    bounded(started.wait()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await; // it is asleep in wait()
    e.set();
    e.clear();
    assert_eq!(bounded(child.join()).await.unwrap(), "released");
    assert!(!e.is_set());
}

#[tokio::test]
async fn cancelled_waits_lose_nothing_and_leave_no_false_wakeups() {
    let e = Event::new().unwrap();
    // Many waits cancelled by timeouts.
    for _ in 0..50 {
        assert!(tokio::time::timeout(Duration::from_micros(200), e.wait()).await.is_err());
    }
    // Waiters, half of which are dropped right after the set (their tokens
    // are posted for them but never taken): the others still wake.
    let waiters: Vec<_> = (0..20)
        .map(|_| {
            let e = e.clone();
            tokio::spawn(async move { e.wait().await.unwrap() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    e.set();
    for (i, w) in waiters.into_iter().enumerate() {
        if i % 2 == 0 {
            w.abort();
        } else {
            bounded(w).await.unwrap();
        }
    }
    // Surplus tokens from the aborted waiters must not make a later wait on
    // a cleared event return true.
    e.clear();
    assert!(!e.wait_timeout(Duration::from_millis(50)).await.unwrap());
    assert!(!e.blocking_wait_timeout(Duration::from_millis(20)).unwrap());
    e.set();
    assert!(bounded(e.wait_timeout(Duration::from_secs(5))).await.unwrap());
}

#[ipc::test]
async fn an_event_travels_through_a_connection_and_sync_children_block_on_it() {
    let (mut control, child_end) = Pipe::duplex().unwrap();
    let mut child = Process::spawn(
        |mut control: ipc::Connection| {
            let e: Event = control.blocking_recv().unwrap();
            control.blocking_send(&"got it").unwrap();
            e.blocking_wait().unwrap();
            e.is_set()
        },
        child_end,
    )
    .unwrap();
    let e = Event::new().unwrap();
    control.send(&e).await.unwrap();
    assert_eq!(bounded(control.recv::<String>()).await.unwrap(), "got it");
    e.set();
    assert!(bounded(child.join()).await.unwrap());
}

#[test]
fn an_event_outside_a_transfer_is_an_error() {
    let e = Event::new().unwrap();
    let err = bincode::serde::encode_to_vec(&e, bincode::config::standard()).unwrap_err();
    assert!(err.to_string().contains("ipc transfer"), "{err}");
}

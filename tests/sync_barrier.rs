//! `Barrier` across processes: CPython's barrier behaviours
//! (`_test_multiprocessing.py`, `_TestBarrier`: rounds, one index 0 per
//! round, abort, reset, timeouts breaking it for all) and cancellation.

mod support;

use std::time::Duration;

use ipc::{Barrier, Process, SyncError};
use support::bounded;

const ROUNDS: usize = 5;

#[ipc::test]
async fn parties_pass_together_with_distinct_indices_every_round() {
    let barrier = Barrier::new(4).unwrap();
    // One child waits with the blocking form, two with the async one.
    let mut children: Vec<Process<Vec<u32>>> = vec![
        Process::spawn(
            |b: Barrier| (0..ROUNDS).map(|_| b.blocking_wait().unwrap()).collect::<Vec<u32>>(),
            barrier.clone(),
        )
        .unwrap(),
    ];
    for _ in 0..2 {
        children.push(
            Process::spawn(
                |b: Barrier| async move {
                    let mut indices = Vec::new();
                    for _ in 0..ROUNDS {
                        indices.push(b.wait().await.unwrap());
                    }
                    indices
                },
                barrier.clone(),
            )
            .unwrap(),
        );
    }
    let mut rounds: Vec<Vec<u32>> = Vec::new();
    for _ in 0..ROUNDS {
        rounds.push(vec![bounded(barrier.wait()).await.unwrap()]);
    }
    for mut c in children {
        for (r, i) in bounded(c.join()).await.unwrap().into_iter().enumerate() {
            rounds[r].push(i);
        }
    }
    for mut r in rounds {
        r.sort();
        assert_eq!(r, [0, 1, 2, 3], "each round: every index once, exactly one 0");
    }
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());
}

/// A child that waits on `barrier` alone and reports whether it got
/// `BrokenBarrier`; returns once it is waiting.
async fn spawn_waiter_expecting_broken(barrier: &Barrier) -> Process<bool> {
    let child = Process::spawn(
        |b: Barrier| async move { matches!(b.wait().await, Err(SyncError::BrokenBarrier)) },
        barrier.clone(),
    )
    .unwrap();
    bounded(async {
        while barrier.n_waiting() != 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    child
}

/// A two-party round with a child (blocking form there): indices 0 and 1.
async fn meet_a_child_at(barrier: &Barrier) {
    let mut child = Process::spawn(|b: Barrier| b.blocking_wait().unwrap(), barrier.clone()).unwrap();
    let i = bounded(barrier.wait()).await.unwrap();
    assert_eq!(i + bounded(child.join()).await.unwrap(), 1);
}

#[ipc::test]
async fn abort_breaks_the_round_and_later_waits_until_reset() {
    let barrier = Barrier::new(3).unwrap();
    let mut child = spawn_waiter_expecting_broken(&barrier).await;
    barrier.abort();
    assert!(bounded(child.join()).await.unwrap());
    assert!(barrier.is_broken());
    // Python's n_waiting: 0 unless the round is filling (the child's
    // arrival still counts in the broken round's word).
    assert_eq!(barrier.n_waiting(), 0);
    assert!(matches!(barrier.wait().await, Err(SyncError::BrokenBarrier)));
    barrier.reset();
    assert!(!barrier.is_broken());
    assert_eq!(barrier.n_waiting(), 0);
    // Usable again.
    meet_a_child_at(&Barrier::new(2).unwrap()).await;
}

#[ipc::test]
async fn reset_while_parties_wait_breaks_only_their_round() {
    let barrier = Barrier::new(2).unwrap();
    let mut child = spawn_waiter_expecting_broken(&barrier).await;
    barrier.reset();
    assert!(bounded(child.join()).await.unwrap());
    assert!(!barrier.is_broken());
    meet_a_child_at(&barrier).await;
}

#[ipc::test]
async fn a_timeout_in_one_party_breaks_it_for_all() {
    let barrier = Barrier::new(3).unwrap();
    let mut child = spawn_waiter_expecting_broken(&barrier).await;
    assert!(matches!(barrier.wait_timeout(Duration::from_millis(100)).await, Err(SyncError::BrokenBarrier)));
    assert!(bounded(child.join()).await.unwrap());
    assert!(barrier.is_broken());
    barrier.reset();
    assert!(matches!(barrier.blocking_wait_timeout(Duration::from_millis(20)), Err(SyncError::BrokenBarrier)));
    assert!(barrier.is_broken());
}

#[tokio::test]
async fn a_cancelled_wait_breaks_the_round_but_a_finished_one_does_not() {
    let barrier = Barrier::new(3).unwrap();
    let other = tokio::spawn({
        let b = barrier.clone();
        async move { b.wait().await }
    });
    // Cancel our wait before the third party arrives.
    assert!(tokio::time::timeout(Duration::from_millis(1), barrier.wait()).await.is_err());
    assert!(matches!(bounded(other).await.unwrap(), Err(SyncError::BrokenBarrier)));
    barrier.reset();
    // A single party passes at once, every time.
    let one = Barrier::new(1).unwrap();
    for _ in 0..3 {
        assert_eq!(one.wait().await.unwrap(), 0);
    }
    assert!(Barrier::new(0).is_err());
}

#[ipc::test]
async fn a_thousand_rounds_in_lockstep_across_five_processes() {
    // CPython's test_thousand: five processes pass a five-party barrier a
    // thousand times, each sending the round number under a lock through one
    // shared pipe; every round's five numbers arrive before the next round's.
    const PARTIES: u32 = 5;
    const PASSES: u32 = 1000;
    let barrier = Barrier::new(PARTIES).unwrap();
    let lock = ipc::Lock::new().unwrap();
    let (mut rx, tx) = ipc::Pipe::simplex().unwrap();
    let children: Vec<Process<()>> = (0..PARTIES)
        .map(|_| {
            Process::spawn(
                |(barrier, lock, mut tx): (Barrier, ipc::Lock, ipc::Connection)| async move {
                    for i in 0..PASSES {
                        barrier.wait().await.unwrap();
                        let _g = lock.lock().await.unwrap();
                        tx.send(&i).await.unwrap();
                    }
                },
                (barrier.clone(), lock.clone(), tx.try_clone().unwrap()),
            )
            .unwrap()
        })
        .collect();
    drop(tx);
    bounded(async {
        for i in 0..PASSES {
            for _ in 0..PARTIES {
                assert_eq!(rx.recv::<u32>().await.unwrap(), i);
            }
        }
    })
    .await;
    for mut c in children {
        bounded(c.join()).await.unwrap();
    }
}

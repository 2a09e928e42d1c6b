//! Unit tests of the queue's out-of-line socket and wake-up passing.

use std::os::fd::AsFd;
use std::time::Duration;

use super::flavor::{Flavor, Push, Sleepers, Tag};
use super::*;

/// Sends what a producer sends before publishing out-of-line item `seq`.
fn send_out_of_line(q: &Queue<Vec<u8>>, seq: u64, bytes: &[u8]) {
    let fd = Frozen::create(bytes).unwrap();
    let mut msg = [0u8; OUT_OF_LINE];
    msg[..8].copy_from_slice(&seq.to_le_bytes());
    msg[8..].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    sys::send_with_fds(q.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(&msg)], &[fd.as_fd()]).unwrap();
}

fn socket_is_empty(q: &Queue<Vec<u8>>) -> bool {
    let e = sys::recv_now(q.inner.parts.ool_rx.as_fd(), &mut [0; 16], true, &mut Vec::new()).unwrap_err();
    e.kind() == io::ErrorKind::WouldBlock
}

#[test]
fn orphans_and_garbage_on_the_socket_are_skipped() {
    let q = Queue::<Vec<u8>>::with_ring(None, 256).unwrap();
    // A producer killed between its send and its publish leaves an
    // orphan with a number no record names.
    let orphan = q.flavor().next_out_of_line();
    send_out_of_line(&q, orphan, &[9; 500]);
    // A hostile peer's junk: wrong size, no descriptor.
    sys::send_with_fds(q.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(b"junk")], &[]).unwrap();
    q.try_put(vec![5; 1000]).unwrap();
    q.try_put(vec![6; 10]).unwrap();
    assert_eq!(q.try_get().unwrap(), [5; 1000]);
    assert_eq!(q.try_get().unwrap(), [6; 10]);
    assert!(socket_is_empty(&q), "orphan, junk and item all off the socket");
}

#[test]
fn a_record_whose_memfd_is_gone_is_corrupt_and_skipped() {
    let q = Queue::<Vec<u8>>::with_ring(None, 256).unwrap();
    q.try_put(vec![1; 1000]).unwrap();
    q.discard_out_of_line().unwrap();
    q.try_put(vec![2; 1000]).unwrap();
    assert!(matches!(q.try_get(), Err(GetError::Corrupt)));
    assert_eq!(q.try_get().unwrap(), [2; 1000], "the queue goes on after the lost item");
    assert!(q.is_empty() && socket_is_empty(&q));
}

#[test]
fn a_memfd_that_is_not_frozen_or_too_short_is_refused() {
    let q = Queue::<Vec<u8>>::with_ring(None, 256).unwrap();
    // A record claiming more bytes than its memfd holds.
    let seq = q.flavor().next_out_of_line();
    let fd = Frozen::create(&[0; 100]).unwrap();
    let mut msg = [0u8; OUT_OF_LINE];
    msg[..8].copy_from_slice(&seq.to_le_bytes());
    msg[8..].copy_from_slice(&(1u64 << 40).to_le_bytes());
    sys::send_with_fds(q.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(&msg)], &[fd.as_fd()]).unwrap();
    assert!(matches!(q.flavor().push(&msg, Tag::OutOfLine), Push::Done { .. }));
    assert!(matches!(q.try_get(), Err(GetError::Corrupt)));
    // A writable (unsealed) memfd could change under the reader.
    let seq = q.flavor().next_out_of_line();
    let fd = sys::memfd_sealed(c"unsealed", 4096).unwrap();
    msg[..8].copy_from_slice(&seq.to_le_bytes());
    msg[8..].copy_from_slice(&100u64.to_le_bytes());
    sys::send_with_fds(q.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(&msg)], &[fd.as_fd()]).unwrap();
    assert!(matches!(q.flavor().push(&msg, Tag::OutOfLine), Push::Done { .. }));
    assert!(matches!(q.try_get(), Err(GetError::Corrupt)));
    assert!(q.is_empty() && socket_is_empty(&q));
}

#[test]
fn a_full_socket_makes_producers_wait_like_a_full_ring() {
    // Out-of-line items nobody takes fill the socket's buffer: then
    // `try_put` is `Full`, and a waiting put goes on once one is taken.
    // Strings, which serde copies as one block (a fast debug build).
    let q = Queue::<String>::with_ring(None, 64 << 10).unwrap();
    let item = |i: u32| format!("{i:>40000}");
    let mut n = 0;
    loop {
        match q.try_put(item(n)) {
            Ok(()) => n += 1,
            Err(PutError::Full(_)) => break,
            Err(e) => panic!("expected Full, got {e:?}"),
        }
        assert!(n < 100_000, "the socket never filled");
    }
    assert!(q.qsize() == n as usize && n > 10, "{n} items before the socket filled");
    let producer = std::thread::spawn({
        let q = q.clone();
        move || q.blocking_put_timeout(item(n), Duration::from_secs(30))
    });
    std::thread::sleep(Duration::from_millis(20));
    for i in 0..=n {
        assert_eq!(q.blocking_get_timeout(Duration::from_secs(30)).unwrap(), item(i));
    }
    producer.join().unwrap().unwrap();
}

#[tokio::test]
async fn a_get_cancelled_after_its_wake_up_passes_the_wake_up_on() {
    let q = Queue::<u32>::unbounded().unwrap();
    let flavor = q.flavor();
    // Another consumer, asleep elsewhere (only its registration matters).
    let _other = Sleeper::register(flavor.sleepers(Sleepers::Get));
    let getter = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await; // asleep by now
    // The woken get will wait for the get lock held here.
    let lock = q.inner.parts.get_lock.clone();
    let held = tokio::task::spawn_blocking(move || {
        let _guard = lock.blocking_lock().unwrap();
        std::thread::sleep(Duration::from_millis(400));
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    q.try_put(1).unwrap(); // two sleepers: one claimed, a token, taken by the get
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(Sleeper::count(flavor.sleepers(Sleepers::Get)), 1, "the get woke, the other was not claimed");
    assert!(!q.inner.parts.not_empty.try_take().unwrap(), "the get took the one token");
    getter.abort(); // cancelled while waiting for the lock, the item still there
    assert!(getter.await.unwrap_err().is_cancelled());
    assert!(q.inner.parts.not_empty.try_take().unwrap(), "the other consumer has its wake-up");
    assert_eq!(Sleeper::count(flavor.sleepers(Sleepers::Get)), 0, "claimed for it");
    held.await.unwrap();
    assert_eq!(q.qsize(), 1);
}

/// The tokens waiting in `tokens`, taken.
fn tokens_in(tokens: &crate::wake::Tokens) -> usize {
    std::iter::from_fn(|| tokens.try_take().unwrap().then_some(())).count()
}

// Under load a woken consumer may wait long for a CPU: the puts meanwhile
// must not each post a token (a system call on each side) for a sleeper
// already woken.
#[test]
fn each_sleeping_consumer_is_woken_once_however_many_items_come() {
    let q = Queue::<u32>::unbounded().unwrap();
    let flavor = q.flavor();
    let _asleep =
        [Sleeper::register(flavor.sleepers(Sleepers::Get)), Sleeper::register(flavor.sleepers(Sleepers::Get))];
    for i in 0..10 {
        q.try_put(i).unwrap();
    }
    assert_eq!(tokens_in(&q.inner.parts.not_empty), 2);
}

#[test]
fn a_sleeping_producer_is_woken_once_however_many_items_go() {
    let q = Queue::<u32>::bounded(4).unwrap();
    for i in 0..4 {
        q.try_put(i).unwrap();
    }
    let flavor = q.flavor();
    let _asleep = Sleeper::register(flavor.sleepers(Sleepers::Put));
    for _ in 0..4 {
        q.try_get().unwrap();
    }
    assert_eq!(tokens_in(&q.inner.parts.not_full), 1);
}

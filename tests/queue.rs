//! `Queue` across processes: CPython's queue behaviours
//! (`_test_multiprocessing.py`, `_TestQueue`), close instead of sentinels,
//! exact accounting under load, cancel safety, and producers killed right
//! after and in the middle of puts.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use ipc::{Event, GetError, JoinableQueue, Pipe, Process, PutError, Queue, SimpleQueue};
use support::bounded;

#[test]
fn sizes_full_and_empty_as_in_python() {
    let q = Queue::bounded(6).unwrap();
    assert!(q.is_empty() && !q.is_full());
    for i in 0..6u32 {
        assert_eq!(q.qsize(), i as usize);
        q.try_put(i).unwrap();
    }
    assert!(q.is_full());
    // put_nowait on a full queue: Full, with the item handed back.
    match q.try_put(99) {
        Err(PutError::Full(99)) => {}
        other => panic!("expected Full(99), got {other:?}"),
    }
    let start = Instant::now();
    assert!(q.blocking_put_timeout(99, Duration::from_millis(30)).unwrap_err().is_full());
    assert!(start.elapsed() >= Duration::from_millis(30));
    for i in 0..6u32 {
        assert_eq!(q.try_get().unwrap(), i);
    }
    assert!(matches!(q.try_get(), Err(GetError::Empty)));
    let start = Instant::now();
    assert!(matches!(q.blocking_get_timeout(Duration::from_millis(30)), Err(GetError::Empty)));
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert!(Queue::<u8>::bounded(0).is_err());
    assert!(!Queue::<u8>::unbounded().unwrap().is_full());
}

#[tokio::test]
async fn async_timeouts_hand_the_item_back() {
    let q = Queue::bounded(1).unwrap();
    q.put(String::from("first")).await.unwrap();
    let start = Instant::now();
    let refused = q.put_timeout(String::from("second"), Duration::from_millis(30)).await.unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(refused.into_inner(), "second");
    assert_eq!(q.get_timeout(Duration::from_millis(30)).await.unwrap(), "first");
    assert!(matches!(q.get_timeout(Duration::from_millis(10)).await, Err(GetError::Empty)));
}

#[ipc::test]
async fn fifo_across_processes_including_items_put_before_the_child_started() {
    let q = Queue::unbounded().unwrap();
    for i in 0..100u32 {
        q.put(i).await.unwrap();
    }
    let mut child = Process::spawn(
        |q: Queue<u32>| async move {
            for i in 100..1000u32 {
                q.put(i).await.unwrap();
            }
        },
        q.clone(),
    )
    .unwrap();
    for i in 0..1000u32 {
        assert_eq!(bounded(q.get()).await.unwrap(), i);
    }
    bounded(child.join()).await.unwrap();
}

#[ipc::test]
async fn close_wakes_waiting_consumers_and_producers() {
    let q = Queue::<u8>::bounded(1).unwrap();
    let consumer = Process::spawn(|q: Queue<u8>| matches!(q.blocking_get(), Err(GetError::Closed)), q.clone());
    let mut consumer = consumer.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    q.close();
    assert!(bounded(consumer.join()).await.unwrap());
    // A producer waiting for room is refused with its item.
    let q = Queue::<u8>::bounded(1).unwrap();
    q.put(1).await.unwrap();
    let mut producer = Process::spawn(
        |q: Queue<u8>| async move {
            match q.put(2).await {
                Err(PutError::Closed(2)) => true,
                other => panic!("expected Closed(2), got {other:?}"),
            }
        },
        q.clone(),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    q.close();
    assert!(bounded(producer.join()).await.unwrap());
    // What was put before the close is still delivered, then Closed.
    assert_eq!(q.get().await.unwrap(), 1);
    assert!(matches!(q.get().await, Err(GetError::Closed)));
}

#[ipc::test]
async fn producers_times_consumers_times_items_each_exactly_once() {
    const PRODUCERS: u64 = 3;
    const CONSUMERS: usize = 2;
    const ITEMS: u64 = 2000;
    let q = Queue::<(u64, u64)>::bounded(64).unwrap();
    let producers: Vec<Process<()>> = (0..PRODUCERS)
        .map(|p| {
            Process::spawn(
                |(q, p): (Queue<(u64, u64)>, u64)| async move {
                    for i in 0..ITEMS {
                        q.put((p, i)).await.unwrap();
                    }
                },
                (q.clone(), p),
            )
            .unwrap()
        })
        .collect();
    // Consumers read the queue as a stream until it is closed: no sentinels.
    let consumers: Vec<Process<(u64, u64, bool)>> = (0..CONSUMERS)
        .map(|_| {
            Process::spawn(
                |q: Queue<(u64, u64)>| async move {
                    let (mut n, mut sum) = (0, 0);
                    let mut last = vec![None; PRODUCERS as usize];
                    let mut in_order = true;
                    let mut items = q.stream();
                    while let Some(item) = items.next().await {
                        let (p, i) = item.unwrap();
                        // FIFO per producer, as each consumer sees it.
                        in_order &= last[p as usize].is_none_or(|l| l < i);
                        last[p as usize] = Some(i);
                        n += 1;
                        sum += p * ITEMS + i;
                    }
                    (n, sum, in_order)
                },
                q.clone(),
            )
            .unwrap()
        })
        .collect();
    for mut p in producers {
        bounded(p.join()).await.unwrap();
    }
    q.close();
    let (mut n, mut sum) = (0, 0);
    for mut c in consumers {
        let (cn, csum, in_order) = bounded(c.join()).await.unwrap();
        assert!(in_order, "a consumer saw a producer's items out of order");
        n += cn;
        sum += csum;
    }
    let all = PRODUCERS * ITEMS;
    assert_eq!(n, all);
    assert_eq!(sum, all * (all - 1) / 2, "every item exactly once");
}

#[tokio::test]
async fn cancelled_gets_and_puts_lose_and_duplicate_nothing() {
    let q = Queue::<u32>::bounded(4).unwrap();
    let producer = tokio::spawn({
        let q = q.clone();
        async move {
            for i in 0..500u32 {
                q.put(i).await.unwrap();
            }
        }
    });
    bounded(async {
        let mut next = 0;
        while next < 500 {
            // Very short timeouts: many gets are cancelled mid-wait.
            if let Ok(i) = q.get_timeout(Duration::from_micros(50)).await {
                assert_eq!(i, next);
                next += 1;
            }
        }
    })
    .await;
    bounded(producer).await.unwrap();
    // A cancelled put enqueued nothing.
    q.put(1).await.unwrap();
    for _ in 0..3 {
        q.put(2).await.unwrap();
    }
    assert!(tokio::time::timeout(Duration::from_millis(10), q.put(3)).await.is_err());
    assert_eq!(q.qsize(), 4);
    assert_eq!(q.get().await.unwrap(), 1);
}

#[ipc::test]
async fn a_producer_killed_right_after_put_still_delivers() {
    let q = Queue::unbounded().unwrap();
    let done = Event::new().unwrap();
    let mut child = Process::spawn(
        |(q, done): (Queue<String>, Event)| async move {
            q.put(String::from("made it")).await.unwrap();
            done.set();
            std::future::pending::<()>().await
        },
        (q.clone(), done.clone()),
    )
    .unwrap();
    bounded(done.wait()).await.unwrap();
    child.kill().unwrap();
    bounded(child.join()).await.unwrap_err();
    assert_eq!(bounded(q.get()).await.unwrap(), "made it");
}

#[ipc::test]
async fn producers_killed_mid_put_never_tear_an_item_or_wedge_the_queue() {
    producers_killed_mid_put(64 << 10).await;
}

#[ipc::test]
async fn producers_killed_mid_put_of_out_of_line_items_leave_no_trace() {
    // With a 256-byte ring, items over 120 encoded bytes travel out of line,
    // and the kill lands in their send-then-publish sequence too.
    producers_killed_mid_put(256).await;
}

/// A producer puts items of ~65-200 encoded bytes as fast as a consumer
/// here takes them, so it is almost always inside a put; it is killed at an
/// arbitrary moment.
async fn producers_killed_mid_put(ring: usize) {
    fn item(n: u64) -> Vec<u64> {
        (0..64).map(|k| n.wrapping_mul(31).wrapping_add(k)).collect()
    }
    let q = Queue::<Vec<u64>>::with_ring(None, ring).unwrap();
    for round in 0..4 {
        let mut child: Process<()> = Process::spawn(
            |q: Queue<Vec<u64>>| async move {
                let mut n: u64 = 0;
                loop {
                    q.put((0..64).map(|k| n.wrapping_mul(31).wrapping_add(k)).collect()).await.unwrap();
                    n += 1;
                }
            },
            q.clone(),
        )
        .unwrap();
        let (killed, flowing) = (Event::new().unwrap(), Event::new().unwrap());
        let consumer = tokio::spawn({
            let (q, killed, flowing) = (q.clone(), killed.clone(), flowing.clone());
            async move {
                // Everything delivered is whole, and in order.
                let mut n = 0;
                loop {
                    match q.get_timeout(Duration::from_millis(20)).await {
                        Ok(v) => {
                            assert_eq!(v, item(n), "a torn or misplaced item");
                            n += 1;
                            flowing.set();
                        }
                        Err(GetError::Empty) if killed.is_set() => return n,
                        Err(GetError::Empty) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        });
        // Kill it an arbitrary few milliseconds after items start flowing.
        bounded(flowing.wait()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2 + round * 5)).await;
        child.kill().unwrap();
        bounded(child.join()).await.unwrap_err();
        killed.set();
        let taken = bounded(consumer).await.unwrap();
        assert!(taken > 0, "the producer never got going");
        eprintln!("round {round}: {taken} items taken before the kill");
        // The queue still works for others.
        q.put(item(7)).await.unwrap();
        assert_eq!(bounded(q.get()).await.unwrap(), item(7));
    }
}

#[ipc::test]
async fn queues_travel_through_connections() {
    let (mut here, there) = Pipe::duplex().unwrap();
    let mut child = Process::spawn(
        |mut conn: ipc::Connection| async move {
            let q: Queue<String> = conn.recv().await.unwrap();
            q.put(q.get().await.unwrap().to_uppercase()).await.unwrap();
        },
        there,
    )
    .unwrap();
    let q = Queue::unbounded().unwrap();
    here.send(&q).await.unwrap();
    q.put(String::from("shout")).await.unwrap();
    bounded(child.join()).await.unwrap();
    assert_eq!(q.get().await.unwrap(), "SHOUT");
}

#[ipc::test]
async fn handles_in_items_are_refused_with_the_item() {
    let q = Queue::<Event>::unbounded().unwrap();
    assert!(matches!(q.put(Event::new().unwrap()).await, Err(PutError::Encode(..))));
    assert!(q.is_empty());
}

#[ipc::test]
async fn items_larger_than_the_ring_keep_their_place_in_line() {
    // A 1 KiB ring: anything over ~500 bytes travels out of line, in order
    // with the small items around it, from a producer that exits at once.
    let q = Queue::<Vec<u8>>::with_ring(None, 1024).unwrap();
    let sizes = [10, 5000, 20, 100_000, 600, 1, 3 << 20, 7];
    let mut child = Process::spawn(
        |(q, sizes): (Queue<Vec<u8>>, Vec<usize>)| async move {
            for (i, n) in sizes.into_iter().enumerate() {
                q.put(vec![i as u8; n]).await.unwrap();
            }
        },
        (q.clone(), sizes.to_vec()),
    )
    .unwrap();
    bounded(child.join()).await.unwrap();
    assert_eq!(q.qsize(), sizes.len());
    for (i, n) in sizes.into_iter().enumerate() {
        assert_eq!(bounded(q.get()).await.unwrap(), vec![i as u8; n]);
    }
    assert!(q.is_empty());
}

#[ipc::test]
async fn a_256_mib_item_from_a_producer_that_exits_right_after() {
    const LEN: usize = 256 << 20;
    /// Bytes that tell a misplaced block from a right one (251 is prime).
    fn pattern() -> serde_bytes::ByteBuf {
        let block: Vec<u8> = (0..251u8).collect();
        let mut v = Vec::with_capacity(LEN);
        while v.len() < LEN {
            let n = block.len().min(LEN - v.len());
            v.extend_from_slice(&block[..n]);
        }
        serde_bytes::ByteBuf::from(v)
    }
    let q = Queue::unbounded().unwrap();
    let mut child = Process::spawn(
        |q: Queue<serde_bytes::ByteBuf>| async move {
            q.put(serde_bytes::ByteBuf::from(vec![1u8; 3])).await.unwrap();
            q.put(pattern()).await.unwrap();
            q.put(serde_bytes::ByteBuf::from(vec![2u8; 3])).await.unwrap();
        },
        q.clone(),
    )
    .unwrap();
    bounded(child.join()).await.unwrap();
    assert_eq!(bounded(q.get()).await.unwrap().as_slice(), [1; 3]);
    let big = bounded(q.get()).await.unwrap();
    assert!(big.len() == LEN && big == pattern(), "the 256 MiB item came back different");
    drop(big);
    assert_eq!(bounded(q.get()).await.unwrap().as_slice(), [2; 3]);
}

#[test]
fn joinable_counts_as_in_python() {
    let q = JoinableQueue::unbounded().unwrap();
    assert!(q.task_done().is_err(), "task_done with nothing put");
    for i in 0..3u8 {
        q.try_put(i).unwrap();
    }
    assert_eq!(q.unfinished(), 3);
    assert!(!q.blocking_join_timeout(Duration::from_millis(10)).unwrap());
    for _ in 0..3 {
        q.try_get().unwrap();
        q.task_done().unwrap();
    }
    assert_eq!(q.unfinished(), 0);
    assert!(q.task_done().is_err(), "one call too many");
    assert_eq!(q.unfinished(), 0, "a refused task_done changes nothing");
    q.blocking_join().unwrap();
}

#[ipc::test]
async fn producers_join_until_daemon_consumers_are_done() {
    // Tutorial 000's JoinableQueue program: two producers put and join, two
    // daemon consumers take and mark done forever.
    let q = JoinableQueue::<String>::unbounded().unwrap();
    for _ in 0..2 {
        Process::builder()
            .daemon(true)
            .spawn(
                |q: JoinableQueue<String>| async move {
                    while let Ok(item) = q.get().await {
                        assert!(item.starts_with("包子"));
                        q.task_done().unwrap();
                    }
                },
                q.clone(),
            )
            .unwrap();
    }
    let producers: Vec<Process<usize>> = (0..2)
        .map(|p| {
            Process::spawn(
                |(q, p): (JoinableQueue<String>, u32)| async move {
                    for i in 0..10 {
                        q.put(format!("包子{p}-{i}")).await.unwrap();
                    }
                    q.join().await.unwrap();
                    q.unfinished()
                },
                (q.clone(), p),
            )
            .unwrap()
        })
        .collect();
    for mut p in producers {
        assert_eq!(bounded(p.join()).await.unwrap(), 0, "join returned with work unfinished");
    }
    assert!(q.join_timeout(Duration::ZERO).await.unwrap());
    q.close();
}

#[ipc::test]
async fn a_simple_queue_between_processes() {
    let q = SimpleQueue::new().unwrap();
    let mut child = Process::spawn(
        |q: SimpleQueue<u32>| async move {
            for i in 0..5 {
                q.put(i).await.unwrap();
            }
        },
        q.clone(),
    )
    .unwrap();
    bounded(child.join()).await.unwrap();
    let got: Vec<u32> = (0..5).map(|_| q.try_get().unwrap()).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert!(q.is_empty());
}

#[ipc::test]
async fn items_of_every_size_up_to_half_the_ring_keep_their_order() {
    // Small and large items through the ring (all under half of it), from
    // byte buffers and from vectors serde encodes element by element.
    let q = Queue::<serde_bytes::ByteBuf>::unbounded().unwrap();
    let sizes = [10usize, 100 << 10, 3, 300 << 10, (64 << 10) + 1, 64 << 10];
    let mut child = Process::spawn(
        |(q, sizes): (Queue<serde_bytes::ByteBuf>, Vec<usize>)| async move {
            for (i, n) in sizes.into_iter().enumerate() {
                q.put(serde_bytes::ByteBuf::from(vec![i as u8 + 1; n])).await.unwrap();
            }
        },
        (q.clone(), sizes.to_vec()),
    )
    .unwrap();
    for (i, n) in sizes.into_iter().enumerate() {
        let got = bounded(q.get()).await.unwrap();
        assert!(got.len() == n && got.iter().all(|&b| b == i as u8 + 1), "item {i} of {n} bytes");
    }
    bounded(child.join()).await.unwrap();
    let v = Queue::<Vec<u16>>::unbounded().unwrap();
    let item: Vec<u16> = (0..60_000).collect(); // ~150 KiB of varints
    v.put(item.clone()).await.unwrap();
    v.put(vec![1, 2]).await.unwrap();
    assert_eq!(v.get().await.unwrap(), item);
    assert_eq!(v.get().await.unwrap(), [1, 2]);
}

/// A `Deserialize` that refuses items starting with 0 and panics on items
/// starting with 1.
#[derive(Debug, PartialEq, serde::Serialize)]
struct Picky(serde_bytes::ByteBuf);

impl<'de> serde::Deserialize<'de> for Picky {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(d)?;
        match bytes.first() {
            Some(0) => Err(serde::de::Error::custom("refused")),
            Some(1) => panic!("picky"),
            _ => Ok(Picky(bytes)),
        }
    }
}

#[test]
fn items_that_fail_to_decode_are_taken_with_their_error_small_or_large() {
    // Large items are decoded straight out of the ring, under the get lock;
    // small ones after it. Either way a bad item is taken and the next get
    // gets the next item.
    for size in [16, 256 << 10] {
        let q = Queue::<Picky>::with_ring(None, 4 << 20).unwrap();
        for first in [0u8, 1, 2] {
            q.try_put(Picky(serde_bytes::ByteBuf::from(vec![first; size]))).unwrap();
        }
        assert!(matches!(q.try_get(), Err(GetError::Decode(e)) if e.to_string().contains("refused")));
        assert_eq!(q.qsize(), 2);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.try_get()));
        assert!(panicked.is_err(), "the Deserialize panic reaches the caller");
        assert_eq!(q.qsize(), 1, "{size}-byte item taken despite the panic");
        assert_eq!(q.try_get().unwrap(), Picky(serde_bytes::ByteBuf::from(vec![2; size])));
    }
}

#[tokio::test]
async fn a_put_needs_only_a_send_item_to_be_a_send_future() {
    // `Cell` is Send but not Sync: no borrow of the item may live across
    // the put's awaits.
    let q = Queue::<std::cell::Cell<u32>>::unbounded().unwrap();
    let producer = q.clone();
    tokio::spawn(async move { producer.put(std::cell::Cell::new(5)).await.unwrap() }).await.unwrap();
    assert_eq!(q.get().await.unwrap().get(), 5);
}

#[test]
fn every_sleeping_consumer_is_woken_by_a_burst_of_puts() {
    // One sleeping consumer is woken once for a burst (not once per item);
    // two sleeping consumers each get a wake-up for the items that are
    // theirs, so neither sleeps beside an item. Gets without a timeout (a
    // timed get takes the item when its time runs out, hiding a missed
    // wake-up), watched from here with one.
    let q = Queue::<u32>::unbounded().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let consumer = |n: u32| {
        let (q, tx) = (q.clone(), tx.clone());
        std::thread::spawn(move || tx.send((0..n).map(|_| q.blocking_get().unwrap()).sum::<u32>()))
    };
    let lone = consumer(1000);
    std::thread::sleep(Duration::from_millis(100)); // asleep by now
    for i in 0..1000 {
        q.try_put(i).unwrap();
    }
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok((0..1000).sum()));
    lone.join().unwrap().unwrap();
    let pair = [consumer(1), consumer(1)];
    std::thread::sleep(Duration::from_millis(100));
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    let mut got = [0, 0].map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("a consumer slept beside an item"));
    got.sort_unstable();
    assert_eq!(got, [1, 2]);
    for t in pair {
        t.join().unwrap().unwrap();
    }
}

#[ipc::test]
async fn a_consumer_never_sleeps_beside_items_when_another_took_its_wake_up() {
    // Two producers, two consumers with quotas, as in the 2 -> 2 benchmark:
    // the consumers keep up, so they fall asleep often, and one that looks
    // at the empty ring just before a put can take the token that put
    // posted for the other. When it then leaves with its quota, the other
    // must still be woken for the items left (it slept forever, with items
    // in the ring, before a woken consumer passed the wake-up on).
    fn produce((q, n): (Queue<u64>, u64)) {
        for i in 0..n {
            q.blocking_put(i).unwrap();
        }
    }
    fn consume((q, n): (Queue<u64>, u64)) -> u64 {
        (0..n).map(|_| q.blocking_get().unwrap()).sum()
    }
    for round in 0..8u64 {
        let per = 20_000 + 1_000 * round;
        let q = Queue::<u64>::unbounded().unwrap();
        let mut children = Vec::new();
        for _ in 0..2 {
            children.push(Process::spawn(produce, (q.clone(), per)).unwrap());
        }
        let consumers = [
            Process::spawn(consume, (q.clone(), per - 7)).unwrap(),
            Process::spawn(consume, (q.clone(), per + 7)).unwrap(),
        ];
        let mut sum = 0;
        for mut c in consumers {
            sum += bounded(c.join()).await.unwrap();
        }
        for mut p in children {
            bounded(p.join()).await.unwrap();
        }
        assert_eq!(sum, per * (per - 1), "round {round}");
        assert!(q.is_empty());
    }
}

/// A message whose bytes are plain `Vec<u8>`s, as a Python port writes them.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
struct Chunk {
    name: String,
    data: Vec<u8>,
    parts: Vec<Vec<u8>>,
}

fn chunk(i: usize, size: usize) -> Chunk {
    Chunk {
        name: format!("chunk {i}"),
        data: (0..size).map(|b| (b * 31 + i) as u8).collect(),
        parts: vec![vec![i as u8; 3], Vec::new()],
    }
}

#[ipc::test]
async fn plain_byte_vectors_cross_the_ring_and_out_of_line_intact() {
    // Small, large (decoded straight out of the ring) and over half the
    // ring (out of line), through a child and a pipe back.
    let sizes = [0usize, 10, 100 << 10, 600 << 10];
    let q = Queue::<Chunk>::with_ring(None, 1 << 20).unwrap();
    let (mut near, far) = Pipe::duplex().unwrap();
    let mut child = Process::spawn(
        |(q, mut far, n): (Queue<Chunk>, ipc::Connection, usize)| async move {
            for _ in 0..n {
                let got = q.get().await.unwrap();
                far.send(&got).await.unwrap();
            }
        },
        (q.clone(), far, sizes.len()),
    )
    .unwrap();
    for (i, &size) in sizes.iter().enumerate() {
        q.put(chunk(i, size)).await.unwrap();
    }
    for (i, &size) in sizes.iter().enumerate() {
        assert_eq!(bounded(near.recv::<Chunk>()).await.unwrap(), chunk(i, size));
    }
    bounded(child.join()).await.unwrap();
}

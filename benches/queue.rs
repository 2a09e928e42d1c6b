//! `Queue` between processes beside the floor and Python, in the same run:
//!
//! - 1 producer → 1 consumer, small items (a `u64`, a ~100-byte struct):
//!   items/s, beside raw 8-byte socketpair messages between two processes,
//!   a raw shared-memory ring of `u64`s (the queue's own mechanism without
//!   locks, sleeps or encoding) and Python's `Queue` and `SimpleQueue`;
//! - 2 producers → 2 consumers, beside Python's `Queue`;
//! - 4 → 4 and 8 → 8 (more processes than CPUs) beside 1 → 1 and Python's
//!   `Queue`;
//! - 1 MiB items: bytes/s, beside `memcpy` and Python's `Queue` (built per
//!   put, or one `bytes::Bytes` put many times as Python puts one object).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ipc::{Barrier, Process, Queue};
use serde::Serialize;

#[path = "support.rs"]
mod support;

#[path = "record.rs"]
mod record;
use record::record;

/// A producer: meet at the barrier, put `n` copies of `item`.
fn produce<T: Serialize + serde::de::DeserializeOwned + Clone>((q, ready, n, item): (Queue<T>, Barrier, u64, T)) {
    ready.blocking_wait().unwrap();
    for _ in 0..n {
        q.blocking_put(item.clone()).unwrap();
    }
}

/// A consumer: meet at the barrier, take `n` items.
fn consume<T: Serialize + serde::de::DeserializeOwned>((q, ready, n): (Queue<T>, Barrier, u64)) {
    ready.blocking_wait().unwrap();
    for _ in 0..n {
        black_box(q.blocking_get().unwrap());
    }
}

/// `producers` producers and as many consumers (children), `per` items
/// each; the time from the barrier to the last consumer's exit.
fn run<T>(q: Queue<T>, producers: u64, per: u64, item: T) -> Duration
where
    T: Serialize + serde::de::DeserializeOwned + Clone + Send + 'static,
{
    let ready = Barrier::new(2 * producers as u32 + 1).unwrap();
    let mut children = Vec::new();
    for _ in 0..producers {
        children.push(Process::spawn(produce::<T>, (q.clone(), ready.clone(), per, item.clone())).unwrap());
        children.push(Process::spawn(consume::<T>, (q.clone(), ready.clone(), per)).unwrap());
    }
    ready.blocking_wait().unwrap();
    let start = Instant::now();
    for mut c in children {
        c.blocking_join().unwrap();
    }
    start.elapsed()
}

/// The floor: 8-byte messages over a blocking SOCK_SEQPACKET socketpair,
/// written by a forked child (which only calls write/_exit) and read here.
fn raw_messages(iters: u64) -> Duration {
    let mut fds = [0; 2];
    // SAFETY: socketpair fills `fds` with two new descriptors; checked below.
    let ret =
        unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    assert_eq!(ret, 0);
    let msg = 12345u64.to_ne_bytes();
    // SAFETY: the child only makes async-signal-safe calls (write, _exit).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        for _ in 0..iters {
            // SAFETY: an 8-byte write from a live buffer on a live socket.
            unsafe { libc::write(fds[0], msg.as_ptr().cast(), 8) };
        }
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(0) };
    }
    let mut buf = [0u8; 8];
    let start = Instant::now();
    for _ in 0..iters {
        // SAFETY: an 8-byte read into a live buffer on a live socket.
        unsafe { libc::read(fds[1], buf.as_mut_ptr().cast(), 8) };
    }
    let elapsed = start.elapsed();
    // SAFETY: reap the child, close our descriptors.
    unsafe {
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    elapsed
}

/// The ring floor's shared page: head and tail counters on cache lines of
/// their own, then the slots.
const RING_SLOTS: usize = 4096;

/// The floor of the queue's own mechanism: a single-producer,
/// single-consumer ring of `u64` slots in shared memory between this
/// process (consuming) and a forked child (producing), both spinning (the
/// child only touches atomics and `_exit`s). No locks, no sleeping, no
/// encoding: what moving an item through shared memory costs.
#[allow(clippy::disallowed_types)] // the floor is raw std atomics on a shared page
fn raw_ring(iters: u64) -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    let len = 128 + RING_SLOTS * 8;
    // SAFETY: a fresh anonymous shared mapping; checked below.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    // SAFETY: the mapping is page-aligned, zeroed and `len` bytes long, so
    // these 8-byte words (head at 0, tail at 64, slots from 128) are aligned
    // and inside it; it outlives every use below (unmapped at the end).
    let word = |offset: usize| unsafe { &*base.cast::<u8>().add(offset).cast::<AtomicU64>() };
    let (head, tail) = (word(0), word(64));
    let slot = |i: u64| word(128 + (i as usize % RING_SLOTS) * 8);
    // SAFETY: the child only touches the shared atomics, then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        for i in 0..iters {
            // Acquire: the consumer's reads of the slot are done.
            while i - tail.load(Ordering::Acquire) >= RING_SLOTS as u64 {
                std::hint::spin_loop();
            }
            slot(i).store(12345, Ordering::Relaxed);
            // Release: publishes the slot.
            head.store(i + 1, Ordering::Release);
        }
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(0) };
    }
    let start = Instant::now();
    for i in 0..iters {
        // Acquire: pairs with the producer's Release of `head`.
        while head.load(Ordering::Acquire) <= i {
            std::hint::spin_loop();
        }
        black_box(slot(i).load(Ordering::Relaxed));
        tail.store(i + 1, Ordering::Release);
    }
    let elapsed = start.elapsed();
    // SAFETY: reap the child; unmap the page nothing uses any more.
    unsafe {
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        libc::munmap(base, len);
    }
    elapsed
}

fn one_to_one(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_1_to_1");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(1));
    g.bench_function("ipc Queue<u64>", |b| b.iter_custom(|n| run(Queue::unbounded().unwrap(), 1, n, 12345u64)));
    g.bench_function("ipc Queue<~100-byte struct>", |b| {
        b.iter_custom(|n| run(Queue::unbounded().unwrap(), 1, n, record()))
    });
    g.bench_function("floor: raw 8-byte socketpair messages", |b| b.iter_custom(raw_messages));
    g.bench_function("floor: raw shared-memory ring of u64, both sides spinning", |b| b.iter_custom(raw_ring));
    if support::have_python() {
        g.bench_function("python Queue", |b| {
            b.iter_custom(support::python_fixed("mpqueue.py", 100_000, |n| vec!["queue".into(), n.to_string()]))
        });
        g.bench_function("python SimpleQueue", |b| {
            b.iter_custom(support::python_fixed("mpqueue.py", 100_000, |n| vec!["simple".into(), n.to_string()]))
        });
    }
    g.finish();
}

fn two_to_two(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_2_to_2");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(1));
    g.bench_function("ipc Queue<u64>", |b| {
        b.iter_custom(|n| run(Queue::unbounded().unwrap(), 2, n.div_ceil(2), 12345u64))
    });
    if support::have_python() {
        g.bench_function("python Queue", |b| {
            // n items, n/2 per producer.
            b.iter_custom(support::python_fixed("mpqueue.py", 100_000, |n| vec!["two".into(), (n / 2).to_string()]))
        });
    }
    g.finish();
}

/// More processes than CPUs: 4 producers → 4 consumers and 8 → 8 on this
/// machine's CPUs (two here), beside 1 → 1 in the same run, for the
/// collapse under load issue 22 names (goal: ≥ 40% of 1 → 1).
fn many_to_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue_n_to_n");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(1));
    for n in [1u64, 4, 8] {
        g.bench_function(format!("ipc Queue<u64> {n} -> {n}"), |b| {
            b.iter_custom(|iters| run(Queue::unbounded().unwrap(), n, iters.div_ceil(n), 12345u64))
        });
    }
    if support::have_python() {
        for n in [4u64, 8] {
            g.bench_function(format!("python Queue {n} -> {n}"), |b| {
                // 80,000 items in all, n producers putting a share each.
                b.iter_custom(support::python_fixed("mpqueue.py", 80_000, move |total| {
                    vec!["many".into(), n.to_string(), (total / n).to_string()]
                }))
            });
        }
    }
    g.finish();
}

fn big_items(c: &mut Criterion) {
    const SIZE: usize = 1 << 20;
    let mut g = c.benchmark_group("queue_1MiB_items");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("ipc Queue<Vec<u8>>", |b| {
        b.iter_custom(|n| run(Queue::with_ring(None, 8 << 20).unwrap(), 1, n, vec![0xabu8; SIZE]))
    });
    // serde sees a Vec<u8> as a sequence of u8s and serde_bytes as one
    // byte string; the codec moves both as one block (the rows should match).
    g.bench_function("ipc Queue<serde_bytes::ByteBuf>", |b| {
        b.iter_custom(|n| {
            run(Queue::with_ring(None, 8 << 20).unwrap(), 1, n, serde_bytes::ByteBuf::from(vec![0xabu8; SIZE]))
        })
    });
    // The same through `bytes::Bytes`, whose clone shares the buffer: the
    // producer puts one item many times, as Python's does, rather than
    // copying it before every put (which the row above counts).
    g.bench_function("ipc Queue<bytes::Bytes>", |b| {
        b.iter_custom(|n| run(Queue::with_ring(None, 8 << 20).unwrap(), 1, n, bytes::Bytes::from(vec![0xabu8; SIZE])))
    });
    // The default 1 MiB ring sends 1 MiB items out of line (a memfd each).
    g.bench_function("ipc Queue<serde_bytes::ByteBuf> out of line", |b| {
        b.iter_custom(|n| run(Queue::unbounded().unwrap(), 1, n, serde_bytes::ByteBuf::from(vec![0xabu8; SIZE])))
    });
    let (src, mut dst) = (vec![0xabu8; SIZE], vec![0u8; SIZE]);
    g.bench_function("floor: memcpy", |b| b.iter(|| dst.copy_from_slice(black_box(&src))));
    if support::have_python() {
        g.bench_function("python Queue", |b| {
            b.iter_custom(support::python_fixed("mpqueue.py", 100, |n| {
                vec!["big".into(), SIZE.to_string(), n.to_string()]
            }))
        });
    }
    g.finish();
}

fn main() {
    ipc::init();
    let mut c = Criterion::default().configure_from_args();
    one_to_one(&mut c);
    two_to_two(&mut c);
    many_to_many(&mut c);
    big_items(&mut c);
    c.final_summary();
}

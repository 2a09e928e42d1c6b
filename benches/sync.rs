//! The synchronisation primitives beside their floors and Python, in the
//! same run:
//!
//! - uncontended `Lock` lock + drop, beside a raw compare-exchange + store
//!   pair on a shared page and Python's `Lock.acquire()`/`release()`;
//! - two processes contending for one `Lock` (lock, increment, unlock),
//!   beside Python;
//! - `Event` ping-pong between two processes (two events), beside a raw
//!   eventfd ping-pong between two processes and Python's `Event`.

#![allow(clippy::disallowed_types)] // the floor is a raw std atomic on a shared page

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ipc::{Barrier, Event, Lock, Process};

#[path = "support.rs"]
mod support;

/// The child's side: `n` times, wait for `ping`, lower it, raise `pong`.
fn pong((ping, pong, n): (Event, Event, u64)) {
    for _ in 0..n {
        ping.blocking_wait().unwrap();
        ping.clear();
        pong.set();
    }
}

fn ipc_ping_pong(iters: u64) -> Duration {
    let (ping, pong_) = (Event::new().unwrap(), Event::new().unwrap());
    let mut child = Process::spawn(pong, (ping.clone(), pong_.clone(), iters + 1)).unwrap();
    // One warm-up exchange, so the child is running before the clock starts.
    ping.set();
    pong_.blocking_wait().unwrap();
    pong_.clear();
    let start = Instant::now();
    for _ in 0..iters {
        ping.set();
        pong_.blocking_wait().unwrap();
        pong_.clear();
    }
    let elapsed = start.elapsed();
    child.blocking_join().unwrap();
    elapsed
}

/// The floor: two blocking eventfds, written and read in turn by a forked
/// child (which only calls read/write/_exit, all async-signal-safe).
fn raw_eventfd_ping_pong(iters: u64) -> Duration {
    // SAFETY: eventfd creates new descriptors; checked below.
    let (a, b) = unsafe { (libc::eventfd(0, libc::EFD_CLOEXEC), libc::eventfd(0, libc::EFD_CLOEXEC)) };
    assert!(a >= 0 && b >= 0);
    let one = 1u64.to_ne_bytes();
    let mut buf = [0u8; 8];
    // SAFETY: the child only makes async-signal-safe calls (read, write,
    // _exit) on descriptors it inherited, then exits without unwinding.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        for _ in 0..iters + 1 {
            // SAFETY: 8-byte reads and writes on live eventfds.
            unsafe {
                libc::read(a, buf.as_mut_ptr().cast(), 8);
                libc::write(b, one.as_ptr().cast(), 8);
            }
        }
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(0) };
    }
    let exchange = |buf: &mut [u8; 8]| {
        // SAFETY: 8-byte writes and reads on live eventfds.
        unsafe {
            libc::write(a, one.as_ptr().cast(), 8);
            libc::read(b, buf.as_mut_ptr().cast(), 8);
        }
    };
    exchange(&mut buf);
    let start = Instant::now();
    for _ in 0..iters {
        exchange(&mut buf);
    }
    let elapsed = start.elapsed();
    // SAFETY: reap the forked child and close our descriptors.
    unsafe {
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        libc::close(a);
        libc::close(b);
    }
    elapsed
}

fn event_ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_ping_pong");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("ipc Event (blocking wait)", |b| b.iter_custom(ipc_ping_pong));
    g.bench_function("floor: raw eventfd ping-pong", |b| b.iter_custom(raw_eventfd_ping_pong));
    if support::have_python() {
        g.sample_size(10);
        g.bench_function("python Event", |b| {
            b.iter_custom(support::python_fixed("event.py", 5_000, |n| vec![n.to_string()]))
        });
    }
    g.finish();

    // Both processes on one CPU: spinning cannot help, so the learned spin
    // must back off and cost no more than parking (the raw floor).
    let all: Vec<usize> = (0..ipc::cpu_count()).collect();
    support::pin_to(&[0]);
    let mut g = c.benchmark_group("event_ping_pong_same_cpu");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.bench_function("ipc Event (blocking wait)", |b| b.iter_custom(ipc_ping_pong));
    g.bench_function("floor: raw eventfd ping-pong", |b| b.iter_custom(raw_eventfd_ping_pong));
    g.finish();
    support::pin_to(&all);
}

/// Median and 99th percentile of single `Event` round trips across CPUs
/// (criterion reports means of batches; the tail needs single samples).
fn event_tail() {
    const N: usize = 20_000;
    let (ping, pong_) = (Event::new().unwrap(), Event::new().unwrap());
    let mut child = Process::spawn(pong, (ping.clone(), pong_.clone(), N as u64 + 100)).unwrap();
    let mut samples = Vec::with_capacity(N);
    for i in 0..N + 100 {
        let start = Instant::now();
        ping.set();
        pong_.blocking_wait().unwrap();
        pong_.clear();
        if i >= 100 {
            samples.push(start.elapsed());
        }
    }
    child.blocking_join().unwrap();
    samples.sort();
    println!(
        "event_ping_pong single round trips ({N}): median {:?}, p99 {:?}, max {:?}",
        samples[N / 2],
        samples[N * 99 / 100],
        samples[N - 1]
    );
}

/// A shared anonymous page, as a lock word lives in.
struct SharedPage(*mut libc::c_void);

impl SharedPage {
    fn new() -> SharedPage {
        // SAFETY: a fresh anonymous shared mapping of one page; checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        SharedPage(p)
    }

    fn word(&self) -> &AtomicU32 {
        // SAFETY: the page is mapped, aligned, zeroed and lives as long as self.
        unsafe { &*self.0.cast::<AtomicU32>() }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped in `new`; no reference outlives self.
        unsafe { libc::munmap(self.0, 4096) };
    }
}

fn lock_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("lock_uncontended");
    g.sample_size(20).measurement_time(Duration::from_secs(2)).throughput(Throughput::Elements(1));
    let lock = Lock::new().unwrap();
    g.bench_function("ipc Lock lock+drop", |b| b.iter(|| drop(black_box(lock.blocking_lock().unwrap()))));
    let page = SharedPage::new();
    let word = page.word();
    g.bench_function("floor: atomic CAS+store on a shared page", |b| {
        b.iter(|| {
            let _ = black_box(word.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed));
            word.store(0, Ordering::Release);
        })
    });
    // The in-process locks a Rust program would otherwise use.
    let std_mutex = std::sync::Mutex::new(());
    g.bench_function("std::sync::Mutex lock+drop", |b| b.iter(|| drop(black_box(std_mutex.lock().unwrap()))));
    let pl_mutex = parking_lot::Mutex::new(());
    g.bench_function("parking_lot::Mutex lock+drop", |b| b.iter(|| drop(black_box(pl_mutex.lock()))));
    if support::have_python() {
        g.sample_size(10);
        g.bench_function("python Lock acquire+release", |b| {
            b.iter_custom(support::python_fixed("lock.py", 2_000_000, |n| vec!["uncontended".into(), n.to_string()]))
        });
    }
    g.finish();
}

/// One side of the contended lock: meet at the barrier, then `n` times lock,
/// increment, unlock.
fn hammer((lock, barrier, n): (Lock, Barrier, u64)) -> u64 {
    barrier.blocking_wait().unwrap();
    let mut x = 0u64;
    for _ in 0..n {
        let _g = lock.blocking_lock().unwrap();
        x = black_box(x + 1);
    }
    x
}

/// `iters` lock+increment+unlock pairs split over two processes.
fn ipc_contended(iters: u64) -> Duration {
    let (lock, barrier) = (Lock::new().unwrap(), Barrier::new(2).unwrap());
    let half = iters.div_ceil(2);
    let mut child = Process::spawn(hammer, (lock.clone(), barrier.clone(), half)).unwrap();
    barrier.blocking_wait().unwrap();
    let start = Instant::now();
    let mut x = 0u64;
    for _ in 0..half {
        let _g = lock.blocking_lock().unwrap();
        x = black_box(x + 1);
    }
    assert_eq!(child.blocking_join().unwrap(), half);
    start.elapsed()
}

fn lock_contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("lock_contended_2_processes");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(1));
    g.bench_function("ipc Lock", |b| b.iter_custom(ipc_contended));
    if support::have_python() {
        g.bench_function("python Lock", |b| {
            // n pairs, n/2 per process.
            b.iter_custom(support::python_fixed("lock.py", 400_000, |n| vec!["contended".into(), (n / 2).to_string()]))
        });
    }
    g.finish();
}

fn main() {
    ipc::init();
    let mut c = Criterion::default().configure_from_args();
    lock_uncontended(&mut c);
    lock_contended(&mut c);
    event_ping_pong(&mut c);
    event_tail();
    c.final_summary();
}

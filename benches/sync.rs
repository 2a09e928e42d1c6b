//! The synchronisation primitives beside their floors and Python, in the
//! same run:
//!
//! - uncontended `Lock` lock + drop, beside a raw compare-exchange + store
//!   pair on a shared page and Python's `Lock.acquire()`/`release()`;
//! - two processes contending for one `Lock` (lock, increment, unlock),
//!   beside a test-and-test-and-set spinlock on a shared page and Python;
//! - `Event` ping-pong between two processes (two events), beside a raw
//!   eventfd ping-pong between two processes, the spinning floors (a turn
//!   word on a shared page, spun on for ever, or for 50 µs and then slept on
//!   with a futex) and Python's `Event`; on one CPU, beside the eventfd and
//!   spin-then-park floors (a pure spin there only burns its time slice).

#![allow(clippy::disallowed_types)] // the floor is a raw std atomic on a shared page

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ipc::{Barrier, Event, Lock, Process};

#[path = "support.rs"]
mod support;
use support::SharedPage;

/// The child's side: `n` times, wait for `ping`, lower it, raise `pong`.
fn pong((ping, pong, n): (Event, Event, u64)) {
    for _ in 0..n {
        ping.blocking_wait().unwrap();
        ping.clear();
        pong.set();
    }
}

fn ipc_ping_pong(iters: u64) -> Duration {
    ping_pong_with(iters, false)
}

/// The same with each process pinned to a CPU of its own (the child to CPU
/// 1, this process to CPU 0; both free again afterwards).
fn ipc_ping_pong_pinned(iters: u64) -> Duration {
    ping_pong_with(iters, true)
}

fn ping_pong_with(iters: u64, pinned: bool) -> Duration {
    let (ping, pong_) = (Event::new().unwrap(), Event::new().unwrap());
    let spawn = || Process::spawn(pong, (ping.clone(), pong_.clone(), iters + 1)).unwrap();
    let mut child = if pinned { support::spawn_apart(spawn) } else { spawn() };
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
    if pinned {
        // Free again; an unpinned run keeps whatever placement its group
        // set (the same-CPU group pins everything to one CPU).
        support::unpin();
    }
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
    g.bench_function("ipc Event, each process pinned to its own CPU", |b| b.iter_custom(ipc_ping_pong_pinned));
    g.bench_function("floor: raw eventfd ping-pong", |b| b.iter_custom(raw_eventfd_ping_pong));
    g.bench_function("floor: pure spin on a shared word", |b| b.iter_custom(|n| spin_ping_pong(n, Spin::Pure)));
    g.bench_function("floor: spin 50 µs, then futex", |b| b.iter_custom(|n| spin_ping_pong(n, Spin::ThenPark)));
    if support::have_python() {
        g.sample_size(10);
        g.bench_function("python Event", |b| {
            b.iter_custom(support::python_fixed("event.py", 5_000, |n| vec![n.to_string()]))
        });
    }
    g.finish();

    // Both processes on one CPU: spinning cannot help, so the learned spin
    // must back off and cost no more than parking (the raw floor).
    support::pin_to(&[0]);
    let mut g = c.benchmark_group("event_ping_pong_same_cpu");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.bench_function("ipc Event (blocking wait)", |b| b.iter_custom(ipc_ping_pong));
    g.bench_function("floor: raw eventfd ping-pong", |b| b.iter_custom(raw_eventfd_ping_pong));
    g.bench_function("floor: spin 50 µs, then futex", |b| b.iter_custom(|n| spin_ping_pong(n, Spin::ThenPark)));
    g.finish();
    support::unpin();
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

/// How a spin floor's side waits for its turn.
#[derive(Clone, Copy)]
enum Spin {
    /// Spins until the word changes, however long.
    Pure,
    /// Spins for up to 50 µs (the engine's cap), then sleeps in FUTEX_WAIT
    /// on the word; the other side wakes it only if it said it sleeps.
    ThenPark,
}

/// Waits until `turn` holds `want`, as `how` says; `parked` counts sleepers.
fn spin_wait(turn: &AtomicU32, parked: &AtomicU32, want: u32, how: Spin) {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            if turn.load(Ordering::Acquire) == want {
                return;
            }
            std::hint::spin_loop();
        }
        if matches!(how, Spin::ThenPark) && start.elapsed() > Duration::from_micros(50) {
            parked.fetch_add(1, Ordering::SeqCst);
            let seen = turn.load(Ordering::SeqCst);
            if seen != want {
                // SAFETY: FUTEX_WAIT on a live, aligned word of a shared
                // page; it returns at once if the word is no longer `seen`.
                unsafe {
                    libc::syscall(
                        libc::SYS_futex,
                        turn.as_ptr(),
                        libc::FUTEX_WAIT,
                        seen,
                        std::ptr::null::<libc::timespec>(),
                    )
                };
            }
            parked.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Gives the turn to the other side (`to`), waking it if it sleeps.
fn spin_hand(turn: &AtomicU32, parked: &AtomicU32, to: u32) {
    turn.store(to, Ordering::SeqCst);
    if parked.load(Ordering::SeqCst) > 0 {
        // SAFETY: FUTEX_WAKE on a live, aligned word of a shared page.
        unsafe { libc::syscall(libc::SYS_futex, turn.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
    }
}

/// The spinning floors: a forked child and this process hand a turn word on
/// a shared page back and forth (the child only touches atomics, makes the
/// futex call and `_exit`s).
fn spin_ping_pong(iters: u64, how: Spin) -> Duration {
    let page = SharedPage::new();
    let (turn, parked) = (page.word_at(0), page.word_at(16));
    // SAFETY: the child only touches the shared page's atomics, calls futex
    // and `_exit`, all async-signal-safe, then exits without unwinding.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        for _ in 0..iters + 1 {
            spin_wait(turn, parked, 1, how);
            spin_hand(turn, parked, 0);
        }
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(0) };
    }
    // One warm-up exchange, as for the others.
    spin_hand(turn, parked, 1);
    spin_wait(turn, parked, 0, how);
    let start = Instant::now();
    for _ in 0..iters {
        spin_hand(turn, parked, 1);
        spin_wait(turn, parked, 0, how);
    }
    let elapsed = start.elapsed();
    // SAFETY: reap the forked child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    elapsed
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
    g.bench_function("floor: spinlock on a shared page", |b| b.iter_custom(support::spinlock_contended));
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

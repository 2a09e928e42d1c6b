//! `Event` ping-pong between two processes (two events), beside a raw
//! eventfd ping-pong between two processes and Python's `Event`, in the same
//! run.

use std::time::{Duration, Instant};

use criterion::Criterion;
use ipc::{Event, Process};

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
        g.bench_function("python Event", |b| b.iter_custom(|iters| support::python("event.py", &[iters.to_string()])));
    }
    g.finish();
}

fn main() {
    ipc::init();
    let mut c = Criterion::default().configure_from_args();
    event_ping_pong(&mut c);
    c.final_summary();
}

//! Shared by the benches: running the Python side and reading its timing.

#![allow(clippy::disallowed_types)] // the floors are raw std atomics on a shared page

use std::hint::black_box;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Whether `python3` can be run (the Python rows are skipped, and say so, if not).
pub(crate) fn have_python() -> bool {
    let ok = Command::new("python3").arg("-c").arg("import multiprocessing").status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("python3 not found: the Python comparison rows are skipped");
    }
    ok
}

/// A Python row's routine for `iter_custom`: each call runs the script once
/// over a fixed, large `n` operations (`args(n)` builds its arguments), takes
/// the script's own clock for its timed loop (the interpreter's start-up and
/// the script's fixed costs, such as starting and joining its processes,
/// stay outside it), and scales that to criterion's `iters`. So criterion's
/// iteration count never reaches Python: sized from the wall time of a
/// script run, start-up included, it would make the fixed costs the figure
/// (and the figure depend on the warm-up setting).
pub(crate) fn python_fixed(
    script: &'static str,
    n: u64,
    args: impl Fn(u64) -> Vec<String>,
) -> impl FnMut(u64) -> Duration {
    move |iters| python(script, &args(n)).mul_f64(iters as f64 / n as f64)
}

/// Runs `benches/python/SCRIPT ARGS…`, which prints the seconds its timed
/// loop took.
pub(crate) fn python(script: &str, args: &[String]) -> Duration {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python").join(script);
    let out = Command::new("python3").arg(path).args(args).output().expect("running python3");
    assert!(out.status.success(), "{script} failed: {}", String::from_utf8_lossy(&out.stderr));
    let secs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("seconds from the script");
    Duration::from_secs_f64(secs)
}

/// Starts a child with `spawn` on CPU 1 (it inherits this process's CPUs
/// as they are when it starts), then moves this process to CPU 0: the two
/// sides of a cross-CPU row each on a CPU of its own, as `taskset` per
/// worker runs them. [`unpin`] frees this process afterwards.
#[allow(dead_code)] // not every bench pins
pub(crate) fn spawn_apart<T>(spawn: impl FnOnce() -> T) -> T {
    pin_to(&[1]);
    let child = spawn();
    pin_to(&[0]);
    child
}

/// Frees this process (and the children it spawns from now on) to run on
/// every online CPU again — not `ipc::cpu_count()`, which counts the CPUs
/// the current affinity allows, one after a pin.
#[allow(dead_code)] // not every bench pins
pub(crate) fn unpin() {
    // SAFETY: sysconf only reads a system setting.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    pin_to(&(0..online).collect::<Vec<_>>());
}

/// Restricts this process (and the children it spawns from now on) to the
/// given CPUs.
#[allow(dead_code)] // not every bench pins
pub(crate) fn pin_to(cpus: &[usize]) {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes within it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: `cpu` is below CPU_SETSIZE (we only pass small indices).
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: pid 0 is this process; `set` is a valid cpu_set_t of the size passed.
    let ret = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    assert_eq!(ret, 0, "sched_setaffinity failed");
}

/// A shared anonymous page, as a lock word lives in.
#[allow(dead_code)] // not every bench has a shared-page floor
pub(crate) struct SharedPage(*mut libc::c_void);

#[allow(dead_code)] // not every bench has a shared-page floor
impl SharedPage {
    pub(crate) fn new() -> SharedPage {
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

    pub(crate) fn word(&self) -> &AtomicU32 {
        self.word_at(0)
    }

    pub(crate) fn word_at(&self, i: usize) -> &AtomicU32 {
        assert!(i < 1024);
        // SAFETY: the page is mapped, aligned, zeroed and lives as long as
        // self; word `i` is inside it.
        unsafe { &*self.0.cast::<AtomicU32>().add(i) }
    }

    /// The 64-bit word at 32-bit index `i` (even: 8-byte aligned).
    pub(crate) fn word64_at(&self, i: usize) -> &AtomicU64 {
        assert!(i < 1023 && i % 2 == 0);
        // SAFETY: the page is mapped, page-aligned, zeroed and lives as long
        // as self; the word at byte 4 * i is 8-byte aligned and inside it.
        unsafe { &*self.0.cast::<AtomicU32>().add(i).cast::<AtomicU64>() }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped in `new`; no reference outlives self.
        unsafe { libc::munmap(self.0, 4096) };
    }
}

/// The floor of a contended lock's mechanism: a forked child and this
/// process each take a test-and-test-and-set spinlock on a shared page
/// `iters / 2` times, increment a counter on the page under it and release
/// it — no owner, no robustness, no sleeping (the child only touches the
/// page's atomics and `_exit`s).
#[allow(dead_code)] // not every bench has a contended lock
pub(crate) fn spinlock_contended(iters: u64) -> Duration {
    let page = SharedPage::new();
    let (lock, counter) = (page.word_at(0), page.word64_at(16));
    let go = page.word_at(32);
    let half = iters.div_ceil(2);
    let side = || {
        for _ in 0..half {
            // Acquire: the last holder's increment happened before.
            while lock.swap(1, Ordering::Acquire) != 0 {
                while lock.load(Ordering::Relaxed) != 0 {
                    std::hint::spin_loop();
                }
            }
            // Relaxed: the lock orders it.
            counter.store(black_box(counter.load(Ordering::Relaxed) + 1), Ordering::Relaxed);
            // Release: publishes the increment to the next holder.
            lock.store(0, Ordering::Release);
        }
    };
    // SAFETY: the child only touches the shared page's atomics and `_exit`s,
    // all async-signal-safe, then exits without unwinding.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // Acquire: pairs with the parent's start signal.
        while go.load(Ordering::Acquire) == 0 {
            std::hint::spin_loop();
        }
        side();
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(0) };
    }
    let start = Instant::now();
    // Release: both sides start together, as the ipc rows' barrier does.
    go.store(1, Ordering::Release);
    side();
    // SAFETY: reap the forked child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    let elapsed = start.elapsed();
    // Acquire: the child's increments, published by its last release.
    assert_eq!(counter.load(Ordering::Acquire), 2 * half);
    elapsed
}

/// How a raw floor's side waits for its byte.
#[allow(dead_code)] // not every bench has a raw socket floor
#[derive(Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Wait {
    /// A blocking `read`.
    Block,
    /// Non-blocking `recv` retried until the byte is there, however long.
    Spin,
    /// Non-blocking `recv` retried for up to 50 µs (the engine's cap), then
    /// a blocking one.
    SpinThenBlock,
}

#[allow(dead_code)] // not every bench has a raw socket floor
impl Wait {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Wait::Block => "floor: raw socketpair ping-pong",
            Wait::Spin => "floor: raw socketpair ping-pong, spinning on recv",
            Wait::SpinThenBlock => "floor: raw socketpair ping-pong, spin 50 µs on recv, then block",
        }
    }
}

/// Reads one byte from `s` as `wait` says.
#[allow(dead_code)] // not every bench has a raw socket floor
pub(crate) fn read_byte(s: &mut UnixStream, wait: Wait) -> bool {
    let mut b = [0u8; 1];
    if wait == Wait::Block {
        return s.read_exact(&mut b).is_ok();
    }
    let start = Instant::now();
    loop {
        // SAFETY: a 1-byte non-blocking receive into a live 1-byte buffer.
        let n = unsafe { libc::recv(s.as_raw_fd(), b.as_mut_ptr().cast(), 1, libc::MSG_DONTWAIT) };
        match n {
            1 => return true,
            0 => return false,
            _ if std::io::Error::last_os_error().kind() != std::io::ErrorKind::WouldBlock => return false,
            _ if wait == Wait::SpinThenBlock && start.elapsed() > Duration::from_micros(50) => {
                return s.read_exact(&mut b).is_ok();
            }
            _ => std::hint::spin_loop(),
        }
    }
}

/// `conn`'s socket as a blocking `UnixStream` borrowing its descriptor (the
/// `ManuallyDrop` leaves closing it to `conn`).
#[allow(dead_code)] // not every bench has a raw socket floor
pub(crate) fn raw_stream(conn: &ipc::Connection) -> std::mem::ManuallyDrop<UnixStream> {
    let fd = conn.as_raw_fd();
    // SAFETY: F_SETFL on a descriptor `conn` keeps open.
    unsafe { libc::fcntl(fd, libc::F_SETFL, 0) };
    // SAFETY: the stream borrows `fd`, which `conn` owns and closes; it is
    // never dropped (ManuallyDrop), so the descriptor is closed once.
    std::mem::ManuallyDrop::new(unsafe { UnixStream::from_raw_fd(fd) })
}

/// A raw floor's child: echoes single bytes over `conn`'s socket until EOF,
/// waiting for each as `wait` says.
#[allow(dead_code)] // not every bench has a raw socket floor
pub(crate) fn raw_echo((conn, wait): (ipc::Connection, Wait)) {
    use std::io::Write;
    let mut s = raw_stream(&conn);
    while read_byte(&mut s, wait) {
        s.write_all(b"x").unwrap();
    }
    drop(conn);
}

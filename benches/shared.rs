//! Shared data beside its floors and Python, in the same run:
//!
//! - `Value` increment under its lock from two processes, beside a
//!   test-and-test-and-set spinlock on a shared page guarding a counter there,
//!   and Python's `Value` doing the same;
//! - 64 MiB written into a `SharedMemory` block, warm and on first touch,
//!   beside `memcpy` into private memory (warm, and fresh pages);
//! - `SharedMemory` create + open + close + unlink, beside Python's and the
//!   raw system calls (`shm_open`, `ftruncate`, `mmap`, `munmap`, `close`,
//!   `shm_unlink`).

use std::ffi::CString;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ipc::{Barrier, Process, SharedMemory, Value};

#[path = "support.rs"]
mod support;

/// One side: meet at the barrier, then `n` locked increments.
fn add((v, barrier, n): (Value<u64>, Barrier, u64)) {
    barrier.blocking_wait().unwrap();
    for _ in 0..n {
        *v.blocking_get_lock().unwrap() += 1;
    }
}

fn ipc_value(iters: u64) -> Duration {
    let (v, barrier) = (Value::new(0u64).unwrap(), Barrier::new(2).unwrap());
    let half = iters.div_ceil(2);
    let mut child = Process::spawn(add, (v.clone(), barrier.clone(), half)).unwrap();
    barrier.blocking_wait().unwrap();
    let start = Instant::now();
    for _ in 0..half {
        *v.blocking_get_lock().unwrap() += 1;
    }
    child.blocking_join().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(v.blocking_load().unwrap(), 2 * half);
    elapsed
}

fn value_increments(c: &mut Criterion) {
    let mut g = c.benchmark_group("value_increment_2_processes");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(1));
    g.bench_function("ipc Value get_lock += 1", |b| b.iter_custom(ipc_value));
    g.bench_function("floor: spinlock on a shared page, += 1 under it", |b| b.iter_custom(support::spinlock_contended));
    if support::have_python() {
        g.bench_function("python Value get_lock += 1", |b| {
            // n increments, n/2 per process.
            b.iter_custom(support::python_fixed("shared.py", 200_000, |n| vec!["value".into(), (n / 2).to_string()]))
        });
    }
    g.finish();
}

fn name(tag: &str) -> String {
    format!("ipc_bench_{}_{tag}", std::process::id())
}

fn bulk_writes(c: &mut Criterion) {
    const SIZE: usize = 64 << 20;
    let mut g = c.benchmark_group("shared_memory_64MiB_write");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Bytes(SIZE as u64));
    let src = vec![0xabu8; SIZE];
    let shm = SharedMemory::create(Some(&name("warm")), SIZE).unwrap();
    shm.write_at(0, &src).unwrap();
    g.bench_function("ipc write_at, warm", |b| b.iter(|| shm.write_at(0, black_box(&src)).unwrap()));
    let mut dst = vec![0u8; SIZE];
    dst.copy_from_slice(&src);
    g.bench_function("floor: memcpy, warm", |b| b.iter(|| dst.copy_from_slice(black_box(&src))));
    shm.unlink().unwrap();
    // First touch: every page is new (and zeroed by the kernel) each time.
    g.bench_function("ipc create + write_at + unlink, first touch", |b| {
        b.iter_custom(|iters| {
            let mut t = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let shm = SharedMemory::create(Some(&name("fresh")), SIZE).unwrap();
                shm.write_at(0, &src).unwrap();
                t += start.elapsed();
                shm.unlink().unwrap();
            }
            t
        })
    });
    g.bench_function("floor: fresh allocation + memcpy, first touch", |b| {
        b.iter_custom(|iters| {
            let mut t = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut fresh = Vec::<u8>::with_capacity(SIZE);
                fresh.extend_from_slice(&src);
                t += start.elapsed();
                black_box(fresh);
            }
            t
        })
    });
    if support::have_python() {
        g.bench_function("python buf[:] = src, warm", |b| {
            b.iter_custom(support::python_fixed("shared.py", 20, |n| vec!["write".into(), n.to_string(), "64".into()]))
        });
    }
    g.finish();
}

/// The system calls a create + open + close + unlink cycle needs at least.
#[allow(unsafe_code)]
fn raw_cycle(path: &CString) {
    const SIZE: usize = 4096;
    // SAFETY: plain system calls on a name, descriptors and a mapping that
    // this function creates and releases itself; every result is checked.
    unsafe {
        let fd = libc::shm_open(path.as_ptr(), libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC, 0o600);
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, SIZE as libc::off_t), 0);
        let map =
            |fd| libc::mmap(std::ptr::null_mut(), SIZE, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0);
        let a = map(fd);
        assert_ne!(a, libc::MAP_FAILED);
        let fd2 = libc::shm_open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0);
        assert!(fd2 >= 0);
        let b = map(fd2);
        assert_ne!(b, libc::MAP_FAILED);
        libc::munmap(b, SIZE);
        libc::close(fd2);
        libc::munmap(a, SIZE);
        libc::close(fd);
        assert_eq!(libc::shm_unlink(path.as_ptr()), 0);
    }
}

fn lifecycle(c: &mut Criterion) {
    let mut g = c.benchmark_group("shared_memory_create_open_close_unlink");
    g.sample_size(20).measurement_time(Duration::from_secs(2)).throughput(Throughput::Elements(1));
    let n = name("cycle");
    g.bench_function("ipc SharedMemory", |b| {
        b.iter(|| {
            let a = SharedMemory::create(Some(&n), 4096).unwrap();
            SharedMemory::open(&n).unwrap().close();
            a.unlink().unwrap();
        })
    });
    let path = CString::new(format!("/{n}")).unwrap();
    g.bench_function("floor: raw system calls", |b| b.iter(|| raw_cycle(&path)));
    if support::have_python() {
        g.bench_function("python SharedMemory", |b| {
            b.iter_custom(support::python_fixed("shared.py", 5_000, |n| vec!["lifecycle".into(), n.to_string()]))
        });
    }
    g.finish();
}

fn main() {
    ipc::init();
    let mut c = Criterion::default().configure_from_args();
    value_increments(&mut c);
    bulk_writes(&mut c);
    lifecycle(&mut c);
    c.final_summary();
}

//! `Pool` beside Python's, in the same run:
//!
//! - `map` of 100,000 trivial tasks (x → 2x) with default chunking, beside
//!   Python's `Pool.map` (and `ProcessPoolExecutor.map`, on 2,000 tasks per
//!   run: it runs each task on its own);
//! - `map` of 10,000 trivial tasks with chunk size 1 (per-task overhead);
//! - start-up to the first result of a 2-worker pool, warm (the fork
//!   server already running) and as a program's first pool (which starts
//!   it), beside Python's `Pool(2)` with `fork` and with `spawn`.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ipc::{Pool, Process};

#[path = "support.rs"]
mod support;

fn double(x: u64) -> u64 {
    2 * x
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn map(c: &mut Criterion, rt: &tokio::runtime::Runtime, pool: &Pool) {
    const N: u64 = 100_000;
    let mut g = c.benchmark_group("pool_map_100k_default_chunks");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(N));
    g.bench_function("ipc Pool::map", |b| {
        b.iter(|| {
            let out = rt.block_on(pool.map(double, 0..N)).unwrap();
            assert_eq!(out[N as usize - 1], 2 * (N - 1));
        })
    });
    if support::have_python() {
        g.bench_function("python Pool.map", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| support::python("pool.py", &["map".into(), N.to_string()])).sum())
        });
    }
    g.finish();
    if support::have_python() {
        const M: u64 = 2_000;
        let mut g = c.benchmark_group("pool_map_2k_executor");
        g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(M));
        g.bench_function("ipc Pool::map", |b| b.iter(|| rt.block_on(pool.map(double, 0..M)).unwrap()));
        g.bench_function("python ProcessPoolExecutor.map", |b| {
            b.iter_custom(|iters| {
                (0..iters).map(|_| support::python("pool.py", &["executor".into(), M.to_string()])).sum()
            })
        });
        g.finish();
    }
}

fn map_chunk_1(c: &mut Criterion, rt: &tokio::runtime::Runtime, pool: &Pool) {
    const N: u64 = 10_000;
    let mut g = c.benchmark_group("pool_map_10k_chunk_size_1");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(N));
    g.bench_function("ipc Pool::map_chunked(.., 1)", |b| {
        b.iter(|| rt.block_on(pool.map_chunked(double, 0..N, 1)).unwrap())
    });
    if support::have_python() {
        g.bench_function("python Pool.map(chunksize=1)", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| support::python("pool.py", &["map1".into(), N.to_string()])).sum())
        });
    }
    g.finish();
}

/// In a fresh child: its first pool's start-up to the first result, in ns.
fn first_pool(_: ()) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let pool = Pool::new(2).await.unwrap();
        assert_eq!(pool.apply(double, 21).await.unwrap(), 42);
        let took = start.elapsed();
        pool.terminate().await;
        took.as_nanos() as u64
    })
}

fn startup(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("pool_startup_to_first_result");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.bench_function("ipc Pool::new(2) + apply", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(async {
                    let start = Instant::now();
                    let pool = Pool::new(2).await.unwrap();
                    assert_eq!(pool.apply(double, 21).await.unwrap(), 42);
                    total += start.elapsed();
                    pool.terminate().await;
                });
            }
            total
        })
    });
    // A program's first pool also starts the fork server: each iteration
    // is a fresh child process (by exec, so it has no server yet) that times
    // its own first pool to its first result.
    g.bench_function("ipc first Pool::new(2) + apply of a program", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| Process::spawn(first_pool, ()).unwrap().blocking_join().unwrap())
                .map(Duration::from_nanos)
                .sum()
        })
    });
    if support::have_python() {
        for method in ["fork", "spawn"] {
            g.bench_function(format!("python Pool(2) ({method})"), |b| {
                b.iter_custom(support::python_fixed("pool.py", 20, |n| {
                    vec!["startup".into(), method.into(), n.to_string()]
                }))
            });
        }
    }
    g.finish();
}

fn main() {
    ipc::init();
    let mut c = Criterion::default().configure_from_args();
    let rt = runtime();
    let pool = rt.block_on(Pool::new(2)).unwrap();
    map(&mut c, &rt, &pool);
    map_chunk_1(&mut c, &rt, &pool);
    rt.block_on(pool.terminate());
    startup(&mut c, &rt);
    c.final_summary();
}

//! Manager proxies beside Python's managers and the raw round-trip floors
//! (blocking, and spinning on `recv` for 50 µs before blocking, as our calls
//! do), in the same run:
//!
//! - a `dict` set + get through a proxy (two round trips), beside two raw
//!   socketpair round trips between two processes and Python's
//!   `manager.dict()`;
//! - a method call on a registered custom type (002's `MathsClass.add`),
//!   beside one raw round trip and Python's registered type;
//! - 100 concurrent calls from one process (pipelined on its one
//!   connection), per call, beside Python's calls from 4 threads (a
//!   connection each) and one after another.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ipc::{Connection, Manager, Process};

#[path = "support.rs"]
mod support;
use support::Wait;

#[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
struct MathsClass;

#[ipc::managed]
impl MathsClass {
    #[expose]
    fn add(&self, x: i64, y: i64) -> i64 {
        x + y
    }
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// The floor: `trips` 1-byte round trips per iteration over a raw
/// socketpair to another process, both sides waiting as `wait` says
/// (blocking, or spinning on `recv` for 50 µs first, as our calls do).
fn floor(g: &mut Group<'_>, trips: usize, wait: Wait) {
    let (mut raw, far) = UnixStream::pair().unwrap();
    let far = Connection::from_fd(OwnedFd::from(far)).unwrap();
    let mut child = Process::spawn(support::raw_echo, (far, wait)).unwrap();
    let how = match wait {
        Wait::Block => "",
        _ => ", spin 50 µs on recv, then block",
    };
    g.bench_function(format!("floor: {trips} raw socketpair round trip(s){how}"), |b| {
        b.iter(|| {
            for _ in 0..trips {
                raw.write_all(b"x").unwrap();
                assert!(support::read_byte(&mut raw, wait));
            }
        })
    });
    drop(raw);
    child.blocking_join().unwrap();
}

fn python(g: &mut Group<'_>, name: &str, mode: &str) {
    if support::have_python() {
        g.bench_function(name, |b| {
            b.iter_custom(support::python_fixed("manager.py", 3_000, |n| vec![mode.into(), n.to_string()]))
        });
    }
}

fn dict_set_get(c: &mut Criterion, rt: &tokio::runtime::Runtime, manager: &Manager) {
    let mut g = c.benchmark_group("manager_dict_set_get");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    let d = rt.block_on(manager.dict::<String, u64>()).unwrap();
    let key = "k".to_string();
    g.bench_function("ipc DictProxy insert + get", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    d.insert(&key, &i).await.unwrap();
                    assert_eq!(d.get(&key).await.unwrap(), Some(i));
                }
                start.elapsed()
            })
        })
    });
    floor(&mut g, 2, Wait::Block);
    floor(&mut g, 2, Wait::SpinThenBlock);
    python(&mut g, "python manager.dict() set + get", "dict");
    g.finish();
}

fn custom_call(c: &mut Criterion, rt: &tokio::runtime::Runtime, maths: &MathsClassProxy) {
    let mut g = c.benchmark_group("manager_custom_call");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("ipc MathsClassProxy::add", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    assert_eq!(maths.add(4, 3).await.unwrap(), 7);
                }
                start.elapsed()
            })
        })
    });
    floor(&mut g, 1, Wait::Block);
    floor(&mut g, 1, Wait::SpinThenBlock);
    python(&mut g, "python registered Maths.add", "call");
    g.finish();
}

fn pipelined(c: &mut Criterion, rt: &tokio::runtime::Runtime, maths: &MathsClassProxy) {
    const N: u64 = 100;
    let mut g = c.benchmark_group("manager_100_concurrent_calls");
    g.sample_size(20).measurement_time(Duration::from_secs(3)).throughput(Throughput::Elements(N));
    g.bench_function("ipc 100 pipelined MathsClassProxy::add", |b| {
        b.iter(|| {
            rt.block_on(async {
                let calls = (0..N as i64).map(|i| maths.add(i, 1));
                let sums = futures::future::join_all(calls).await;
                assert!(sums.iter().all(Result::is_ok));
            })
        })
    });
    if support::have_python() {
        g.bench_function("python 100 Maths.add from 4 threads", |b| {
            b.iter_custom(support::python_fixed("manager.py", 50, |n| vec!["threads".into(), (n * N).to_string()]))
        });
        g.bench_function("python 100 Maths.add one after another", |b| {
            b.iter_custom(support::python_fixed("manager.py", 50, |n| vec!["call".into(), (n * N).to_string()]))
        });
    }
    g.finish();
}

fn main() {
    ipc::init();
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let manager = rt.block_on(Manager::builder().register::<MathsClass>().start()).unwrap();
    let maths = rt.block_on(manager.create(&MathsClass)).unwrap();
    dict_set_get(&mut c, &rt, &manager);
    custom_call(&mut c, &rt, &maths);
    pipelined(&mut c, &rt, &maths);
    drop(maths);
    rt.block_on(manager.shutdown()).unwrap();
    c.final_summary();
}

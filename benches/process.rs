//! Spawn → join of an empty target, beside the floor (posix_spawn + exec of
//! this same binary, which exits at once) and Python's `spawn` and `fork`
//! start methods, all in the same run.

use std::process::Command;
use std::time::Duration;

use criterion::Criterion;
use ipc::Process;

#[path = "support.rs"]
mod support;

/// Set for the floor's child: exit before doing anything.
const EXIT_AT_ONCE: &str = "IPC_BENCH_EXIT_AT_ONCE";

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.bench_function("ipc Process::spawn + join", |b| {
        b.iter(|| Process::spawn(|()| (), ()).unwrap().blocking_join().unwrap())
    });
    g.bench_function("floor: spawn + wait of this binary", |b| {
        b.iter(|| assert!(Command::new("/proc/self/exe").env(EXIT_AT_ONCE, "1").status().unwrap().success()))
    });
    if support::have_python() {
        g.sample_size(10).measurement_time(Duration::from_secs(8));
        for method in ["fork", "spawn"] {
            g.bench_function(format!("python Process start + join ({method})"), |b| {
                b.iter_custom(support::python_fixed("spawn.py", 20, |n| vec![method.into(), n.to_string()]))
            });
        }
    }
    g.finish();
}

fn main() {
    if std::env::var_os(EXIT_AT_ONCE).is_some() {
        return;
    }
    ipc::init();
    let mut c = Criterion::default().configure_from_args();
    spawn_join(&mut c);
    c.final_summary();
}

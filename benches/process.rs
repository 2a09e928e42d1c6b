//! Spawn → join of an empty target, by `exec` and through the fork server,
//! beside the floors (posix_spawn + exec of this same binary, which exits at
//! once; a raw fork whose copy exits at once) and Python's `spawn`, `fork` and
//! `forkserver` start methods, all in the same run.

use std::process::Command;
use std::time::Duration;

use criterion::Criterion;
use ipc::Process;
use ipc::process::StartMethod;

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
    // The first one starts the fork server (criterion's warm-up): these are
    // the children after it, as Python's forkserver row measures.
    let forked = Process::builder().start_method(StartMethod::ForkServer);
    g.bench_function("ipc Process::spawn + join (fork server)", |b| {
        b.iter(|| forked.clone().spawn(|()| (), ()).unwrap().blocking_join().unwrap())
    });
    g.bench_function("floor: fork + wait", |b| b.iter(raw_fork_wait));
    if support::have_python() {
        g.sample_size(10).measurement_time(Duration::from_secs(8));
        for method in ["fork", "forkserver", "spawn"] {
            g.bench_function(format!("python Process start + join ({method})"), |b| {
                b.iter_custom(support::python_fixed("spawn.py", 20, |n| vec![method.into(), n.to_string()]))
            });
        }
    }
    g.finish();
}

/// A raw fork whose copy exits at once, and the wait for it.
fn raw_fork_wait() {
    // SAFETY: the copy calls only `_exit`, which is async-signal-safe, so the
    // other threads' locks it inherits do not matter.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: `_exit` ends the copy without running anything of ours.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
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

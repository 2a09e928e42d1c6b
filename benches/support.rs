//! Shared by the benches: running the Python side and reading its timing.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

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
/// worker runs them. [`pin_to`] all CPUs afterwards frees this process.
#[allow(dead_code)] // not every bench pins
pub(crate) fn spawn_apart<T>(spawn: impl FnOnce() -> T) -> T {
    pin_to(&[1]);
    let child = spawn();
    pin_to(&[0]);
    child
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

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

/// Runs `benches/python/SCRIPT ARGS…`, which prints the seconds its timed
/// loop took.
pub(crate) fn python(script: &str, args: &[String]) -> Duration {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python").join(script);
    let out = Command::new("python3").arg(path).args(args).output().expect("running python3");
    assert!(out.status.success(), "{script} failed: {}", String::from_utf8_lossy(&out.stderr));
    let secs: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("seconds from the script");
    Duration::from_secs_f64(secs)
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

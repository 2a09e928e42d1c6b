//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// How long any single cross-process wait in a test may take before the test
/// fails (instead of hanging CI). Generous: CI machines are slow and shared.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(30);

/// Awaits `fut`, failing the test if it takes longer than [`WATCHDOG`].
#[track_caller]
pub(crate) fn bounded<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    let caller = std::panic::Location::caller();
    async move {
        match tokio::time::timeout(WATCHDOG, fut).await {
            Ok(v) => v,
            Err(_) => panic!("watchdog: wait started at {caller} took longer than {WATCHDOG:?}"),
        }
    }
}

/// Whether process `pid` is still running. A zombie counts as gone: it has
/// died and only waits for whoever its parent is now (for an orphan, PID 1,
/// which in some containers reaps slowly) to collect its status.
pub(crate) fn pid_exists(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        // The state is the first field after the parenthesised command name.
        Ok(stat) => {
            !matches!(stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()), Some('Z' | 'X'))
        }
    }
}

/// Waits (bounded) until `pid` is no longer running.
pub(crate) async fn wait_gone(pid: u32) {
    bounded(async {
        while pid_exists(pid) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// The descriptors open in this process, with whether each is close-on-exec.
pub(crate) fn open_fds() -> Vec<(i32, bool)> {
    let mut fds = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
        let fd: i32 = entry.unwrap().file_name().to_str().unwrap().parse().unwrap();
        // SAFETY: F_GETFD only reads the flags of a descriptor number.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0 {
            fds.push((fd, flags & libc::FD_CLOEXEC != 0));
        }
    }
    fds
}

/// Whether `pid` exists in any state, zombie included: for our own children,
/// which we must reap ourselves.
pub(crate) fn pid_present(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits (bounded) until our child `pid` has been reaped.
pub(crate) async fn wait_reaped(pid: u32) {
    bounded(async {
        while pid_present(pid) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// The running children of this process (zombies left out), read from
/// `/proc`.
pub(crate) fn children() -> Vec<u32> {
    let me = std::process::id();
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // After the parenthesised command name: state, then the parent's pid.
        let mut fields = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace();
        let state = fields.next();
        if fields.next().and_then(|p| p.parse::<u32>().ok()) == Some(me) && !matches!(state, Some("Z" | "X")) {
            kids.push(pid);
        }
    }
    kids
}

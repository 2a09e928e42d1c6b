//! Processes: identities, pidfds, reaping, forking, signals, CPUs.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::{cvt, owned};

/// Closes every descriptor from `first` up (`close_range`, or one by one
/// from `/proc/self/fd` on kernels before 5.9).
///
/// # Safety
///
/// No descriptor from `first` up may be owned by anything that will use or
/// close it later (an `OwnedFd`, a `File`, a runtime's epoll): call it only
/// where no such owner can exist yet, such as the first step of a freshly
/// started process, to drop descriptors it inherited by accident.
pub(crate) unsafe fn close_from(first: RawFd) -> io::Result<()> {
    // SAFETY: close_range only closes descriptors; the caller guarantees
    // none of them is owned.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first as libc::c_uint, libc::c_uint::MAX, 0) };
    if ret == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::ENOSYS) {
        return Err(e);
    }
    // The listing's own descriptor is closed when the iterator drops, before
    // the closes below; a stale number then just fails with EBADF.
    let open: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= first)
        .collect();
    for fd in open {
        // SAFETY: as above; the caller guarantees the descriptor is unowned.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// What `/proc/<pid>/stat` says about a process: `None` if there is no such
/// process or it has exited (a zombie), else its start time (clock ticks
/// after boot), which tells a process from a later one given the same pid.
pub(crate) fn process_start(pid: i32) -> io::Result<Option<u64>> {
    let stat = match std::fs::read(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat,
        Err(e) if e.kind() == io::ErrorKind::NotFound || is_no_such_process(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    parse_stat(&stat)
        .map(|(state, start)| (!matches!(state, b'Z' | b'X' | b'x')).then_some(start))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unexpected /proc/{pid}/stat")))
}

/// The state letter and start time (field 22) of a `/proc/<pid>/stat` line.
/// The command name (field 2) may hold spaces and parentheses, so fields are
/// counted from its last `)`.
fn parse_stat(stat: &[u8]) -> Option<(u8, u64)> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = stat[close + 1..].split(|&b| b == b' ').filter(|f| !f.is_empty());
    let state = *fields.next()?.first()?;
    // After the state (field 3), field 22 is the 19th.
    let start = fields.nth(18)?;
    Some((state, std::str::from_utf8(start).ok()?.trim().parse().ok()?))
}

/// Whether `e` is `ESRCH` (no such process).
pub(crate) fn is_no_such_process(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ESRCH)
}

/// `pidfd_open(2)`: a descriptor that becomes readable when `pid` exits.
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags (0 = blocking reads, fine since we
    // only poll it) and returns a new close-on-exec descriptor.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(owned(ret as libc::c_int)) }
}

/// Sends `signal` through a pidfd (immune to pid reuse).
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    // SAFETY: a live pidfd, a signal number, no siginfo, no flags.
    let ret =
        unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), signal, std::ptr::null::<u8>(), 0) };
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// How a reaped child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitStatus {
    Exited(i32),
    Signaled(i32),
}

/// Reaps `pid` if it has exited (`WNOHANG`); `Ok(None)` while it runs.
pub(crate) fn try_wait(pid: i32) -> io::Result<Option<WaitStatus>> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer.
        let ret = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if ret == 0 {
            return Ok(None);
        }
        if ret == -1 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(Some(if libc::WIFSIGNALED(status) {
            WaitStatus::Signaled(libc::WTERMSIG(status))
        } else {
            WaitStatus::Exited(libc::WEXITSTATUS(status))
        }));
    }
}

/// Asks the kernel to send `SIGKILL` to this process when its parent exits.
pub(crate) fn set_parent_death_signal() -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; the extra args are unused.
    cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) }).map(drop)
}

/// Which side of a [`fork_sibling`] this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forked {
    /// The new process.
    Child,
    /// The calling process; the new one has this pid.
    Caller(i32),
}

/// Copies this process into a new one whose parent is *our* parent
/// (`clone(CLONE_PARENT)`): the fork server makes its parent's children
/// this way, so the parent waits for them, reads their exit status and
/// gets `SIGCHLD` exactly as for children it started itself. Fails with
/// `EINVAL` in a container's init process (no siblings for init).
///
/// # Safety
///
/// As `fork` in a multi-threaded program, and more: the child is a copy of
/// the calling thread only, and unlike glibc's `fork` the raw system call
/// does not reset the C library's locks or its idea of the thread's id.
/// The caller must have no other thread that could hold a lock the child
/// needs (the allocator's, stdio's): the fork server is single-threaded, or
/// (under the test harness) its only other thread sleeps in a channel
/// receive holding nothing. The child must not rely on pthread robust
/// mutexes or on `pthread_self`'s kernel thread id (glibc ≥ 2.34's
/// `raise`, hence `abort`, asks the kernel for it).
pub(crate) unsafe fn fork_sibling() -> io::Result<Forked> {
    let flags = (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: with a null stack the child runs on a copy of this stack, as
    // after fork; the other arguments (tid pointers, tls) are null because no
    // flag asks for them. The caller vouches for the rest (see above).
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        // A pid always fits in i32.
        pid => Ok(Forked::Caller(pid as i32)),
    }
}

/// This process's pid.
pub(crate) fn getpid() -> i32 {
    std::process::id() as i32
}

/// The parent's pid (1 or a subreaper once the parent died).
pub(crate) fn getppid() -> i32 {
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() }
}

/// This process's effective user id.
pub(crate) fn geteuid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Ignores the signals a terminal or a process group sends (SIGINT,
/// SIGTERM, SIGHUP), as Python's resource tracker does, so a Ctrl-C that
/// kills the program leaves the tracker to clean up after it.
pub(crate) fn ignore_termination_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: SIG_IGN is a valid disposition for these signals.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
}

/// How many threads this process has (the entries of `/proc/self/task`).
pub(crate) fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// How many CPUs this thread may run on (its affinity mask; 1 if that
/// cannot be read). One system call, where `available_parallelism` also
/// reads the cgroup's files (~50-90 µs in a fresh process, which a pool
/// worker's first wait paid).
pub(crate) fn cpus_allowed() -> usize {
    // SAFETY: cpu_set_t is plain bits; zeroed is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is this thread; the size and pointer describe `set`.
    let ok = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } == 0;
    if !ok {
        return 1;
    }
    // SAFETY: CPU_COUNT only reads the set.
    usize::try_from(unsafe { libc::CPU_COUNT(&set) }).map_or(1, |n| n.max(1))
}

/// CPUs online in the system (at least 1). glibc reads it from
/// /sys/devices/system/cpu/online: a file read, dearer than
/// [`cpus_allowed`]'s one system call.
pub(crate) fn cpus_online() -> usize {
    // SAFETY: sysconf only reads a system value.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).map_or(1, |n| n.max(1))
}

/// Pins the calling thread to the CPU it runs on (for tests of what a
/// pinned process does).
#[cfg(test)]
pub(crate) fn pin_this_thread() -> io::Result<()> {
    // SAFETY: sched_getcpu only reads the calling thread's CPU.
    let cpu = unsafe { libc::sched_getcpu() };
    if cpu < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: cpu_set_t is plain bits; zeroed is the empty set, and CPU_SET
    // writes bit `cpu` (below CPU_SETSIZE) within it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::CPU_SET(cpu as usize, &mut set) };
    // SAFETY: pid 0 is this thread; the size and pointer describe `set`.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_past_awkward_command_names() {
        let line = b"4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(line), Some((b'S', 987654)));
        let zombie = b"7 (x) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
        assert_eq!(parse_stat(zombie), Some((b'Z', 55)));
        assert_eq!(parse_stat(b"garbage"), None);
        assert_eq!(parse_stat(b"1 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_has_a_start_time_and_a_missing_one_has_none() {
        assert!(process_start(getpid()).unwrap().is_some());
        assert_eq!(process_start(i32::MAX).unwrap(), None);
    }
}

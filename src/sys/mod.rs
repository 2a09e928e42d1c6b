//! The operating-system layer: the only module that makes raw system calls.
//!
//! Every function here is a thin, safe wrapper around one Linux system call
//! (or a fixed short sequence of them) that returns `io::Result`. Higher
//! layers never see `libc`. File descriptors come back as [`OwnedFd`], so
//! ownership (and closing) is checked by the type system; every descriptor we
//! create is `O_CLOEXEC`.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::mem::{self, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// The most descriptors one `sendmsg` may carry (the kernel's `SCM_MAX_FD`).
pub(crate) const MAX_FDS_PER_MSG: usize = 253;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        // A non-negative ssize_t always fits in usize.
        Ok(ret as usize)
    }
}

/// Takes ownership of a descriptor a system call just returned.
fn owned(fd: libc::c_int) -> OwnedFd {
    debug_assert!(fd >= 0);
    // SAFETY: `fd` was just returned by a successful system call that creates a
    // new descriptor, so nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A connected pair of non-blocking, close-on-exec Unix sockets of `kind`.
pub(crate) fn socketpair(kind: SocketKind) -> io::Result<(OwnedFd, OwnedFd)> {
    let ty = match kind {
        SocketKind::Stream => libc::SOCK_STREAM,
        SocketKind::SeqPacket => libc::SOCK_SEQPACKET,
    };
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid, writable array of two c_ints, as socketpair(2) requires.
    cvt(unsafe {
        libc::socketpair(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0, fds.as_mut_ptr())
    })?;
    Ok((owned(fds[0]), owned(fds[1])))
}

/// The socket types connections use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SocketKind {
    /// A byte stream (Python's pipes and listeners).
    Stream,
    /// Records with boundaries (our own pipes).
    SeqPacket,
}

/// The type of socket `fd` is (`SO_TYPE`); other types (and non-sockets) are
/// treated as streams.
pub(crate) fn socket_kind(fd: BorrowedFd<'_>) -> SocketKind {
    let mut ty: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `ty`/`len` are valid out-pointers of the sizes getsockopt expects.
    let ret =
        unsafe { libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_TYPE, (&raw mut ty).cast(), &mut len) };
    if ret == 0 && ty == libc::SOCK_SEQPACKET {
        SocketKind::SeqPacket
    } else {
        SocketKind::Stream
    }
}

/// Whether `fd` is a Unix-domain socket (`SO_DOMAIN`), able to carry
/// descriptors.
pub(crate) fn is_unix_socket(fd: BorrowedFd<'_>) -> bool {
    let mut domain: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `domain`/`len` are valid out-pointers of the sizes getsockopt expects.
    let ret = unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_DOMAIN, (&raw mut domain).cast(), &mut len)
    };
    ret == 0 && domain == libc::AF_UNIX
}

/// Whether the peer of a connected socket has closed (or shut down its
/// writing side) and nothing of what it sent is left to read: the end of the
/// stream. On a sequenced-packet socket a read of 0 bytes is either that or
/// an empty record from a live peer; this tells which.
pub(crate) fn at_end_of_stream(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLRDHUP, revents: 0 };
    // SAFETY: one valid pollfd; a zero timeout never blocks.
    cvt(unsafe { libc::poll(&mut pfd, 1, 0) })?;
    if pfd.revents & (libc::POLLRDHUP | libc::POLLHUP) == 0 {
        return Ok(false);
    }
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int, the bytes queued for reading.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut queued) })?;
    Ok(queued == 0)
}

/// Half-closes a socket (`SHUT_RD` or `SHUT_WR`).
pub(crate) fn shutdown(fd: BorrowedFd<'_>, how: Shutdown) -> io::Result<()> {
    let how = match how {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
    };
    // SAFETY: `fd` is a live descriptor for the duration of the call.
    cvt(unsafe { libc::shutdown(fd.as_raw_fd(), how) }).map(drop)
}

/// Which direction [`shutdown`] closes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shutdown {
    Read,
    Write,
}

/// Duplicates `fd` to a new close-on-exec descriptor.
pub(crate) fn dup_cloexec(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a live descriptor returns a new descriptor we own.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) }).map(owned)
}

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

/// Makes `target` refer to the same open file as `fd` (`dup2`); `target` is
/// left without close-on-exec, as a standard stream must be.
pub(crate) fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2 with a live source; `target` is a standard-stream number the
    // caller owns the meaning of (dup2 closes whatever was there atomically).
    cvt(unsafe { libc::dup2(fd.as_raw_fd(), target) }).map(drop)
}

/// Sets or clears `O_NONBLOCK`.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: F_GETFL on a live descriptor.
    let flags = cvt(unsafe { libc::fcntl(raw, libc::F_GETFL) })?;
    let new = if nonblocking { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    if new != flags {
        // SAFETY: F_SETFL with flags derived from F_GETFL on the same live descriptor.
        cvt(unsafe { libc::fcntl(raw, libc::F_SETFL, new) })?;
    }
    Ok(())
}

/// Whether `fd` is a socket (used to validate the bootstrap descriptor).
pub(crate) fn is_socket(fd: BorrowedFd<'_>) -> bool {
    fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
}

/// `fstat(2)`.
fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `st` is valid writable storage for one `struct stat`.
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so it initialised `st`.
    Ok(unsafe { st.assume_init() })
}

/// Opens `/dev/null` read-write, close-on-exec.
pub(crate) fn open_dev_null() -> io::Result<OwnedFd> {
    const PATH: &CStr = c"/dev/null";
    // SAFETY: PATH is a NUL-terminated string; open returns a new descriptor.
    cvt(unsafe { libc::open(PATH.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) }).map(owned)
}

/// Sends `bufs` as one `sendmsg`, with `fds` attached (SCM_RIGHTS) when not
/// empty. Never raises SIGPIPE (`MSG_NOSIGNAL`); returns the bytes written.
pub(crate) fn send_with_fds(fd: BorrowedFd<'_>, bufs: &[io::IoSlice<'_>], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    if fds.len() > MAX_FDS_PER_MSG {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "more than 253 descriptors in one message"));
    }
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let payload_len = mem::size_of_val(raw.as_slice());
    let space = if raw.is_empty() {
        0
    } else {
        // SAFETY: CMSG_SPACE is a pure computation on a length.
        (unsafe { libc::CMSG_SPACE(payload_len as u32) }) as usize
    };
    // u64 storage keeps the control buffer aligned for `cmsghdr`.
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: a zeroed msghdr is a valid "no name, no iov, no control" header.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    // IoSlice is guaranteed ABI-compatible with iovec on Unix.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len();
    if !raw.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg_control points at `space` bytes, enough for one cmsghdr
        // carrying `payload_len` bytes (CMSG_SPACE), so CMSG_FIRSTHDR is non-null
        // and CMSG_DATA has room for `raw`.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(payload_len as u32) as usize;
            std::ptr::copy_nonoverlapping(raw.as_ptr().cast::<u8>(), libc::CMSG_DATA(cmsg), payload_len);
        }
    }
    // SAFETY: `msg` points at live iovecs and control data for the call's duration.
    cvt_size(unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) })
}

/// Receives with one `recvmsg`, appending at most `max` bytes to `vec`'s
/// spare capacity (which the caller reserved) and any descriptors that came
/// with them to `fds` (installed close-on-exec). Returns the bytes read (0 at
/// end of stream).
pub(crate) fn recv_append(
    fd: BorrowedFd<'_>,
    vec: &mut Vec<u8>,
    max: usize,
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    let spare = vec.spare_capacity_mut();
    let len = spare.len().min(max);
    // SAFETY: the spare capacity is valid for writes of `len` bytes; the kernel
    // writes only initialised bytes into it.
    let n = unsafe { recv_raw(fd, spare.as_mut_ptr().cast(), len, fds, 0) }?;
    // SAFETY: the kernel initialised the first `n` bytes past the old length,
    // and `n <= len <= spare capacity`.
    unsafe { vec.set_len(vec.len() + n) };
    Ok(n)
}

/// Receives one message of at most `buf.len()` bytes without waiting
/// (`MSG_DONTWAIT`), leaving it queued when `peek` (`MSG_PEEK`: the
/// descriptors still come, as duplicates). Returns the bytes read;
/// `WouldBlock` when nothing is queued.
pub(crate) fn recv_now(fd: BorrowedFd<'_>, buf: &mut [u8], peek: bool, fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let flags = libc::MSG_DONTWAIT | if peek { libc::MSG_PEEK } else { 0 };
    // SAFETY: `buf` is valid for writes of its length.
    unsafe { recv_raw(fd, buf.as_mut_ptr(), buf.len(), fds, flags) }
}

/// # Safety
///
/// `ptr` must be valid for writes of `len` bytes.
unsafe fn recv_raw(
    fd: BorrowedFd<'_>,
    ptr: *mut u8,
    len: usize,
    fds: &mut Vec<OwnedFd>,
    flags: libc::c_int,
) -> io::Result<usize> {
    const SPACE: usize = 1024 + MAX_FDS_PER_MSG * mem::size_of::<RawFd>();
    let mut control = [0u64; SPACE / 8];
    let mut iov = libc::iovec { iov_base: ptr.cast(), iov_len: len };
    // SAFETY: a zeroed msghdr is valid; we fill in the pointers below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = SPACE;
    // SAFETY: iov points at `len` writable bytes (the caller's contract) and
    // control at SPACE bytes.
    let n = cvt_size(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC | flags) })?;
    // SAFETY: recvmsg filled msg_control/msg_controllen; the CMSG_* walk stays
    // within msg_controllen, and each SCM_RIGHTS payload is an array of ints
    // the kernel installed for us (so we own them).
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let bytes = (*cmsg).cmsg_len - (data as usize - cmsg as usize);
                for i in 0..bytes / mem::size_of::<RawFd>() {
                    fds.push(owned(std::ptr::read_unaligned(data.cast::<RawFd>().add(i))));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "peer sent more descriptors than one message may carry",
        ));
    }
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "peer sent a record larger than the protocol allows"));
    }
    Ok(n)
}

/// Registers a descriptor with the current tokio reactor. On failure the
/// descriptor comes back with the error. Must run inside a runtime.
pub(crate) fn register_async(fd: OwnedFd) -> Result<tokio::io::unix::AsyncFd<OwnedFd>, (OwnedFd, io::Error)> {
    // SAFETY: an OwnedFd is a valid open descriptor that it alone closes, and
    // its as_raw_fd() returns the same number for as long as it lives, which
    // is as long as the AsyncFd that now owns it.
    unsafe { tokio::io::unix::AsyncFd::register(fd) }.map_err(|e| e.into_parts())
}

/// Readiness that [`poll_fd`] waits for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Interest {
    Read,
    Write,
}

/// Waits until `fd` is ready (or hung up / in error) or `timeout` passes.
/// Returns whether it became ready. `None` waits forever. Retries on EINTR.
pub(crate) fn poll_fd(fd: BorrowedFd<'_>, interest: Interest, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = crate::deadline::within(timeout);
    loop {
        let ms = poll_millis(deadline);
        let events = match interest {
            Interest::Read => libc::POLLIN,
            Interest::Write => libc::POLLOUT,
        };
        let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events, revents: 0 };
        // SAFETY: one valid pollfd.
        match cvt(unsafe { libc::poll(&mut pfd, 1, ms) }) {
            Ok(0) if ms == 0 => return Ok(false),
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Waits until any of `fds` is readable (or hung up / in error) or `timeout`
/// passes. Returns whether one became ready. `None` waits forever. Retries on
/// EINTR.
pub(crate) fn poll_any(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = crate::deadline::within(timeout);
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    loop {
        let ms = poll_millis(deadline);
        // SAFETY: `pfds` is a live array of `pfds.len()` pollfds.
        match cvt(unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) }) {
            Ok(0) if ms == 0 => return Ok(false),
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Waits until one of `fds` is readable (or hung up / in error) or
/// `deadline` passes; returns which are (all `false` at the deadline).
/// Retries on EINTR.
pub(crate) fn poll_each(fds: &[BorrowedFd<'_>], deadline: Option<std::time::Instant>) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    loop {
        let ms = poll_millis(deadline);
        // SAFETY: `pfds` is a live array of `pfds.len()` pollfds.
        match cvt(unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) }) {
            Ok(0) if ms != 0 => continue,
            Ok(_) => return Ok(pfds.iter().map(|p| p.revents != 0).collect()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Milliseconds left until `deadline` for poll/epoll (-1: forever), rounded
/// up so a short timeout does not become a busy loop.
fn poll_millis(deadline: Option<std::time::Instant>) -> libc::c_int {
    match deadline {
        None => -1,
        Some(d) => {
            let left = d.saturating_duration_since(std::time::Instant::now());
            left.as_nanos().div_ceil(1_000_000).min(libc::c_int::MAX as u128) as libc::c_int
        }
    }
}

/// A private epoll instance watching `fd` for readability, edge-triggered:
/// [`edge_wait`] on it returns once per write to `fd` after the watch began
/// (and once at the start if `fd` is readable then).
pub(crate) fn edge_watch(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1 returns a new descriptor.
    let ep = owned(cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?);
    let mut ev = libc::epoll_event { events: (libc::EPOLLIN | libc::EPOLLET) as u32, u64: 0 };
    // SAFETY: both descriptors are live; `ev` is a valid epoll_event.
    cvt(unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd.as_raw_fd(), &mut ev) })?;
    Ok(ep)
}

/// Waits for the next edge on an [`edge_watch`] or until `deadline`
/// (`Ok(false)`). Retries on EINTR.
pub(crate) fn edge_wait(ep: BorrowedFd<'_>, deadline: Option<std::time::Instant>) -> io::Result<bool> {
    loop {
        let ms = poll_millis(deadline);
        let mut ev = MaybeUninit::<libc::epoll_event>::uninit();
        // SAFETY: room for one event; `ep` is a live epoll descriptor.
        match cvt(unsafe { libc::epoll_wait(ep.as_raw_fd(), ev.as_mut_ptr(), 1, ms) }) {
            Ok(0) if ms == 0 => return Ok(false),
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
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
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(owned(ret as libc::c_int))
    }
}

/// Sends `signal` through a pidfd (immune to pid reuse).
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    // SAFETY: a live pidfd, a signal number, no siginfo, no flags.
    let ret =
        unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), signal, std::ptr::null::<u8>(), 0) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
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

/// Whether `e` says the system or the process ran out of descriptors or
/// memory (an `accept` that fails so will fail again at once).
pub(crate) fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// This process's effective user id.
pub(crate) fn geteuid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// The credentials the kernel recorded for the peer of a connected Unix
/// socket when it connected (`SO_PEERCRED`): `(pid, uid)`.
pub(crate) fn peer_credentials(fd: BorrowedFd<'_>) -> io::Result<(i32, u32)> {
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred`/`len` are valid out-pointers of the size SO_PEERCRED writes.
    cvt(unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERCRED, (&raw mut cred).cast(), &mut len)
    })?;
    Ok((cred.pid, cred.uid))
}

/// Fills `buf` from the kernel's random source.
pub(crate) fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer/length pair is a valid writable sub-slice of `buf`.
        let ret = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        match cvt_size(ret) {
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An anonymous shared-memory file of `len` bytes (`memfd_create`),
/// close-on-exec, sealed so its size can never change: a peer holding the
/// descriptor cannot shrink it under our mapping (which would be a SIGBUS).
pub(crate) fn memfd_sealed(name: &CStr, len: usize) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated; memfd_create returns a new descriptor.
    let fd = owned(cvt(unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) })?);
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: ftruncate on the descriptor we just created.
    cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len) })?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
    // SAFETY: F_ADD_SEALS on a memfd created with MFD_ALLOW_SEALING.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
    Ok(fd)
}

/// The size of a memfd received from a peer, if it is sealed against
/// shrinking (the only kind we map); an error otherwise.
pub(crate) fn sealed_size(fd: BorrowedFd<'_>) -> io::Result<usize> {
    // SAFETY: F_GET_SEALS only reads the descriptor's seals.
    let seals = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) })?;
    if seals & libc::F_SEAL_SHRINK == 0 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "shared region is not sealed against shrinking"));
    }
    usize::try_from(fstat(fd)?.st_size).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

/// The name a memfd was created with (`memfd_create`'s first argument), as
/// the kernel reports it; `None` if `fd` is not a memfd. The name cannot be
/// changed after creation, so it tells what a received descriptor was made
/// for.
pub(crate) fn memfd_name(fd: BorrowedFd<'_>) -> io::Result<Option<Vec<u8>>> {
    use std::os::unix::ffi::OsStringExt as _;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?.into_os_string().into_vec();
    // The link reads "/memfd:NAME (deleted)": memfds have no path.
    Ok(link.strip_prefix(b"/memfd:").and_then(|rest| rest.strip_suffix(b" (deleted)")).map(<[u8]>::to_vec))
}

/// A memfd holding `bytes`, sealed against every change (writes, resizing,
/// further seals): what a receiver maps can never change under it.
pub(crate) fn memfd_frozen(name: &CStr, bytes: &[u8]) -> io::Result<OwnedFd> {
    use std::io::Write as _;
    // SAFETY: `name` is NUL-terminated; memfd_create returns a new descriptor.
    let fd = owned(cvt(unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) })?);
    // Written, not mapped: a full tmpfs is an error from write(2), never a
    // SIGBUS.
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    let fd = OwnedFd::from(file);
    let seals = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
    // SAFETY: F_ADD_SEALS on a memfd created with MFD_ALLOW_SEALING (and
    // never mapped writable, which F_SEAL_WRITE requires).
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
    Ok(fd)
}

/// The size of a memfd received from a peer, if it is sealed against writes
/// and shrinking (so its bytes are immutable); an error otherwise.
pub(crate) fn frozen_size(fd: BorrowedFd<'_>) -> io::Result<usize> {
    // SAFETY: F_GET_SEALS only reads the descriptor's seals.
    let seals = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) })?;
    let need = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK;
    if seals & need != need {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "memfd is not sealed against writes"));
    }
    usize::try_from(fstat(fd)?.st_size).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

/// Opens (or with `create`, exclusively creates, mode 0600) the POSIX
/// shared-memory object `name` (which starts with `/`), close-on-exec.
pub(crate) fn shm_open(name: &CStr, create: bool) -> io::Result<OwnedFd> {
    let flags = libc::O_RDWR | libc::O_CLOEXEC | if create { libc::O_CREAT | libc::O_EXCL } else { 0 };
    // SAFETY: `name` is NUL-terminated; shm_open returns a new descriptor.
    cvt(unsafe { libc::shm_open(name.as_ptr(), flags, 0o600) }).map(owned)
}

/// Removes the POSIX shared-memory object `name`.
pub(crate) fn shm_unlink(name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::shm_unlink(name.as_ptr()) }).map(drop)
}

/// Sizes a new file to `len` bytes and reserves its space, so a full
/// filesystem is an error now rather than a SIGBUS on first touch.
pub(crate) fn reserve(fd: BorrowedFd<'_>, len: usize) -> io::Result<()> {
    let len = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: fallocate on a descriptor we hold; mode 0 allocates and extends.
    match cvt(unsafe { libc::fallocate(fd.as_raw_fd(), 0, 0, len) }) {
        Ok(_) => Ok(()),
        // A filesystem without fallocate: size it at least.
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            // SAFETY: ftruncate on a descriptor we hold.
            cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), len) }).map(drop)
        }
        Err(e) => Err(e),
    }
}

/// The size of the file behind `fd`.
pub(crate) fn file_size(fd: BorrowedFd<'_>) -> io::Result<usize> {
    usize::try_from(fstat(fd)?.st_size).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

/// Reads into `buf` from byte `offset` of the file `fd` (`pread`), until
/// `buf` is full or the file ends. Returns the bytes read: fewer than
/// `buf.len()` only at the end of the file, which for a shared block means
/// another process shrank it (a copy through a mapping would fault there).
pub(crate) fn read_at(fd: BorrowedFd<'_>, buf: &mut [u8], offset: usize) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let at = offset.checked_add(done).and_then(|a| libc::off_t::try_from(a).ok());
        let at = at.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let rest = &mut buf[done..];
        // SAFETY: `rest` is valid for writes of its length.
        match cvt_size(unsafe { libc::pread(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len(), at) }) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Writes `bytes` at byte `offset` of the file `fd` (`pwrite`), all of them.
/// A write past the end would grow the file, so callers check its size
/// first.
pub(crate) fn write_at(fd: BorrowedFd<'_>, bytes: &[u8], offset: usize) -> io::Result<()> {
    let mut done = 0;
    while done < bytes.len() {
        let at = offset.checked_add(done).and_then(|a| libc::off_t::try_from(a).ok());
        let at = at.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let rest = &bytes[done..];
        // SAFETY: `rest` is valid for reads of its length.
        match cvt_size(unsafe { libc::pwrite(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len(), at) }) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid, writable array of two c_ints.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok((owned(fds[0]), owned(fds[1])))
}

/// Blocks until the pipe's every write end is closed (reads and drops
/// anything written meanwhile).
pub(crate) fn wait_for_eof(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        match cvt_size(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) }) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
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

/// Keeps freed memory in this process for reuse (glibc's allocator; a
/// no-op elsewhere): blocks under 8 MiB come from the heap, and the heap is
/// trimmed only when 32 MiB sit free at its top. For pool workers, which
/// allocate and free a chunk's buffers for every job: by default glibc
/// hands those back to the kernel each time (a chunk just over 128 KiB is
/// its own mapping), and the page faults to get them again cost more than
/// the tasks.
pub(crate) fn keep_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only changes the allocator's tuning parameters; both
    // values are in their documented ranges (M_MMAP_THRESHOLD at most
    // HEAP_MAX/2, 32 MiB on 64-bit). Setting them fixes both (glibc stops
    // adjusting them itself).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 8 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
    }
}

/// A non-blocking, close-on-exec eventfd in semaphore mode: each read takes
/// one token, so `n` posted tokens wake exactly `n` readers.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd returns a new descriptor.
    cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK | libc::EFD_SEMAPHORE) }).map(owned)
}

/// Adds `n` tokens to an eventfd.
pub(crate) fn eventfd_post(fd: BorrowedFd<'_>, n: u64) -> io::Result<()> {
    let buf = n.to_ne_bytes();
    loop {
        // SAFETY: writes 8 bytes from a live buffer, as eventfd requires.
        match cvt_size(unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), 8) }) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Takes one token from a semaphore-mode eventfd; `WouldBlock` when none.
pub(crate) fn eventfd_take(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut buf = [0u8; 8];
    // SAFETY: reads 8 bytes into a live buffer, as eventfd requires.
    cvt_size(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) }).map(drop)
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

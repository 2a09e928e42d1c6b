//! Readiness: the tokio registration, poll(2) and edge-triggered epoll watches.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use super::{cvt, owned};

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

//! The operating-system layer: the only module that makes raw system calls.
//!
//! Every function here is a thin, safe wrapper around one Linux system call
//! (or a fixed short sequence of them) that returns `io::Result`. Higher
//! layers never see `libc`. File descriptors come back as [`OwnedFd`], so
//! ownership (and closing) is checked by the type system; every descriptor we
//! create is `O_CLOEXEC`.
//!
//! # What this room holds and may use
//!
//! The bottom floor: it uses only `libc` and `deadline`, and every room above
//! reaches the kernel through it.
//!
//! By kind: `socket.rs` (pairs, messages with descriptors, credentials),
//! `poll.rs` (readiness), `process.rs` (identities, pidfds, forking, CPUs),
//! `memory.rs` (memfds, POSIX shared memory); descriptors, pipes and eventfds
//! here.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

mod memory;
mod poll;
mod process;
mod socket;

pub(crate) use memory::*;
pub(crate) use poll::*;
pub(crate) use process::*;
pub(crate) use socket::*;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 { Err(io::Error::last_os_error()) } else { Ok(ret) }
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

/// Duplicates `fd` to a new close-on-exec descriptor.
pub(crate) fn dup_cloexec(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on a live descriptor returns a new descriptor we own.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) }).map(owned)
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

/// Whether `e` says the system or the process ran out of descriptors or
/// memory (an `accept` that fails so will fail again at once).
pub(crate) fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
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

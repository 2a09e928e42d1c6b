//! Sockets: pairs, messages with descriptors (SCM_RIGHTS), peer credentials.

use std::io;
use std::mem::{self};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::{cvt, cvt_size, fstat, owned};

/// The most descriptors one `sendmsg` may carry (the kernel's `SCM_MAX_FD`).
pub(crate) const MAX_FDS_PER_MSG: usize = 253;

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
    if ret == 0 && ty == libc::SOCK_SEQPACKET { SocketKind::SeqPacket } else { SocketKind::Stream }
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

/// Whether `fd` is a socket (used to validate the bootstrap descriptor).
pub(crate) fn is_socket(fd: BorrowedFd<'_>) -> bool {
    fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
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

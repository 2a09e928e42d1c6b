//! Memory: memfds (sealed, frozen), POSIX shared memory, positioned reads and writes.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::{cvt, cvt_size, fstat, owned};

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

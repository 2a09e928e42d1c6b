//! The wake-up descriptors: lazily registered fds, wake-one tokens and
//! the wake-all doorbell (see the module notes in `wake`).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, OnceLock};

use tokio::io::unix::AsyncFd;

use crate::sys;

/// A descriptor that is registered with the tokio reactor on its first async
/// use (registering a duplicate, so the original stays usable by the
/// blocking forms, and a handle decoded in a child without a runtime works).
#[derive(Debug)]
pub(crate) struct LazyAsyncFd {
    fd: OwnedFd,
    afd: OnceLock<AsyncFd<OwnedFd>>,
}

impl LazyAsyncFd {
    pub(crate) fn new(fd: OwnedFd) -> LazyAsyncFd {
        LazyAsyncFd { fd, afd: OnceLock::new() }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The registration, made on first use. Must run inside a tokio runtime.
    pub(crate) fn registered(&self) -> io::Result<&AsyncFd<OwnedFd>> {
        if let Some(afd) = self.afd.get() {
            return Ok(afd);
        }
        require_runtime()?;
        let dup = sys::dup_cloexec(self.fd.as_fd())?;
        let afd = sys::register_async(dup).map_err(|(_, e)| e)?;
        // If another thread registered first, ours is dropped (deregistered).
        let _ = self.afd.set(afd);
        Ok(self.afd.get().expect("set above or by another thread"))
    }
}

/// An error unless this thread is inside a tokio runtime, which every async
/// wait registers with (polled by another executor, it would fail or panic
/// deep inside tokio instead).
pub(crate) fn require_runtime() -> io::Result<()> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Ok(()),
        Err(_) => Err(io::Error::other(
            "async ipc methods must run inside a tokio runtime; use the blocking_* forms elsewhere",
        )),
    }
}

/// Wake-up tokens: a semaphore-mode eventfd shared by every handle of one
/// waitable object, in every process.
#[derive(Debug)]
pub(crate) struct Tokens {
    efd: LazyAsyncFd,
}

impl Tokens {
    pub(crate) fn new() -> io::Result<Tokens> {
        Ok(Tokens { efd: LazyAsyncFd::new(sys::eventfd()?) })
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> Tokens {
        Tokens { efd: LazyAsyncFd::new(fd) }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.efd.fd()
    }

    /// Posts `n` tokens (wakes `n` sleepers).
    pub(crate) fn post(&self, n: u32) {
        if n > 0 {
            // Cannot fail for a live eventfd: the counter holds 2^64 - 2 and
            // tokens are only posted for registered sleepers.
            let _ = sys::eventfd_post(self.efd.fd(), u64::from(n));
        }
    }

    /// Takes a token if one is there, without waiting.
    pub(crate) fn try_take(&self) -> io::Result<bool> {
        match sys::eventfd_take(self.efd.fd()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) fn lazy(&self) -> &LazyAsyncFd {
        &self.efd
    }
}

/// Wake-all: an eventfd rung by wakers and never read, watched
/// edge-triggered by every sleeper (see the module notes).
#[derive(Debug)]
pub(crate) struct Doorbell {
    efd: LazyAsyncFd,
    /// Edge watches (private epoll instances) for blocking waits, kept for
    /// reuse: one per concurrent blocking waiter, made on demand.
    watches: Mutex<Vec<OwnedFd>>,
}

impl Doorbell {
    pub(crate) fn new() -> io::Result<Doorbell> {
        Ok(Doorbell::from_fd(sys::eventfd()?))
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> Doorbell {
        Doorbell { efd: LazyAsyncFd::new(fd), watches: Mutex::new(Vec::new()) }
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.efd.fd()
    }

    /// Wakes every sleeper, in every process, to re-check its condition.
    pub(crate) fn ring(&self) {
        // The counter is never read, so it only grows: by one per ring, it
        // would take 2^64 rings to fill. A full counter (EAGAIN) would make
        // this ring silent; nothing else can fail for a live eventfd.
        let _ = sys::eventfd_post(self.efd.fd(), 1);
    }

    pub(super) fn lazy(&self) -> &LazyAsyncFd {
        &self.efd
    }

    /// An edge watch on the bell for a blocking wait: a private epoll
    /// instance watching it edge-triggered (level triggering cannot work, as
    /// the bell stays readable once rung). A reused one may hold an old
    /// edge; that costs one extra check.
    pub(super) fn edge_watch(&self) -> io::Result<OwnedFd> {
        let pooled = self.watches.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(w) => Ok(w),
            None => sys::edge_watch(self.efd.fd()),
        }
    }

    /// Gives an edge watch back for the next blocking wait.
    pub(super) fn return_watch(&self, watch: OwnedFd) {
        self.watches.lock().unwrap_or_else(|p| p.into_inner()).push(watch);
    }
}

//! How waits wait: descriptors registered lazily with the tokio reactor,
//! eventfd wake-up tokens, and the learned spin before parking.
//!
//! # Implementation notes
//!
//! Every cross-process wait is the same thing with a different condition: a
//! state word in shared memory ([`crate::shm::Region`]), a count of sleepers
//! beside it, and an eventfd in semaphore mode carrying wake-up *tokens*
//! ([`Tokens`]). A waiter checks the condition, registers as a sleeper,
//! checks again, and only then awaits a token; a waker changes the state,
//! then reads the sleeper count and posts that many tokens. Each side's
//! store-then-load pair is `SeqCst` (Dekker's pattern), so at least one of
//! them sees the other: no wake-up is lost. Tokens persist in the eventfd, so
//! a wake-up posted before the waiter sleeps is not lost either, and a waiter
//! that is cancelled after a token was posted for it leaves the token for the
//! next one (who re-checks the condition, and sleeps again if it is a
//! spurious one). Before registering, a waiter may spin on the state word for
//! a learned budget ([`Spinner`]): a cross-CPU wake-up through the kernel
//! costs tens of microseconds on these machines, a spin a fraction of one.

mod spin;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::unix::AsyncFd;

pub(crate) use spin::Spinner;

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
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "async ipc methods must run inside a tokio runtime; use the blocking_* forms elsewhere",
            ));
        }
        let dup = sys::dup_cloexec(self.fd.as_fd())?;
        let afd = sys::register_async(dup).map_err(|(_, e)| e)?;
        // If another thread registered first, ours is dropped (deregistered).
        let _ = self.afd.set(afd);
        Ok(self.afd.get().expect("set above or by another thread"))
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

    /// Awaits and takes one token.
    ///
    /// Cancel safe: a token is taken only in the synchronous step that
    /// returns, so a dropped future takes nothing.
    pub(crate) async fn take(&self) -> io::Result<()> {
        let afd = self.efd.registered()?;
        loop {
            let mut guard = afd.readable().await?;
            match sys::eventfd_take(self.efd.fd()) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Blocks until a token can be taken, or `timeout` passes (`Ok(false)`).
    pub(crate) fn blocking_take(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            match sys::eventfd_take(self.efd.fd()) {
                Ok(()) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            if left == Some(Duration::ZERO) || !sys::poll_fd(self.efd.fd(), sys::Interest::Read, left)? {
                return Ok(false);
            }
        }
    }
}

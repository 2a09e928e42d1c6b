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
//!
//! Wakers come in two kinds, like a futex's wake-one and wake-all:
//!
//! - [`Tokens`] (wake one): a semaphore-mode eventfd whose tokens are taken
//!   by the sleepers they wake. For locks and semaphores, where any one
//!   sleeper may take what was released and the others should stay asleep.
//! - [`Doorbell`] (wake all): an eventfd that is rung (written) but never
//!   read, watched edge-triggered, so every sleeper in every process sees
//!   each ring and re-checks its own condition. For events, conditions and
//!   barriers, where a wake-up is meant for particular sleepers (those of a
//!   round, those notified) and an anonymous token could be taken by the
//!   wrong one. A sleeper never consumes anything, so no sleeper can steal
//!   another's wake-up.
//!
//! Both kinds use the same register-then-recheck protocol with a count of
//! sleepers (`sync::raw::Sleeper`), so a waker makes no system call when
//! nobody sleeps.

mod spin;

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

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

/// Runs `future` to completion on this thread, parking it while the future
/// waits: the blocking forms drive their async twins with it. Unlike
/// `futures::executor::block_on` it may nest (a blocking form whose async
/// twin reaches another blocking step).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    /// Wakes the parked thread.
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = std::pin::pin!(future);
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        // A wake-up between the poll and this park leaves the token set, so
        // the park returns at once.
        std::thread::park();
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

    /// Takes a token if one is there, without waiting.
    pub(crate) fn try_take(&self) -> io::Result<bool> {
        match sys::eventfd_take(self.efd.fd()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Blocks until a token can be taken, or `timeout` passes (`Ok(false)`).
    pub(crate) fn blocking_take(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let deadline = crate::deadline::within(timeout);
        loop {
            match sys::eventfd_take(self.efd.fd()) {
                Ok(()) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let left = crate::deadline::left(deadline);
            if left == Some(Duration::ZERO) || !sys::poll_fd(self.efd.fd(), sys::Interest::Read, left)? {
                return Ok(false);
            }
        }
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

    /// Waits until `check` yields, re-checking after every ring.
    ///
    /// Cancel safe: nothing is consumed, so a dropped wait takes nothing
    /// from anyone.
    pub(crate) async fn wait<T>(&self, mut check: impl FnMut() -> Option<T>) -> io::Result<T> {
        // Register first: a ring after this point produces an edge that the
        // reactor reports, so the check below cannot miss one.
        let afd = self.efd.registered()?;
        if let Some(v) = check() {
            return Ok(v);
        }
        loop {
            let mut guard = afd.readable().await?;
            if let Some(v) = check() {
                return Ok(v);
            }
            // Clears only the readiness this guard saw: a ring the reactor
            // reported since keeps it set, and the next turn re-checks.
            guard.clear_ready();
        }
    }

    /// Blocking form of [`wait`](Doorbell::wait), until `deadline`
    /// (`Ok(None)` when it passes first).
    pub(crate) fn blocking_wait<T>(
        &self,
        deadline: Option<Instant>,
        mut check: impl FnMut() -> Option<T>,
    ) -> io::Result<Option<T>> {
        // A private epoll instance watching the bell edge-triggered: level
        // triggering cannot work, as the bell stays readable once rung. A
        // reused one may hold an old edge; that costs one extra check.
        let pooled = self.watches.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let watch = match pooled {
            Some(w) => w,
            None => sys::edge_watch(self.efd.fd())?,
        };
        let result = loop {
            if let Some(v) = check() {
                break Ok(Some(v));
            }
            match sys::edge_wait(watch.as_fd(), deadline) {
                Ok(true) => {}
                Ok(false) => break Ok(check()),
                Err(e) => break Err(e),
            }
        };
        self.watches.lock().unwrap_or_else(|p| p.into_inner()).push(watch);
        result
    }
}

/// Spins on `check` for `spinner`'s learned budget (at most `limit`). The
/// spinner's lock is held only to plan and to learn, never while spinning.
pub(crate) fn spin<T>(
    spinner: &Mutex<Spinner>,
    limit: Option<Duration>,
    check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let lock = || spinner.lock().unwrap_or_else(|p| p.into_inner());
    let plan = lock().plan(limit);
    let caught = plan.run(check);
    lock().settle(&plan, caught.is_some());
    caught
}

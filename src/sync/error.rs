//! The errors of the synchronisation primitives.

use std::fmt;
use std::io;

/// Why [`Lock::lock`](crate::Lock::lock) (and the other waiting forms of
/// `Lock` and `RLock`) did not simply return a guard.
///
/// `G` is what was acquired: a guard, or `()` for the unguarded
/// `acquire` forms.
pub enum LockError<G> {
    /// The lock is yours, but a previous holder died while holding it (or a
    /// later holder did not mark the state consistent after such a death):
    /// what the lock protects may be half-updated. Check or repair it, then
    /// call `make_consistent` on the guard; until then every acquirer gets
    /// this.
    OwnerDied(G),
    /// The wait could not be made (outside a tokio runtime, or out of
    /// descriptors).
    Io(io::Error),
}

/// Why a [`Lock::try_lock`](crate::Lock::try_lock) or a timed lock did not
/// simply return a guard.
pub enum TryLockError<G> {
    /// Someone else holds the lock (and, for the timed forms, still did when
    /// the time ran out).
    WouldBlock,
    /// Acquired after a holder's death: see [`LockError::OwnerDied`].
    OwnerDied(G),
    /// See [`LockError::Io`].
    Io(io::Error),
}

impl<G> LockError<G> {
    /// The guard of an [`OwnerDied`](LockError::OwnerDied), if this is one.
    ///
    /// # Examples
    ///
    /// ```
    /// let e: ipc::LockError<u8> = ipc::LockError::OwnerDied(7);
    /// assert_eq!(e.into_owner_died(), Some(7));
    /// ```
    pub fn into_owner_died(self) -> Option<G> {
        match self {
            LockError::OwnerDied(g) => Some(g),
            LockError::Io(_) => None,
        }
    }

    /// Maps the acquired value (used by the unguarded forms).
    pub(crate) fn map<H>(self, f: impl FnOnce(G) -> H) -> LockError<H> {
        match self {
            LockError::OwnerDied(g) => LockError::OwnerDied(f(g)),
            LockError::Io(e) => LockError::Io(e),
        }
    }
}

impl<G> From<LockError<G>> for TryLockError<G> {
    fn from(e: LockError<G>) -> Self {
        match e {
            LockError::OwnerDied(g) => TryLockError::OwnerDied(g),
            LockError::Io(e) => TryLockError::Io(e),
        }
    }
}

const OWNER_DIED: &str =
    "acquired a lock whose previous holder died holding it; the protected state may be inconsistent";

impl<G> fmt::Debug for LockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::OwnerDied(_) => f.write_str("OwnerDied(..)"),
            LockError::Io(e) => f.debug_tuple("Io").field(e).finish(),
        }
    }
}

impl<G> fmt::Display for LockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::OwnerDied(_) => f.write_str(OWNER_DIED),
            LockError::Io(e) => write!(f, "cannot wait for the lock: {e}"),
        }
    }
}

impl<G> std::error::Error for LockError<G> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LockError::Io(e) => Some(e),
            LockError::OwnerDied(_) => None,
        }
    }
}

impl<G> fmt::Debug for TryLockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryLockError::WouldBlock => f.write_str("WouldBlock"),
            TryLockError::OwnerDied(_) => f.write_str("OwnerDied(..)"),
            TryLockError::Io(e) => f.debug_tuple("Io").field(e).finish(),
        }
    }
}

impl<G> fmt::Display for TryLockError<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryLockError::WouldBlock => f.write_str("the lock is held by someone else"),
            TryLockError::OwnerDied(_) => f.write_str(OWNER_DIED),
            TryLockError::Io(e) => write!(f, "cannot wait for the lock: {e}"),
        }
    }
}

impl<G> std::error::Error for TryLockError<G> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TryLockError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Misuse of a primitive, a broken barrier, or an operating-system error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// Releasing a lock that is not locked, or using a condition without
    /// holding its lock (Python's `ValueError` / `RuntimeError`).
    #[error("the lock is not locked (by this process, for a condition)")]
    NotLocked,
    /// Releasing an `RLock` held by another process or task.
    #[error("cannot release an RLock held by another process or task")]
    NotOwner,
    /// Releasing a `BoundedSemaphore` above its initial value.
    #[error("semaphore released too many times (above its initial value {bound})")]
    TooManyReleases {
        /// The semaphore's initial (and greatest) value.
        bound: u32,
    },
    /// An argument out of range (a barrier of no parties, a semaphore value
    /// above [`Semaphore::MAX`](crate::Semaphore::MAX)).
    #[error("invalid argument: {0}")]
    Invalid(&'static str),
    /// The barrier was broken (aborted, reset while this party waited, or a
    /// party timed out or was cancelled).
    #[error("the barrier is broken")]
    BrokenBarrier,
    /// The wait could not be made (outside a tokio runtime, or out of
    /// descriptors), or a handle could not be made.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

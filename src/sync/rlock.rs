//! [`RLock`]: a re-entrant lock shared between processes (Python's
//! `multiprocessing.RLock`).
//!
//! # Implementation notes
//!
//! The [`RawLock`] word says which *process* holds the lock; beside it the
//! holder records which task (inside a tokio task) or thread holds it, and
//! how many times. Only the holder writes those two words, so they need no
//! ordering beyond the lock's own.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{LockError, SyncError, TryLockError};
use super::lock::{Acquired, DEPTH, OWNER_LOCAL, RawLock, hand_over};
use super::owner;
use crate::loom::{AtomicU32, AtomicU64, Ordering};
use crate::shm::Kind;
use crate::wake::{self, Async, Blocking, Park};

/// A re-entrant lock shared by every process holding the handle (Python's
/// `multiprocessing.RLock`): the task (or thread) that holds it may lock it
/// again, and must release it as many times.
///
/// Its owner is the calling tokio task, or the calling thread outside a
/// task. Releasing it from another task or process is
/// [`SyncError::NotOwner`]. A holder's death is handled as for
/// [`Lock`](crate::Lock): the next acquirer gets
/// [`LockError::OwnerDied`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
/// let lock = ipc::RLock::new()?;
/// let outer = lock.lock().await?;
/// let inner = lock.lock().await?; // the same task: no deadlock
/// assert_eq!(lock.depth(), 2);
/// drop(inner);
/// drop(outer);
/// assert_eq!(lock.depth(), 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RLock {
    raw: Arc<RawLock>,
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock").field("locked", &(self.raw.holder() != 0)).finish()
    }
}

/// One level of holding an [`RLock`]; dropping it releases that level.
///
/// # Examples
///
/// ```
/// # fn main() -> ipc::Result<()> {
/// let lock = ipc::RLock::new()?;
/// let guard = lock.blocking_lock()?;
/// drop(guard);
/// # Ok(()) }
/// ```
#[must_use = "the level is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard").finish_non_exhaustive()
    }
}

impl RLock {
    /// A new, unlocked re-entrant lock.
    ///
    /// # Errors
    ///
    /// An i/o error if the shared region or the eventfd cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// assert_eq!(lock.depth(), 0);
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<RLock> {
        Ok(RLock { raw: Arc::new(RawLock::new(Kind::RLock)?) })
    }

    fn owner_local(&self) -> &AtomicU64 {
        self.raw.region().word64(OWNER_LOCAL)
    }

    fn depth_word(&self) -> &AtomicU32 {
        self.raw.region().word(DEPTH)
    }

    /// How many times the caller holds the lock (0 if it does not).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// let _a = lock.try_lock()?;
    /// assert_eq!(lock.depth(), 1);
    /// # Ok(()) }
    /// ```
    pub fn depth(&self) -> u32 {
        if self.mine() { self.depth_word().load(Ordering::Relaxed) } else { 0 }
    }

    /// Whether the calling task or thread holds the lock.
    fn mine(&self) -> bool {
        // Relaxed: if this process holds the lock, the owner words were last
        // written by this process, and a value naming the caller can only
        // be the caller's own write (the owner clears it before releasing).
        self.raw.held_here() && self.owner_local().load(Ordering::Relaxed) == owner::local()
    }

    /// Re-enters if the caller holds the lock already.
    fn reenter(&self) -> Option<RLockGuard<'_>> {
        if !self.mine() {
            return None;
        }
        // Relaxed: only the holder touches the depth.
        self.depth_word().fetch_add(1, Ordering::Relaxed);
        Some(RLockGuard { lock: self })
    }

    /// Records the caller as the holder of a freshly taken lock.
    fn enter<'a, E: From<LockError<RLockGuard<'a>>>>(&'a self, how: Acquired) -> Result<RLockGuard<'a>, E> {
        // Relaxed: we hold the lock; its release publishes these.
        self.owner_local().store(owner::local(), Ordering::Relaxed);
        self.depth_word().store(1, Ordering::Relaxed);
        hand_over(how, RLockGuard { lock: self })
    }

    /// Drops one level; the last one releases the lock.
    fn leave(&self) {
        // Relaxed: only the holder touches the depth and owner words.
        if self.depth_word().fetch_sub(1, Ordering::Relaxed) == 1 {
            self.owner_local().store(0, Ordering::Relaxed);
            self.raw.release();
        }
    }

    /// Waits for the lock (at once if the caller holds it) and returns a
    /// guard for one level.
    ///
    /// # Errors
    ///
    /// As [`Lock::lock`](crate::Lock::lock).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Lock::lock`](crate::Lock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// let _g = lock.lock().await?;
    /// # Ok(()) }
    /// ```
    pub async fn lock(&self) -> Result<RLockGuard<'_>, LockError<RLockGuard<'_>>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        let how = self.raw.acquire(&mut Async::new()).await.map_err(LockError::Io)?;
        self.enter(wake::forever(how))
    }

    /// [`lock`](RLock::lock) until `park`'s deadline.
    async fn lock_in<P: Park>(&self, park: &mut P) -> Result<RLockGuard<'_>, TryLockError<RLockGuard<'_>>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        match self.raw.acquire(park).await.map_err(TryLockError::Io)? {
            Some(how) => self.enter(how),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// Takes the lock (or one more level of it) without waiting.
    ///
    /// # Errors
    ///
    /// As [`Lock::try_lock`](crate::Lock::try_lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// let _a = lock.try_lock()?;
    /// let _b = lock.try_lock()?;
    /// let elsewhere = std::thread::scope(|s| s.spawn(|| lock.try_lock().is_err()).join().unwrap());
    /// assert!(elsewhere);
    /// # Ok(()) }
    /// ```
    pub fn try_lock(&self) -> Result<RLockGuard<'_>, TryLockError<RLockGuard<'_>>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        match self.raw.try_acquire_robust().map_err(TryLockError::Io)? {
            Some(how) => self.enter(how),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// [`lock`](RLock::lock) for at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`Lock::lock_timeout`](crate::Lock::lock_timeout).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Lock::lock`](crate::Lock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// let _g = lock.lock_timeout(std::time::Duration::from_millis(5)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn lock_timeout(&self, timeout: Duration) -> Result<RLockGuard<'_>, TryLockError<RLockGuard<'_>>> {
        self.lock_in(&mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`lock`](RLock::lock).
    ///
    /// # Errors
    ///
    /// As [`Lock::blocking_lock`](crate::Lock::blocking_lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// let _a = lock.blocking_lock()?;
    /// let _b = lock.blocking_lock()?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_lock(&self) -> Result<RLockGuard<'_>, LockError<RLockGuard<'_>>> {
        if let Some(g) = self.reenter() {
            return Ok(g);
        }
        if let Some(how) = self.raw.try_acquire() {
            return self.enter(how);
        }
        let how = wake::blocking(self.raw.acquire(&mut Blocking::new())).map_err(LockError::Io)?;
        self.enter(wake::forever(how))
    }

    /// Blocking form of [`lock_timeout`](RLock::lock_timeout).
    ///
    /// # Errors
    ///
    /// As [`Lock::lock_timeout`](crate::Lock::lock_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// let _g = lock.blocking_lock_timeout(std::time::Duration::ZERO)?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_lock_timeout(&self, timeout: Duration) -> Result<RLockGuard<'_>, TryLockError<RLockGuard<'_>>> {
        wake::blocking(self.lock_in(&mut Blocking::timeout(timeout)))
    }

    /// Python's `acquire()`: takes one level, kept until
    /// [`release`](RLock::release).
    ///
    /// # Errors
    ///
    /// As [`lock`](RLock::lock).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Lock::lock`](crate::Lock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// lock.acquire().await?;
    /// lock.acquire().await?;
    /// lock.release()?;
    /// lock.release()?;
    /// assert!(lock.release().is_err());
    /// # Ok(()) }
    /// ```
    pub async fn acquire(&self) -> Result<(), LockError<()>> {
        self.lock().await.map(RLockGuard::keep).map_err(|e| e.map(RLockGuard::keep))
    }

    /// Blocking form of [`acquire`](RLock::acquire).
    ///
    /// # Errors
    ///
    /// As [`lock`](RLock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// lock.blocking_acquire()?;
    /// lock.release()?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_acquire(&self) -> Result<(), LockError<()>> {
        self.blocking_lock().map(RLockGuard::keep).map_err(|e| e.map(RLockGuard::keep))
    }

    /// Python's `release()`: releases one level held by the caller.
    ///
    /// # Errors
    ///
    /// [`SyncError::NotLocked`] if nobody holds the lock,
    /// [`SyncError::NotOwner`] if another task, thread or process does.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// assert!(matches!(lock.release(), Err(ipc::SyncError::NotLocked)));
    /// lock.blocking_acquire()?;
    /// let other = std::thread::scope(|s| s.spawn(|| lock.release()).join().unwrap());
    /// assert!(matches!(other, Err(ipc::SyncError::NotOwner)));
    /// lock.release()?;
    /// # Ok(()) }
    /// ```
    pub fn release(&self) -> Result<(), SyncError> {
        if self.mine() {
            self.leave();
            Ok(())
        } else if self.raw.holder() == 0 {
            Err(SyncError::NotLocked)
        } else {
            Err(SyncError::NotOwner)
        }
    }

    /// After an [`OwnerDied`](LockError::OwnerDied) from an unguarded
    /// [`acquire`](RLock::acquire): declares the protected state repaired.
    ///
    /// # Errors
    ///
    /// [`SyncError::NotOwner`] unless the caller holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// assert!(lock.make_consistent().is_err());
    /// # Ok(()) }
    /// ```
    pub fn make_consistent(&self) -> Result<(), SyncError> {
        if !self.mine() {
            return Err(SyncError::NotOwner);
        }
        self.raw.make_consistent();
        Ok(())
    }
}

impl RLockGuard<'_> {
    /// As [`LockGuard::make_consistent`](crate::LockGuard::make_consistent).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::RLock::new()?;
    /// lock.try_lock()?.make_consistent();
    /// # Ok(()) }
    /// ```
    pub fn make_consistent(&self) {
        self.lock.raw.make_consistent();
    }

    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        self.lock.leave();
    }
}

/// An `RLock` serializes as a handle: its region and eventfd travel out of
/// band.
impl Serialize for RLock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RLock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(RLock { raw: Arc::new(RawLock::deserialize(deserializer, Kind::RLock)?) })
    }
}

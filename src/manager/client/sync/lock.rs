//! `LockProxy` and `RLockProxy`: a `Lock` and an `RLock` on the server,
//! and the undo calls every owned lock's proxy shares.

use std::time::Duration;

#[cfg(doc)]
use super::super::super::error::RemoteError;
use super::super::super::methods::{Method, lock, rlock};
use super::super::super::protocol::ObjectId;
use super::super::{CallError, Mux, ObjectRef, notify_call};
use crate::codec;
use crate::sync::owner;

proxy! {
    /// A lock in a manager (Python's `manager.Lock()`): any process may
    /// release it, as in Python; if its holder's process dies, the server
    /// releases it (Python's stays locked forever).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let lock = manager.lock().await?;
    ///     lock.acquire().await?;
    ///     assert!(!lock.try_acquire().await?);
    ///     lock.release().await?;
    ///     assert!(matches!(lock.release().await, Err(ipc::CallError::Remote(ipc::RemoteError::RuntimeError(_)))));
    ///     Ok(())
    /// }
    /// ```
    LockProxy
}

impl LockProxy {
    async fn acquire_with(&self, block: bool, timeout: Option<Duration>) -> Result<bool, CallError> {
        self.obj.call_with_undo(lock::Acquire, &(block, timeout), release_if_acquired(lock::Release, ())).await
    }

    /// `lock.acquire()`: waits until this caller holds the lock.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a lock acquired for a caller that left is released.
    ///
    /// # Examples
    ///
    /// See [`LockProxy`].
    pub async fn acquire(&self) -> Result<(), CallError> {
        self.acquire_with(true, None).await.map(drop)
    }

    /// Blocking form of [`acquire`](Self::acquire), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_acquire(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.acquire())
    }

    /// `lock.acquire(timeout=t)`: whether it was acquired in time.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let lock = manager.lock().await?;
    /// assert!(lock.acquire_timeout(std::time::Duration::from_millis(10)).await?);
    /// assert!(!lock.acquire_timeout(std::time::Duration::from_millis(10)).await?);
    /// # Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        self.acquire_with(true, Some(timeout)).await
    }

    /// Blocking form of [`acquire_timeout`](Self::acquire_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_acquire_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        crate::manager::blocking(self.acquire_timeout(timeout))
    }

    /// `lock.acquire(False)`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`LockProxy`].
    pub async fn try_acquire(&self) -> Result<bool, CallError> {
        self.acquire_with(false, None).await
    }

    /// Blocking form of [`try_acquire`](Self::try_acquire), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_try_acquire(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.try_acquire())
    }

    /// `lock.release()`; an unlocked lock is [`RemoteError::RuntimeError`].
    ///
    /// # Errors
    ///
    /// `RuntimeError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`LockProxy`].
    pub async fn release(&self) -> Result<(), CallError> {
        self.obj.call(lock::Release, &()).await
    }

    /// Blocking form of [`release`](Self::release), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`release`](Self::release).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_release(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.release())
    }

    /// `lock.locked()` (Python 3.14's): whether some task of some process
    /// holds the lock now — a snapshot, stale as soon as it returns.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let manager = ipc::Manager::start().await?;
    /// let lock = manager.lock().await?;
    /// assert!(!lock.locked().await?);
    /// lock.acquire().await?;
    /// assert!(lock.locked().await?);
    /// # Ok(()) }
    /// ```
    pub async fn locked(&self) -> Result<bool, CallError> {
        self.obj.call(lock::Locked, &()).await
    }

    /// Blocking form of [`locked`](Self::locked), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`locked`](Self::locked).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_locked(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.locked())
    }
}

/// The undo of an `acquire` whose caller left: if the reply says it
/// acquired, calls `release` (the lock's, or the semaphore's) with `args`.
pub(crate) fn release_if_acquired<M: Method + Send + 'static>(
    release: M,
    args: M::Args,
) -> impl FnOnce(&Mux, ObjectId, Vec<u8>) + Send + 'static
where
    M::Args: Send + 'static,
{
    move |mux, object, reply| {
        if let Ok(true) = codec::decode::<bool>(&reply, Vec::new()) {
            notify_call(mux, object, release, &args);
        }
    }
}

/// Releases one level of an owned lock for `task` (the undo of an
/// `acquire` or a Condition's `wait` whose caller left).
pub(crate) fn release_for(mux: &Mux, object: ObjectId, task: u64) {
    notify_call(mux, object, rlock::Release, &task);
}

proxy! {
    /// A re-entrant lock in a manager (Python's `manager.RLock()`): the
    /// task that holds it (or the thread, outside a tokio task) may acquire
    /// it again and must release it as many times. A process that dies
    /// holding it releases it.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let lock = manager.rlock().await?;
    ///     lock.acquire().await?;
    ///     lock.acquire().await?; // re-entered
    ///     lock.release().await?;
    ///     lock.release().await?;
    ///     assert!(lock.release().await.is_err()); // RuntimeError, as in Python
    ///     Ok(())
    /// }
    /// ```
    RLockProxy
}

/// The methods every manager lock with an owner shares.
pub(super) async fn acquire_owned(obj: &ObjectRef, block: bool, timeout: Option<Duration>) -> Result<bool, CallError> {
    let task = owner::local();
    obj.call_with_undo(rlock::Acquire, &(task, block, timeout), release_if_acquired(rlock::Release, task)).await
}

impl RLockProxy {
    /// `lock.acquire()`: waits until this task holds the lock (at once if
    /// it holds it already).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a lock acquired for a caller that left is released.
    ///
    /// # Examples
    ///
    /// See [`RLockProxy`].
    pub async fn acquire(&self) -> Result<(), CallError> {
        acquire_owned(&self.obj, true, None).await.map(drop)
    }

    /// Blocking form of [`acquire`](Self::acquire), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_acquire(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.acquire())
    }

    /// `lock.acquire(timeout=t)`: whether it was acquired in time.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let lock = manager.rlock().await?;
    /// lock.acquire().await?;
    /// let other = tokio::spawn({
    ///     let lock = lock.clone();
    ///     async move { lock.acquire_timeout(std::time::Duration::from_millis(10)).await }
    /// });
    /// assert!(!other.await.unwrap()?); // another task: it must wait
    /// # Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        acquire_owned(&self.obj, true, Some(timeout)).await
    }

    /// Blocking form of [`acquire_timeout`](Self::acquire_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_acquire_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        crate::manager::blocking(self.acquire_timeout(timeout))
    }

    /// `lock.acquire(False)`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let lock = manager.rlock().await?;
    /// assert!(lock.try_acquire().await? && lock.try_acquire().await?);
    /// # Ok(()) }
    /// ```
    pub async fn try_acquire(&self) -> Result<bool, CallError> {
        acquire_owned(&self.obj, false, None).await
    }

    /// Blocking form of [`try_acquire`](Self::try_acquire), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_try_acquire(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.try_acquire())
    }

    /// `lock.release()`: one level; releasing a lock this task does not
    /// hold is [`RemoteError::RuntimeError`](crate::manager::RemoteError::RuntimeError).
    ///
    /// # Errors
    ///
    /// `RuntimeError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`RLockProxy`].
    pub async fn release(&self) -> Result<(), CallError> {
        self.obj.call(rlock::Release, &owner::local()).await
    }

    /// Blocking form of [`release`](Self::release), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`release`](Self::release).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_release(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.release())
    }
}

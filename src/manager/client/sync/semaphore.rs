//! `SemaphoreProxy`: a `Semaphore` or `BoundedSemaphore` on the server.

use std::time::Duration;

#[cfg(doc)]
use super::super::super::error::RemoteError;
use super::super::super::methods::semaphore;
use super::super::CallError;
use super::lock::release_if_acquired;

proxy! {
    /// A semaphore in a manager (Python's `manager.Semaphore(n)` and
    /// `manager.BoundedSemaphore(n)`; a bounded one refuses to be released
    /// above its initial value with
    /// [`RemoteError::ValueError`](crate::manager::RemoteError::ValueError)).
    ///
    /// Permits are not tied to processes: one process may release what
    /// another acquired, so a process that dies keeps what it acquired.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let s = manager.bounded_semaphore(2).await?;
    ///     s.acquire().await?;
    ///     assert!(s.try_acquire().await?);
    ///     assert!(!s.try_acquire().await?);
    ///     s.release().await?;
    ///     s.release().await?;
    ///     assert!(s.release().await.is_err()); // ValueError: released too many times
    ///     Ok(())
    /// }
    /// ```
    SemaphoreProxy
}

impl SemaphoreProxy {
    async fn acquire_with(&self, block: bool, timeout: Option<Duration>) -> Result<bool, CallError> {
        self.obj.call_with_undo(semaphore::Acquire, &(block, timeout), release_if_acquired(semaphore::Release, 1)).await
    }

    /// `s.acquire()`: waits for a permit.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a permit taken for a caller that left is given back.
    ///
    /// # Examples
    ///
    /// See [`SemaphoreProxy`].
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

    /// `s.acquire(timeout=t)`: whether a permit was taken in time.
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
    /// let s = manager.semaphore(0).await?;
    /// assert!(!s.acquire_timeout(std::time::Duration::from_millis(10)).await?);
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

    /// `s.acquire(False)`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`SemaphoreProxy`].
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

    /// `s.release()`: gives back one permit.
    ///
    /// # Errors
    ///
    /// `ValueError` for a bounded semaphore at its bound, or [`CallError`]
    /// if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`SemaphoreProxy`].
    pub async fn release(&self) -> Result<(), CallError> {
        self.release_n(1).await
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

    /// `s.release(n)`: gives back `n` permits at once.
    ///
    /// # Errors
    ///
    /// As [`release`](SemaphoreProxy::release).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let s = manager.semaphore(0).await?;
    /// s.release_n(3).await?;
    /// assert_eq!(s.value().await?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn release_n(&self, n: u64) -> Result<(), CallError> {
        self.obj.call(semaphore::Release, &n).await
    }

    /// Blocking form of [`release_n`](Self::release_n), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`release_n`](Self::release_n).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_release_n(&self, n: u64) -> Result<(), CallError> {
        crate::manager::blocking(self.release_n(n))
    }

    /// `s.get_value()`: the permits left.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`release_n`](SemaphoreProxy::release_n).
    pub async fn value(&self) -> Result<u64, CallError> {
        self.obj.call(semaphore::GetValue, &()).await
    }

    /// Blocking form of [`value`](Self::value), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`value`](Self::value).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_value(&self) -> Result<u64, CallError> {
        crate::manager::blocking(self.value())
    }
}

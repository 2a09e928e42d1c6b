//! `ConditionProxy`: a `Condition` (with its own re-entrant lock) on the
//! server.

use std::future::Future;
use std::time::Duration;

#[cfg(doc)]
use super::super::super::error::RemoteError;
use super::super::super::methods::{condition, rlock};
use super::super::{CallError, Mux};
use super::lock::{acquire_owned, release_for};
use crate::sync::owner;

proxy! {
    /// A condition variable with its own re-entrant lock, in a manager
    /// (Python's `manager.Condition()`). Hold the lock to wait or notify,
    /// as in Python ([`RemoteError::RuntimeError`](crate::manager::RemoteError::RuntimeError)
    /// otherwise); `wait` releases it while waiting and holds it again
    /// when it returns.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let cond = manager.condition().await?;
    ///     let ready = manager.value(&false).await?;
    ///     let mut child = ipc::Process::spawn(announce, (cond.clone(), ready.clone()))?;
    ///     cond.acquire().await?;
    ///     cond.wait_for(|| ready.get(), None).await?;
    ///     cond.release().await?;
    ///     child.join().await?;
    ///     Ok(())
    /// }
    ///
    /// async fn announce((cond, ready): (ipc::manager::ConditionProxy, ipc::manager::ValueProxy<bool>)) {
    ///     cond.acquire().await.unwrap();
    ///     ready.set(&true).await.unwrap();
    ///     cond.notify_all().await.unwrap();
    ///     cond.release().await.unwrap();
    /// }
    /// ```
    ConditionProxy
}

impl ConditionProxy {
    /// Acquires the condition's lock.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`RLockProxy::acquire`](crate::manager::RLockProxy::acquire).
    ///
    /// # Examples
    ///
    /// See [`ConditionProxy`].
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

    /// Acquires the lock, waiting at most `timeout`: whether it did.
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
    /// let cond = manager.condition().await?;
    /// assert!(cond.acquire_timeout(std::time::Duration::from_millis(10)).await?);
    /// cond.release().await?;
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

    /// Releases the lock (one level).
    ///
    /// # Errors
    ///
    /// `RuntimeError` if this task does not hold it, or [`CallError`] if
    /// the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`ConditionProxy`].
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

    async fn wait_with(&self, timeout: Option<Duration>) -> Result<bool, CallError> {
        let task = owner::local();
        // A finished wait holds the lock again, notified or not.
        let reacquired = move |mux: &Mux, object, _reply: Vec<u8>| release_for(mux, object, task);
        self.obj.call_with_undo(condition::Wait, &(task, timeout), reacquired).await
    }

    /// `cond.wait()`: releases the lock, waits for a notification, holds
    /// the lock again.
    ///
    /// # Errors
    ///
    /// `RuntimeError` if this task does not hold the lock, or
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// A cancelled wait leaves the lock *released* (whether the server had
    /// given it back or not): re-acquire before touching what it guards.
    ///
    /// # Examples
    ///
    /// See [`ConditionProxy`].
    pub async fn wait(&self) -> Result<(), CallError> {
        self.wait_with(None).await.map(drop)
    }

    /// Blocking form of [`wait`](Self::wait), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_wait(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.wait())
    }

    /// `cond.wait(timeout)`: whether it was notified (`false`: timed out;
    /// the lock is held again either way).
    ///
    /// # Errors
    ///
    /// As [`wait`](ConditionProxy::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let cond = manager.condition().await?;
    /// cond.acquire().await?;
    /// assert!(!cond.wait_timeout(std::time::Duration::from_millis(10)).await?);
    /// cond.release().await?; // held again after the wait
    /// # Ok(()) }
    /// ```
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        self.wait_with(Some(timeout)).await
    }

    /// Blocking form of [`wait_timeout`](Self::wait_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`wait_timeout`](Self::wait_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        crate::manager::blocking(self.wait_timeout(timeout))
    }

    /// `cond.wait_for(predicate, timeout)`: waits until `predicate` (an
    /// async check, typically reading another proxy) is true, re-checking
    /// at each notification; the predicate's last answer. Call it holding
    /// the lock.
    ///
    /// # Errors
    ///
    /// As [`wait`](ConditionProxy::wait), or the predicate's error.
    ///
    /// # Examples
    ///
    /// See [`ConditionProxy`].
    pub async fn wait_for<F, Fut>(&self, mut predicate: F, timeout: Option<Duration>) -> Result<bool, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool, CallError>>,
    {
        let deadline = crate::deadline::tokio_within(timeout);
        loop {
            if predicate().await? {
                return Ok(true);
            }
            let left = match deadline {
                None => None,
                Some(d) => match d.checked_duration_since(tokio::time::Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Ok(false),
                },
            };
            self.wait_with(left).await?;
        }
    }

    /// Blocking form of [`wait_for`](Self::wait_for), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`wait_for`](Self::wait_for).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_wait_for<F, Fut>(&self, predicate: F, timeout: Option<Duration>) -> Result<bool, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<bool, CallError>>,
    {
        crate::manager::blocking(self.wait_for(predicate, timeout))
    }

    /// `cond.notify(n)`: wakes up to `n` waiters, longest waiting first.
    ///
    /// # Errors
    ///
    /// `RuntimeError` if this task does not hold the lock, or
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let cond = manager.condition().await?;
    /// assert!(cond.notify(1).await.is_err()); // not holding the lock
    /// cond.acquire().await?;
    /// cond.notify(1).await?; // nobody waits: nothing happens
    /// # Ok(()) }
    /// ```
    pub async fn notify(&self, n: u64) -> Result<(), CallError> {
        self.obj.call(condition::Notify, &(owner::local(), n)).await
    }

    /// Blocking form of [`notify`](Self::notify), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_notify(&self, n: u64) -> Result<(), CallError> {
        crate::manager::blocking(self.notify(n))
    }

    /// `cond.notify_all()`.
    ///
    /// # Errors
    ///
    /// As [`notify`](ConditionProxy::notify).
    ///
    /// # Examples
    ///
    /// See [`ConditionProxy`].
    pub async fn notify_all(&self) -> Result<(), CallError> {
        self.notify(u64::MAX).await
    }

    /// Blocking form of [`notify_all`](Self::notify_all), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`notify_all`](Self::notify_all).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_notify_all(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.notify_all())
    }
}

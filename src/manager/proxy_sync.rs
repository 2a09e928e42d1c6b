//! Proxies of the manager's `RLock`, `Semaphore`, `BoundedSemaphore`,
//! `Condition`, `Barrier` and `Array`.

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::client::Mux;
use super::error::CallError;
use super::protocol::{ObjectId, Op};
use super::proxy::{load, proxy, release_if_acquired, ObjectRef};
use crate::codec;
use crate::sync::owner;

/// Releases one level of an owned lock for `task` (the undo of an
/// `acquire` or a Condition's `wait` whose caller left).
fn release_for(mux: &Mux, object: ObjectId, task: u64) {
    if let Ok((args, _)) = codec::encode(&task) {
        mux.notify(Op::Call { object, method: "release".into(), args: args.into() });
    }
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
async fn acquire_owned(obj: &ObjectRef, block: bool, timeout: Option<Duration>) -> Result<bool, CallError> {
    let task = owner::local();
    obj.call_with_undo("acquire", &(task, block, timeout), release_if_acquired(task)).await
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
    /// hold is [`RemoteError::RuntimeError`](super::RemoteError::RuntimeError).
    ///
    /// # Errors
    ///
    /// `RuntimeError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`RLockProxy`].
    pub async fn release(&self) -> Result<(), CallError> {
        self.obj.call("release", &owner::local()).await
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

proxy! {
    /// A semaphore in a manager (Python's `manager.Semaphore(n)` and
    /// `manager.BoundedSemaphore(n)`; a bounded one refuses to be released
    /// above its initial value with
    /// [`RemoteError::ValueError`](super::RemoteError::ValueError)).
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
        self.obj.call_with_undo("acquire", &(block, timeout), release_if_acquired(1u64)).await
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
        self.obj.call("release", &n).await
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
        self.obj.call("get_value", &()).await
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

proxy! {
    /// A condition variable with its own re-entrant lock, in a manager
    /// (Python's `manager.Condition()`). Hold the lock to wait or notify,
    /// as in Python ([`RemoteError::RuntimeError`](super::RemoteError::RuntimeError)
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
    /// Cancel safe, as [`RLockProxy::acquire`].
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
        self.obj.call("release", &owner::local()).await
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
        self.obj.call_with_undo("wait", &(task, timeout), reacquired).await
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
        self.obj.call("notify", &(owner::local(), n)).await
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

proxy! {
    /// A barrier in a manager (Python's `manager.Barrier(parties)`).
    ///
    /// **Beyond Python:** a party whose process dies while waiting breaks
    /// the barrier, so the others fail with
    /// [`RemoteError::BrokenBarrier`](super::RemoteError::BrokenBarrier)
    /// instead of waiting forever.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let barrier = manager.barrier(2).await?;
    ///     let mut child = ipc::Process::spawn(meet, barrier.clone())?;
    ///     let mine = barrier.wait().await?;
    ///     let theirs = child.join().await?;
    ///     assert_eq!(mine + theirs, 1); // indices 0 and 1
    ///     Ok(())
    /// }
    ///
    /// async fn meet(barrier: ipc::manager::BarrierProxy) -> u64 {
    ///     barrier.wait().await.unwrap()
    /// }
    /// ```
    BarrierProxy
}

impl BarrierProxy {
    /// `barrier.wait()`: waits for every party; this party's arrival index
    /// (0 for the first).
    ///
    /// # Errors
    ///
    /// `BrokenBarrier` if the barrier is or becomes broken, or
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// A wait cancelled before the round fills withdraws this party (the
    /// round then needs another); cancelled after, it counts as passed.
    ///
    /// # Examples
    ///
    /// See [`BarrierProxy`].
    pub async fn wait(&self) -> Result<u64, CallError> {
        self.obj.call("wait", &None::<Duration>).await
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
    pub fn blocking_wait(&self) -> Result<u64, CallError> {
        crate::manager::blocking(self.wait())
    }

    /// `barrier.wait(timeout)`: as [`wait`](BarrierProxy::wait); running
    /// out of time breaks the barrier for everyone, as in Python.
    ///
    /// # Errors
    ///
    /// `BrokenBarrier` on the timeout, or as [`wait`](BarrierProxy::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let barrier = manager.barrier(2).await?;
    /// assert!(barrier.wait_timeout(std::time::Duration::from_millis(10)).await.is_err());
    /// assert!(barrier.broken().await?);
    /// barrier.reset().await?;
    /// assert!(!barrier.broken().await?);
    /// # Ok(()) }
    /// ```
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<u64, CallError> {
        self.obj.call("wait", &Some(timeout)).await
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
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> Result<u64, CallError> {
        crate::manager::blocking(self.wait_timeout(timeout))
    }

    /// `barrier.abort()`: breaks the barrier (waiters fail with
    /// `BrokenBarrier`) until [`reset`](BarrierProxy::reset).
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
    /// let barrier = manager.barrier(3).await?;
    /// barrier.abort().await?;
    /// assert!(barrier.wait().await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn abort(&self) -> Result<(), CallError> {
        self.obj.call("abort", &()).await
    }

    /// Blocking form of [`abort`](Self::abort), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`abort`](Self::abort).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_abort(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.abort())
    }

    /// `barrier.reset()`: back to the empty, unbroken state; parties
    /// waiting get `BrokenBarrier`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`wait_timeout`](BarrierProxy::wait_timeout).
    pub async fn reset(&self) -> Result<(), CallError> {
        self.obj.call("reset", &()).await
    }

    /// Blocking form of [`reset`](Self::reset), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`reset`](Self::reset).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_reset(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.reset())
    }

    /// `barrier.parties`.
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
    /// let barrier = manager.barrier(3).await?;
    /// assert_eq!((barrier.parties().await?, barrier.n_waiting().await?), (3, 0));
    /// # Ok(()) }
    /// ```
    pub async fn parties(&self) -> Result<u64, CallError> {
        self.obj.call("parties", &()).await
    }

    /// Blocking form of [`parties`](Self::parties), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`parties`](Self::parties).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_parties(&self) -> Result<u64, CallError> {
        crate::manager::blocking(self.parties())
    }

    /// `barrier.n_waiting`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`parties`](BarrierProxy::parties).
    pub async fn n_waiting(&self) -> Result<u64, CallError> {
        self.obj.call("n_waiting", &()).await
    }

    /// Blocking form of [`n_waiting`](Self::n_waiting), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`n_waiting`](Self::n_waiting).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_n_waiting(&self) -> Result<u64, CallError> {
        crate::manager::blocking(self.n_waiting())
    }

    /// `barrier.broken`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`wait_timeout`](BarrierProxy::wait_timeout).
    pub async fn broken(&self) -> Result<bool, CallError> {
        self.obj.call("broken", &()).await
    }

    /// Blocking form of [`broken`](Self::broken), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`broken`](Self::broken).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_broken(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.broken())
    }
}

proxy! {
    /// A fixed-length array in a manager (Python's
    /// `manager.Array(typecode, sequence)`): items are any serde type;
    /// its length never changes. For numbers shared between processes of
    /// one machine, [`ipc::Array`](crate::Array) in shared memory is far
    /// faster.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let a = manager.array(&[0.0f64; 4]).await?;
    ///     a.set(-1, &2.5).await?;
    ///     assert_eq!(a.to_vec().await?, [0.0, 0.0, 0.0, 2.5]);
    ///     assert_eq!(a.len().await?, 4);
    ///     Ok(())
    /// }
    /// ```
    ArrayProxy<T>
}

impl<T: Serialize + DeserializeOwned> ArrayProxy<T> {
    /// `a[index]` (negative counts from the end).
    ///
    /// # Errors
    ///
    /// `IndexError` out of range, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let a = manager.array(&[1u8, 2, 3]).await?;
    /// assert_eq!(a.get(-1).await?, 3);
    /// assert!(a.get(3).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, index: i64) -> Result<T, CallError> {
        let v: Vec<u8> = self.obj.call("get", &index).await?;
        load(&v)
    }

    /// Blocking form of [`get`](Self::get), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_get(&self, index: i64) -> Result<T, CallError> {
        crate::manager::blocking(self.get(index))
    }

    /// `a[index] = value`.
    ///
    /// # Errors
    ///
    /// `IndexError` out of range, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`ArrayProxy`].
    pub async fn set(&self, index: i64, value: &T) -> Result<(), CallError> {
        self.obj.call("set", &(index, self.obj.stored(value)?)).await
    }

    /// Blocking form of [`set`](Self::set), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_set(&self, index: i64, value: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.set(index, value))
    }

    /// `len(a)`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`ArrayProxy`].
    pub async fn len(&self) -> Result<usize, CallError> {
        Ok(self.obj.call::<_, u64>("len", &()).await? as usize)
    }

    /// Blocking form of [`len`](Self::len), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`len`](Self::len).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_len(&self) -> Result<usize, CallError> {
        crate::manager::blocking(self.len())
    }

    /// `len(a) == 0`.
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
    /// assert!(manager.array::<u8>(&[]).await?.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn is_empty(&self) -> Result<bool, CallError> {
        Ok(self.len().await? == 0)
    }

    /// Blocking form of [`is_empty`](Self::is_empty), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`is_empty`](Self::is_empty).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_is_empty(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.is_empty())
    }

    /// `a[:]`: every item (one round trip).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or an item does not decode.
    ///
    /// # Examples
    ///
    /// See [`ArrayProxy`].
    pub async fn to_vec(&self) -> Result<Vec<T>, CallError> {
        let items: Vec<Vec<u8>> = self.obj.call("to_vec", &()).await?;
        items.iter().map(|b| load(b)).collect()
    }

    /// Blocking form of [`to_vec`](Self::to_vec), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`to_vec`](Self::to_vec).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_to_vec(&self) -> Result<Vec<T>, CallError> {
        crate::manager::blocking(self.to_vec())
    }
}

super::proxy::named_proxy! {
    RLockProxy = ["RLock"];
    SemaphoreProxy = ["Semaphore", "BoundedSemaphore"];
    ConditionProxy = ["Condition"];
    BarrierProxy = ["Barrier"];
    ArrayProxy<T> = ["Array"];
}

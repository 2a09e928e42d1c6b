//! `LockProxy` and `EventProxy`: a `Lock` and an `Event` on the server.

use std::time::Duration;

use serde::Serialize;

use super::super::client::Mux;
#[cfg(doc)]
use super::super::error::RemoteError;
use super::super::protocol::{ObjectId, Op};
use super::CallError;
use crate::codec;

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
        self.obj.call_with_undo("acquire", &(block, timeout), release_if_acquired(())).await
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
        self.obj.call("release", &()).await
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
    /// An event in a manager (Python's `manager.Event()`).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let event = manager.event().await?;
    ///     assert!(!event.wait_timeout(std::time::Duration::from_millis(10)).await?);
    ///     event.set().await?;
    ///     event.wait().await?;
    ///     assert!(event.is_set().await?);
    ///     Ok(())
    /// }
    /// ```
    EventProxy
}

impl EventProxy {
    /// `event.set()`: wakes every waiter.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn set(&self) -> Result<(), CallError> {
        self.obj.call("set", &()).await
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
    pub fn blocking_set(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.set())
    }

    /// `event.clear()`.
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
    /// let e = manager.event().await?;
    /// e.set().await?;
    /// e.clear().await?;
    /// assert!(!e.is_set().await?);
    /// # Ok(()) }
    /// ```
    pub async fn clear(&self) -> Result<(), CallError> {
        self.obj.call("clear", &()).await
    }

    /// Blocking form of [`clear`](Self::clear), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`clear`](Self::clear).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_clear(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.clear())
    }

    /// `event.is_set()`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn is_set(&self) -> Result<bool, CallError> {
        self.obj.call("is_set", &()).await
    }

    /// Blocking form of [`is_set`](Self::is_set), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`is_set`](Self::is_set).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_is_set(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.is_set())
    }

    /// `event.wait()`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (waiting changes nothing).
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn wait(&self) -> Result<(), CallError> {
        self.obj.call::<_, bool>("wait", &None::<Duration>).await.map(drop)
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

    /// `event.wait(timeout)`: whether the event is set.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
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
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        crate::manager::blocking(self.wait_timeout(timeout))
    }
}

/// The undo of an `acquire` whose caller left: if the reply says it
/// acquired, calls `release` with `release_args` (encoded).
pub(crate) fn release_if_acquired<A: Serialize>(
    release_args: A,
) -> impl FnOnce(&Mux, ObjectId, Vec<u8>) + Send + 'static {
    let args = codec::encode(&release_args).map(|(bytes, _)| bytes);
    move |mux, object, reply| {
        if let (Ok(true), Ok(args)) = (codec::decode::<bool>(&reply, Vec::new()), args) {
            mux.notify(Op::Call { object, method: "release".into(), args: args.into() });
        }
    }
}

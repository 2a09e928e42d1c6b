//! `EventProxy`: an `Event` on the server.

use std::time::Duration;

use super::super::super::methods::event;
use super::super::CallError;

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
        self.obj.call(event::Set, &()).await
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
        self.obj.call(event::Clear, &()).await
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
        self.obj.call(event::IsSet, &()).await
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
        self.obj.call(event::Wait, &None::<Duration>).await.map(drop)
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
        self.obj.call(event::Wait, &Some(timeout)).await
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

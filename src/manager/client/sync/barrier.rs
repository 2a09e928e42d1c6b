//! `BarrierProxy`: a `Barrier` on the server.

use std::time::Duration;

#[cfg(doc)]
use super::super::super::error::RemoteError;
use super::super::super::methods::barrier;
use super::super::CallError;

proxy! {
    /// A barrier in a manager (Python's `manager.Barrier(parties)`).
    ///
    /// **Beyond Python:** a party whose process dies while waiting breaks
    /// the barrier, so the others fail with
    /// [`RemoteError::BrokenBarrier`](crate::manager::RemoteError::BrokenBarrier)
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
        self.obj.call(barrier::Wait, &None::<Duration>).await
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
        self.obj.call(barrier::Wait, &Some(timeout)).await
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
        self.obj.call(barrier::Abort, &()).await
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
        self.obj.call(barrier::Reset, &()).await
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
        self.obj.call(barrier::Parties, &()).await
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
        self.obj.call(barrier::NWaiting, &()).await
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
        self.obj.call(barrier::Broken, &()).await
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

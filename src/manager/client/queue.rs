//! `QueueProxy` and `PriorityQueueProxy`: queues on the server.

use std::borrow::Borrow;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(doc)]
use super::super::error::RemoteError;
use super::super::methods::{Method, queue};
use super::super::protocol::{ObjectId, Op};
use super::{CallError, Mux, load};

proxy! {
    /// A queue in a manager: Python's `manager.Queue()`, `JoinableQueue()`
    /// and `LifoQueue()` (one proxy type; the order is the object's).
    /// Items are serde values; waits happen in the server, so a waiting
    /// `get` holds up no other call.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let q = manager.queue::<String>(0).await?;
    ///     q.put(&"包子".into()).await?;
    ///     assert_eq!(q.get().await?, "包子");
    ///     assert!(matches!(q.try_get().await, Err(ipc::CallError::Remote(ipc::RemoteError::Empty))));
    ///     let lifo = manager.lifo_queue::<u8>(0).await?;
    ///     lifo.put(&1).await?;
    ///     lifo.put(&2).await?;
    ///     assert_eq!(lifo.get().await?, 2);
    ///     Ok(())
    /// }
    /// ```
    QueueProxy<T>
}

impl<T: Serialize + DeserializeOwned> QueueProxy<T> {
    async fn put_with(&self, item: &T, block: bool, timeout: Option<Duration>) -> Result<(), CallError> {
        self.obj.call(queue::Put, &((0i64, self.obj.stored(item)?), block, timeout)).await
    }

    async fn get_with(&self, block: bool, timeout: Option<Duration>) -> Result<T, CallError> {
        let (_, item): (i64, Vec<u8>) = self.obj.call_with_undo(queue::Get, &(block, timeout), unget).await?;
        load(&item)
    }

    /// `q.put(item)`: waits while a bounded queue is full.
    ///
    /// The item is given as it is to [`Queue::put`](crate::Queue::put) —
    /// `q.put(item)` — or by reference (`q.put(&item)`): a proxy encodes it
    /// at once and keeps nothing, where a `Queue` keeps it to hand it back
    /// if the put is refused.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the item cannot be encoded.
    ///
    /// # Cancel safety
    ///
    /// Dropped before its reply, the item may or may not be in the queue
    /// (never twice).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(1).await?;
    /// q.put(&1).await?;
    /// assert_eq!(q.qsize().await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, item: impl Borrow<T>) -> Result<(), CallError> {
        self.put_with(item.borrow(), true, None).await
    }

    /// Blocking form of [`put`](Self::put), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_put(&self, item: impl Borrow<T>) -> Result<(), CallError> {
        crate::manager::blocking(self.put(item))
    }

    /// `q.put(item, timeout=t)`: [`RemoteError::Full`] if there is still no
    /// room after `timeout`.
    ///
    /// # Errors
    ///
    /// `Full`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(1).await?;
    /// q.put(&1).await?;
    /// let full = q.put_timeout(&2, std::time::Duration::from_millis(10)).await;
    /// assert!(matches!(full, Err(ipc::CallError::Remote(ipc::RemoteError::Full))));
    /// # Ok(()) }
    /// ```
    pub async fn put_timeout(&self, item: impl Borrow<T>, timeout: Duration) -> Result<(), CallError> {
        self.put_with(item.borrow(), true, Some(timeout)).await
    }

    /// Blocking form of [`put_timeout`](Self::put_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`put_timeout`](Self::put_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_put_timeout(&self, item: impl Borrow<T>, timeout: Duration) -> Result<(), CallError> {
        crate::manager::blocking(self.put_timeout(item, timeout))
    }

    /// `q.put_nowait(item)`: [`RemoteError::Full`] at once if there is no
    /// room. The item by value or by reference, as for
    /// [`put`](QueueProxy::put).
    ///
    /// # Errors
    ///
    /// `Full`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(1).await?;
    /// q.try_put(&1).await?;
    /// assert!(q.try_put(&2).await.is_err());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "put_nowait")]
    pub async fn try_put(&self, item: impl Borrow<T>) -> Result<(), CallError> {
        self.put_with(item.borrow(), false, None).await
    }

    /// Blocking form of [`try_put`](Self::try_put), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`try_put`](Self::try_put).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_try_put(&self, item: impl Borrow<T>) -> Result<(), CallError> {
        crate::manager::blocking(self.try_put(item))
    }

    /// `q.get()`: waits for an item.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the item does not decode.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item taken for a caller that left is put back at the
    /// front.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(0).await?;
    /// q.put(&3).await?;
    /// assert_eq!(q.get().await?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> Result<T, CallError> {
        self.get_with(true, None).await
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
    pub fn blocking_get(&self) -> Result<T, CallError> {
        crate::manager::blocking(self.get())
    }

    /// `q.get(timeout=t)`: [`RemoteError::Empty`] if no item came.
    ///
    /// # Errors
    ///
    /// `Empty`, or [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// As [`get`](QueueProxy::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(0).await?;
    /// assert!(q.get_timeout(std::time::Duration::from_millis(10)).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn get_timeout(&self, timeout: Duration) -> Result<T, CallError> {
        self.get_with(true, Some(timeout)).await
    }

    /// Blocking form of [`get_timeout`](Self::get_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](Self::get_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_get_timeout(&self, timeout: Duration) -> Result<T, CallError> {
        crate::manager::blocking(self.get_timeout(timeout))
    }

    /// `q.get_nowait()`: [`RemoteError::Empty`] at once if there is no item.
    ///
    /// # Errors
    ///
    /// `Empty`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(0).await?;
    /// assert!(q.try_get().await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn try_get(&self) -> Result<T, CallError> {
        self.get_with(false, None).await
    }

    /// Blocking form of [`try_get`](Self::try_get), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`try_get`](Self::try_get).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_try_get(&self) -> Result<T, CallError> {
        crate::manager::blocking(self.try_get())
    }

    /// `q.qsize()`.
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
    /// assert_eq!(manager.queue::<u8>(0).await?.qsize().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn qsize(&self) -> Result<usize, CallError> {
        Ok(self.obj.call(queue::Qsize, &()).await? as usize)
    }

    /// Blocking form of [`qsize`](Self::qsize), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`qsize`](Self::qsize).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_qsize(&self) -> Result<usize, CallError> {
        crate::manager::blocking(self.qsize())
    }

    /// `q.task_done()`: one call too many is [`RemoteError::ValueError`].
    ///
    /// # Errors
    ///
    /// `ValueError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.joinable_queue::<u8>(0).await?;
    /// q.put(&1).await?;
    /// q.get().await?;
    /// q.task_done().await?;
    /// assert!(q.task_done().await.is_err());
    /// q.join().await?; // nothing unfinished
    /// # Ok(()) }
    /// ```
    pub async fn task_done(&self) -> Result<(), CallError> {
        self.obj.call(queue::TaskDone, &()).await
    }

    /// Blocking form of [`task_done`](Self::task_done), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`task_done`](Self::task_done).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_task_done(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.task_done())
    }

    /// `q.join()`: waits until every item put has been marked done.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`task_done`](QueueProxy::task_done).
    pub async fn join(&self) -> Result<(), CallError> {
        self.obj.call(queue::Join, &()).await
    }

    /// Blocking form of [`join`](Self::join), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_join(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.join())
    }
}

proxy! {
    /// Python's `manager.PriorityQueue()`: items come out lowest priority
    /// first, equal priorities in the order they were put (Python compares
    /// `(priority, item)` tuples; here the priority is explicit).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let q = manager.priority_queue::<&str>(0).await?;
    ///     q.put(5, &"later").await?;
    ///     q.put(1, &"first").await?;
    ///     assert_eq!(q.get().await?, (1, "first".to_string()));
    ///     Ok(())
    /// }
    /// ```
    PriorityQueueProxy<T>
}

impl<T: Serialize> PriorityQueueProxy<T> {
    /// Puts `item` with `priority`; waits while a bounded queue is full.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the item cannot be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.priority_queue::<u8>(0).await?;
    /// q.put(-1, &7).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, priority: i64, item: &T) -> Result<(), CallError> {
        self.obj.call(queue::Put, &((priority, self.obj.stored(item)?), true, None::<Duration>)).await
    }

    /// Blocking form of [`put`](Self::put), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_put(&self, priority: i64, item: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.put(priority, item))
    }

    /// Takes the item of lowest priority, waiting for one; returns it with
    /// its priority. The item decodes as `R` (for `T = &str`, a `String`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the item does not decode.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item taken for a caller that left is put back.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.priority_queue::<u8>(0).await?;
    /// q.put(2, &2).await?;
    /// q.put(1, &1).await?;
    /// assert_eq!(q.get::<u8>().await?, (1, 1));
    /// # Ok(()) }
    /// ```
    pub async fn get<R: DeserializeOwned>(&self) -> Result<(i64, R), CallError> {
        let (priority, item): (i64, Vec<u8>) =
            self.obj.call_with_undo(queue::Get, &(true, None::<Duration>), unget).await?;
        Ok((priority, load(&item)?))
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
    pub fn blocking_get<R: DeserializeOwned>(&self) -> Result<(i64, R), CallError> {
        crate::manager::blocking(self.get())
    }

    /// `q.qsize()`.
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
    /// assert_eq!(manager.priority_queue::<u8>(0).await?.qsize().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn qsize(&self) -> Result<usize, CallError> {
        Ok(self.obj.call(queue::Qsize, &()).await? as usize)
    }

    /// Blocking form of [`qsize`](Self::qsize), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`qsize`](Self::qsize).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_qsize(&self) -> Result<usize, CallError> {
        crate::manager::blocking(self.qsize())
    }
}

/// Puts an item back after its getter left (the undo of a `get`).
fn unget(mux: &Mux, object: ObjectId, reply: Vec<u8>) {
    // The reply is the encoded `(priority, item)`: exactly unget's arguments.
    // (`methods` checks that at compile time.)
    mux.notify(Op::Call { object, method: queue::Unget::NAME.into(), args: reply.into() });
}

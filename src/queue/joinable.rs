//! [`JoinableQueue`] and [`SimpleQueue`]: a [`Queue`] that counts items
//! marked done, and the minimal unbounded form.

use std::fmt;
use std::io;
use std::ops::Deref;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Queue;
use super::flavor::{Flavor, Sleepers};
use crate::handle::{DeFd, SerFd};
use crate::wake::{self, Also, Async, Blocking, Doorbell, Park, Recheck, Step, Wait, Wakeup, Woke};

/// A [`Queue`] whose consumers mark each item done, so producers can wait
/// until everything they put has been handled (Python's
/// `multiprocessing.JoinableQueue`).
///
/// Every `Queue` method works on it (it dereferences to one).
/// [`task_done`](JoinableQueue::task_done) marks an item done — one call
/// too many is [`TaskDoneError`] — and [`join`](JoinableQueue::join) waits,
/// in any process, until every item ever put has been marked done. The
/// count of puts is published with each item, so a producer killed around
/// its put never leaves `join` waiting for an item that was not put.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let q = ipc::JoinableQueue::unbounded()?;
/// let _consumer = ipc::Process::builder().daemon(true).spawn(
///     |q: ipc::JoinableQueue<u32>| async move {
///         while let Ok(_job) = q.get().await {
///             q.task_done().unwrap();
///         }
///     },
///     q.clone(),
/// )?;
/// for job in 0..10 {
///     q.put(job).await?;
/// }
/// q.join().await?; // every job was handled
/// assert_eq!(q.unfinished(), 0);
/// # Ok(()) }
/// ```
pub struct JoinableQueue<T> {
    queue: Queue<T>,
    /// Rung when the last unfinished item is done.
    bell: std::sync::Arc<Doorbell>,
}

/// [`JoinableQueue::task_done`] was called more times than items were put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("task_done() called more times than there were items")]
pub struct TaskDoneError;

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue { queue: self.queue.clone(), bell: self.bell.clone() }
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinableQueue").field("qsize", &self.qsize()).field("unfinished", &self.unfinished()).finish()
    }
}

impl<T> Deref for JoinableQueue<T> {
    type Target = Queue<T>;
    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T> JoinableQueue<T> {
    fn from_queue(queue: Queue<T>) -> io::Result<JoinableQueue<T>> {
        Ok(JoinableQueue { queue, bell: std::sync::Arc::new(Doorbell::new()?) })
    }

    /// As [`Queue::bounded`].
    ///
    /// # Errors
    ///
    /// As [`Queue::bounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::JoinableQueue::<u8>::bounded(4)?;
    /// assert_eq!(q.unfinished(), 0);
    /// # Ok(()) }
    /// ```
    pub fn bounded(maxsize: usize) -> io::Result<JoinableQueue<T>> {
        JoinableQueue::from_queue(Queue::bounded(maxsize)?)
    }

    /// As [`Queue::unbounded`].
    ///
    /// # Errors
    ///
    /// As [`Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::JoinableQueue::<String>::unbounded()?;
    /// assert!(q.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn unbounded() -> io::Result<JoinableQueue<T>> {
        JoinableQueue::from_queue(Queue::unbounded()?)
    }

    /// As [`Queue::with_ring`].
    ///
    /// # Errors
    ///
    /// As [`Queue::with_ring`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::JoinableQueue::<Vec<u8>>::with_ring(Some(2), 4 << 20)?;
    /// # drop(q); Ok(()) }
    /// ```
    pub fn with_ring(maxsize: Option<usize>, ring_bytes: usize) -> io::Result<JoinableQueue<T>> {
        JoinableQueue::from_queue(Queue::with_ring(maxsize, ring_bytes)?)
    }

    /// Items put and not yet marked done.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::JoinableQueue::unbounded()?;
    /// q.try_put(1u8).unwrap();
    /// q.try_get().unwrap();
    /// assert_eq!(q.unfinished(), 1); // taken, not yet done
    /// q.task_done().unwrap();
    /// assert_eq!(q.unfinished(), 0);
    /// # Ok(()) }
    /// ```
    pub fn unfinished(&self) -> usize {
        self.queue.flavor().unfinished() as usize
    }

    /// Marks one item done (Python's `task_done()`).
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if every item put is done already (nothing
    /// changes).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::JoinableQueue::<u8>::unbounded()?;
    /// assert!(q.task_done().is_err());
    /// # Ok(()) }
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        match self.queue.flavor().task_done() {
            None => Err(TaskDoneError),
            Some(wake) => {
                if wake {
                    self.bell.ring();
                }
                Ok(())
            }
        }
    }

    fn joined(&self) -> Option<()> {
        (self.queue.flavor().unfinished() == 0).then_some(())
    }

    /// Waits until every item put (by any process) has been marked done
    /// (Python's `join()`); at once if none is unfinished.
    ///
    /// # Errors
    ///
    /// An i/o error outside a tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let q = ipc::JoinableQueue::<u8>::unbounded()?;
    /// q.join().await?; // nothing was put
    /// # Ok(()) }
    /// ```
    pub async fn join(&self) -> io::Result<()> {
        self.join_in(&mut Async::new()).await.map(drop)
    }

    /// [`join`](JoinableQueue::join) for at most `timeout`: whether every
    /// item was done.
    ///
    /// # Errors
    ///
    /// As [`join`](JoinableQueue::join).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`join`](JoinableQueue::join).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let q = ipc::JoinableQueue::unbounded()?;
    /// q.put(1u8).await?;
    /// assert!(!q.join_timeout(std::time::Duration::from_millis(5)).await?);
    /// # Ok(()) }
    /// ```
    pub async fn join_timeout(&self, timeout: Duration) -> io::Result<bool> {
        self.join_in(&mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`join`](JoinableQueue::join).
    ///
    /// # Errors
    ///
    /// An i/o error from the operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::JoinableQueue::unbounded()?;
    /// q.try_put(1u8).unwrap();
    /// q.try_get().unwrap();
    /// q.task_done().unwrap();
    /// q.blocking_join()?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_join(&self) -> io::Result<()> {
        wake::blocking(self.join_in(&mut Blocking::new())).map(drop)
    }

    /// Blocking form of [`join_timeout`](JoinableQueue::join_timeout).
    ///
    /// # Errors
    ///
    /// An i/o error from the operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::JoinableQueue::unbounded()?;
    /// q.try_put(1u8).unwrap();
    /// assert!(!q.blocking_join_timeout(std::time::Duration::from_millis(5))?);
    /// # Ok(()) }
    /// ```
    pub fn blocking_join_timeout(&self, timeout: Duration) -> io::Result<bool> {
        wake::blocking(self.join_in(&mut Blocking::timeout(timeout)))
    }

    /// [`join`](JoinableQueue::join) until `park`'s deadline: whether
    /// every item was done.
    async fn join_in<P: Park>(&self, park: &mut P) -> io::Result<bool> {
        // No spin: a join lasts as long as the work.
        let flavor = self.queue.flavor();
        let wait = Wait {
            sleepers: flavor.sleepers(Sleepers::Join),
            spinner: None,
            yielder: None,
            wakeup: Wakeup::Bell(&self.bell),
        };
        Ok(wake::wait(park, &wait, &mut Joined(self)).await?.is_some())
    }
}

/// A join's step in the wait engine: no item unfinished.
struct Joined<'q, T>(&'q JoinableQueue<T>);

impl<T> Step for Joined<'_, T> {
    type Output = ();

    fn attempt(&mut self) -> Option<()> {
        self.0.joined()
    }

    fn recheck(&mut self, _: Woke) -> io::Result<Recheck<'_, ()>> {
        Ok(self.attempt().map_or(Recheck::Sleep(Also::Nothing), Recheck::Done))
    }
}

/// A joinable queue serializes as a handle: its queue and eventfd travel
/// out of band.
impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.queue, SerFd(self.bell.fd())).serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (queue, bell) = <(Queue<T>, DeFd)>::deserialize(deserializer)?;
        Ok(JoinableQueue { queue, bell: std::sync::Arc::new(Doorbell::from_fd(bell.0)) })
    }
}

/// The minimal queue (Python's `multiprocessing.SimpleQueue`): unbounded,
/// `put`, `get`, `is_empty`, `close` — and, as it dereferences to a
/// [`Queue`], everything else a `Queue` does.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
/// let q = ipc::SimpleQueue::new()?;
/// q.put(String::from("hi")).await?;
/// assert_eq!(q.get().await?, "hi");
/// assert!(q.is_empty());
/// # Ok(()) }
/// ```
pub struct SimpleQueue<T>(Queue<T>);

impl<T> SimpleQueue<T> {
    /// A new, empty, unbounded queue.
    ///
    /// # Errors
    ///
    /// As [`Queue::unbounded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::SimpleQueue::<u8>::new()?;
    /// assert!(q.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<SimpleQueue<T>> {
        Ok(SimpleQueue(Queue::unbounded()?))
    }
}

impl<T> Clone for SimpleQueue<T> {
    fn clone(&self) -> Self {
        SimpleQueue(self.0.clone())
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SimpleQueue").field(&self.0).finish()
    }
}

impl<T> Deref for SimpleQueue<T> {
    type Target = Queue<T>;
    fn deref(&self) -> &Queue<T> {
        &self.0
    }
}

/// A simple queue serializes as its queue's handle.
impl<T> Serialize for SimpleQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for SimpleQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Queue::deserialize(deserializer).map(SimpleQueue)
    }
}

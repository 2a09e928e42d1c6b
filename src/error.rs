//! The crate-wide error, for `?` in `main` and for operations that fail with
//! the operating system.
//!
//! This file only collects: each module owns its errors, and every
//! conversion into [`Error`] is written here, so no module needs to know
//! the crate-wide type.

use crate::codec::{DecodeError, EncodeError};
use crate::pipe::{RecvError, SendError};
use crate::process::JoinError;
use crate::queue::{GetError, PutRefused, TaskDoneError};
use crate::sync::{LockError, SyncError, TryLockError};

/// Any `ipc` error. Each operation returns its own small error type; they all
/// convert into this one, so `ipc::Result<()>` works as `main`'s return type.
///
/// # Examples
///
/// ```
/// fn run() -> ipc::Result<u8> {
///     let (mut a, mut b) = ipc::Pipe::duplex()?; // io::Error
///     a.blocking_send(&7u8)?; // SendError
///     Ok(b.blocking_recv()?) // RecvError
/// }
/// assert_eq!(run().unwrap(), 7);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Spawning found no dispatch installed: see
    /// [`SpawnError::NoDispatch`](crate::process::SpawnError::NoDispatch),
    /// which converts into this.
    #[error("{}", crate::process::SpawnError::NoDispatch)]
    NoDispatch,
    /// A value could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A value could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Joining a child failed.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// Sending on a connection failed.
    #[error(transparent)]
    Send(#[from] SendError),
    /// Receiving on a connection failed.
    #[error(transparent)]
    Recv(#[from] RecvError),
    /// Misuse of a synchronisation primitive, or a broken barrier.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// A lock was acquired after its holder died holding it, and the guard
    /// was dropped by `?` (which released the lock, still marked
    /// inconsistent).
    #[error("acquired a lock whose previous holder died holding it")]
    OwnerDied,
    /// A lock was not acquired in time (`?` on a timed or `try_` lock).
    #[error("the lock is held by someone else")]
    WouldBlock,
    /// A queue refused a put (the item was dropped on the way to `?`).
    #[error(transparent)]
    Put(PutRefused),
    /// A queue get returned no item.
    #[error(transparent)]
    Get(#[from] GetError),
    /// `JoinableQueue::task_done` was called once too often.
    #[error(transparent)]
    TaskDone(#[from] TaskDoneError),
    /// A shared array was indexed out of range or assigned a slice of
    /// another length.
    #[error(transparent)]
    Access(#[from] crate::shared::AccessError),
    /// A `ShareableList` index was out of range, a value did not fit its
    /// slot, or a slot held no valid value.
    #[error(transparent)]
    List(#[from] crate::shared::ListError),
    /// A pool could not be made or joined.
    #[cfg(feature = "pool")]
    #[cfg_attr(docsrs, doc(cfg(feature = "pool")))]
    #[error(transparent)]
    Pool(#[from] crate::pool::PoolError),
    /// A pool task did not return a value.
    #[cfg(feature = "pool")]
    #[cfg_attr(docsrs, doc(cfg(feature = "pool")))]
    #[error(transparent)]
    Task(#[from] crate::pool::TaskError),
    /// A listener's peer failed to connect (handshake or i/o).
    #[error(transparent)]
    Accept(#[from] crate::pipe::AcceptError),
    /// Connecting to a listener failed (nobody there, or the handshake).
    #[error(transparent)]
    Connect(#[from] crate::pipe::ConnectError),
    /// A manager call failed.
    #[cfg(feature = "manager")]
    #[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
    #[error(transparent)]
    Call(#[from] crate::manager::CallError),
    /// An operating-system error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl<G> From<LockError<G>> for Error {
    fn from(e: LockError<G>) -> Self {
        match e {
            LockError::OwnerDied(_) => Error::OwnerDied,
            LockError::Io(e) => Error::Io(e),
        }
    }
}

impl<G> From<TryLockError<G>> for Error {
    fn from(e: TryLockError<G>) -> Self {
        match e {
            TryLockError::WouldBlock => Error::WouldBlock,
            TryLockError::OwnerDied(_) => Error::OwnerDied,
            TryLockError::Io(e) => Error::Io(e),
        }
    }
}

/// `Result<T, ipc::Error>`.
///
/// # Examples
///
/// ```
/// fn answer() -> ipc::Result<u32> {
///     Ok(42)
/// }
/// assert_eq!(answer().unwrap(), 42);
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl<T> From<crate::queue::PutError<T>> for Error {
    fn from(e: crate::queue::PutError<T>) -> Self {
        use crate::queue::PutError;
        match e {
            PutError::Full(_) => Error::Put(PutRefused::Full),
            PutError::Closed(_) => Error::Put(PutRefused::Closed),
            PutError::Encode(_, e) => Error::Encode(e),
            PutError::Io(_, e) => Error::Io(e),
        }
    }
}

#[cfg(feature = "manager")]
impl From<crate::manager::RemoteError> for Error {
    fn from(e: crate::manager::RemoteError) -> Self {
        Error::Call(crate::manager::CallError::Remote(e))
    }
}

impl From<crate::process::SpawnError> for Error {
    fn from(e: crate::process::SpawnError) -> Self {
        use crate::process::SpawnError;
        match e {
            SpawnError::NoDispatch => Error::NoDispatch,
            SpawnError::Encode(e) => Error::Encode(e),
            SpawnError::Io(e) => Error::Io(e),
        }
    }
}

/// Flattened, as `SpawnError` is: `?` on a manager's start gives the same
/// `Error` it gave when the start returned one.
#[cfg(feature = "manager")]
impl From<crate::manager::ManagerError> for Error {
    fn from(e: crate::manager::ManagerError) -> Self {
        use crate::manager::ManagerError;
        match e {
            ManagerError::Spawn(e) => e.into(),
            ManagerError::Listen(reason) => {
                Error::Io(std::io::Error::other(format!("manager server could not start: {reason}")))
            }
            ManagerError::Startup(e) => Error::Recv(e),
            ManagerError::Connect(e) => Error::Connect(e),
            ManagerError::Call(e) => Error::Call(e),
            ManagerError::Io(e) => Error::Io(e),
        }
    }
}

//! Errors of manager calls.

use serde::{Deserialize, Serialize};

use crate::codec::{DecodeError, EncodeError};
use crate::pipe::{ConnectError, RecvError};
use crate::process::SpawnError;

/// An error raised by the managed object (or the server) for one call; it
/// reaches the caller as a value, with its kind (Python raises the same
/// exception in the caller).
///
/// # Examples
///
/// ```
/// #[ipc::main]
/// async fn main() -> ipc::Result<()> {
///     let manager = ipc::Manager::start().await?;
///     let list = manager.list::<u32>().await?;
///     let err = list.get(3).await.unwrap_err();
///     assert!(matches!(err, ipc::CallError::Remote(ipc::RemoteError::IndexError(_))));
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// A key is not in the dict (Python's `KeyError`).
    #[error("KeyError: {0}")]
    KeyError(String),
    /// An index is out of range (Python's `IndexError`).
    #[error("IndexError: {0}")]
    IndexError(String),
    /// A value is not there or not acceptable (Python's `ValueError`).
    #[error("ValueError: {0}")]
    ValueError(String),
    /// A `Namespace` has no such attribute (Python's `AttributeError`).
    #[error("AttributeError: {0}")]
    AttributeError(String),
    /// Misuse such as releasing a lock that is not held (Python's
    /// `RuntimeError`).
    #[error("RuntimeError: {0}")]
    RuntimeError(String),
    /// A queue had no item (Python's `queue.Empty`).
    #[error("queue.Empty")]
    Empty,
    /// A queue had no room (Python's `queue.Full`).
    #[error("queue.Full")]
    Full,
    /// The barrier is broken (Python's `BrokenBarrierError`).
    #[error("BrokenBarrierError")]
    BrokenBarrier,
    /// The object no longer exists (its last proxy was dropped, or the
    /// server restarted).
    #[error("no object {0} in the manager")]
    NoSuchObject(u64),
    /// The object has no such exposed method.
    #[error("{type_name} has no exposed method {method:?}")]
    NoSuchMethod {
        /// The object's type.
        type_name: String,
        /// The method asked for.
        method: String,
    },
    /// No type of this name is registered with the server.
    #[error("no type {0:?} is registered with the manager")]
    NoSuchType(String),
    /// The server serves no object under this name
    /// ([`Manager::named`](crate::Manager::named)).
    #[error("the manager serves no object named {0:?}")]
    NoSuchName(String),
    /// The server could not decode the request's arguments.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The call was cancelled by its caller before it finished (only seen
    /// by a caller that left).
    #[error("the call was cancelled")]
    Cancelled,
    /// A method panicked in the server (the server keeps running).
    #[error("the method panicked in the manager: {0}")]
    Panicked(String),
}

/// Why a proxy call (or creating a managed object) returned no value.
///
/// # Examples
///
/// ```
/// #[ipc::main]
/// async fn main() -> ipc::Result<()> {
///     let manager = ipc::Manager::start().await?;
///     let d = manager.dict::<String, u32>().await?;
///     manager.shutdown().await?;
///     assert!(matches!(d.len().await, Err(ipc::CallError::Disconnected)));
///     Ok(())
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The object or the server raised an error.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The manager is gone (shut down, killed) or the connection to it
    /// failed: the call did not complete, and no later call will.
    #[error("the manager is gone (its connection closed)")]
    Disconnected,
    /// The object served under `name` is not of the proxy's type (a
    /// `QueueProxy` asked for a dict, say).
    #[error("the manager's object {name:?} is a {found}, not a {expected}")]
    WrongType {
        /// The name asked for.
        name: String,
        /// The type the proxy serves.
        expected: &'static str,
        /// The object's type in the server.
        found: String,
    },
    /// An async method of a proxy was called outside a tokio runtime (the
    /// replies are read by a task on the caller's runtime): nothing was sent.
    #[error("manager proxies' async methods must run inside a tokio runtime")]
    NoRuntime,
    /// The server at the other end is not an `ipc` manager, though it passed
    /// the authkey handshake: it answered in Python's pickled manager
    /// protocol (a Python `BaseManager`), or with frames that are no `ipc`
    /// reply. No call can succeed on this connection.
    #[error("the server is not an ipc manager: {0}")]
    NotIpcServer(&'static str),
    /// An argument could not be encoded (handles cannot be stored in a
    /// manager); nothing was sent.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The reply could not be decoded as the expected type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl CallError {
    /// The remote error, if the call reached the object.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = ipc::CallError::Remote(ipc::RemoteError::Empty);
    /// assert_eq!(e.remote(), Some(&ipc::RemoteError::Empty));
    /// assert_eq!(ipc::CallError::Disconnected.remote(), None);
    /// ```
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            CallError::Remote(e) => Some(e),
            _ => None,
        }
    }
}

/// Why a manager could not start (or a
/// [`SharedMemoryManager`](crate::manager::SharedMemoryManager) make a
/// block).
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// ipc::init();
/// // An address nobody may bind: the server says why it could not listen.
/// let taken = ipc::Listener::bind("127.0.0.1:0".parse()?)?;
/// let err = ipc::Manager::builder().address(taken.address().clone()).blocking_start().unwrap_err();
/// assert!(matches!(err, ipc::manager::ManagerError::Listen(_)), "{err}");
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// The server process could not be spawned.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The server could not listen at its address (its reason).
    #[error("manager server could not start: {0}")]
    Listen(String),
    /// The server process went away before it said it was listening.
    #[error("the manager server exited while starting: {0}")]
    Startup(#[from] RecvError),
    /// The server (or its address) could not be reached, or refused the key.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A call the start needs failed, or a named object's arguments could
    /// not be encoded.
    #[error(transparent)]
    Call(#[from] CallError),
    /// An operating-system error (a fresh address, the start-up pipe, a
    /// shared-memory block).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

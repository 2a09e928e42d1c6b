//! The queues' errors. A refused put always hands the item back.

use std::fmt;
use std::io;

use crate::codec::{DecodeError, EncodeError};

/// Why a put did not enqueue its item; every variant carries the item back.
///
/// [`put`](crate::Queue::put) and [`blocking_put`](crate::Queue::blocking_put)
/// return `Closed`, `Encode` or `Io`;
/// [`try_put`](crate::Queue::try_put) and the timed forms also `Full`.
pub enum PutError<T> {
    /// No room: the queue holds `maxsize` items or its ring is full (for the
    /// timed forms: still, when the time ran out).
    Full(T),
    /// The queue was closed.
    Closed(T),
    /// The item could not be encoded (a `Serialize` impl failed, or it holds
    /// a handle: handles do not travel through queues).
    Encode(T, EncodeError),
    /// The wait could not be made (outside a tokio runtime, out of
    /// descriptors), or a large item's memory could not be had.
    Io(T, io::Error),
}

impl<T> PutError<T> {
    /// The item that was not enqueued.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::bounded(1)?;
    /// q.try_put(1u8).unwrap();
    /// assert_eq!(q.try_put(2u8).unwrap_err().into_inner(), 2);
    /// # Ok(()) }
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(t) | PutError::Closed(t) => t,
            PutError::Encode(t, _) | PutError::Io(t, _) => t,
        }
    }

    /// Whether this is [`PutError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, PutError::Full(_))
    }

    /// Whether this is [`PutError::Closed`].
    pub fn is_closed(&self) -> bool {
        matches!(self, PutError::Closed(_))
    }
}

/// What a [`PutError`] was, without its item (for `?` into
/// [`crate::Error`], which drops the item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PutRefused {
    /// See [`PutError::Full`].
    #[error("the queue is full")]
    Full,
    /// See [`PutError::Closed`].
    #[error("the queue is closed")]
    Closed,
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("Full(..)"),
            PutError::Closed(_) => f.write_str("Closed(..)"),
            PutError::Encode(_, e) => f.debug_tuple("Encode").field(&"..").field(e).finish(),
            PutError::Io(_, e) => f.debug_tuple("Io").field(&"..").field(e).finish(),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("the queue is full"),
            PutError::Closed(_) => f.write_str("the queue is closed"),
            PutError::Encode(_, e) => write!(f, "{e}"),
            PutError::Io(_, e) => write!(f, "cannot wait on the queue: {e}"),
        }
    }
}

impl<T> std::error::Error for PutError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PutError::Encode(_, e) => Some(e),
            PutError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

/// Why a get returned no item.
///
/// [`get`](crate::Queue::get) returns `Closed`, `Decode`, `Corrupt` or `Io`;
/// [`try_get`](crate::Queue::try_get) and the timed forms also `Empty`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GetError {
    /// No item (for the timed forms: still none when the time ran out).
    #[error("the queue is empty")]
    Empty,
    /// The queue was closed and every item put before has been taken.
    #[error("the queue is closed and drained")]
    Closed,
    /// An item was taken but is not a valid `T` (producers and consumers
    /// disagree on the type).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The queue's shared memory holds something no producer of ours wrote:
    /// a broken or hostile peer.
    #[error("the queue's shared memory is corrupt")]
    Corrupt,
    /// The wait could not be made (outside a tokio runtime, out of
    /// descriptors).
    #[error("cannot wait on the queue: {0}")]
    Io(#[from] io::Error),
}

//! Errors of [`Process::spawn`](crate::Process::spawn) and
//! [`Process::join`](crate::Process::join).

use crate::codec::{DecodeError, EncodeError};

/// Why [`Process::spawn`](crate::Process::spawn) (or a builder's `spawn`)
/// started no child. Converts into [`ipc::Error`](crate::Error) with the
/// same variants, so `?` in an `ipc::Result` function keeps working.
///
/// # Examples
///
/// ```
/// fn double(x: u8) -> u8 {
///     x * 2
/// }
/// // A plain `main` or `#[test]` without `ipc::init()` cannot spawn:
/// match ipc::Process::spawn(double, 1) {
///     Err(ipc::SpawnError::NoDispatch) => {}
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The program's entry did not install the dispatch, so a child could
    /// not find its target. Use `#[ipc::main]`, `#[ipc::test]`, or call
    /// `ipc::init()` first thing in `main`.
    #[error(
        "cannot spawn: this program's entry did not install the ipc dispatch \
         (use #[ipc::main], #[ipc::test], or call ipc::init() first thing in main)"
    )]
    NoDispatch,
    /// The argument could not be encoded (or holds too many descriptors).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The operating system refused (no memory, too many processes or
    /// descriptors).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Why [`Process::join`](crate::Process::join) did not produce the child's
/// return value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The target panicked; its message and, when known, its location.
    #[error("child panicked: {message}{}", location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
    Panicked {
        /// The panic message.
        message: String,
        /// `file:line:column` of the panic.
        location: Option<String>,
    },
    /// The child exited with `code` without returning a value (it called
    /// `exit`, or failed before it started).
    #[error("child exited with code {code} before returning a value")]
    Exited {
        /// The exit code.
        code: i32,
    },
    /// The child was killed by `signal` (Python's negative `exitcode`).
    #[error("child was killed by signal {signal}")]
    Signaled {
        /// The signal number.
        signal: i32,
    },
    /// The child could not run its target (its argument or result did not
    /// decode or encode, or it is not running our executable).
    #[error("child failed: {0}")]
    Failed(String),
    /// The child's return value did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// `join_timeout`'s time ran out; the child is still running.
    #[error("timed out waiting for the child")]
    Timeout,
    /// The return value was already taken by an earlier join.
    #[error("the child was already joined")]
    AlreadyJoined,
    /// An operating-system error while waiting.
    #[error("i/o error while joining: {0}")]
    Io(#[from] std::io::Error),
}

impl JoinError {
    /// The exit code Python would report for this outcome, when it is one.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ipc::JoinError::Signaled { signal: 9 }.exitcode(), Some(-9));
    /// assert_eq!(ipc::JoinError::Timeout.exitcode(), None);
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        match self {
            JoinError::Exited { code } => Some(*code),
            JoinError::Signaled { signal } => Some(-signal),
            JoinError::Panicked { .. } | JoinError::Failed(_) => Some(1),
            _ => None,
        }
    }
}

//! The pool's errors: the pool's own, and each task's.

use crate::codec::{DecodeError, EncodeError};

/// Why a pool could not be made or joined.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A setting out of range (0 processes, 0 tasks per child).
    #[error("invalid pool setting: {0}")]
    Invalid(&'static str),
    /// A worker's initializer failed (panicked, or its argument did not
    /// decode); no worker is left running.
    #[error("a worker's initializer failed: {message}{}", location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
    Initializer {
        /// The panic message or failure.
        message: String,
        /// `file:line:column` of a panic.
        location: Option<String>,
    },
    /// A worker could not be started.
    #[error("cannot start a pool worker: {0}")]
    Spawn(#[source] Box<crate::process::SpawnError>),
    /// `join` before `close` or `terminate` (Python's `ValueError`).
    #[error("join() needs the pool closed or terminated first")]
    NotClosed,
}

/// Why a task did not return a value. Each task fails on its own: the
/// others, and the pool, go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; its message and location.
    #[error("task panicked: {message}{}", location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default())]
    Panicked {
        /// The panic message.
        message: String,
        /// `file:line:column` of the panic.
        location: Option<String>,
    },
    /// The worker running the task died (killed by a signal, or it exited
    /// or aborted); it was replaced. `exitcode` as
    /// [`Process::exitcode`](crate::Process::exitcode): `-N` for signal `N`.
    #[error("the worker running the task died (exit code {exitcode:?})")]
    WorkerDied {
        /// The worker's exit code.
        exitcode: Option<i32>,
    },
    /// The worker could not decode the argument or encode the result.
    #[error("task failed: {0}")]
    Failed(String),
    /// The argument could not be encoded here.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The result could not be decoded here.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The pool was closed before the task was submitted.
    #[error("the pool is closed")]
    Closed,
    /// The pool was terminated (or dropped) before the task finished.
    #[error("the pool was terminated")]
    Terminated,
    /// No worker could be (re)started to run the task.
    #[error("the pool has no workers left")]
    NoWorkers,
    /// An argument out of range (a chunk size of 0), or a result asked
    /// for a second time.
    #[error("invalid argument: {0}")]
    Invalid(&'static str),
    /// The work was aborted ([`TaskHandle::abort`](crate::TaskHandle::abort))
    /// before it started.
    #[error("the task was aborted")]
    Aborted,
    /// The result was not there within the timeout given
    /// ([`TaskHandle::get_timeout`](crate::TaskHandle::get_timeout); Python's
    /// `multiprocessing.TimeoutError`). The work goes on.
    #[error("the result was not ready in time")]
    Timeout,
}

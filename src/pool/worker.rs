//! The worker's side of the pool, and the messages on a worker's connection.

use std::os::fd::{AsFd, OwnedFd};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::TaskError;
use crate::handle::{DeFd, SerFd};
use crate::process::{catch_panic, quiet_panics, trampoline_at};
use crate::{codec, Connection};

/// Encoded bytes and the descriptors of the handles inside them.
#[derive(Debug)]
pub(super) struct Blob {
    pub(super) bytes: Vec<u8>,
    pub(super) fds: Vec<OwnedFd>,
}

impl Blob {
    fn try_clone(&self) -> std::io::Result<Blob> {
        let fds = self.fds.iter().map(|fd| fd.try_clone()).collect::<Result<_, _>>()?;
        Ok(Blob { bytes: self.bytes.clone(), fds })
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fds: Vec<SerFd<'_>> = self.fds.iter().map(|fd| SerFd(fd.as_fd())).collect();
        (&self.bytes, fds).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (bytes, fds) = <(Vec<u8>, Vec<DeFd>)>::deserialize(d)?;
        Ok(Blob { bytes, fds: fds.into_iter().map(|fd| fd.0).collect() })
    }
}

/// The initializer: its trampoline and argument.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Init {
    pub(super) entry: isize,
    pub(super) arg: Blob,
}

impl Init {
    pub(super) fn try_clone(&self) -> std::io::Result<Init> {
        Ok(Init { entry: self.entry, arg: self.arg.try_clone()? })
    }
}

impl Clone for Init {
    /// Only for the pool's settings, which hold no descriptors the pool
    /// would lose: a failed duplication leaves the clone without them.
    fn clone(&self) -> Init {
        self.try_clone().unwrap_or_else(|_| Init {
            entry: self.entry,
            arg: Blob { bytes: self.arg.bytes.clone(), fds: Vec::new() },
        })
    }
}

/// A worker's spawn argument.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct WorkerArg {
    pub(super) conn: Connection,
    pub(super) init: Option<Init>,
}

/// Pool → worker.
#[derive(Debug, Serialize)]
pub(super) enum ToWorker<'a> {
    /// Run the trampoline at `entry` on each argument.
    Run { entry: isize, args: &'a [Blob] },
}

#[derive(Debug, Deserialize)]
enum ToWorkerOwned {
    Run { entry: isize, args: Vec<Blob> },
}

/// Worker → pool.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum FromWorker {
    /// The initializer ran; tasks may come.
    Ready,
    /// The initializer failed; the worker exits.
    InitFailed { message: String, location: Option<String> },
    /// One outcome per argument of the job, in order.
    Done { outcomes: Vec<Outcome> },
}

/// One task's outcome.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Outcome {
    /// The encoded return value.
    Returned(Blob),
    /// The task panicked.
    Panicked { message: String, location: Option<String> },
    /// The argument did not decode or the result did not encode.
    Failed(String),
    /// Set by the pool, never sent: the worker died holding the task.
    WorkerDied { exitcode: Option<i32> },
}

impl Outcome {
    pub(super) fn decode<R: serde::de::DeserializeOwned>(self) -> Result<R, TaskError> {
        match self {
            Outcome::Returned(blob) => Ok(codec::decode(&blob.bytes, blob.fds)?),
            Outcome::Panicked { message, location } => Err(TaskError::Panicked { message, location }),
            Outcome::Failed(message) => Err(TaskError::Failed(message)),
            Outcome::WorkerDied { exitcode } => Err(TaskError::WorkerDied { exitcode }),
        }
    }
}

/// The worker process: runs the initializer, then jobs until the pool's
/// end of the connection closes.
pub(super) fn run(arg: WorkerArg) {
    let WorkerArg { mut conn, init } = arg;
    quiet_panics();
    if let Some(init) = init {
        let f = trampoline_at(init.entry);
        let failed = match catch_panic(move || f(init.arg.bytes, init.arg.fds)) {
            Ok(Ok(_)) => None,
            Ok(Err(message)) => Some((message, None)),
            Err((message, location)) => Some((message, location)),
        };
        if let Some((message, location)) = failed {
            let _ = conn.blocking_send(&FromWorker::InitFailed { message, location });
            return;
        }
    }
    if conn.blocking_send(&FromWorker::Ready).is_err() {
        return;
    }
    while let Ok(ToWorkerOwned::Run { entry, args }) = conn.blocking_recv::<ToWorkerOwned>() {
        let f = trampoline_at(entry);
        let outcomes = args
            .into_iter()
            .map(|a| match catch_panic(move || f(a.bytes, a.fds)) {
                Ok(Ok((bytes, fds))) => Outcome::Returned(Blob { bytes, fds }),
                Ok(Err(message)) => Outcome::Failed(message),
                Err((message, location)) => Outcome::Panicked { message, location },
            })
            .collect();
        if conn.blocking_send(&FromWorker::Done { outcomes }).is_err() {
            return;
        }
    }
}

//! The worker's side of the pool, and the messages on a worker's connection.

use std::os::fd::{AsFd, OwnedFd};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::handle::{DeFd, SerFd};
use crate::pipe::Connection;
use crate::process::{Entry, catch_panic, quiet_panics};

/// Encoded bytes and the descriptors of the handles inside them.
#[derive(Debug, Default)]
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
        (serde_bytes::Bytes::new(&self.bytes), fds).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (bytes, fds) = <(serde_bytes::ByteBuf, Vec<DeFd>)>::deserialize(d)?;
        Ok(Blob { bytes: bytes.into_vec(), fds: fds.into_iter().map(|fd| fd.0).collect() })
    }
}

/// The initializer: what it runs and its argument.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Init {
    pub(super) entry: Entry,
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

/// Pool → worker: jobs to run in this order, each the offset of its
/// chunk runner ([`super::chunk::run_chunk`]) and its chunk of arguments.
#[derive(Debug, Serialize)]
pub(super) struct Run<'a>(pub(super) Vec<(Entry, &'a Blob)>);

#[derive(Debug, Deserialize)]
struct RunOwned(Vec<(Entry, Blob)>);

/// Worker → pool.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum FromWorker {
    /// The initializer ran; jobs may come.
    Ready,
    /// The initializer failed; the worker exits.
    InitFailed { message: String, location: Option<String> },
    /// The outcomes of the oldest job not yet answered, as a chunk.
    Done(Blob),
    /// The oldest job not yet answered could not be run at all (its chunk
    /// was malformed); every task in it failed with this.
    Failed(String),
}

/// The worker process: runs the initializer, then jobs until the pool's
/// end of the connection closes. Each job is answered as soon as it is
/// done, so the pool always knows which job a dead worker held: the oldest
/// one it had not answered.
pub(super) fn run(arg: WorkerArg) {
    let WorkerArg { mut conn, init } = arg;
    quiet_panics();
    crate::sys::keep_freed_memory();
    if let Some(init) = init {
        let failed = match catch_panic(move || init.entry.run(init.arg.bytes, init.arg.fds)) {
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
    while let Ok(RunOwned(jobs)) = conn.blocking_recv::<RunOwned>() {
        for (entry, chunk) in jobs {
            let reply = match catch_panic(move || entry.run(chunk.bytes, chunk.fds)) {
                Ok(Ok((bytes, fds))) => FromWorker::Done(Blob { bytes, fds }),
                Ok(Err(why)) => FromWorker::Failed(why),
                Err((message, _)) => FromWorker::Failed(format!("the worker's chunk runner panicked: {message}")),
            };
            if conn.blocking_send(&reply).is_err() {
                return;
            }
        }
    }
}

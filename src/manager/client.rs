//! The process's side of a manager: one multiplexed connection per server.
//!
//! A [`Mux`] owns one authenticated connection to a server, shared by every
//! proxy of that server in this process. Requests carry ids; a reader task
//! on the caller's tokio runtime routes each reply to the call waiting for
//! it, so any number of calls are in flight at once (pipelining) and a call
//! that waits in the server (a queue's `get`) holds up nobody.
//!
//! Sends are synchronous writes of one small frame under a mutex: proxies
//! must be able to send from `Drop` (release) and from `Serialize` (lend),
//! where nothing can be awaited.
//!
//! A call whose future is dropped before its reply sends `Cancel`; the
//! server then either abandons the waiting call (answering "cancelled") or
//! has already finished it, in which case the reply's *undo* runs here (a
//! `get` puts its item back, an `acquire` releases): a cancelled call
//! neither loses nor duplicates anything.
//!
//! The reader task lives on the runtime of the call that started it; if that
//! runtime shuts down, the connection is closed and proxies made on it fail
//! with `Disconnected` (a proxy *received* later connects afresh).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::oneshot;

use super::error::{CallError, RemoteError};
use super::protocol::{ObjectId, Op, Reply, Request};
use crate::loom::{AtomicU64, Ordering};
use crate::pipe::{Address, Authkey, Client};
use crate::{codec, Connection};

/// The largest reply a process accepts from its manager (the server's limit
/// on requests is the same).
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// What to do with the result of a call whose caller went away.
pub(crate) type Undo = Box<dyn FnOnce(&Mux, Vec<u8>) + Send>;

type Waiter = oneshot::Sender<Result<Vec<u8>, RemoteError>>;

#[derive(Default)]
struct State {
    /// Calls waiting for their reply.
    pending: HashMap<u64, Waiter>,
    /// Calls whose caller left after sending; their reply (if a result)
    /// is undone.
    abandoned: HashMap<u64, Option<Undo>>,
    /// A reader task is running.
    reading: bool,
    /// The connection failed or its reader's runtime is gone.
    closed: bool,
}

/// One connection to one manager server.
pub(crate) struct Mux {
    address: Address,
    authkey: Authkey,
    writer: Mutex<Connection>,
    reader: Arc<tokio::sync::Mutex<Connection>>,
    state: Mutex<State>,
    next_id: AtomicU64,
    reader_task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl fmt::Debug for Mux {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mux").field("address", &self.address).finish_non_exhaustive()
    }
}

/// Every live connection of this process, by server address.
static MUXES: Mutex<Vec<(Address, Weak<Mux>)>> = Mutex::new(Vec::new());

fn lookup(address: &Address) -> Option<Arc<Mux>> {
    let mut muxes = MUXES.lock().unwrap_or_else(|e| e.into_inner());
    muxes.retain(|(_, weak)| weak.strong_count() > 0);
    muxes.iter().filter(|(a, _)| a == address).filter_map(|(_, weak)| weak.upgrade()).find(|mux| !mux.state().closed)
}

fn remember(mux: &Arc<Mux>) -> Arc<Mux> {
    let mut muxes = MUXES.lock().unwrap_or_else(|e| e.into_inner());
    // Two callers may race to connect: keep the first, drop the second.
    if let Some(existing) = muxes
        .iter()
        .filter(|(a, _)| *a == mux.address)
        .filter_map(|(_, weak)| weak.upgrade())
        .find(|m| !m.state().closed)
    {
        return existing;
    }
    muxes.push((mux.address.clone(), Arc::downgrade(mux)));
    mux.clone()
}

impl Mux {
    fn new(address: Address, authkey: Authkey, conn: Connection) -> std::io::Result<Arc<Mux>> {
        let reader = conn.try_clone()?;
        Ok(Arc::new(Mux {
            address,
            authkey,
            writer: Mutex::new(conn),
            reader: Arc::new(tokio::sync::Mutex::new(reader)),
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
            reader_task: Mutex::new(None),
        }))
    }

    /// This process's connection to the server at `address`, made if needed.
    pub(crate) async fn get(address: &Address, authkey: &Authkey) -> Result<Arc<Mux>, crate::pipe::ConnectError> {
        if let Some(mux) = lookup(address) {
            return Ok(mux);
        }
        let conn = Client::new(address.clone()).authkey(authkey.clone()).connect().await?;
        Ok(remember(&Mux::new(address.clone(), authkey.clone(), conn)?))
    }

    /// [`get`](Mux::get) from synchronous code (a proxy being decoded).
    pub(crate) fn blocking_get(address: &Address, authkey: &Authkey) -> Result<Arc<Mux>, crate::pipe::ConnectError> {
        if let Some(mux) = lookup(address) {
            return Ok(mux);
        }
        let conn = Client::new(address.clone()).authkey(authkey.clone()).blocking_connect()?;
        Ok(remember(&Mux::new(address.clone(), authkey.clone(), conn)?))
    }

    pub(crate) fn address(&self) -> &Address {
        &self.address
    }

    pub(crate) fn authkey(&self) -> &Authkey {
        &self.authkey
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes one request. Synchronous: frames are small and the server
    /// always reads.
    pub(crate) fn send(&self, request: &Request) -> Result<(), CallError> {
        let (bytes, fds) = codec::encode(request)?;
        debug_assert!(fds.is_empty(), "requests carry no handles");
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer.blocking_send_frame(&bytes, &[]).map_err(|_| {
            drop(writer);
            self.close();
            CallError::Disconnected
        })
    }

    /// Sends a message nobody waits for; failures are ignored (the server
    /// is gone, and with it whatever the message was about).
    pub(crate) fn notify(&self, op: Op) {
        let _ = self.send(&Request { id: 0, op });
    }

    /// Sends `op` and waits for its reply. `undo` runs on the result if this
    /// future is dropped after the server finished the call.
    pub(crate) async fn request(self: &Arc<Self>, op: Op, undo: Option<Undo>) -> Result<Vec<u8>, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed); // a counter: uniqueness is all that matters
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.state();
            if state.closed {
                return Err(CallError::Disconnected);
            }
            state.pending.insert(id, tx);
        }
        let mut call = PendingCall { mux: self, id, rx, undo, settled: false };
        self.ensure_reader()?;
        self.send(&Request { id, op })?;
        let result = (&mut call.rx).await;
        call.settled = true;
        match result {
            Ok(reply) => Ok(reply?),
            Err(_) => Err(CallError::Disconnected),
        }
    }

    /// Starts the reader task on the current runtime if none runs.
    fn ensure_reader(self: &Arc<Self>) -> Result<(), CallError> {
        {
            let mut state = self.state();
            if state.closed {
                return Err(CallError::Disconnected);
            }
            if state.reading {
                return Ok(());
            }
            state.reading = true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.state().reading = false;
            return Err(CallError::Disconnected);
        };
        let task = runtime.spawn(read_replies(Arc::downgrade(self), self.reader.clone()));
        *self.reader_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
        Ok(())
    }

    /// Routes one reply to its caller, or undoes it if the caller left.
    fn deliver(&self, reply: Reply) {
        let mut state = self.state();
        if let Some(waiter) = state.pending.remove(&reply.id) {
            // Sent under the lock: a caller dropping its future either finds
            // its entry here or the reply already in its channel.
            let _ = waiter.send(reply.result);
            return;
        }
        let undo = state.abandoned.remove(&reply.id);
        drop(state);
        if let (Some(Some(undo)), Ok(bytes)) = (undo, reply.result) {
            undo(self, bytes);
        }
    }

    /// The connection is unusable: fail every waiting call.
    fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        state.pending.clear(); // dropping the senders wakes the callers with Disconnected
        state.abandoned.clear();
    }
}

impl Drop for Mux {
    fn drop(&mut self) {
        if let Some(task) = self.reader_task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

/// A call in flight; dropping it before the reply cancels the call.
struct PendingCall<'a> {
    mux: &'a Arc<Mux>,
    id: u64,
    rx: oneshot::Receiver<Result<Vec<u8>, RemoteError>>,
    undo: Option<Undo>,
    settled: bool,
}

impl Drop for PendingCall<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut state = self.mux.state();
        if state.pending.remove(&self.id).is_some() {
            if state.closed {
                return;
            }
            state.abandoned.insert(self.id, self.undo.take());
            drop(state);
            self.mux.notify(Op::Cancel { call: self.id });
            return;
        }
        drop(state);
        // The reply came before we left: undo it here.
        if let (Ok(Ok(bytes)), Some(undo)) = (self.rx.try_recv(), self.undo.take()) {
            undo(self.mux, bytes);
        }
    }
}

/// Marks the reader gone when its task ends for any reason (including its
/// runtime shutting down); the connection is then closed.
struct ReaderGuard(Weak<Mux>);

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        if let Some(mux) = self.0.upgrade() {
            mux.state().reading = false;
            mux.close();
        }
    }
}

async fn read_replies(mux: Weak<Mux>, reader: Arc<tokio::sync::Mutex<Connection>>) {
    let _guard = ReaderGuard(mux.clone());
    let mut conn = reader.lock().await;
    loop {
        let frame = conn.recv_frame(MAX_FRAME).await;
        let Some(mux) = mux.upgrade() else { return };
        match frame {
            Ok((bytes, _fds)) => match codec::decode::<Reply>(&bytes, Vec::new()) {
                Ok(reply) => mux.deliver(reply),
                // A server that sends garbage cannot be trusted with more calls.
                Err(_) => return,
            },
            Err(_) => return,
        }
    }
}

/// Fetches the next id for a reference handed to another process.
pub(crate) fn transfer_token() -> u64 {
    let mut r = [0u8; 8];
    // Without randomness fall back to something unique enough per process.
    if crate::sys::random_bytes(&mut r).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(1);
        return (u64::from(crate::sys::getpid() as u32) << 32) | COUNTER.fetch_add(1, Ordering::Relaxed);
    }
    u64::from_ne_bytes(r)
}

/// A reference the caller's connection holds on a server object.
pub(crate) struct Remote {
    pub(crate) mux: Arc<Mux>,
    pub(crate) id: ObjectId,
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.mux.notify(Op::Release { object: self.id });
    }
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote").field("address", &self.mux.address).field("id", &self.id).finish()
    }
}

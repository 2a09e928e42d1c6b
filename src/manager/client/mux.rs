//! The process's side of a manager: one multiplexed connection per server.
//!
//! A [`Mux`] owns one authenticated connection to a server, shared by every
//! proxy of that server in this process. Requests carry ids; a reader task
//! on the caller's tokio runtime routes each reply to the call waiting for
//! it, so any number of calls are in flight at once (pipelining) and a call
//! that waits in the server (a queue's `get`) holds up nobody.
//!
//! A waiting call first reads the socket itself (unless another caller
//! already does), spinning for the connection's learned budget (see
//! `wake::Spinner`) and delivering every reply it reads, until its own has
//! come and the socket holds no more: a server that answers within microseconds
//! then costs no wake-up of the reader task and no hand-over between
//! threads — on these machines each of those costs more than the whole
//! call. The reader task is woken, and the socket registered with the
//! reactor, only while some call *sleeps* for its reply (it read for it
//! and gave up, or another caller was reading) and nobody reads (the
//! registration is dropped when no call sleeps): a registered socket wakes
//! a parked runtime thread on every reply, even one a spinning caller
//! already took. The calls of a burst whose replies another call's read
//! delivered never sleep, so they wake nothing. Who reads is decided by a
//! lock on the reading half, held only inside one poll, never across an
//! await.
//!
//! Sends are synchronous writes under a mutex: proxies must be able to
//! send from `Drop` (release) and from `Serialize` (lend), where nothing
//! can be awaited. A call queues its request, yields once, then writes
//! whatever is queued, so the concurrent calls of one task (a `join`)
//! leave together: in writes of [`EARLY_FLUSH`] requests while the rest are
//! being made, each followed by `Op::More` so the server spins for the next
//! part instead of parking (a parked server costs the next write a wake-up
//! and the burst the server's wake-up latency), and the last part when the
//! task yields. The reading half reads ahead (no handles travel on it):
//! one `recvmsg` takes a whole burst of replies.
//!
//! A call whose future is dropped before its reply sends `Cancel`; the
//! server then either abandons the waiting call (answering "cancelled") or
//! has already finished it, in which case the reply's *undo* runs here (a
//! `get` puts its item back, an `acquire` releases): a cancelled call
//! neither loses nor duplicates anything.
//!
//! One file of ~780 lines: the reading protocol above (who reads, the spin,
//! when the reader task is woken and the socket registered, the hand-over
//! of replies) is one state machine over `State`, and its parts are only
//! right read together.
//!
//! The reader task lives on the runtime of the call that started it; if that
//! runtime shuts down, the connection is closed and proxies made on it fail
//! with `Disconnected` (a proxy *received* later connects afresh).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};

use tokio::io::unix::AsyncFd;
use tokio::sync::{Notify, oneshot};

use super::super::error::{CallError, RemoteError};
use super::super::protocol::{MAX_FRAME, ObjectId, Op, Reply, Request};
use crate::codec;
use crate::loom::{AtomicU64, Ordering};
use crate::pipe::Connection;
use crate::pipe::{Address, Authkey, Client, push_frame, push_frame_with};

/// Requests a burst of calls (a `join`) writes at a time: the server starts
/// on the first ones while the caller makes the rest.
const EARLY_FLUSH: usize = 16;

/// What to do with the result of a call whose caller went away.
pub(crate) type Undo = Box<dyn FnOnce(&Mux, Vec<u8>) + Send>;

/// Where a call's reply goes: to the future of an async call, or to the
/// thread of a blocking one.
enum Waiter {
    Async(oneshot::Sender<Result<Vec<u8>, RemoteError>>),
    Blocking(std::sync::mpsc::SyncSender<Result<Vec<u8>, RemoteError>>),
}

impl Waiter {
    fn send(self, reply: Result<Vec<u8>, RemoteError>) {
        match self {
            Waiter::Async(tx) => {
                let _ = tx.send(reply);
            }
            Waiter::Blocking(tx) => {
                let _ = tx.try_send(reply);
            }
        }
    }
}

thread_local! {
    /// Set while a `blocking_*` proxy method drives its async form on this
    /// thread: requests then read their own replies, with no runtime.
    static BLOCKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `call` (a proxy's async method) to completion on this thread, with
/// no runtime: the blocking forms of proxy methods. Its requests are
/// written as usual and their replies read by this thread (or by whoever
/// else reads the connection at the time, which delivers them here).
pub(crate) fn blocking<F: Future>(call: F) -> F::Output {
    /// Puts the outer flag back, also on a panic.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            BLOCKING.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(BLOCKING.with(|b| b.replace(true)));
    crate::wake::block_on(call)
}

/// Whether a blocking form is running on this thread.
pub(crate) fn in_blocking() -> bool {
    BLOCKING.with(std::cell::Cell::get)
}

/// A call waiting for its reply.
struct Pending {
    waiter: Waiter,
    /// Its future sleeps until the reply is delivered (counted in
    /// [`State::parked`] until the entry goes).
    parked: bool,
}

#[derive(Default)]
struct State {
    /// Calls waiting for their reply.
    pending: HashMap<u64, Pending>,
    /// Calls whose caller left after sending; their reply (if a result)
    /// is undone.
    abandoned: HashMap<u64, Option<Undo>>,
    /// A reader task is running.
    reading: bool,
    /// The connection failed or its reader's runtime is gone.
    closed: bool,
    /// Why, if the server turned out not to be ours.
    foreign: Option<&'static str>,
    /// A caller is reading the socket for its reply (and delivering every
    /// other reply it reads).
    spinning: bool,
    /// Pending calls whose future sleeps until its reply is delivered
    /// (they no longer read for it themselves). Pending calls not counted
    /// here are about to read for theirs. Kept exact as entries leave
    /// [`pending`](State::pending), so the reader task stops (and drops its
    /// registration) as soon as no sleeper is left.
    parked: usize,
}

impl State {
    /// What a call on a closed connection fails with.
    fn closed_error(&self) -> CallError {
        match self.foreign {
            Some(why) => CallError::NotIpcServer(why),
            None => CallError::Disconnected,
        }
    }

    /// Takes call `id`'s entry, keeping [`parked`](State::parked) exact.
    fn take(&mut self, id: u64) -> Option<Waiter> {
        let entry = self.pending.remove(&id)?;
        if entry.parked {
            self.parked -= 1;
        }
        Some(entry.waiter)
    }

    /// Call `id` may read for its reply.
    fn may_spin(&self, id: u64) -> bool {
        !self.spinning && !self.closed && self.pending.contains_key(&id)
    }

    /// Replies are awaited by sleeping (or departed) callers, and no caller
    /// is reading.
    fn needs_reader(&self) -> bool {
        !self.spinning && (self.parked > 0 || !self.abandoned.is_empty())
    }
}

/// The writing half and the requests queued for it.
struct Writer {
    conn: Connection,
    /// Framed requests not yet written.
    batch: Vec<u8>,
    /// How many.
    queued: usize,
}

/// One connection to one manager server.
pub(crate) struct Mux {
    address: Address,
    writer: Mutex<Writer>,
    /// The reading half; whoever holds it reads (never across an await).
    reader: Mutex<Connection>,
    /// Wakes the reader task when [`State::needs_reader`] may have become true.
    wanted: Arc<Notify>,
    state: Mutex<State>,
    next_id: AtomicU64,
    reader_task: Mutex<Option<tokio::task::AbortHandle>>,
    /// `Op::More`, encoded.
    more: Vec<u8>,
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
    fn new(address: Address, conn: Connection) -> std::io::Result<Arc<Mux>> {
        // Fresh halves, neither registered with a reactor: the handshake's
        // registration (dropped with `conn`) would wake a runtime thread on
        // every reply (see the module docs).
        let mut reader = conn.try_clone()?;
        reader.read_ahead(); // no handles travel on it
        let writer = conn.try_clone()?;
        drop(conn);
        Ok(Arc::new(Mux {
            address,
            writer: Mutex::new(Writer { conn: writer, batch: Vec::new(), queued: 0 }),
            reader: Mutex::new(reader),
            wanted: Arc::new(Notify::new()),
            state: Mutex::new(State::default()),
            next_id: AtomicU64::new(1),
            reader_task: Mutex::new(None),
            more: codec::encode(&Request { id: 0, op: Op::More }).map_err(std::io::Error::other)?.0,
        }))
    }

    /// This process's connection to the server at `address`, made if needed
    /// (and then `authkey` remembered for proxies of that server this
    /// process receives).
    pub(crate) async fn get(address: &Address, authkey: &Authkey) -> Result<Arc<Mux>, crate::pipe::ConnectError> {
        // The connection this process has, if it was made with this key; a
        // caller with another key goes through the handshake (and fails).
        let same_key = crate::pipe::known_key(address).is_some_and(|k| k.bytes() == authkey.bytes());
        if let Some(mux) = lookup(address).filter(|_| same_key) {
            return Ok(mux);
        }
        let client = Client::new(address.clone()).authkey(authkey.clone());
        let conn = if in_blocking() { client.blocking_connect()? } else { client.connect().await? };
        crate::pipe::remember_key(address, authkey);
        Ok(remember(&Mux::new(address.clone(), conn)?))
    }

    /// The connection a decoded proxy of the server at `address` uses: the
    /// one this process has, or a new one made (blocking briefly) with the
    /// key this process knows for that server — one it connected with, or
    /// its parent did — or else the tree's own key. Proxies carry no key.
    pub(crate) fn for_received(address: &Address) -> Result<Arc<Mux>, crate::pipe::ConnectError> {
        if let Some(mux) = lookup(address) {
            return Ok(mux);
        }
        let authkey = crate::pipe::known_key(address)
            .unwrap_or_else(|| Authkey::new(crate::process::current_process().authkey()));
        let conn = Client::new(address.clone()).authkey(authkey.clone()).blocking_connect()?;
        Ok(remember(&Mux::new(address.clone(), conn)?))
    }

    pub(crate) fn address(&self) -> &Address {
        &self.address
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a request to the batch the next [`flush`](Mux::flush) writes;
    /// a batch of [`EARLY_FLUSH`] requests is written at once, so the server
    /// starts on them while the caller makes the rest.
    fn queue(&self, request: &Request<'_>) -> Result<(), CallError> {
        let mut writer = self.lock_writer();
        // Straight into the batch; requests carry no handles (a proxy's
        // arguments are bytes already).
        push_frame_with(&mut writer.batch, |batch| codec::encode_into(request, batch).map(drop))?;
        writer.queued += 1;
        if writer.queued >= EARLY_FLUSH {
            // The calls behind it are being made now: the server had better
            // spin for them than park (which would cost the next write a
            // wake-up and the burst the server's wake-up latency).
            push_frame(&mut writer.batch, &self.more);
            self.write_batch(writer)?;
        }
        Ok(())
    }

    /// Writes the queued requests in one system call. Synchronous: requests
    /// are small and the server always reads.
    fn flush(&self) -> Result<(), CallError> {
        let writer = self.lock_writer();
        if writer.batch.is_empty() {
            return Ok(());
        }
        self.write_batch(writer)
    }

    fn write_batch(&self, mut writer: std::sync::MutexGuard<'_, Writer>) -> Result<(), CallError> {
        let Writer { conn, batch, queued } = &mut *writer;
        let sent = conn.blocking_send_framed(batch);
        batch.clear();
        *queued = 0;
        drop(writer);
        sent.map_err(|_| {
            self.close();
            CallError::Disconnected
        })
    }

    /// Writes one request now (behind any queued ones).
    pub(crate) fn send(&self, request: &Request<'_>) -> Result<(), CallError> {
        self.queue(request)?;
        self.flush()
    }

    /// Sends a message nobody waits for; failures are ignored (the server
    /// is gone, and with it whatever the message was about).
    pub(crate) fn notify(&self, op: Op<'_>) {
        let _ = self.send(&Request { id: 0, op });
    }

    /// [`request`](Mux::request) for a blocking form: the reply is read by
    /// this thread, or delivered to it by whoever reads at the time.
    fn blocking_request(&self, op: Op<'_>) -> Result<Vec<u8>, CallError> {
        use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
        /// How long this thread reads (or waits for another reader's
        /// delivery) before it looks again: only bounds how late a reply
        /// is seen when the reader who had the socket leaves without it.
        const TURN: std::time::Duration = std::time::Duration::from_millis(10);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed); // a counter: uniqueness is all that matters
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        {
            let mut state = self.state();
            if state.closed {
                return Err(state.closed_error());
            }
            state.pending.insert(id, Pending { waiter: Waiter::Blocking(tx), parked: false });
        }
        if let Err(e) = self.send(&Request { id, op }) {
            self.state().take(id);
            return Err(e);
        }
        loop {
            match rx.try_recv() {
                Ok(reply) => return Ok(reply?),
                Err(TryRecvError::Disconnected) => return Err(self.state().closed_error()),
                Err(TryRecvError::Empty) => {}
            }
            match self.reader.try_lock() {
                Ok(mut reader) => {
                    let frame = reader.blocking_recv_frame(MAX_FRAME, Some(TURN));
                    let usable = match frame {
                        Ok(Some((bytes, _fds))) => self.route(&bytes),
                        Ok(None) => true,
                        Err(_) => false,
                    };
                    drop(reader);
                    if !usable {
                        self.close();
                    }
                    // Async callers that slept meanwhile need the reader task.
                    if self.state().needs_reader() {
                        self.wanted.notify_one();
                    }
                }
                // Someone else reads: it delivers our reply to `rx`.
                Err(_) => match rx.recv_timeout(TURN) {
                    Ok(reply) => return Ok(reply?),
                    Err(RecvTimeoutError::Disconnected) => return Err(self.state().closed_error()),
                    Err(RecvTimeoutError::Timeout) => {}
                },
            }
        }
    }

    /// Sends `op` and waits for its reply. `undo` runs on the result if this
    /// future is dropped after the server finished the call.
    pub(crate) async fn request(self: &Arc<Self>, op: Op<'_>, undo: Option<Undo>) -> Result<Vec<u8>, CallError> {
        if in_blocking() {
            // A blocking form: nothing can cancel it, so `undo` never runs.
            return self.blocking_request(op);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed); // a counter: uniqueness is all that matters
        let (tx, rx) = oneshot::channel();
        // Before anything is registered or sent: without a runtime there
        // would be nobody to read the reply.
        self.ensure_reader()?;
        {
            let mut state = self.state();
            if state.closed {
                return Err(state.closed_error());
            }
            state.pending.insert(id, Pending { waiter: Waiter::Async(tx), parked: false });
        }
        let mut call = PendingCall { mux: self, id, rx, undo, settled: false, parked: false };
        self.queue(&Request { id, op })?;
        // Let the other calls of this task (a `join`) queue theirs: the
        // first to go on writes them all at once. A call dropped meanwhile
        // still goes out, followed by its `Cancel`.
        yield_once().await;
        self.flush()?;
        self.spin_for_reply(id);
        let result = call.reply().await;
        match result {
            Ok(reply) => Ok(reply?),
            Err(_) => Err(self.state().closed_error()),
        }
    }

    /// Starts the reader task on the current runtime if none runs.
    fn ensure_reader(self: &Arc<Self>) -> Result<(), CallError> {
        {
            let mut state = self.state();
            if state.closed {
                return Err(state.closed_error());
            }
            if state.reading {
                return Ok(());
            }
            state.reading = true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.state().reading = false;
            return Err(CallError::NoRuntime);
        };
        let task = runtime.spawn(read_replies(Arc::downgrade(self), self.wanted.clone()));
        *self.reader_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
        Ok(())
    }

    fn lock_reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new registration of the reading half with the current runtime's
    /// reactor (dropping it deregisters).
    fn watch(&self) -> std::io::Result<AsyncFd<OwnedFd>> {
        let dup = crate::sys::dup_cloexec(self.lock_reader().as_fd())?;
        crate::sys::register_async(dup).map_err(|(_, e)| e)
    }

    /// Reads for call `id`'s reply here (delivering every other reply read
    /// on the way), spinning for the connection's learned budget without
    /// blocking in the kernel — unless another caller is doing so already;
    /// the reader task takes over when nobody is.
    fn spin_for_reply(&self, id: u64) {
        {
            let mut state = self.state();
            if !state.may_spin(id) {
                // Delivered already, or someone else reads: if the reply is
                // not here yet, the call parks and that wakes the reader task
                // if need be. (Waking it here, for every call of a burst that
                // another call's spin has answered, cost a cross-thread
                // wake-up and a registration with the reactor each time.)
                return;
            }
            state.spinning = true;
        }
        self.read_for(id);
        let mut state = self.state();
        state.spinning = false;
        if state.needs_reader() {
            drop(state);
            self.wanted.notify_one();
        }
    }

    fn read_for(&self, id: u64) {
        // The reader task draining: it delivers.
        let Ok(mut reader) = self.reader.try_lock() else { return };
        let mut ours = false;
        loop {
            // Once ours came, only what is already here is read (the rest
            // of a burst, whose callers then find their replies delivered):
            // spinning on for others' replies would spin out whenever one
            // of them waits in the server (a `get`), teaching the spinner
            // that spins do not pay.
            let frame = if ours { reader.try_recv_frame(MAX_FRAME) } else { reader.spin_recv_frame(MAX_FRAME) };
            match frame {
                Ok(Some((bytes, _fds))) => {
                    if !self.route(&bytes) {
                        drop(reader);
                        self.close();
                        return;
                    }
                    let state = self.state();
                    ours = !state.pending.contains_key(&id);
                    if ours && state.pending.is_empty() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(_) => {
                    drop(reader);
                    self.close();
                    return;
                }
            }
        }
    }

    /// Reads and routes every reply the socket holds now.
    fn drain(&self) -> Drained {
        // A spinning caller reads instead (and wakes the reader task when
        // it stops, if need be).
        let Ok(mut reader) = self.reader.try_lock() else { return Drained::Busy };
        loop {
            match reader.try_recv_frame(MAX_FRAME) {
                Ok(Some((bytes, _fds))) => {
                    if !self.route(&bytes) {
                        return Drained::Unusable;
                    }
                }
                Ok(None) => return Drained::Empty,
                Err(_) => return Drained::Unusable,
            }
        }
    }

    /// Decodes and delivers one reply frame; false for garbage (a server
    /// that sends it cannot be trusted with more calls), noting what kind.
    fn route(&self, frame: &[u8]) -> bool {
        match codec::decode::<Reply>(frame, Vec::new()) {
            Ok(reply) => {
                self.deliver(reply);
                true
            }
            Err(_) => {
                // A pickle starts with its PROTO opcode (0x80) and version:
                // Python's manager server answering a request it cannot
                // unpickle with a pickled traceback.
                self.state().foreign = Some(match frame {
                    [0x80, 2..=5, ..] => {
                        "it speaks Python's pickled manager protocol (a Python BaseManager); \
                         ipc's managers and Python's cannot call each other"
                    }
                    _ => "it sent a frame that is not an ipc reply",
                });
                false
            }
        }
    }

    /// Routes one reply to its caller, or undoes it if the caller left.
    fn deliver(&self, reply: Reply) {
        let mut state = self.state();
        if let Some(waiter) = state.take(reply.id) {
            // Sent under the lock: a caller dropping its future either finds
            // its entry here or the reply already in its channel.
            waiter.send(reply.result);
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
        state.parked = 0;
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
    /// It has gone to sleep for its reply once (see [`State::parked`]).
    parked: bool,
}

impl PendingCall<'_> {
    /// Waits for the reply; the first time it is not there yet, counts the
    /// call as parked and wakes the reader task if nobody reads.
    async fn reply(&mut self) -> Result<Result<Vec<u8>, RemoteError>, oneshot::error::RecvError> {
        let result = std::future::poll_fn(|cx| {
            let polled = std::pin::Pin::new(&mut self.rx).poll(cx);
            if polled.is_pending() && !self.parked {
                self.parked = true;
                let mut state = self.mux.state();
                // No entry: the reply was delivered just now (and wakes us).
                if let Some(entry) = state.pending.get_mut(&self.id) {
                    entry.parked = true;
                    state.parked += 1;
                    if state.needs_reader() {
                        drop(state);
                        self.mux.wanted.notify_one();
                    }
                }
            }
            polled
        })
        .await;
        self.settled = true;
        result
    }
}

impl Drop for PendingCall<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut state = self.mux.state();
        if state.take(self.id).is_some() {
            if state.closed {
                return;
            }
            state.abandoned.insert(self.id, self.undo.take());
            drop(state);
            // Its reply (result or "cancelled") must still be read.
            self.mux.wanted.notify_one();
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

/// What [`Mux::drain`] found.
enum Drained {
    /// The socket is empty now.
    Empty,
    /// A caller is reading it.
    Busy,
    /// The connection is closed, or the server sent garbage.
    Unusable,
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

/// Waits for the socket to be readable, then reads all it holds. Readiness
/// is forgotten only after a read found the socket empty; tokio forgets it
/// only if no new data arrived since it was reported, so none is missed
/// (data a spinning caller took just costs one empty read here).
///
/// Between those, while no reply is awaited that a caller is not reading
/// for itself, the task sleeps on `wanted` with the socket unregistered.
async fn read_replies(mux: Weak<Mux>, wanted: Arc<Notify>) {
    let _guard = ReaderGuard(mux.clone());
    loop {
        loop {
            let Some(mux) = mux.upgrade() else { return };
            if mux.state().needs_reader() {
                break;
            }
            drop(mux);
            wanted.notified().await;
        }
        let watch = match mux.upgrade().map(|mux| mux.watch()) {
            Some(Ok(watch)) => watch,
            _ => return,
        };
        // Registered before the first read: whatever arrives after that
        // read raises readiness.
        let mut ready = None;
        loop {
            let Some(mux) = mux.upgrade() else { return };
            match mux.drain() {
                Drained::Unusable => return,
                // Readiness is forgotten only after a read found nothing.
                Drained::Empty => {
                    if let Some(mut ready) = ready.take() {
                        tokio::io::unix::AsyncFdReadyGuard::clear_ready(&mut ready);
                    }
                }
                Drained::Busy => {}
            }
            if !mux.state().needs_reader() {
                break;
            }
            drop(mux);
            let Ok(guard) = watch.readable().await else { return };
            ready = Some(guard);
        }
    }
}

/// Returns `Pending` once, waking itself at once: whatever else the task
/// polls (other calls of a `join`) runs before it goes on. Unlike
/// `tokio::task::yield_now`, it does not wait for the reactor to be polled.
fn yield_once() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
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

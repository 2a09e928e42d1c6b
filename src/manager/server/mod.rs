//! The manager server: a table of objects, served over a [`Listener`].
//!
//! The server runs on one thread (a current-thread runtime), which makes
//! its bookkeeping simple and its cancellation exact: each connection's
//! requests are handled in arrival order, every call is first polled in
//! place (so calls that do not wait complete in order, and pipelined calls
//! from one process behave as if sent one by one), and a call that must
//! wait moves to a task of its own. Such a task replies only if it still
//! owns its entry in the connection's table of waiting calls, and `Cancel`
//! removes that entry and aborts the task; with one thread, the two never
//! interleave, so every call gets exactly one answer: its result or
//! "cancelled".
//!
//! Requests are read ahead (a burst in one `recvmsg`) and the receive
//! spins before parking — for the learned budget, or for [`MORE_SPIN`]
//! when the client said more of a burst is on its way (`Op::More`);
//! replies are written inline, in batches (see `Outbox`), so a quick call
//! costs the server no task switch or wake-up.
//!
//! Objects are reference counted per connection: a connection that closes
//! (its process exited or was killed) gives back every reference it held,
//! and objects it held the last reference to are freed. Locks it held are
//! released the same way. A reference lent to another process (a proxy
//! being sent) is counted under a transfer token until a process adopts it;
//! an adoption that arrives before its lend (the two come over different
//! connections) waits for it holding nothing, and one nobody ever lent
//! expires, so made-up tokens pin nothing. A proxy stored *in* an object of
//! its own server (a list of lists, a queue of proxies) is pinned there: the
//! container holds a reference to it for as long as the container lives,
//! and each process that reads the proxy back takes a reference of its own
//! (Python's server holds the object itself in the container).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::custom::Factories;
use super::error::RemoteError;
use super::methods::{self, New};
pub(crate) use super::methods::{decode, encode, no_method};
use super::protocol::ObjectId;
#[cfg(any(test, feature = "fuzzing", doc))]
use super::protocol::{Op, Request};
use crate::codec;
use crate::pipe::{AcceptError, Listener};

mod blocks;
mod collections;
mod connection;
mod queue;
mod sync;

use connection::serve_connection;

/// The future of one method call.
pub(crate) type CallFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, RemoteError>> + Send>>;

/// Identifies a connection (one process) to the objects it calls.
pub(crate) type Caller = u64;

/// An object the server holds.
pub(crate) trait Served: Send + Sync + 'static {
    /// The name it was created under.
    fn type_name(&self) -> &'static str;
    /// Starts `method` with encoded `args`.
    fn call(self: Arc<Self>, method: &str, args: Vec<u8>, caller: Caller) -> CallFuture;
    /// Runs `method` at once, for types whose methods never wait (custom
    /// types): no future, no copy of the arguments. `None`: use
    /// [`call`](Served::call).
    fn call_now(&self, _method: &str, _args: &[u8], _caller: Caller) -> Option<Result<Vec<u8>, RemoteError>> {
        None
    }
    /// `caller`'s connection closed: give back what it held (locks).
    fn disconnected(&self, _caller: Caller) {}
}

/// Makes a built-in object from its type name and encoded arguments.
fn construct(type_name: &str, args: &[u8]) -> Result<Arc<dyn Served>, RemoteError> {
    use methods::Kind;
    let Some(new) = New::decode(type_name, args) else {
        return Err(RemoteError::NoSuchType(type_name.to_string()));
    };
    Ok(match new? {
        New::Dict(()) => Arc::new(collections::Dict::default()),
        New::List(items) => Arc::new(collections::List::new(items, false)),
        New::Namespace(()) => Arc::new(collections::Namespace::default()),
        New::Value(value) => Arc::new(collections::Value::new(value)),
        New::Array(items) => Arc::new(collections::List::new(items, true)),
        New::Queue(maxsize) => Arc::new(queue::Queue::new(methods::Queue::NAME, queue::Order::Fifo, maxsize)),
        New::LifoQueue(maxsize) => Arc::new(queue::Queue::new(methods::LifoQueue::NAME, queue::Order::Lifo, maxsize)),
        New::PriorityQueue(maxsize) => {
            Arc::new(queue::Queue::new(methods::PriorityQueue::NAME, queue::Order::Priority, maxsize))
        }
        New::JoinableQueue(maxsize) => {
            Arc::new(queue::Queue::new(methods::JoinableQueue::NAME, queue::Order::Fifo, maxsize))
        }
        New::Lock(()) => Arc::new(sync::LockState::new(false)),
        New::Event(()) => Arc::new(sync::Event::default()),
        New::RLock(()) => Arc::new(sync::LockState::new(true)),
        New::Semaphore(value) => Arc::new(sync::Semaphore::new(value, false)),
        New::BoundedSemaphore(value) => Arc::new(sync::Semaphore::new(value, true)),
        New::Condition(()) => Arc::new(sync::Condition::default()),
        New::Barrier(parties) => Arc::new(sync::Barrier::new(parties)?),
        New::SharedMemoryTracker(()) => Arc::new(blocks::BlockTracker::default()),
    })
}

/// Takes `m`, poisoned or not: the server keeps serving after a method
/// panics (the caller gets `RemoteError::Panicked`).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A call that completes at once.
pub(crate) fn ready(result: Result<Vec<u8>, RemoteError>) -> CallFuture {
    Box::pin(std::future::ready(result))
}

/// Waits until `f` gives a value, re-checking it at each notification of
/// `changed`; after `timeout`, gives `f`'s last answer.
async fn wait_until<R>(changed: &Notify, timeout: Option<Duration>, mut f: impl FnMut() -> Option<R>) -> Option<R> {
    let deadline = crate::deadline::tokio_within(timeout);
    loop {
        let notified = changed.notified();
        tokio::pin!(notified);
        // Registered before the check, so a change in between is not missed.
        notified.as_mut().enable();
        if let Some(r) = f() {
            return Some(r);
        }
        match deadline {
            None => notified.await,
            Some(d) => {
                if tokio::time::timeout_at(d, notified).await.is_err() {
                    return f();
                }
            }
        }
    }
}

struct Entry {
    object: Arc<dyn Served>,
    refs: u64,
    /// Objects whose proxies were stored in this one: a reference to each
    /// (with its count), given back when this one is freed.
    pins: HashMap<ObjectId, u64>,
}

/// An adoption that came before its lend.
struct Early {
    caller: Caller,
    object: ObjectId,
    since: std::time::Instant,
}

/// How long an adoption waits for its lend, and how many may wait per
/// connection: a lend follows within microseconds, so these only bound
/// what made-up tokens can cost.
const EARLY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);
const MAX_EARLY_PER_CALLER: usize = 1024;

#[derive(Default)]
struct Table {
    objects: HashMap<ObjectId, Entry>,
    next: ObjectId,
    /// References lent under a token, not yet adopted.
    transit: HashMap<u64, ObjectId>,
    /// Adoptions waiting for their lend, by token.
    early: HashMap<u64, Early>,
    /// How many of them each connection has.
    early_count: HashMap<Caller, usize>,
    /// When expired adoptions were last dropped.
    early_purged: Option<std::time::Instant>,
    /// Per connection: the references it holds.
    holdings: HashMap<Caller, HashMap<ObjectId, u64>>,
    /// The objects served by name (each also held by [`SERVER`]).
    names: HashMap<String, ObjectId>,
}

/// The server itself, as the holder of its named objects: no connection
/// has this number, so they live as long as the server.
const SERVER: Caller = 0;

/// An object the server makes at its start and serves by name.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct NamedSpec {
    pub(crate) name: String,
    pub(crate) type_name: String,
    pub(crate) args: Vec<u8>,
}

impl Table {
    fn hold(&mut self, caller: Caller, object: ObjectId) {
        *self.holdings.entry(caller).or_default().entry(object).or_default() += 1;
    }

    fn take_early(&mut self, token: u64) -> Option<Early> {
        let early = self.early.remove(&token)?;
        if let Some(n) = self.early_count.get_mut(&early.caller) {
            *n = n.saturating_sub(1);
        }
        Some(early)
    }

    /// Records an adoption that waits for its lend, unless its connection
    /// has too many waiting already. Expired ones are dropped, at most once
    /// a second (a scan of them all).
    fn wait_for_lend(&mut self, token: u64, early: Early) {
        let now = early.since;
        if self.early_purged.is_none_or(|at| now.duration_since(at) >= std::time::Duration::from_secs(1)) {
            self.early_purged = Some(now);
            let expired: Vec<u64> = self
                .early
                .iter()
                .filter(|(_, e)| now.duration_since(e.since) >= EARLY_PATIENCE)
                .map(|(t, _)| *t)
                .collect();
            for t in expired {
                self.take_early(t);
            }
        }
        let count = self.early_count.entry(early.caller).or_default();
        if *count >= MAX_EARLY_PER_CALLER || self.early.contains_key(&token) {
            return;
        }
        *count += 1;
        self.early.insert(token, early);
    }

    /// One more reference to `object`, if it exists.
    fn add_ref(&mut self, object: ObjectId) -> bool {
        match self.objects.get_mut(&object) {
            Some(entry) => {
                entry.refs += 1;
                true
            }
            None => false,
        }
    }

    /// `n` references fewer; an object with none left is freed, and so,
    /// in turn, are those only it pinned.
    fn unref(&mut self, object: ObjectId, n: u64) {
        let mut work = vec![(object, n)];
        while let Some((id, n)) = work.pop() {
            let Some(entry) = self.objects.get_mut(&id) else { continue };
            entry.refs = entry.refs.saturating_sub(n);
            if entry.refs == 0 {
                if let Some(entry) = self.objects.remove(&id) {
                    crate::trace::event!(debug, object = id, r#type = %entry.object.type_name(), "freed a manager object");
                    work.extend(entry.pins);
                }
            }
        }
    }
}

/// The state every connection shares.
pub(crate) struct Server {
    table: Mutex<Table>,
    stop: watch::Sender<bool>,
    /// The custom types registered with this server.
    factories: Factories,
}

impl Server {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn create(&self, caller: Caller, type_name: &str, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        let object = match self.factories.get(type_name) {
            Some(make) => make(args)?,
            None => construct(type_name, args)?,
        };
        let mut table = self.table();
        table.next += 1;
        let id = table.next;
        crate::trace::event!(debug, object = id, r#type = %object.type_name(), caller, "made a manager object");
        table.objects.insert(id, Entry { object, refs: 1, pins: HashMap::new() });
        table.hold(caller, id);
        Ok(codec::encode(&id).map_err(|e| RemoteError::BadRequest(e.to_string()))?.0)
    }

    /// Makes the named objects; an error names the one that failed.
    fn make_named(&self, named: &[NamedSpec]) -> Result<(), String> {
        for spec in named {
            if self.table().names.contains_key(&spec.name) {
                return Err(format!("two objects named {:?}", spec.name));
            }
            let reply = self
                .create(SERVER, &spec.type_name, &spec.args)
                .map_err(|e| format!("the object named {:?} could not be made: {e}", spec.name))?;
            let id: ObjectId = decode(&reply).map_err(|e| e.to_string())?;
            self.table().names.insert(spec.name.clone(), id);
        }
        Ok(())
    }

    /// The object served as `name`: one more reference for `caller`, and
    /// `(id, type name)`.
    fn lookup(&self, caller: Caller, name: &str) -> Result<Vec<u8>, RemoteError> {
        let mut table = self.table();
        let id = *table.names.get(name).ok_or_else(|| RemoteError::NoSuchName(name.to_owned()))?;
        let type_name = table.objects.get(&id).map(|e| e.object.type_name()).ok_or(RemoteError::NoSuchObject(id))?;
        table.add_ref(id);
        table.hold(caller, id);
        encode(&(id, type_name))
    }

    fn object(&self, id: ObjectId) -> Result<Arc<dyn Served>, RemoteError> {
        self.table().objects.get(&id).map(|e| e.object.clone()).ok_or(RemoteError::NoSuchObject(id))
    }

    fn lend(&self, object: ObjectId, token: u64) {
        let mut table = self.table();
        if !table.add_ref(object) {
            return;
        }
        match table.take_early(token) {
            // Adopted already: the reference goes straight to the adopter.
            Some(early) if early.object == object => table.hold(early.caller, object),
            _ => {
                table.transit.insert(token, object);
            }
        }
    }

    fn adopt(&self, caller: Caller, object: ObjectId, token: u64) {
        let mut table = self.table();
        match table.transit.remove(&token) {
            Some(lent) if lent == object => table.hold(caller, object),
            // Lent for another object: not this adopter's.
            Some(lent) => {
                table.transit.insert(token, lent);
            }
            // The lend may still be on its way; wait for it, holding
            // nothing. Bounded per connection; old ones expire.
            None => table.wait_for_lend(token, Early { caller, object, since: std::time::Instant::now() }),
        }
    }

    /// `refs` are stored in `object` (see [`Op::Pin`]).
    fn pin(&self, object: ObjectId, refs: Vec<ObjectId>) {
        let mut table = self.table();
        if !table.objects.contains_key(&object) {
            return;
        }
        for r in refs {
            // An object stored in itself would never be freed.
            if r == object || !table.add_ref(r) {
                continue;
            }
            if let Some(entry) = table.objects.get_mut(&object) {
                *entry.pins.entry(r).or_default() += 1;
            }
        }
    }

    /// A proxy read back from a container arrived at `caller` (see
    /// [`Op::Hold`]).
    fn take_ref(&self, caller: Caller, object: ObjectId) {
        let mut table = self.table();
        if table.add_ref(object) {
            table.hold(caller, object);
        }
    }

    fn release(&self, caller: Caller, object: ObjectId) {
        let mut table = self.table();
        let held = table.holdings.get_mut(&caller).and_then(|h| h.get_mut(&object));
        match held {
            Some(n) if *n > 0 => {
                *n -= 1;
                table.unref(object, 1);
            }
            _ => {}
        }
    }

    fn disconnected(&self, caller: Caller) {
        let (held, objects) = {
            let mut table = self.table();
            let held = table.holdings.remove(&caller).unwrap_or_default();
            let objects: Vec<Arc<dyn Served>> = table.objects.values().map(|e| e.object.clone()).collect();
            (held, objects)
        };
        for object in objects {
            object.disconnected(caller);
        }
        crate::trace::event!(
            debug,
            caller,
            held = held.len(),
            "a manager client left; its references and locks are given back"
        );
        let mut table = self.table();
        table.early.retain(|_, e| e.caller != caller);
        table.early_count.remove(&caller);
        for (object, n) in held {
            table.unref(object, n);
        }
    }

    /// How many objects are alive.
    pub(crate) fn object_count(&self) -> usize {
        self.table().objects.len()
    }
}

/// A server's objects: the registered types, and the named objects made
/// at its start (an error if one cannot be made).
pub(crate) fn prepare(factories: Factories, named: &[NamedSpec]) -> Result<Arc<Server>, String> {
    let (stop, _) = watch::channel(false);
    let server = Arc::new(Server { table: Mutex::new(Table::default()), stop, factories });
    server.make_named(named)?;
    Ok(server)
}

/// Serves `listener` until a `Shutdown` request arrives, making the
/// built-in types and those of `server`'s factories. Runs on the current
/// (single-threaded) runtime.
pub(crate) async fn serve(listener: Listener, server: Arc<Server>) {
    let mut stopped = server.stop.subscribe();
    let mut next_caller: Caller = 0;
    loop {
        tokio::select! {
            _ = stopped.changed() => {
                // The objects die with the server, now (their `Drop`s run:
                // a SharedMemoryManager's blocks are unlinked).
                let objects = std::mem::take(&mut server.table().objects);
                drop(objects);
                return;
            }
            accepted = listener.accept() => {
                let conn = match accepted {
                    Ok(conn) => conn,
                    // Out of descriptors (or memory): give the connections
                    // being served a moment to end instead of spinning.
                    Err(AcceptError::Io(e)) if crate::sys::is_out_of_resources(&e) => {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    }
                    // A peer that fails the handshake, or is refused, is its
                    // own problem.
                    Err(_) => continue,
                };
                next_caller += 1;
                tokio::spawn(serve_connection(server.clone(), conn, next_caller));
            }
        }
    }
}

/// Decodes each request in `bytes` (a 16-bit little-endian length, then the
/// request) and applies it to one server's table as its connection would,
/// calls polled once on a runtime of their own (fuzzing: nothing a peer
/// sends may panic the server).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn fuzz_requests(bytes: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let server =
        Server { table: Mutex::new(Table::default()), stop: watch::channel(false).0, factories: Factories::default() };
    let caller = 1;
    runtime.block_on(async {
        let mut rest = bytes;
        while let [lo, hi, tail @ ..] = rest {
            let n = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
            let (frame, after) = tail.split_at(n);
            rest = after;
            let Ok(request) = codec::decode_borrowed::<Request<'_>>(frame) else { continue };
            match request.op {
                Op::Create { type_name, args } => drop(server.create(caller, &type_name, &args)),
                Op::TypeOf { object } => drop(server.object(object).map(|o| o.type_name())),
                Op::Call { object, method, args } => {
                    let Ok(object) = server.object(object) else { continue };
                    if object.call_now(&method, &args, caller).is_none() {
                        let call = object.call(&method, args.into_owned(), caller);
                        let _ = futures::poll!(call);
                    }
                }
                Op::Lend { object, token } => server.lend(object, token),
                Op::Adopt { object, token } => server.adopt(caller + (token & 1), object, token),
                Op::Pin { object, refs } => server.pin(object, refs),
                Op::Hold { object } => server.take_ref(caller, object),
                Op::Release { object } => server.release(caller, object),
                Op::Count => drop(server.object_count()),
                Op::Lookup { name } => drop(server.lookup(caller, &name)),
                Op::Cancel { .. } | Op::More | Op::Shutdown => {}
            }
        }
        server.disconnected(caller);
        server.disconnected(caller + 1);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> Server {
        Server { table: Mutex::new(Table::default()), stop: watch::channel(false).0, factories: Factories::default() }
    }

    fn refs(server: &Server, object: ObjectId) -> Option<u64> {
        server.table().objects.get(&object).map(|e| e.refs)
    }

    #[test]
    fn adoptions_of_tokens_nobody_lent_pin_nothing_and_are_bounded() {
        let s = server();
        s.create(1, "dict", &[]).unwrap();
        for token in 0..100_000 {
            s.adopt(2, 1, token);
        }
        assert_eq!(refs(&s, 1), Some(1), "nothing pinned");
        assert!(s.table().early.len() <= MAX_EARLY_PER_CALLER);
        assert!(s.table().holdings.get(&2).is_none_or(|h| h.is_empty()));
        // The caller goes: its waiting adoptions go with it.
        s.disconnected(2);
        assert!(s.table().early.is_empty());
    }

    #[test]
    fn an_adoption_before_its_lend_gets_the_reference_when_the_lend_comes() {
        let s = server();
        s.create(1, "list", &codec::encode(&Vec::<Vec<u8>>::new()).unwrap().0).unwrap();
        s.adopt(2, 1, 77);
        assert_eq!(refs(&s, 1), Some(1));
        s.lend(1, 77);
        assert_eq!(refs(&s, 1), Some(2));
        assert!(s.table().transit.is_empty() && s.table().early.is_empty());
        // The lender lets go; the adopter still holds it, until it goes too.
        s.release(1, 1);
        assert_eq!(refs(&s, 1), Some(1));
        s.disconnected(2);
        assert_eq!(refs(&s, 1), None);
        // A token lent for one object is not adopted as another.
        s.create(1, "dict", &[]).unwrap();
        s.create(1, "dict", &[]).unwrap();
        s.lend(2, 5);
        s.adopt(3, 3, 5);
        assert_eq!((refs(&s, 2), refs(&s, 3)), (Some(2), Some(1)));
    }

    #[test]
    fn pinned_objects_live_as_long_as_their_container() {
        let s = server();
        for _ in 0..3 {
            s.create(1, "dict", &[]).unwrap();
        }
        // 2 is stored in 1 (twice), 3 in 2, and 1 in itself (ignored).
        s.pin(1, vec![2, 2, 1, 99]);
        s.pin(2, vec![3]);
        s.release(1, 2);
        s.release(1, 3);
        assert_eq!((refs(&s, 2), refs(&s, 3)), (Some(2), Some(1)), "held by their containers");
        s.take_ref(4, 3);
        s.release(1, 1);
        assert_eq!(s.object_count(), 1, "1 freed, then 2 with it; 3 is still held by caller 4");
        s.disconnected(4);
        assert_eq!(s.object_count(), 0);
    }
}

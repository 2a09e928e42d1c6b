//! The built-in managed types: the server-side objects.
//!
//! Values are stored as their encoded bytes: the server never needs the
//! types, only the proxies do (so equal keys are keys whose encodings are
//! equal, which for one key type is equality).

use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use indexmap::IndexMap;
use tokio::sync::Notify;

use super::builtin_sync as sync;
use super::error::RemoteError;
use super::server::{decode, encode, CallFuture, Caller, Served};

type Bytes = Vec<u8>;

/// The built-in types' names (a custom type may not take one).
pub(super) const NAMES: &[&str] = &[
    "dict",
    "list",
    "Namespace",
    "Value",
    "Array",
    "Queue",
    "LifoQueue",
    "PriorityQueue",
    "JoinableQueue",
    "Lock",
    "Event",
    "RLock",
    "Semaphore",
    "BoundedSemaphore",
    "Condition",
    "Barrier",
    "SharedMemoryTracker",
];

/// Makes a built-in object from its type name and encoded arguments.
pub(crate) fn construct(type_name: &str, args: &[u8]) -> Result<Arc<dyn Served>, RemoteError> {
    Ok(match type_name {
        "dict" => Arc::new(Dict::default()),
        "list" => Arc::new(List { items: Mutex::new(decode(args)?), fixed: false }),
        "Namespace" => Arc::new(Namespace::default()),
        "Value" => Arc::new(Value { value: Mutex::new(decode(args)?) }),
        "Queue" | "LifoQueue" | "PriorityQueue" | "JoinableQueue" => {
            let maxsize: u64 = decode(args)?;
            Arc::new(Queue::new(type_name, maxsize as usize))
        }
        "Array" => Arc::new(List { items: Mutex::new(decode(args)?), fixed: true }),
        "Lock" => Arc::new(sync::LockState::new(false)),
        "Event" => Arc::new(Event::default()),
        "RLock" => Arc::new(sync::LockState::new(true)),
        "Semaphore" => Arc::new(sync::Semaphore::new(decode(args)?, false)),
        "BoundedSemaphore" => Arc::new(sync::Semaphore::new(decode(args)?, true)),
        "Condition" => Arc::new(sync::Condition::default()),
        "Barrier" => Arc::new(sync::Barrier::new(decode(args)?)?),
        "SharedMemoryTracker" => Arc::new(BlockTracker::default()),
        other => return Err(RemoteError::NoSuchType(other.to_string())),
    })
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn no_method(type_name: &str, method: &str) -> RemoteError {
    RemoteError::NoSuchMethod { type_name: type_name.to_string(), method: method.to_string() }
}

/// A call that completes at once.
pub(super) fn ready(result: Result<Bytes, RemoteError>) -> CallFuture {
    Box::pin(std::future::ready(result))
}

/// Python's index rules: negative counts from the end.
fn index(i: i64, len: usize) -> Result<usize, RemoteError> {
    let resolved = if i < 0 { i + len as i64 } else { i };
    if resolved < 0 || resolved >= len as i64 {
        return Err(RemoteError::IndexError(format!("index {i} out of range for length {len}")));
    }
    Ok(resolved as usize)
}

/// Waits until `f` gives a value, re-checking it at each notification of
/// `changed`; after `timeout`, gives `f`'s last answer.
pub(super) async fn wait_until<R>(
    changed: &Notify,
    timeout: Option<Duration>,
    mut f: impl FnMut() -> Option<R>,
) -> Option<R> {
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

// ----- dict --------------------------------------------------------------

#[derive(Default)]
struct Dict {
    map: Mutex<IndexMap<Bytes, Bytes>>,
}

impl Served for Dict {
    fn type_name(&self) -> &'static str {
        "dict"
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        ready((|| {
            let mut map = lock(&self.map);
            match method {
                "insert" => {
                    let (k, v): (Bytes, Bytes) = decode(&args)?;
                    encode(&map.insert(k, v))
                }
                "get" => encode(&map.get(&decode::<Bytes>(&args)?)),
                "remove" => match map.shift_remove(&decode::<Bytes>(&args)?) {
                    Some(v) => encode(&v),
                    None => Err(RemoteError::KeyError("key not in dict".into())),
                },
                "pop" => encode(&map.shift_remove(&decode::<Bytes>(&args)?)),
                "contains" => encode(&map.contains_key(&decode::<Bytes>(&args)?)),
                "len" => encode(&(map.len() as u64)),
                "items" => encode(&map.iter().collect::<Vec<_>>()),
                "keys" => encode(&map.keys().collect::<Vec<_>>()),
                "values" => encode(&map.values().collect::<Vec<_>>()),
                // Python's: the last inserted pair; KeyError when empty.
                "popitem" => match map.pop() {
                    Some(pair) => encode(&pair),
                    None => Err(RemoteError::KeyError("popitem(): dictionary is empty".into())),
                },
                "setdefault" => {
                    let (k, default): (Bytes, Bytes) = decode(&args)?;
                    encode(map.entry(k).or_insert(default))
                }
                "update" => {
                    let pairs: Vec<(Bytes, Bytes)> = decode(&args)?;
                    map.extend(pairs);
                    encode(&())
                }
                "clear" => {
                    map.clear();
                    encode(&())
                }
                other => Err(no_method("dict", other)),
            }
        })())
    }
}

// ----- list and Array ----------------------------------------------------

/// A `list`, or (`fixed`) an `Array`: a list whose length never changes.
struct List {
    items: Mutex<Vec<Bytes>>,
    fixed: bool,
}

/// What an `Array` may do: everything that keeps the length.
const ARRAY_METHODS: &[&str] = &["get", "set", "len", "to_vec", "index", "count"];

impl Served for List {
    fn type_name(&self) -> &'static str {
        if self.fixed {
            "Array"
        } else {
            "list"
        }
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        if self.fixed && !ARRAY_METHODS.contains(&method) {
            return ready(Err(no_method("Array", method)));
        }
        ready((|| {
            let mut items = lock(&self.items);
            match method {
                "append" => {
                    items.push(decode(&args)?);
                    encode(&())
                }
                "extend" => {
                    items.extend(decode::<Vec<Bytes>>(&args)?);
                    encode(&())
                }
                "get" => {
                    let i = index(decode(&args)?, items.len())?;
                    encode(&items[i])
                }
                "set" => {
                    let (i, v): (i64, Bytes) = decode(&args)?;
                    let i = index(i, items.len())?;
                    items[i] = v;
                    encode(&())
                }
                "insert" => {
                    let (i, v): (i64, Bytes) = decode(&args)?;
                    // Python's insert clamps the index instead of failing.
                    let len = items.len() as i64;
                    let at = if i < 0 { (i + len).max(0) } else { i.min(len) };
                    items.insert(at as usize, v);
                    encode(&())
                }
                "pop" => {
                    let i: Option<i64> = decode(&args)?;
                    if items.is_empty() {
                        return Err(RemoteError::IndexError("pop from empty list".into()));
                    }
                    let i = index(i.unwrap_or(-1), items.len())?;
                    encode(&items.remove(i))
                }
                "remove" => {
                    let v: Bytes = decode(&args)?;
                    let at = items.iter().position(|x| *x == v);
                    let at = at.ok_or_else(|| RemoteError::ValueError("list.remove(x): x not in list".into()))?;
                    items.remove(at);
                    encode(&())
                }
                "index" => {
                    let v: Bytes = decode(&args)?;
                    let at = items.iter().position(|x| *x == v);
                    encode(&(at.ok_or_else(|| RemoteError::ValueError("value is not in list".into()))? as u64))
                }
                "count" => {
                    let v: Bytes = decode(&args)?;
                    encode(&(items.iter().filter(|x| **x == v).count() as u64))
                }
                "reverse" => {
                    items.reverse();
                    encode(&())
                }
                "len" => encode(&(items.len() as u64)),
                "to_vec" => encode(&*items),
                "clear" => {
                    items.clear();
                    encode(&())
                }
                other => Err(no_method("list", other)),
            }
        })())
    }
}

// ----- Namespace ---------------------------------------------------------

#[derive(Default)]
struct Namespace {
    attrs: Mutex<BTreeMap<String, Bytes>>,
}

impl Served for Namespace {
    fn type_name(&self) -> &'static str {
        "Namespace"
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        ready((|| {
            let mut attrs = lock(&self.attrs);
            match method {
                "get" => {
                    let name: String = decode(&args)?;
                    match attrs.get(&name) {
                        Some(v) => encode(v),
                        None => {
                            Err(RemoteError::AttributeError(format!("'Namespace' object has no attribute {name:?}")))
                        }
                    }
                }
                "set" => {
                    let (name, v): (String, Bytes) = decode(&args)?;
                    attrs.insert(name, v);
                    encode(&())
                }
                "delete" => {
                    let name: String = decode(&args)?;
                    match attrs.remove(&name) {
                        Some(_) => encode(&()),
                        None => {
                            Err(RemoteError::AttributeError(format!("'Namespace' object has no attribute {name:?}")))
                        }
                    }
                }
                "names" => encode(&attrs.keys().collect::<Vec<_>>()),
                other => Err(no_method("Namespace", other)),
            }
        })())
    }
}

// ----- Value -------------------------------------------------------------

struct Value {
    value: Mutex<Bytes>,
}

impl Served for Value {
    fn type_name(&self) -> &'static str {
        "Value"
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        ready((|| match method {
            "get" => encode(&*lock(&self.value)),
            "set" => {
                *lock(&self.value) = decode(&args)?;
                encode(&())
            }
            other => Err(no_method("Value", other)),
        })())
    }
}

// ----- queues ------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Fifo,
    Lifo,
    Priority,
}

/// A priority queue entry: lowest priority first, then first put first.
#[derive(PartialEq, Eq)]
struct Ranked {
    priority: i64,
    seq: u64,
    item: Bytes,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // BinaryHeap is a max-heap: reverse both keys.
        (other.priority, other.seq).cmp(&(self.priority, self.seq))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Default)]
struct Items {
    deque: VecDeque<Bytes>,
    heap: BinaryHeap<Ranked>,
    seq: u64,
    /// Items put and not yet marked done (JoinableQueue).
    unfinished: u64,
}

struct Queue {
    type_name: &'static str,
    order: Order,
    maxsize: usize,
    items: Mutex<Items>,
    changed: Notify,
}

impl Queue {
    fn new(type_name: &str, maxsize: usize) -> Queue {
        let (type_name, order) = match type_name {
            "LifoQueue" => ("LifoQueue", Order::Lifo),
            "PriorityQueue" => ("PriorityQueue", Order::Priority),
            "JoinableQueue" => ("JoinableQueue", Order::Fifo),
            _ => ("Queue", Order::Fifo),
        };
        Queue { type_name, order, maxsize, items: Mutex::new(Items::default()), changed: Notify::new() }
    }

    fn len(items: &Items) -> usize {
        items.deque.len() + items.heap.len()
    }

    fn try_put(&self, item: (i64, Bytes)) -> Result<(), (i64, Bytes)> {
        let mut items = lock(&self.items);
        if self.maxsize > 0 && Queue::len(&items) >= self.maxsize {
            return Err(item);
        }
        let (priority, item) = item;
        if self.order == Order::Priority {
            items.seq += 1;
            let seq = items.seq;
            items.heap.push(Ranked { priority, seq, item });
        } else {
            items.deque.push_back(item);
        }
        items.unfinished += 1;
        drop(items);
        self.changed.notify_waiters();
        Ok(())
    }

    fn try_get(&self) -> Option<(i64, Bytes)> {
        let mut items = lock(&self.items);
        let item = match self.order {
            Order::Fifo => items.deque.pop_front().map(|b| (0, b)),
            Order::Lifo => items.deque.pop_back().map(|b| (0, b)),
            Order::Priority => items.heap.pop().map(|r| (r.priority, r.item)),
        };
        drop(items);
        if item.is_some() {
            self.changed.notify_waiters();
        }
        item
    }

    /// Puts back an item whose getter left before seeing it, where the next
    /// get finds it first.
    fn unget(&self, (priority, item): (i64, Bytes)) {
        let mut items = lock(&self.items);
        match self.order {
            Order::Fifo => items.deque.push_front(item),
            Order::Lifo => items.deque.push_back(item),
            Order::Priority => items.heap.push(Ranked { priority, seq: 0, item }),
        }
        drop(items);
        self.changed.notify_waiters();
    }
}

impl Served for Queue {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        let method = method.to_string();
        Box::pin(async move {
            match method.as_str() {
                // (item, block, timeout)
                "put" => {
                    let (item, block, timeout): ((i64, Bytes), bool, Option<Duration>) = decode(&args)?;
                    let mut item = Some(item);
                    let mut attempt = || match self.try_put(item.take().expect("put once")) {
                        Ok(()) => Some(()),
                        Err(back) => {
                            item = Some(back);
                            None
                        }
                    };
                    let done = if block { wait_until(&self.changed, timeout, attempt).await } else { attempt() };
                    done.map(|()| encode(&())).unwrap_or(Err(RemoteError::Full))
                }
                "get" => {
                    let (block, timeout): (bool, Option<Duration>) = decode(&args)?;
                    let got = if block {
                        wait_until(&self.changed, timeout, || self.try_get()).await
                    } else {
                        self.try_get()
                    };
                    got.map(|item| encode(&item)).unwrap_or(Err(RemoteError::Empty))
                }
                "unget" => {
                    self.unget(decode(&args)?);
                    encode(&())
                }
                "qsize" => encode(&(Queue::len(&lock(&self.items)) as u64)),
                "task_done" => {
                    let mut items = lock(&self.items);
                    if items.unfinished == 0 {
                        return Err(RemoteError::ValueError("task_done() called too many times".into()));
                    }
                    items.unfinished -= 1;
                    drop(items);
                    self.changed.notify_waiters();
                    encode(&())
                }
                "join" => {
                    wait_until(&self.changed, None, || (lock(&self.items).unfinished == 0).then_some(())).await;
                    encode(&())
                }
                other => Err(no_method(self.type_name, other)),
            }
        })
    }
}

// ----- Event -------------------------------------------------------------

#[derive(Default)]
struct Event {
    set: Mutex<bool>,
    changed: Notify,
}

impl Served for Event {
    fn type_name(&self) -> &'static str {
        "Event"
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        let method = method.to_string();
        Box::pin(async move {
            match method.as_str() {
                "set" => {
                    *lock(&self.set) = true;
                    self.changed.notify_waiters();
                    encode(&())
                }
                "clear" => {
                    *lock(&self.set) = false;
                    encode(&())
                }
                "is_set" => encode(&*lock(&self.set)),
                "wait" => {
                    let timeout: Option<Duration> = decode(&args)?;
                    let set = wait_until(&self.changed, timeout, || lock(&self.set).then_some(())).await;
                    encode(&set.is_some())
                }
                other => Err(no_method("Event", other)),
            }
        })
    }
}

// ----- SharedMemoryManager's blocks ---------------------------------------

/// The names of the shared-memory blocks a `SharedMemoryManager` made:
/// unlinked when this object goes (the manager's shutdown, or its last
/// proxy dropped).
#[derive(Default)]
struct BlockTracker {
    names: Mutex<Vec<String>>,
}

impl Served for BlockTracker {
    fn type_name(&self) -> &'static str {
        "SharedMemoryTracker"
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        ready((|| match method {
            "track" => {
                lock(&self.names).push(decode(&args)?);
                encode(&())
            }
            other => Err(no_method("SharedMemoryTracker", other)),
        })())
    }
}

impl Drop for BlockTracker {
    fn drop(&mut self) {
        for name in lock(&self.names).drain(..) {
            // Already unlinked by someone else is fine: it is gone either way.
            if let Ok(block) = crate::shared::SharedMemory::open(&name) {
                let _ = block.unlink();
            }
        }
    }
}

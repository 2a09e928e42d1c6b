//! Queues between processes (Python's `multiprocessing.Queue`), over shared
//! memory.
//!
//! # Implementation notes
//!
//! An item is encoded (serde + bincode; byte payloads such as a `Vec<u8>`
//! as one block, see the crate docs' "How it works") and copied into a byte ring in a
//! shared `memfd` region (see `ring`): one producer at a time writes under
//! the *put* [`Lock`], one consumer at a time reads under the *get* `Lock`,
//! so producers and consumers never wait for each other's critical
//! sections. When `put` returns, the item is in shared memory: no feeder
//! thread, nothing left to flush, and the producer may exit at once. Both
//! locks are robust: a producer or consumer killed inside its critical
//! section has published nothing, and the next one takes the lock over
//! (`OwnerDied`) and carries on. Sleepers wait for wake-one tokens on two
//! eventfds — items arrived, room freed — with the same register-then-
//! recheck protocol as every other wait in the crate.
//!
//! The copies are few: a put whose lock is free encodes the item straight
//! into the ring's free space (bincode writes each piece there; an item
//! that outgrows the space is encoded aside and put from there), and a get
//! of an item of 64 KiB or more decodes it straight out of the ring before
//! consuming its record (smaller items are copied out and decoded after
//! the lock, so consumers decode in parallel). The ring is never borrowed
//! as a slice: every byte moves by a raw copy, as a peer may write it. So
//! are the cache lines an item moves: each process keeps its last reading of
//! HEAD (producers) and TAIL (consumers) and reads the shared word again
//! only when its reading shows no room or no item, and the sleeper counts,
//! read after every put and get, sit on a line only waits write. A lone
//! sleeping consumer is woken by the put that made the ring non-empty, not
//! by every put after it, and a consumer woken by a token that leaves items
//! behind passes a wake-up on (the token may have been meant for another).
//!
//! An item larger than half the ring travels out of line, so it never
//! holds the ring up for others and its size has no bound but memory: the
//! producer writes it into a memfd of its own and seals it against every
//! change, then, under the put lock, numbers it (a shared counter), sends
//! the memfd with its number through a socket every handle of the queue
//! holds, and only then publishes a ring record naming the number. The
//! consumer, under the get lock, finds that record, *peeks* the socket for
//! the memfd (discarding older numbers: memfds of producers killed between
//! the send and the publish), maps it read-only, advances past the record
//! and only then takes the message off the socket. A producer killed at any
//! step has published nothing or everything; a consumer killed at any step
//! leaves the item for the next one or an orphan the next one discards.
//! The socket's buffer, not the ring, bounds how many such items wait.
//!
//! # What this room holds and may use
//!
//! `Queue`, `JoinableQueue` and `SimpleQueue`: putting in `put.rs`, getting
//! in `get.rs`, `JoinableQueue` and `SimpleQueue` in `joinable.rs`, the
//! handle's wire form in `wire.rs`; where the items live behind the seam in
//! `flavor.rs` (the `Flavor` trait, the only view put and get have of the
//! items), whose one flavor is the byte ring of `ring.rs`. A new flavor is
//! a file implementing `Flavor` with its loom model, its region's `Kind`,
//! and the constructor that picks it (see `flavor.rs`). It uses `sync` (its
//! put and get locks), `shm`, `wake`, `codec`, `handle` and `sys`; only the
//! crate root uses it.

mod error;
mod flavor;
mod get;
mod joinable;
mod put;
mod ring;
#[cfg(test)]
mod tests;
mod wire;

use wire::{Parts, le64};

use std::cell::Cell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

pub use error::{GetError, PutError, PutRefused};
pub use joinable::{JoinableQueue, SimpleQueue, TaskDoneError};

use crate::codec;
use crate::loom::{AtomicU32, Ordering};
use crate::shm::{Frozen, Kind, Region};
use crate::sync::{Lock, LockError, LockGuard};
use crate::sys::{self, SocketKind};
use crate::wake::{Sleeper, Spinner, Tokens};
use flavor::{Flavor, Sleepers};
use ring::{Ring, Seen};

/// The ring's size unless [`Queue::with_ring`] says otherwise.
const DEFAULT_RING: usize = 1 << 20;

/// An out-of-line item's record and socket message: its number and length.
const OUT_OF_LINE: usize = 16;
/// Inline items of at least this many encoded bytes are decoded straight
/// out of the ring under the get lock (one copy less); smaller ones are
/// copied out and decoded after it, so consumers decode them in parallel.
const DECODE_IN_RING: usize = 64 << 10;

/// A FIFO queue of `T`s shared by every process holding the handle
/// (Python's `multiprocessing.Queue`).
///
/// `put` and `get` wait (for room, for an item); `try_put` / `try_get`
/// never wait; the `_timeout` forms wait at most so long; the `blocking_`
/// forms are for synchronous code. A refused put hands the item back
/// ([`PutError::into_inner`]). [`close`](Queue::close) ends the queue:
/// later puts fail with `Closed`, consumers drain what is left and then get
/// [`GetError::Closed`] — so consumers can stop without sentinels, for
/// example by reading the queue as a [`Stream`](futures::Stream) ([`Queue::stream`]).
///
/// Items are serde types; handles (an [`Event`](crate::Event), a
/// [`Connection`](crate::Connection)) cannot travel inside queue items (put
/// them in the spawn argument or send them through a `Connection`).
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let q = ipc::Queue::bounded(5)?;
/// let mut producer = ipc::Process::spawn(
///     |q: ipc::Queue<u32>| async move {
///         for i in 0..10 {
///             q.put(i).await.unwrap();
///         }
///         q.close();
///     },
///     q.clone(),
/// )?;
/// let mut sum = 0;
/// while let Ok(i) = q.get().await {
///     sum += i;
/// }
/// assert_eq!(sum, 45);
/// producer.join().await?;
/// # Ok(()) }
/// ```
pub struct Queue<T> {
    inner: Arc<Inner>,
    _item: PhantomData<fn(T) -> T>,
}

struct Inner {
    region: Region,
    capacity: usize,
    parts: Parts,
    spinner: Mutex<Spinner>,
    /// The yielding after the spin of gets waiting for items and puts
    /// waiting for room (see [`Spinner::yielding`]).
    yielder: Mutex<Spinner>,
    /// The encoded length of the last item put through this handle: where
    /// the next is encoded (see [`Outgoing`]).
    last_len: AtomicU32,
    /// This process's last readings of the ring's positions.
    seen: Seen,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue { inner: Arc::clone(&self.inner), _item: PhantomData }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue").field("qsize", &self.qsize()).field("closed", &self.is_closed()).finish()
    }
}

/// Why an item was not put (the caller adds the item back).
enum Refused {
    Full,
    Closed,
    Encode(codec::EncodeError),
    Io(io::Error),
}

impl Refused {
    fn with<T>(self, item: T) -> PutError<T> {
        match self {
            Refused::Full => PutError::Full(item),
            Refused::Closed => PutError::Closed(item),
            Refused::Encode(e) => PutError::Encode(item, e),
            Refused::Io(e) => PutError::Io(item, e),
        }
    }
}

/// An encoded item on its way in.
enum Payload {
    /// Bytes for the ring (a scratch buffer, given back afterwards).
    Inline(Vec<u8>),
    /// A frozen memfd of `len` bytes, for the socket.
    OutOfLine { fd: OwnedFd, len: usize },
}

impl Payload {
    fn len(&self) -> usize {
        match self {
            Payload::Inline(bytes) => bytes.len(),
            Payload::OutOfLine { .. } => OUT_OF_LINE,
        }
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        if let Payload::Inline(bytes) = self {
            give_scratch(std::mem::take(bytes));
        }
    }
}

/// What the first, synchronous try of a put did.
enum First {
    /// Put, or refused for good.
    Done(Result<(), Refused>),
    /// Encoded aside, for the waiting path.
    Aside(Payload),
}

/// A taken item, or its bytes.
enum Got<T> {
    /// The first `len` bytes of the scratch buffer.
    Inline(usize),
    /// An out-of-line item's memfd, mapped.
    OutOfLine(Frozen),
    /// Decoded straight out of the ring.
    Decoded(Result<T, codec::DecodeError>),
}

fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "the queue's shared memory is corrupt")
}

/// Holds a put or get lock. A holder that died inside its critical section
/// published nothing (see `ring`), so the state is consistent as it is.
fn held<'a>(r: Result<LockGuard<'a>, LockError<LockGuard<'a>>>) -> io::Result<LockGuard<'a>> {
    match r {
        Ok(g) => Ok(g),
        Err(LockError::OwnerDied(g)) => {
            g.make_consistent();
            Ok(g)
        }
        Err(LockError::Io(e)) => Err(e),
    }
}

thread_local! {
    /// A buffer for encoding puts and copying gets out of the ring, reused
    /// so that items cost no allocation of their own once it has grown.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Takes this thread's scratch buffer (empty if another wait holds it).
/// Owned, so it may be held across an await and given back elsewhere.
fn take_scratch() -> Vec<u8> {
    SCRATCH.with(Cell::take)
}

/// Gives a scratch buffer back, unless it grew past what is worth keeping
/// per thread (4 MiB: room for 1 MiB items and more). Its bytes stay, stale:
/// a get copies over them without zeroing them first; an encode clears it.
fn give_scratch(buf: Vec<u8>) {
    if buf.capacity() <= 4 << 20 {
        SCRATCH.with(|s| s.set(buf));
    }
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items (Python's `Queue(maxsize)`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a `maxsize` of 0 or above 2^23; an i/o error if
    /// the shared region, locks or eventfds cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::<u8>::bounded(2)?;
    /// assert!(q.is_empty());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "Queue")]
    #[doc(alias = "maxsize")]
    pub fn bounded(maxsize: usize) -> io::Result<Queue<T>> {
        Queue::with_ring(Some(maxsize), DEFAULT_RING)
    }

    /// A queue without a bound on items (Python's `Queue()`); its ring (1 MiB)
    /// still bounds the bytes in flight, so a producer far ahead of its
    /// consumers waits for room (items over 512 KiB travel out of line, see
    /// [`with_ring`](Queue::with_ring)).
    ///
    /// # Errors
    ///
    /// An i/o error if the shared region, locks or eventfds cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::<String>::unbounded()?;
    /// assert!(!q.is_full());
    /// # Ok(()) }
    /// ```
    pub fn unbounded() -> io::Result<Queue<T>> {
        Queue::with_ring(None, DEFAULT_RING)
    }

    /// A queue with at most `maxsize` items (`None`: no bound) and a ring of
    /// `ring_bytes` bytes (rounded up to 8; at least 64, at most 1 GiB).
    /// Items whose encoding takes more than half the ring travel out of
    /// line, in a memfd of their own (a system call or two each, and no
    /// bound on their size but memory): size the ring for the items that
    /// should be fast.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a `maxsize` of 0 or above 2^23, or a ring size out
    /// of range; an i/o error if the region, locks or eventfds cannot be
    /// made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::<Vec<u8>>::with_ring(None, 4 << 10)?; // 4 KiB
    /// q.try_put(vec![1; 100]).unwrap(); // in the ring
    /// q.try_put(vec![2; 1 << 20]).unwrap(); // out of line
    /// assert_eq!(q.try_get().unwrap(), [1; 100]);
    /// assert_eq!(q.try_get().unwrap().len(), 1 << 20);
    /// # Ok(()) }
    /// ```
    pub fn with_ring(maxsize: Option<usize>, ring_bytes: usize) -> io::Result<Queue<T>> {
        let invalid = |what| io::Error::new(io::ErrorKind::InvalidInput, what);
        let maxsize = match maxsize {
            None => 0,
            Some(n) if n == 0 || n > ring::MAX_ITEMS as usize => {
                return Err(invalid("a bounded queue's maxsize must be between 1 and 2^23"));
            }
            Some(n) => n as u32,
        };
        let capacity = ring_bytes.div_ceil(8) * 8;
        if !(64..=ring::MAX_CAPACITY).contains(&capacity) {
            return Err(invalid("a queue's ring must hold between 64 bytes and 1 GiB"));
        }
        let region = Region::new(Kind::Queue, ring::words_for(capacity))?;
        // Relaxed: written before the handle exists anywhere else.
        region.word(ring::MAXSIZE).store(maxsize, Ordering::Relaxed);
        region.word(ring::CAPACITY).store(capacity as u32, Ordering::Relaxed);
        let (ool_tx, ool_rx) = sys::socketpair(SocketKind::SeqPacket)?;
        let parts = Parts {
            put_lock: Lock::new()?,
            get_lock: Lock::new()?,
            not_empty: Tokens::new()?,
            not_full: Tokens::new()?,
            ool_tx,
            ool_rx,
        };
        Ok(Queue::from_parts(region, capacity, parts))
    }

    fn from_parts(region: Region, capacity: usize, parts: Parts) -> Queue<T> {
        let inner = Inner {
            region,
            capacity,
            parts,
            spinner: Mutex::new(Spinner::default()),
            yielder: Mutex::new(Spinner::yielding()),
            last_len: AtomicU32::new(0),
            seen: Seen::default(),
        };
        Queue { inner: Arc::new(inner), _item: PhantomData }
    }

    /// Whether an encoded item of `len` bytes travels out of line.
    fn out_of_line(&self, len: usize) -> bool {
        ring::record_size(len) > self.inner.capacity / 2
    }

    /// The largest encoded item that travels inline.
    fn max_inline(&self) -> usize {
        (self.inner.capacity / 2).saturating_sub(ring::record_size(0)) & !7
    }

    /// Where the items live, as the one view put and get have of it.
    fn flavor(&self) -> impl Flavor<Seen = Seen> + '_ {
        Ring { region: &self.inner.region, capacity: self.inner.capacity }
    }

    /// The number of items in the queue now (exact, unlike Python's).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::unbounded()?;
    /// q.try_put("a").unwrap();
    /// assert_eq!(q.qsize(), 1);
    /// # Ok(()) }
    /// ```
    pub fn qsize(&self) -> usize {
        self.flavor().len() as usize
    }

    /// Whether the queue holds no items.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert!(ipc::Queue::<u8>::unbounded()?.is_empty());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "empty")]
    pub fn is_empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether the queue holds `maxsize` items (never, for an unbounded one).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::bounded(1)?;
    /// q.try_put(1u8).unwrap();
    /// assert!(q.is_full());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "full")]
    pub fn is_full(&self) -> bool {
        let maxsize = self.flavor().maxsize();
        maxsize != 0 && self.flavor().len() >= maxsize
    }

    /// Whether [`close`](Queue::close) was called (by any process).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::<u8>::unbounded()?;
    /// q.close();
    /// assert!(q.is_closed());
    /// # Ok(()) }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.flavor().is_closed()
    }

    /// Closes the queue for every process: later puts fail with
    /// [`PutError::Closed`] (waiting ones too), consumers take what is left
    /// and then get [`GetError::Closed`]. Closing twice does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::unbounded()?;
    /// q.try_put(1u8).unwrap();
    /// q.close();
    /// assert!(q.try_put(2).unwrap_err().is_closed());
    /// assert_eq!(q.try_get().unwrap(), 1);
    /// assert!(matches!(q.try_get(), Err(ipc::GetError::Closed)));
    /// # Ok(()) }
    /// ```
    pub fn close(&self) {
        // Under the put lock, so every put that succeeded did so before the
        // close, and a consumer that sees the close sees those items. The
        // lock is held only for a copy, so the wait is short; if it cannot
        // be taken at all (an i/o error), closing goes ahead regardless.
        let _guard = held(self.inner.parts.put_lock.blocking_lock());
        if self.flavor().close() {
            let flavor = self.flavor();
            self.inner.parts.not_empty.post(Sleeper::claim(flavor.sleepers(Sleepers::Get), u32::MAX));
            self.inner.parts.not_full.post(Sleeper::claim(flavor.sleepers(Sleepers::Put), u32::MAX));
        }
    }
}

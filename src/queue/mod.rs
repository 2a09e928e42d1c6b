//! Queues between processes (Python's `multiprocessing.Queue`), over shared
//! memory.
//!
//! # Implementation notes
//!
//! An item is encoded (serde + bincode) and copied into a byte ring in a
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
//! `Queue`, `JoinableQueue` and `SimpleQueue`, over the ring in `ring.rs`: it
//! uses `sync` (its put and get locks), `shm`, `wake`, `codec`, `handle` and
//! `sys`; only the crate root uses it.

mod error;
mod joinable;
mod ring;

use std::cell::Cell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use error::{GetError, PutError, PutRefused};
pub use joinable::{JoinableQueue, SimpleQueue, TaskDoneError};

use crate::codec::{self, Sunk};
use crate::handle::{DeFd, SerFd};
use crate::loom::{AtomicU32, Ordering};
use crate::shm::{Frozen, Kind, Region};
use crate::sync::{Lock, LockError, LockGuard};
use crate::sys::{self, Interest, SocketKind};
use crate::wake::{self, Also, Async, Blocking, Park, Recheck, Sleeper, Spinner, Step, Tokens, Wait, Wakeup, Woke};
use ring::{Front, Push, Ring, Seen, Tag};

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
/// example by reading the queue as a [`Stream`] ([`Queue::stream`]).
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

/// What a get's look at the ring found (see `Queue::look`).
enum Look<T> {
    /// An item (or its bytes).
    Got(Got<T>),
    /// Nothing yet, but the queue was just seen closed: look once more.
    Retry,
    /// Nothing: wait for an item (or a close).
    Wait,
}

/// A wake-up token a consumer took: passed on ([`Queue::pass_wake_on`])
/// when the consumer has looked at the ring, and also if its get is
/// cancelled before that, so that the token is never lost with it.
struct Baton<'q, T>(&'q Queue<T>);

impl<T> Drop for Baton<'_, T> {
    fn drop(&mut self) {
        self.0.pass_wake_on();
    }
}

/// A waiting put's step in the wait engine: room for its payload (or a
/// close) to look again at.
struct Room<'q, T> {
    queue: &'q Queue<T>,
    payload: &'q Payload,
}

impl<T> Step for Room<'_, T> {
    type Output = ();

    fn attempt(&mut self) -> Option<()> {
        self.queue.room_or_closed(self.payload)
    }

    fn recheck(&mut self, woke: Woke) -> io::Result<Recheck<'_, ()>> {
        if woke == Woke::Token {
            return Ok(Recheck::Done(()));
        }
        Ok(self.attempt().map_or(Recheck::Sleep(Also::Nothing), Recheck::Done))
    }
}

/// A waiting get's step in the wait engine: items (or a close) to look at;
/// `woken` if it took a wake-up token, which it must pass on.
struct Items<'q, T> {
    queue: &'q Queue<T>,
    woken: bool,
}

impl<T> Step for Items<'_, T> {
    type Output = ();

    fn attempt(&mut self) -> Option<()> {
        self.queue.items_or_closed()
    }

    fn recheck(&mut self, woke: Woke) -> io::Result<Recheck<'_, ()>> {
        if woke == Woke::Token {
            self.woken = true;
            return Ok(Recheck::Done(()));
        }
        Ok(self.attempt().map_or(Recheck::Sleep(Also::Nothing), Recheck::Done))
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
                return Err(invalid("a bounded queue's maxsize must be between 1 and 2^23"))
            }
            Some(n) => n as u32,
        };
        let capacity = ring_bytes.div_ceil(8) * 8;
        if !(64..=ring::MAX_CAPACITY).contains(&capacity) {
            return Err(invalid("a queue's ring must hold between 64 bytes and 1 GiB"));
        }
        let region = Region::new(Kind::Queue, Ring::words_for(capacity))?;
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

    fn ring(&self) -> Ring<'_> {
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
        self.ring().len() as usize
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
        let maxsize = self.ring().maxsize();
        maxsize != 0 && self.ring().len() >= maxsize
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
        self.ring().is_closed()
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
        if self.ring().close() {
            let ring = self.ring();
            self.inner.parts.not_empty.post(Sleeper::count(ring.region.word(ring::GET_SLEEPERS)));
            self.inner.parts.not_full.post(Sleeper::count(ring.region.word(ring::PUT_SLEEPERS)));
        }
    }

    /// Puts a payload under a held put lock.
    fn push_locked(&self, payload: &Payload) -> Result<(), Refused> {
        let ring = self.ring();
        if ring.is_closed() {
            return Err(Refused::Closed);
        }
        let pushed = match payload {
            Payload::Inline(bytes) => ring.push(bytes, Tag::Inline),
            Payload::OutOfLine { fd, len } => {
                // Room for the record first: once the memfd is sent, the
                // record must follow (only consumers run meanwhile, and they
                // only free room).
                if !ring.fits(OUT_OF_LINE) {
                    return Err(Refused::Full);
                }
                let seq = ring.next_out_of_line();
                let mut record = [0u8; OUT_OF_LINE];
                record[..8].copy_from_slice(&seq.to_le_bytes());
                record[8..].copy_from_slice(&(*len as u64).to_le_bytes());
                match sys::send_with_fds(self.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(&record)], &[fd.as_fd()]) {
                    Ok(_) => {}
                    // The socket's buffer is full of items nobody took yet.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(Refused::Full),
                    Err(e) => return Err(Refused::Io(e)),
                }
                ring.push(&record, Tag::OutOfLine)
            }
        };
        match pushed {
            Push::Done { wake } => {
                if wake {
                    self.inner.parts.not_empty.post(1);
                }
                Ok(())
            }
            Push::Full => Err(Refused::Full),
            // Out-of-line items are what would not fit; a record that still
            // does not means the shared words were changed under us.
            Push::TooLarge => Err(Refused::Io(corrupt())),
        }
    }

    /// Peeks the socket for out-of-line item `seq`'s memfd, discarding
    /// older messages (orphans) and garbage; `None` if it is not there.
    fn peek_out_of_line(&self, seq: u64) -> io::Result<Option<OwnedFd>> {
        let mut msg = [0u8; OUT_OF_LINE];
        let mut fds = Vec::new();
        loop {
            fds.clear();
            match sys::recv_now(self.inner.parts.ool_rx.as_fd(), &mut msg, true, &mut fds) {
                Ok(n) if n == OUT_OF_LINE && fds.len() == 1 && le64(&msg[..8]) >= seq => {
                    return Ok((le64(&msg[..8]) == seq).then(|| fds.remove(0)));
                }
                // An orphan or garbage.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {}
                Err(e) => return Err(e),
            }
            self.discard_out_of_line()?;
        }
    }

    /// Takes the socket's first message off it.
    fn discard_out_of_line(&self) -> io::Result<()> {
        let mut msg = [0u8; OUT_OF_LINE];
        match sys::recv_now(self.inner.parts.ool_rx.as_fd(), &mut msg, false, &mut Vec::new()) {
            Err(e) if e.kind() != io::ErrorKind::InvalidData => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether a waiting producer of `payload` should look again.
    fn room_or_closed(&self, payload: &Payload) -> Option<()> {
        let ring = self.ring();
        let room = ring.fits(payload.len())
            && match payload {
                Payload::Inline(_) => true,
                Payload::OutOfLine { .. } => {
                    sys::poll_fd(self.inner.parts.ool_tx.as_fd(), Interest::Write, Some(Duration::ZERO)).unwrap_or(true)
                }
            };
        (ring.is_closed() || room).then_some(())
    }

    /// Whether a waiting consumer should look again.
    fn items_or_closed(&self) -> Option<()> {
        (self.ring().len() > 0 || self.ring().is_closed()).then_some(())
    }

    /// Puts an encoded item, waiting for room until `park`'s deadline
    /// (`Refused::Full` when it passes). The put lock is waited for without
    /// the deadline: it is held only for a copy.
    async fn put_payload<P: Park>(&self, payload: &Payload, park: &mut P) -> Result<(), Refused> {
        let wait = Wait {
            sleepers: self.ring().region.word(ring::PUT_SLEEPERS),
            spinner: Some(&self.inner.spinner),
            wakeup: Wakeup::Tokens(&self.inner.parts.not_full),
        };
        loop {
            {
                let _guard = held(self.inner.parts.put_lock.lock_like(park).await).map_err(Refused::Io)?;
                match self.push_locked(payload) {
                    Err(Refused::Full) => {}
                    done => return done,
                }
            }
            if wake::wait(park, &wait, &mut Room { queue: self, payload }).await.map_err(Refused::Io)?.is_none() {
                return Err(Refused::Full);
            }
        }
    }

    /// After a consumer woken by a token looked at the ring (or was
    /// cancelled before it could): if items are left and consumers sleep,
    /// one of them is woken. Puts wake a lone sleeping
    /// consumer only as the ring becomes non-empty (see `Ring::publish`), and
    /// that token may have been taken by another consumer that looked at
    /// the empty ring just before; passing it on whenever items are left
    /// means a consumer never sleeps beside items with no token coming.
    fn pass_wake_on(&self) {
        let ring = self.ring();
        if ring.len() > 0 && Sleeper::count(ring.region.word(ring::GET_SLEEPERS)) > 0 {
            self.inner.parts.not_empty.post(1);
        }
    }
}

impl<T: Serialize> Queue<T> {
    /// Encodes `item` straight into the ring's free space under a held put
    /// lock and publishes it. `Refused::Full` when it did not fit there
    /// (nothing was published; the caller encodes it aside).
    fn push_in_place(&self, item: &T) -> Result<(), Refused> {
        let ring = self.ring();
        if ring.is_closed() {
            return Err(Refused::Closed);
        }
        // Relaxed: a guess at the size, nothing more.
        let hint = self.inner.last_len.load(Ordering::Relaxed) as usize;
        let Some(mut space) = ring.reserve(hint, self.max_inline(), &self.inner.seen) else {
            return Err(Refused::Full);
        };
        match codec::encode_with(item, |bytes| ring.write_in(&mut space, bytes)) {
            Ok(Sunk::All) => {}
            Ok(Sunk::Stopped) => return Err(Refused::Full),
            Err(e) => return Err(Refused::Encode(e)),
        }
        self.remember_len(space.len());
        if ring.commit(space, Tag::Inline) {
            self.inner.parts.not_empty.post(1);
        }
        Ok(())
    }

    fn remember_len(&self, len: usize) {
        // Relaxed: a guess at the next item's size (see `push_in_place`).
        self.inner.last_len.store(u32::try_from(len).unwrap_or(u32::MAX), Ordering::Relaxed);
    }

    /// The first try of a put, synchronous so that no borrow of the item
    /// lives across an await (a put's future needs only `T: Send`): if the
    /// put lock is free (one compare-exchange) and the last item travelled
    /// inline, the item is encoded straight into the ring's free space (one
    /// copy, no scratch buffer); otherwise, or when it did not fit there,
    /// it is encoded aside, outside the lock, and put from there by the
    /// waiting path.
    fn first_try(&self, item: &T) -> First {
        // Relaxed: as in `push_in_place`.
        if self.inner.last_len.load(Ordering::Relaxed) as usize <= self.max_inline() {
            // Only a free lock: looking after a holder costs system calls,
            // and the waiting path below does it.
            let guard = match self.inner.parts.put_lock.try_lock_free().map(held).transpose() {
                Ok(guard) => guard,
                Err(e) => return First::Done(Err(Refused::Io(e))),
            };
            if let Some(_guard) = guard {
                match self.push_in_place(item) {
                    Err(Refused::Full) => {}
                    done => return First::Done(done),
                }
            }
        }
        match self.encode(item) {
            Ok(payload) => First::Aside(payload),
            Err(refused) => First::Done(Err(refused)),
        }
    }

    /// Encodes `item` into a scratch buffer, or out of line if it is large.
    fn encode(&self, item: &T) -> Result<Payload, Refused> {
        let mut bytes = take_scratch();
        bytes.clear();
        let fds = match codec::encode_into(item, &mut bytes) {
            Ok(fds) => fds,
            Err(e) => {
                give_scratch(bytes);
                return Err(Refused::Encode(e));
            }
        };
        if !fds.is_empty() {
            give_scratch(bytes);
            return Err(Refused::Encode(codec::EncodeError("handles cannot travel inside queue items".into())));
        }
        self.remember_len(bytes.len());
        if !self.out_of_line(bytes.len()) {
            return Ok(Payload::Inline(bytes));
        }
        let fd = Frozen::create(&bytes);
        let len = bytes.len();
        give_scratch(bytes);
        Ok(Payload::OutOfLine { fd: fd.map_err(Refused::Io)?, len })
    }

    /// Puts `item` at the back, waiting for room if the queue is full.
    /// When it returns, the item is in shared memory: this process may exit
    /// at once and the item is still delivered.
    ///
    /// # Errors
    ///
    /// The item comes back inside every error: [`PutError::Closed`],
    /// [`PutError::Encode`], [`PutError::Io`] (outside a tokio runtime, or
    /// no memory for a large item).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the item is published only in the step that returns, so
    /// a dropped put published nothing (and the item is dropped with it).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let q = ipc::Queue::bounded(3)?;
    /// q.put(String::from("hello")).await?;
    /// assert_eq!(q.get().await?, "hello");
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_in(item, &mut Async::new()).await
    }

    /// Puts `item` if there is room now (Python's `put_nowait`).
    ///
    /// # Errors
    ///
    /// [`PutError::Full`] with the item if there is no room; otherwise as
    /// [`put`](Queue::put).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::bounded(1)?;
    /// q.try_put('a').unwrap();
    /// assert!(q.try_put('b').unwrap_err().is_full());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "put_nowait")]
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        self.blocking_put_until(item, Some(Instant::now()))
    }

    /// [`put`](Queue::put) waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`PutError::Full`] with the item if the time ran out; otherwise as
    /// [`put`](Queue::put).
    ///
    /// # Cancel safety
    ///
    /// As [`put`](Queue::put).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// use std::time::Duration;
    /// let q = ipc::Queue::bounded(1)?;
    /// q.put(1u8).await?;
    /// let refused = q.put_timeout(2, Duration::from_millis(5)).await.unwrap_err();
    /// assert_eq!(refused.into_inner(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_in(item, &mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`put`](Queue::put), for synchronous code.
    ///
    /// # Errors
    ///
    /// As [`put`](Queue::put) (an i/o error only from the operating system).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let q = ipc::Queue::bounded(1)?;
    /// q.blocking_put(7u64)?;
    /// assert_eq!(q.blocking_get()?, 7);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "put")]
    pub fn blocking_put(&self, item: T) -> Result<(), PutError<T>> {
        self.blocking_put_until(item, None)
    }

    /// Blocking form of [`put_timeout`](Queue::put_timeout).
    ///
    /// # Errors
    ///
    /// As [`put_timeout`](Queue::put_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::bounded(1)?;
    /// q.try_put(1u8).unwrap();
    /// assert!(q.blocking_put_timeout(2, std::time::Duration::from_millis(5)).unwrap_err().is_full());
    /// # Ok(()) }
    /// ```
    pub fn blocking_put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.blocking_put_until(item, crate::deadline::after(timeout))
    }

    fn blocking_put_until(&self, item: T, deadline: Option<Instant>) -> Result<(), PutError<T>> {
        wake::blocking(self.put_in(item, &mut Blocking::until(deadline)))
    }

    /// Puts `item`, waiting for room until `park`'s deadline.
    async fn put_in<P: Park>(&self, item: T, park: &mut P) -> Result<(), PutError<T>> {
        let payload = match self.first_try(&item) {
            First::Done(done) => return done.map_err(|r| r.with(item)),
            First::Aside(payload) => payload,
        };
        let put = self.put_payload(&payload, park).await;
        put.map_err(|r| r.with(item))
    }
}

impl<T: DeserializeOwned> Queue<T> {
    /// Takes the front item under a held get lock: `Ok(None)` when empty.
    /// A large item is decoded straight out of the ring, here, before its
    /// record is consumed; a smaller one is copied into `buf` and decoded
    /// after the lock is released.
    fn pop_locked(&self, buf: &mut Vec<u8>) -> Result<Option<Got<T>>, GetError> {
        let ring = self.ring();
        let (tag, at, len, next) = match ring.front(&self.inner.seen) {
            Front::Empty => return Ok(None),
            Front::Corrupt => return Err(GetError::Corrupt),
            Front::Record { tag, at, len, next } => (tag, at, len, next),
        };
        let got = match tag {
            Tag::Inline if len >= DECODE_IN_RING => {
                // A `Deserialize` that panics still consumes its item, as it
                // would decoding after the lock: the next get must not meet
                // the same record and panic again.
                let decode = || codec::decode_with(len, |from, dst| ring.read_payload(at, from, dst));
                let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode));
                if decoded.is_err() && ring.advance(next) {
                    self.inner.parts.not_full.post(1);
                }
                Got::Decoded(decoded.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            }
            Tag::Inline => {
                if buf.len() < len {
                    buf.resize(len, 0);
                }
                if !ring.read_payload(at, 0, &mut buf[..len]) {
                    return Err(GetError::Corrupt);
                }
                Got::Inline(len)
            }
            Tag::OutOfLine => return self.pop_out_of_line(at, len, next).map(Some),
        };
        if ring.advance(next) {
            self.inner.parts.not_full.post(1);
        }
        Ok(Some(got))
    }

    /// Takes the out-of-line item whose record is at the front (its payload
    /// at ring offset `at`) under a held get lock.
    fn pop_out_of_line(&self, at: usize, len: usize, next: u64) -> Result<Got<T>, GetError> {
        let ring = self.ring();
        let mut record = [0u8; OUT_OF_LINE];
        let record = (len == OUT_OF_LINE && ring.read_payload(at, 0, &mut record)).then_some(record);
        let Some((seq, size)) = record.map(|r| (le64(&r[..8]), le64(&r[8..]))) else {
            ring.advance(next);
            return Err(GetError::Corrupt);
        };
        let Some(fd) = self.peek_out_of_line(seq)? else {
            // Its memfd is gone (taken by a hostile peer): skip the record.
            ring.advance(next);
            return Err(GetError::Corrupt);
        };
        let frozen = match usize::try_from(size).map_err(|_| corrupt()).and_then(|size| Frozen::map(&fd, size)) {
            Ok(frozen) => frozen,
            // Out of memory to map it: the item stays for another try.
            Err(e) if e.kind() != io::ErrorKind::InvalidData => return Err(GetError::Io(e)),
            // Not what a producer of ours sends: skip record and message.
            Err(_) => {
                ring.advance(next);
                let _ = self.discard_out_of_line();
                return Err(GetError::Corrupt);
            }
        };
        ring.advance(next);
        // Only now off the socket (a consumer killed before this leaves an
        // orphan the next one discards), and only then wake a producer that
        // may be waiting for the socket's buffer.
        let _ = self.discard_out_of_line();
        if ring.producers_asleep() {
            self.inner.parts.not_full.post(1);
        }
        Ok(Got::OutOfLine(frozen))
    }

    /// One look at the ring under the held get `guard` (released before
    /// returning): the front item, taken; then the wake-up this get took,
    /// if any, passed on. Finding nothing after a close, one more look
    /// (puts before the close are visible once it is seen), then
    /// [`GetError::Closed`].
    fn look(
        &self,
        guard: LockGuard<'_>,
        buf: &mut Vec<u8>,
        woken: &mut Option<Baton<'_, T>>,
        saw_closed: &mut bool,
    ) -> Result<Look<T>, GetError> {
        let popped = self.pop_locked(buf);
        drop(woken.take());
        drop(guard);
        if let Some(got) = popped? {
            Ok(Look::Got(got))
        } else if *saw_closed {
            Err(GetError::Closed)
        } else if self.ring().is_closed() {
            *saw_closed = true;
            Ok(Look::Retry)
        } else {
            Ok(Look::Wait)
        }
    }

    /// Takes an item's bytes (into `buf`, if they were inline), waiting
    /// until `park`'s deadline (`GetError::Empty` when it passes). The get
    /// lock is waited for without the deadline: it is held only for a copy.
    async fn get_bytes<P: Park>(&self, buf: &mut Vec<u8>, park: &mut P) -> Result<Got<T>, GetError> {
        let wait = Wait {
            sleepers: self.ring().region.word(ring::GET_SLEEPERS),
            spinner: Some(&self.inner.spinner),
            wakeup: Wakeup::Tokens(&self.inner.parts.not_empty),
        };
        let (mut saw_closed, mut woken) = (false, None);
        loop {
            let guard = held(self.inner.parts.get_lock.lock_like(park).await)?;
            match self.look(guard, buf, &mut woken, &mut saw_closed)? {
                Look::Got(got) => return Ok(got),
                Look::Retry => continue,
                Look::Wait => {}
            }
            let mut step = Items { queue: self, woken: false };
            if wake::wait(park, &wait, &mut step).await?.is_none() {
                return Err(GetError::Empty);
            }
            // A token taken is passed on once this get has looked (or if it
            // is dropped before): it may have been meant for another.
            if step.woken {
                woken = Some(Baton(self));
            }
        }
    }

    /// Decodes a taken item and gives the scratch buffer back.
    fn decode(buf: Vec<u8>, got: Result<Got<T>, GetError>) -> Result<T, GetError> {
        let item = got.and_then(|got| match got {
            Got::Inline(len) => Ok(codec::decode(&buf[..len], Vec::new())?),
            Got::OutOfLine(frozen) => Ok(codec::decode(frozen.bytes(), Vec::new())?),
            Got::Decoded(item) => Ok(item?),
        });
        give_scratch(buf);
        item
    }

    /// Takes the item at the front, waiting for one if the queue is empty.
    ///
    /// # Errors
    ///
    /// [`GetError::Closed`] once the queue is closed and drained;
    /// [`GetError::Decode`], [`GetError::Corrupt`], [`GetError::Io`]
    /// (outside a tokio runtime).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item is taken only in the step that returns it, so a
    /// dropped get took nothing, and a wake-up meant for it goes to another
    /// consumer.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let q = ipc::Queue::unbounded()?;
    /// q.put((1, 'x')).await?;
    /// assert_eq!(q.get().await?, (1, 'x'));
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> Result<T, GetError> {
        self.get_in(&mut Async::new()).await
    }

    /// Takes an item if there is one now (Python's `get_nowait`).
    ///
    /// # Errors
    ///
    /// [`GetError::Empty`] if there is none; otherwise as
    /// [`get`](Queue::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::<u8>::unbounded()?;
    /// assert!(matches!(q.try_get(), Err(ipc::GetError::Empty)));
    /// # Ok(()) }
    /// ```
    #[doc(alias = "get_nowait")]
    pub fn try_get(&self) -> Result<T, GetError> {
        self.blocking_get_until(Some(Instant::now()))
    }

    /// [`get`](Queue::get) waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`GetError::Empty`] if the time ran out; otherwise as
    /// [`get`](Queue::get).
    ///
    /// # Cancel safety
    ///
    /// As [`get`](Queue::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let q = ipc::Queue::<u8>::unbounded()?;
    /// let none = q.get_timeout(std::time::Duration::from_millis(5)).await;
    /// assert!(matches!(none, Err(ipc::GetError::Empty)));
    /// # Ok(()) }
    /// ```
    pub async fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_in(&mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`get`](Queue::get).
    ///
    /// # Errors
    ///
    /// As [`get`](Queue::get) (an i/o error only from the operating system).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let q = ipc::Queue::unbounded()?;
    /// q.try_put(vec![1, 2]).unwrap();
    /// assert_eq!(q.blocking_get()?, vec![1, 2]);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "get")]
    pub fn blocking_get(&self) -> Result<T, GetError> {
        self.blocking_get_until(None)
    }

    /// Blocking form of [`get_timeout`](Queue::get_timeout).
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](Queue::get_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let q = ipc::Queue::<u8>::unbounded()?;
    /// assert!(q.blocking_get_timeout(std::time::Duration::from_millis(5)).is_err());
    /// # Ok(()) }
    /// ```
    pub fn blocking_get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.blocking_get_until(crate::deadline::after(timeout))
    }

    fn blocking_get_until(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        wake::blocking(self.get_in(&mut Blocking::until(deadline)))
    }

    /// Takes an item, waiting until `park`'s deadline.
    async fn get_in<P: Park>(&self, park: &mut P) -> Result<T, GetError> {
        let mut buf = take_scratch();
        let got = self.get_bytes(&mut buf, park).await;
        Queue::decode(buf, got)
    }

    /// The queue as a [`Stream`] of items that ends when the queue is
    /// closed and drained (an error other than `Closed` is an item of the
    /// stream).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// use futures::StreamExt;
    /// let q = ipc::Queue::unbounded()?;
    /// for i in 0..3u8 {
    ///     q.put(i).await?;
    /// }
    /// q.close();
    /// let items: Vec<u8> = q.stream().map(|r| r.unwrap()).collect().await;
    /// assert_eq!(items, [0, 1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn stream(&self) -> impl Stream<Item = Result<T, GetError>> + Send + Unpin + 'static
    where
        T: Send + 'static,
    {
        // Boxed, so the stream is `Unpin` and `next()` needs no pinning.
        Box::pin(futures::stream::unfold(self.clone(), |q| async move {
            match q.get().await {
                Err(GetError::Closed) => None,
                item => Some((item, q)),
            }
        }))
    }
}

#[derive(Serialize)]
struct WireRef<'a> {
    put_lock: &'a Lock,
    get_lock: &'a Lock,
    capacity: u32,
    region: SerFd<'a>,
    not_empty: SerFd<'a>,
    not_full: SerFd<'a>,
    ool_tx: SerFd<'a>,
    ool_rx: SerFd<'a>,
}

#[derive(Deserialize)]
struct Wire {
    put_lock: Lock,
    get_lock: Lock,
    capacity: u32,
    region: DeFd,
    not_empty: DeFd,
    not_full: DeFd,
    ool_tx: DeFd,
    ool_rx: DeFd,
}

/// What a queue is made of besides its region.
struct Parts {
    put_lock: Lock,
    get_lock: Lock,
    /// Items arrived (consumers sleep here).
    not_empty: Tokens,
    /// Room freed (producers sleep here).
    not_full: Tokens,
    /// Out-of-line items' memfds travel from `ool_tx` to `ool_rx` (the two
    /// ends of one socket pair, which every handle holds).
    ool_tx: OwnedFd,
    ool_rx: OwnedFd,
}

fn le64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(b)
}

/// A queue serializes as a handle: its region, locks and eventfds travel
/// out of band.
impl<T> Serialize for Queue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let inner = &*self.inner;
        WireRef {
            put_lock: &inner.parts.put_lock,
            get_lock: &inner.parts.get_lock,
            capacity: inner.capacity as u32,
            region: SerFd(inner.region.fd()),
            not_empty: SerFd(inner.parts.not_empty.fd()),
            not_full: SerFd(inner.parts.not_full.fd()),
            ool_tx: SerFd(inner.parts.ool_tx.as_fd()),
            ool_rx: SerFd(inner.parts.ool_rx.as_fd()),
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let capacity = wire.capacity as usize;
        if capacity % 8 != 0 || !(64..=ring::MAX_CAPACITY).contains(&capacity) {
            return Err(D::Error::custom("a queue handle with an invalid ring size"));
        }
        let region =
            Region::from_fd(wire.region.0, Kind::Queue, Ring::words_for(capacity)).map_err(D::Error::custom)?;
        // Relaxed: written before the handle was shared.
        if region.word(ring::CAPACITY).load(Ordering::Relaxed) != wire.capacity {
            return Err(D::Error::custom("a queue handle whose ring size disagrees with its region"));
        }
        if sys::socket_kind(wire.ool_tx.0.as_fd()) != SocketKind::SeqPacket
            || sys::socket_kind(wire.ool_rx.0.as_fd()) != SocketKind::SeqPacket
        {
            return Err(D::Error::custom("a queue handle whose out-of-line sockets are not packet sockets"));
        }
        let parts = Parts {
            put_lock: wire.put_lock,
            get_lock: wire.get_lock,
            not_empty: Tokens::from_fd(wire.not_empty.0),
            not_full: Tokens::from_fd(wire.not_full.0),
            ool_tx: wire.ool_tx.0,
            ool_rx: wire.ool_rx.0,
        };
        Ok(Queue::from_parts(region, capacity, parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends what a producer sends before publishing out-of-line item `seq`.
    fn send_out_of_line(q: &Queue<Vec<u8>>, seq: u64, bytes: &[u8]) {
        let fd = Frozen::create(bytes).unwrap();
        let mut msg = [0u8; OUT_OF_LINE];
        msg[..8].copy_from_slice(&seq.to_le_bytes());
        msg[8..].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        sys::send_with_fds(q.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(&msg)], &[fd.as_fd()]).unwrap();
    }

    fn socket_is_empty(q: &Queue<Vec<u8>>) -> bool {
        let e = sys::recv_now(q.inner.parts.ool_rx.as_fd(), &mut [0; 16], true, &mut Vec::new()).unwrap_err();
        e.kind() == io::ErrorKind::WouldBlock
    }

    #[test]
    fn orphans_and_garbage_on_the_socket_are_skipped() {
        let q = Queue::<Vec<u8>>::with_ring(None, 256).unwrap();
        // A producer killed between its send and its publish leaves an
        // orphan with a number no record names.
        let orphan = q.ring().next_out_of_line();
        send_out_of_line(&q, orphan, &[9; 500]);
        // A hostile peer's junk: wrong size, no descriptor.
        sys::send_with_fds(q.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(b"junk")], &[]).unwrap();
        q.try_put(vec![5; 1000]).unwrap();
        q.try_put(vec![6; 10]).unwrap();
        assert_eq!(q.try_get().unwrap(), [5; 1000]);
        assert_eq!(q.try_get().unwrap(), [6; 10]);
        assert!(socket_is_empty(&q), "orphan, junk and item all off the socket");
    }

    #[test]
    fn a_record_whose_memfd_is_gone_is_corrupt_and_skipped() {
        let q = Queue::<Vec<u8>>::with_ring(None, 256).unwrap();
        q.try_put(vec![1; 1000]).unwrap();
        q.discard_out_of_line().unwrap();
        q.try_put(vec![2; 1000]).unwrap();
        assert!(matches!(q.try_get(), Err(GetError::Corrupt)));
        assert_eq!(q.try_get().unwrap(), [2; 1000], "the queue goes on after the lost item");
        assert!(q.is_empty() && socket_is_empty(&q));
    }

    #[test]
    fn a_memfd_that_is_not_frozen_or_too_short_is_refused() {
        let q = Queue::<Vec<u8>>::with_ring(None, 256).unwrap();
        // A record claiming more bytes than its memfd holds.
        let seq = q.ring().next_out_of_line();
        let fd = Frozen::create(&[0; 100]).unwrap();
        let mut msg = [0u8; OUT_OF_LINE];
        msg[..8].copy_from_slice(&seq.to_le_bytes());
        msg[8..].copy_from_slice(&(1u64 << 40).to_le_bytes());
        sys::send_with_fds(q.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(&msg)], &[fd.as_fd()]).unwrap();
        assert!(matches!(q.ring().push(&msg, Tag::OutOfLine), Push::Done { .. }));
        assert!(matches!(q.try_get(), Err(GetError::Corrupt)));
        // A writable (unsealed) memfd could change under the reader.
        let seq = q.ring().next_out_of_line();
        let fd = sys::memfd_sealed(c"unsealed", 4096).unwrap();
        msg[..8].copy_from_slice(&seq.to_le_bytes());
        msg[8..].copy_from_slice(&100u64.to_le_bytes());
        sys::send_with_fds(q.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(&msg)], &[fd.as_fd()]).unwrap();
        assert!(matches!(q.ring().push(&msg, Tag::OutOfLine), Push::Done { .. }));
        assert!(matches!(q.try_get(), Err(GetError::Corrupt)));
        assert!(q.is_empty() && socket_is_empty(&q));
    }

    #[test]
    fn a_full_socket_makes_producers_wait_like_a_full_ring() {
        // Out-of-line items nobody takes fill the socket's buffer: then
        // `try_put` is `Full`, and a waiting put goes on once one is taken.
        // Strings, which serde copies as one block (a fast debug build).
        let q = Queue::<String>::with_ring(None, 64 << 10).unwrap();
        let item = |i: u32| format!("{i:>40000}");
        let mut n = 0;
        loop {
            match q.try_put(item(n)) {
                Ok(()) => n += 1,
                Err(PutError::Full(_)) => break,
                Err(e) => panic!("expected Full, got {e:?}"),
            }
            assert!(n < 100_000, "the socket never filled");
        }
        assert!(q.qsize() == n as usize && n > 10, "{n} items before the socket filled");
        let producer = std::thread::spawn({
            let q = q.clone();
            move || q.blocking_put_timeout(item(n), Duration::from_secs(30))
        });
        std::thread::sleep(Duration::from_millis(20));
        for i in 0..=n {
            assert_eq!(q.blocking_get_timeout(Duration::from_secs(30)).unwrap(), item(i));
        }
        producer.join().unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_get_cancelled_after_its_wake_up_passes_the_wake_up_on() {
        let q = Queue::<u32>::unbounded().unwrap();
        let ring = q.ring();
        // Another consumer, asleep elsewhere (only its registration matters).
        let _other = Sleeper::register(ring.region.word(ring::GET_SLEEPERS));
        let getter = tokio::spawn({
            let q = q.clone();
            async move { q.get().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await; // asleep by now
                                                              // The woken get will wait for the get lock held here.
        let lock = q.inner.parts.get_lock.clone();
        let held = tokio::task::spawn_blocking(move || {
            let _guard = lock.blocking_lock().unwrap();
            std::thread::sleep(Duration::from_millis(400));
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        q.try_put(1).unwrap(); // two sleepers: a token, taken by the get
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(Sleeper::count(ring.region.word(ring::GET_SLEEPERS)), 1, "the get woke");
        q.try_put(2).unwrap(); // one sleeper and an item before: no token
        assert!(!q.inner.parts.not_empty.try_take().unwrap());
        getter.abort(); // cancelled while waiting for the lock
        assert!(getter.await.unwrap_err().is_cancelled());
        assert!(q.inner.parts.not_empty.try_take().unwrap(), "the other consumer has its wake-up");
        held.await.unwrap();
        assert_eq!(q.qsize(), 2);
    }
}

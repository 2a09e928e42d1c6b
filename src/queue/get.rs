//! Getting: looking at the ring under the get lock, waiting for items,
//! passing a taken wake-up on.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use futures::Stream;
use serde::de::DeserializeOwned;

use super::flavor::{Flavor, Front, Sleepers, Tag};
use super::{DECODE_IN_RING, GetError, Got, OUT_OF_LINE, Queue, corrupt, give_scratch, held, le64, take_scratch};
use crate::codec;
use crate::shm::Frozen;
use crate::sync::LockGuard;
use crate::sys;
use crate::wake::{self, Also, Async, Blocking, Park, Recheck, Sleeper, Step, Wait, Wakeup, Woke};

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

impl<T: DeserializeOwned> Queue<T> {
    /// Takes the front item under a held get lock: `Ok(None)` when empty.
    /// A large item is decoded straight out of the ring, here, before its
    /// record is consumed; a smaller one is copied into `buf` and decoded
    /// after the lock is released.
    fn pop_locked(&self, buf: &mut Vec<u8>) -> Result<Option<Got<T>>, GetError> {
        let flavor = self.flavor();
        let (tag, at, len, next) = match flavor.front(&self.inner.seen) {
            Front::Empty => return Ok(None),
            Front::Corrupt => return Err(GetError::Corrupt),
            Front::Record { tag, at, len, next } => (tag, at, len, next),
        };
        let got = match tag {
            Tag::Inline if len >= DECODE_IN_RING => {
                // A `Deserialize` that panics still consumes its item, as it
                // would decoding after the lock: the next get must not meet
                // the same record and panic again.
                let decode = || codec::decode_with(len, |from, dst| flavor.read_payload(at, from, dst));
                let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode));
                if decoded.is_err() {
                    self.advance(next);
                }
                Got::Decoded(decoded.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            }
            Tag::Inline => {
                if buf.len() < len {
                    buf.resize(len, 0);
                }
                if !flavor.read_payload(at, 0, &mut buf[..len]) {
                    return Err(GetError::Corrupt);
                }
                Got::Inline(len)
            }
            Tag::OutOfLine => return self.pop_out_of_line(at, len, next).map(Some),
        };
        self.advance(next);
        Ok(Some(got))
    }

    /// Takes the out-of-line item whose record is at the front (its payload
    /// at ring offset `at`) under a held get lock.
    fn pop_out_of_line(&self, at: usize, len: usize, next: u64) -> Result<Got<T>, GetError> {
        let flavor = self.flavor();
        let mut record = [0u8; OUT_OF_LINE];
        let record = (len == OUT_OF_LINE && flavor.read_payload(at, 0, &mut record)).then_some(record);
        let Some((seq, size)) = record.map(|r| (le64(&r[..8]), le64(&r[8..]))) else {
            self.advance(next);
            return Err(GetError::Corrupt);
        };
        let Some(fd) = self.peek_out_of_line(seq)? else {
            // Its memfd is gone (taken by a hostile peer): skip the record.
            self.advance(next);
            return Err(GetError::Corrupt);
        };
        let frozen = match usize::try_from(size).map_err(|_| corrupt()).and_then(|size| Frozen::map(&fd, size)) {
            Ok(frozen) => frozen,
            // Out of memory to map it: the item stays for another try.
            Err(e) if e.kind() != io::ErrorKind::InvalidData => return Err(GetError::Io(e)),
            // Not what a producer of ours sends: skip record and message.
            Err(_) => {
                self.advance(next);
                let _ = self.discard_out_of_line();
                return Err(GetError::Corrupt);
            }
        };
        let wake = flavor.advance(next);
        // Only now off the socket (a consumer killed before this leaves an
        // orphan the next one discards), and only then wake a producer that
        // may be waiting for the socket's buffer.
        let _ = self.discard_out_of_line();
        if wake {
            self.inner.parts.not_full.post(1);
        }
        Ok(Got::OutOfLine(frozen))
    }

    /// Consumes the front record, waking a producer that sleeps for room.
    fn advance(&self, next: u64) {
        if self.flavor().advance(next) {
            self.inner.parts.not_full.post(1);
        }
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
        } else if self.flavor().is_closed() {
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
        let flavor = self.flavor();
        let wait = Wait {
            sleepers: flavor.sleepers(Sleepers::Get),
            spinner: Some(&self.inner.spinner),
            yielder: Some(&self.inner.yielder),
            wakeup: Wakeup::Tokens(&self.inner.parts.not_empty),
        };
        let (mut saw_closed, mut woken) = (false, None);
        loop {
            // The free lock without the wait's future, as most gets find it.
            let guard = match self.inner.parts.get_lock.try_lock_free() {
                Some(locked) => held(locked)?,
                None => held(self.inner.parts.get_lock.lock_brief(park).await)?,
            };
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
        // One look outside the wait's future when the get lock is free,
        // which finds the item for most gets (the future costs a measured
        // ~30 ns an item); anything else is the full get.
        if let Some(locked) = self.inner.parts.get_lock.try_lock_free() {
            let mut buf = take_scratch();
            let look = held(locked)
                .map_err(GetError::from)
                .and_then(|guard| self.look(guard, &mut buf, &mut None, &mut false));
            match look {
                Ok(Look::Got(got)) => return Queue::decode(buf, Ok(got)),
                Ok(Look::Retry | Look::Wait) => give_scratch(buf),
                Err(e) => return Queue::decode(buf, Err(e)),
            }
        }
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
    pub fn stream(&self) -> impl Stream<Item = Result<T, GetError>> + Send + Unpin + 'static + use<T>
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

impl<T> Queue<T> {
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
    pub(super) fn discard_out_of_line(&self) -> io::Result<()> {
        let mut msg = [0u8; OUT_OF_LINE];
        match sys::recv_now(self.inner.parts.ool_rx.as_fd(), &mut msg, false, &mut Vec::new()) {
            Err(e) if e.kind() != io::ErrorKind::InvalidData => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether a waiting consumer should look again.
    fn items_or_closed(&self) -> Option<()> {
        (self.flavor().len() > 0 || self.flavor().is_closed()).then_some(())
    }

    /// After a consumer woken by a token looked at the ring (or was
    /// cancelled before it could): if items are left and consumers sleep,
    /// one of them is woken. Puts wake each sleeping consumer once (see
    /// `Ring::publish`), and that token may have been taken by another
    /// consumer that looked at the empty ring just before; passing one on
    /// whenever items are left means a consumer never sleeps beside items
    /// with no token coming.
    fn pass_wake_on(&self) {
        let flavor = self.flavor();
        if flavor.len() > 0 && Sleeper::claim(flavor.sleepers(Sleepers::Get), 1) > 0 {
            self.inner.parts.not_empty.post(1);
        }
    }
}

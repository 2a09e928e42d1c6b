//! Putting: the first try in place, encoding aside, waiting for room.

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::flavor::{Flavor, Push, Sleepers, Tag};
use super::{First, OUT_OF_LINE, Payload, PutError, Queue, Refused, corrupt, give_scratch, held, take_scratch};
use crate::codec::{self, Sunk};
use crate::loom::Ordering;
use crate::shm::Frozen;
use crate::sys::{self, Interest};
use crate::wake::{self, Also, Async, Blocking, Park, Recheck, Step, Wait, Wakeup, Woke};

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

impl<T: Serialize> Queue<T> {
    /// Encodes `item` straight into the ring's free space under a held put
    /// lock and publishes it. `Refused::Full` when it did not fit there
    /// (nothing was published; the caller encodes it aside).
    fn push_in_place(&self, item: &T) -> Result<(), Refused> {
        let flavor = self.flavor();
        if flavor.is_closed() {
            return Err(Refused::Closed);
        }
        // Relaxed: a guess at the size, nothing more.
        let hint = self.inner.last_len.load(Ordering::Relaxed) as usize;
        let Some(mut space) = flavor.reserve(hint, self.max_inline(), &self.inner.seen) else {
            return Err(Refused::Full);
        };
        match codec::encode_with(item, |bytes| flavor.write_in(&mut space, bytes)) {
            Ok(Sunk::All) => {}
            Ok(Sunk::Stopped) => return Err(Refused::Full),
            Err(e) => return Err(Refused::Encode(e)),
        }
        self.remember_len(flavor.written(&space));
        if flavor.commit(space, Tag::Inline) {
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
        // The first try outside the wait's future, which most puts need
        // no more than (the future costs a measured ~30 ns an item).
        let payload = match self.first_try(&item) {
            First::Done(done) => return done.map_err(|r| r.with(item)),
            First::Aside(payload) => payload,
        };
        let put = wake::blocking(self.put_payload(&payload, &mut Blocking::until(deadline)));
        put.map_err(|r| r.with(item))
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

impl<T> Queue<T> {
    /// Puts a payload under a held put lock.
    fn push_locked(&self, payload: &Payload) -> Result<(), Refused> {
        let flavor = self.flavor();
        if flavor.is_closed() {
            return Err(Refused::Closed);
        }
        let pushed = match payload {
            Payload::Inline(bytes) => flavor.push(bytes, Tag::Inline),
            Payload::OutOfLine { fd, len } => {
                // Room for the record first: once the memfd is sent, the
                // record must follow (only consumers run meanwhile, and they
                // only free room).
                if !flavor.fits(OUT_OF_LINE) {
                    return Err(Refused::Full);
                }
                let seq = flavor.next_out_of_line();
                let mut record = [0u8; OUT_OF_LINE];
                record[..8].copy_from_slice(&seq.to_le_bytes());
                record[8..].copy_from_slice(&(*len as u64).to_le_bytes());
                match sys::send_with_fds(self.inner.parts.ool_tx.as_fd(), &[io::IoSlice::new(&record)], &[fd.as_fd()]) {
                    Ok(_) => {}
                    // The socket's buffer is full of items nobody took yet.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(Refused::Full),
                    Err(e) => return Err(Refused::Io(e)),
                }
                flavor.push(&record, Tag::OutOfLine)
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

    /// Whether a waiting producer of `payload` should look again.
    fn room_or_closed(&self, payload: &Payload) -> Option<()> {
        let flavor = self.flavor();
        let room = flavor.fits(payload.len())
            && match payload {
                Payload::Inline(_) => true,
                Payload::OutOfLine { .. } => {
                    sys::poll_fd(self.inner.parts.ool_tx.as_fd(), Interest::Write, Some(Duration::ZERO)).unwrap_or(true)
                }
            };
        (flavor.is_closed() || room).then_some(())
    }

    /// Puts an encoded item, waiting for room until `park`'s deadline
    /// (`Refused::Full` when it passes). The put lock is waited for without
    /// the deadline: it is held only for a copy.
    async fn put_payload<P: Park>(&self, payload: &Payload, park: &mut P) -> Result<(), Refused> {
        let flavor = self.flavor();
        let wait = Wait {
            sleepers: flavor.sleepers(Sleepers::Put),
            spinner: Some(&self.inner.spinner),
            yielder: Some(&self.inner.yielder),
            wakeup: Wakeup::Tokens(&self.inner.parts.not_full),
        };
        loop {
            {
                // The free lock without the wait's future, as most puts find it.
                let _guard = match self.inner.parts.put_lock.try_lock_free() {
                    Some(locked) => held(locked),
                    None => held(self.inner.parts.put_lock.lock_brief(park).await),
                }
                .map_err(Refused::Io)?;
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
}

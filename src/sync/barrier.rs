//! [`Barrier`]: a meeting point for a fixed number of parties across
//! processes (Python's `multiprocessing.Barrier`).
//!
//! # Implementation notes
//!
//! One 64-bit state word holds the round's arrival count (low 32 bits), a
//! broken flag (bit 32) and the round number (the 31 bits above). Arriving
//! is a compare-exchange that bumps the count; the party that completes the
//! round, and `reset`, first *claim* the transition by setting the count to
//! `parties` (other arrivals wait the few instructions until it is done),
//! record the round's outcome in a 64-round history word (bit `round % 64`:
//! broken or not), then move to the next round. Waiters sleep on a
//! [`Doorbell`] until the round number moves (then the history tells them
//! how their round ended) or the broken flag appears. A waiter can be lapped
//! by up to 63 rounds before its outcome is overwritten. `abort`, a timeout
//! and a cancelled wait set the broken flag: every waiter of the round gets
//! [`SyncError::BrokenBarrier`], as do later arrivals until `reset`.
//!
//! The protocol lives in `sync::raw::barrier_word`, where loom checks it.
//!
//! Python's `action` callable is not supported: run the action in the
//! party whose [`wait`](Barrier::wait) returned 0.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::SyncError;
use super::raw::barrier_word::{BarrierWord, Left, round};
use super::wire;
use crate::loom::{AtomicU32, Ordering};
use crate::shm::{Kind, Region};
use crate::wake::{self, Also, Async, Blocking, Doorbell, Park, Recheck, Step, Wait, Wakeup, Woke};

const STATE: usize = 0;
const PARTIES: usize = 2;
const SLEEPERS: usize = 3;
const HISTORY: usize = 4;
const WORDS: usize = 6;

/// A barrier for `parties` processes or tasks, shared by every process
/// holding the handle (Python's `multiprocessing.Barrier`).
///
/// Each [`wait`](Barrier::wait) returns once `parties` waits have arrived,
/// with an index in `0..parties` different for each (exactly one gets 0 per
/// round). A party that times out, or whose wait is cancelled, breaks the
/// barrier for all: the others get [`SyncError::BrokenBarrier`], as does
/// every later wait until [`reset`](Barrier::reset).
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let barrier = ipc::Barrier::new(2)?;
/// let mut child = ipc::Process::spawn(
///     |b: ipc::Barrier| async move { b.wait().await.unwrap() },
///     barrier.clone(),
/// )?;
/// let mine = barrier.wait().await?;
/// let theirs = child.join().await?;
/// assert_eq!(mine + theirs, 1); // one got 0, the other 1
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Barrier {
    inner: Arc<Inner>,
}

struct Inner {
    region: Region,
    bell: Doorbell,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.is_broken())
            .finish()
    }
}

impl Barrier {
    /// A barrier for `parties` parties.
    ///
    /// # Errors
    ///
    /// [`SyncError::Invalid`] for 0 parties (Python's `ValueError`), or above
    /// `u32::MAX - 1`; an i/o error if the region or eventfd cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let b = ipc::Barrier::new(3)?;
    /// assert_eq!(b.parties(), 3);
    /// assert!(ipc::Barrier::new(0).is_err());
    /// # Ok(()) }
    /// ```
    pub fn new(parties: u32) -> Result<Barrier, SyncError> {
        if parties == 0 || parties == u32::MAX {
            return Err(SyncError::Invalid("a barrier needs between 1 and u32::MAX - 1 parties"));
        }
        let region = Region::new(Kind::Barrier, WORDS)?;
        region.word(PARTIES).store(parties, Ordering::Relaxed);
        Ok(Barrier { inner: Arc::new(Inner { region, bell: Doorbell::new()? }) })
    }

    fn word(&self) -> BarrierWord<'_> {
        BarrierWord {
            state: self.inner.region.word64(STATE),
            history: self.inner.region.word64(HISTORY),
            sleepers: self.sleepers(),
            parties: self.parties(),
        }
    }

    fn sleepers(&self) -> &AtomicU32 {
        self.inner.region.word(SLEEPERS)
    }

    /// The number of parties.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// assert_eq!(ipc::Barrier::new(4)?.parties(), 4);
    /// # Ok(()) }
    /// ```
    pub fn parties(&self) -> u32 {
        // Relaxed: written once before the handle was shared.
        self.inner.region.word(PARTIES).load(Ordering::Relaxed)
    }

    /// How many parties are waiting in the current round.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// assert_eq!(ipc::Barrier::new(2)?.n_waiting(), 0);
    /// # Ok(()) }
    /// ```
    pub fn n_waiting(&self) -> u32 {
        self.word().n_waiting()
    }

    /// Whether the barrier is broken.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let b = ipc::Barrier::new(2)?;
    /// b.abort();
    /// assert!(b.is_broken());
    /// b.reset();
    /// assert!(!b.is_broken());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "broken")]
    pub fn is_broken(&self) -> bool {
        self.word().is_broken()
    }

    fn ring_if(&self, ring: bool) {
        if ring {
            self.inner.bell.ring();
        }
    }

    /// Arrives: the round state we arrived in, and our index.
    fn arrive(&self) -> Result<(u64, u32), SyncError> {
        let arrival = self.word().arrive().ok_or(SyncError::BrokenBarrier)?;
        self.ring_if(arrival.ring);
        Ok((arrival.arrived, arrival.index))
    }

    /// Whether the round `arrived` has ended, and how.
    fn outcome(&self, arrived: u64) -> Option<Left> {
        self.word().outcome(arrived)
    }

    /// Breaks the barrier: every waiter of the current round, and every later
    /// wait until [`reset`](Barrier::reset), gets
    /// [`SyncError::BrokenBarrier`] (Python's `abort()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let b = ipc::Barrier::new(2)?;
    /// b.abort();
    /// assert!(matches!(b.wait().await, Err(ipc::SyncError::BrokenBarrier)));
    /// # Ok(()) }
    /// ```
    pub fn abort(&self) {
        self.break_round(None);
    }

    /// Sets the broken flag, but only in round `only` if given (a party
    /// leaving its own round must not break a later one).
    fn break_round(&self, only: Option<u64>) {
        self.ring_if(self.word().break_round(only));
    }

    /// Returns the barrier to its initial state: waiting parties get
    /// [`SyncError::BrokenBarrier`], later waits start a fresh round
    /// (Python's `reset()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let b = ipc::Barrier::new(1)?;
    /// b.abort();
    /// b.reset();
    /// assert_eq!(b.blocking_wait()?, 0);
    /// # Ok(()) }
    /// ```
    pub fn reset(&self) {
        self.ring_if(self.word().reset());
    }

    /// Waits for the other parties; returns this party's index.
    ///
    /// # Errors
    ///
    /// [`SyncError::BrokenBarrier`] if the barrier is or becomes broken
    /// (or is reset) before the round completes; [`SyncError::Io`] outside a
    /// tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// Dropping a wait before its round completes breaks the barrier for
    /// everyone (like a timeout in Python), so the others never wait for a
    /// party that left. A wait dropped after its round completed changes
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let b = ipc::Barrier::new(2)?;
    /// let other = tokio::spawn({
    ///     let b = b.clone();
    ///     async move { b.wait().await }
    /// });
    /// let i = b.wait().await?;
    /// assert_eq!(i + other.await.unwrap()?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) -> Result<u32, SyncError> {
        self.wait_in(&mut Async::new()).await
    }

    /// [`wait`](Barrier::wait) until `park`'s deadline, which breaks the
    /// barrier.
    async fn wait_in<P: Park>(&self, park: &mut P) -> Result<u32, SyncError> {
        let (arrived, index) = self.arrive()?;
        let mut party = Party { barrier: self, arrived, done: false };
        // No spin: a barrier's wait is as long as its slowest party.
        let wait =
            Wait { sleepers: self.sleepers(), spinner: None, yielder: None, wakeup: Wakeup::Bell(&self.inner.bell) };
        let left = wake::wait(park, &wait, &mut Outcome { barrier: self, arrived }).await?;
        // Timed out (`None`), the party breaks the round as it drops.
        party.done = left.is_some();
        match left {
            Some(Left::Passed) => Ok(index),
            Some(Left::Broken) | None => Err(SyncError::BrokenBarrier),
        }
    }

    /// [`wait`](Barrier::wait) for at most `timeout`; running out of time
    /// breaks the barrier for everyone, as in Python.
    ///
    /// # Errors
    ///
    /// As [`wait`](Barrier::wait); a timeout is
    /// [`SyncError::BrokenBarrier`].
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](Barrier::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let b = ipc::Barrier::new(2)?;
    /// let alone = b.wait_timeout(std::time::Duration::from_millis(5)).await;
    /// assert!(matches!(alone, Err(ipc::SyncError::BrokenBarrier)));
    /// assert!(b.is_broken());
    /// # Ok(()) }
    /// ```
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<u32, SyncError> {
        self.wait_in(&mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`wait`](Barrier::wait).
    ///
    /// # Errors
    ///
    /// As [`wait`](Barrier::wait) (an i/o error only from the operating
    /// system).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let b = ipc::Barrier::new(2)?;
    /// let t = std::thread::spawn({
    ///     let b = b.clone();
    ///     move || b.blocking_wait()
    /// });
    /// let i = b.blocking_wait()?;
    /// assert_eq!(i + t.join().unwrap()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait(&self) -> Result<u32, SyncError> {
        wake::blocking(self.wait_in(&mut Blocking::new()))
    }

    /// Blocking form of [`wait_timeout`](Barrier::wait_timeout).
    ///
    /// # Errors
    ///
    /// As [`wait_timeout`](Barrier::wait_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let b = ipc::Barrier::new(2)?;
    /// assert!(b.blocking_wait_timeout(std::time::Duration::from_millis(5)).is_err());
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> Result<u32, SyncError> {
        wake::blocking(self.wait_in(&mut Blocking::timeout(timeout)))
    }
}

/// The barrier's step in the wait engine: how the party's round ended.
struct Outcome<'a> {
    barrier: &'a Barrier,
    arrived: u64,
}

impl Step for Outcome<'_> {
    type Output = Left;

    fn attempt(&mut self) -> Option<Left> {
        self.barrier.outcome(self.arrived)
    }

    fn recheck(&mut self, _: Woke) -> io::Result<Recheck<'_, Left>> {
        Ok(self.attempt().map_or(Recheck::Sleep(Also::Nothing), Recheck::Done))
    }
}

/// An arrived party; leaving before its round ends breaks the round.
struct Party<'a> {
    barrier: &'a Barrier,
    arrived: u64,
    done: bool,
}

impl Drop for Party<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.barrier.break_round(Some(round(self.arrived)));
        }
    }
}

/// A barrier serializes as a handle: its region and eventfd travel out of
/// band.
impl Serialize for Barrier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        wire::serialize(&self.inner.region, self.inner.bell.fd(), serializer)
    }
}

impl<'de> Deserialize<'de> for Barrier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (region, bell) = wire::deserialize(deserializer, Kind::Barrier, WORDS)?;
        let parties = region.word(PARTIES).load(Ordering::Relaxed);
        if parties == 0 || parties == u32::MAX {
            return Err(D::Error::custom("a barrier handle with an invalid number of parties"));
        }
        Ok(Barrier { inner: Arc::new(Inner { region, bell: Doorbell::from_fd(bell) }) })
    }
}

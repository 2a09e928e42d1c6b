//! [`Event`]: a flag that processes wait for (Python's `multiprocessing.Event`).
//!
//! # Implementation notes
//!
//! Two words in a shared region: `STATE` holds the flag in bit 0 and a
//! generation in the bits above it, bumped by every `set` that raises the
//! flag; `SLEEPERS` counts waiters registered to be woken. A waiter returns
//! when the flag is up *or the generation moved* since it began, so a
//! `set` immediately followed by `clear` still releases everyone who was
//! waiting, as the contract says. Waiters sleep on a [`Doorbell`]: a `set`
//! rings it once and every sleeper re-checks; nothing is consumed, so no
//! waiter can take another's wake-up. The wait/wake protocol is the one in
//! [`crate::wake`]; the words' protocol is `sync::raw::event_word`, where
//! loom checks it.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::raw::event_word::EventWord;
use super::wire;
use crate::shm::{Kind, Region};
use crate::wake::{self, Also, Async, Blocking, Doorbell, Park, Recheck, Spinner, Step, Wait, Wakeup, Woke};

const STATE: usize = 0;
const SLEEPERS: usize = 1;
const WORDS: usize = 2;

/// A flag shared by every process holding the handle: [`set`](Event::set)
/// raises it and wakes every waiter in every process,
/// [`clear`](Event::clear) lowers it, [`wait`](Event::wait) waits for it.
///
/// Cloning an `Event` gives another handle to the same flag; passing one to a
/// child process (as, or inside, the spawn argument) or through a
/// [`Connection`](crate::Connection) does too.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let go = ipc::Event::new()?;
/// let mut child = ipc::Process::spawn(
///     |go: ipc::Event| async move {
///         go.wait().await.unwrap();
///         String::from("released")
///     },
///     go.clone(),
/// )?;
/// assert!(!go.is_set());
/// go.set();
/// assert_eq!(child.join().await?, "released");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Event {
    inner: Arc<Inner>,
}

struct Inner {
    region: Region,
    bell: Doorbell,
    /// Learns whether spinning before sleeping pays, per process.
    spinner: Mutex<Spinner>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("is_set", &self.is_set()).finish()
    }
}

impl Event {
    /// A new event, not set.
    ///
    /// # Errors
    ///
    /// An i/o error if the shared region or the eventfd cannot be made (out
    /// of memory or descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let e = ipc::Event::new()?;
    /// assert!(!e.is_set());
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<Event> {
        Ok(Event::from_parts(Region::new(Kind::Event, WORDS)?, Doorbell::new()?))
    }

    fn from_parts(region: Region, bell: Doorbell) -> Event {
        Event { inner: Arc::new(Inner { region, bell, spinner: Mutex::new(Spinner::default()) }) }
    }

    fn word(&self) -> EventWord<'_> {
        EventWord { state: self.inner.region.word(STATE), sleepers: self.inner.region.word(SLEEPERS) }
    }

    /// Whether the flag is up.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let e = ipc::Event::new()?;
    /// e.set();
    /// assert!(e.is_set());
    /// # Ok(()) }
    /// ```
    pub fn is_set(&self) -> bool {
        self.word().is_set()
    }

    /// Raises the flag and wakes every process and task waiting for it.
    /// Setting a set event does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let e = ipc::Event::new()?;
    /// e.set();
    /// e.set();
    /// assert!(e.blocking_wait_timeout(std::time::Duration::ZERO)?);
    /// # Ok(()) }
    /// ```
    pub fn set(&self) {
        if self.word().set() {
            self.inner.bell.ring();
        }
    }

    /// Lowers the flag. Waiters that were waiting when it was last set have
    /// been released regardless.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let e = ipc::Event::new()?;
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// # Ok(()) }
    /// ```
    pub fn clear(&self) {
        self.word().clear();
    }

    /// Waits until the flag is up (returns at once if it is).
    ///
    /// # Errors
    ///
    /// An i/o error if the wait cannot be registered with the runtime (called
    /// outside a tokio runtime).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped wait unregisters itself and consumed nothing,
    /// so the other waiters are unaffected.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let e = ipc::Event::new()?;
    /// let waiter = tokio::spawn({
    ///     let e = e.clone();
    ///     async move { e.wait().await }
    /// });
    /// e.set();
    /// waiter.await.unwrap()?;
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) -> io::Result<()> {
        self.wait_in(&mut Async::new()).await.map(drop)
    }

    /// [`wait`](Event::wait) until `park`'s deadline: whether the flag was
    /// raised.
    async fn wait_in<P: Park>(&self, park: &mut P) -> io::Result<bool> {
        let word = self.word();
        let wait = Wait {
            sleepers: word.sleepers,
            spinner: Some(&self.inner.spinner),
            yielder: None,
            wakeup: Wakeup::Bell(&self.inner.bell),
        };
        let start = word.begin();
        Ok(wake::wait(park, &wait, &mut Raised { word, start }).await?.is_some())
    }

    /// [`wait`](Event::wait) for at most `timeout`: `true` if the flag was
    /// raised, `false` on timeout (Python's `wait(timeout)`).
    ///
    /// # Errors
    ///
    /// As [`wait`](Event::wait).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](Event::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let e = ipc::Event::new()?;
    /// assert!(!e.wait_timeout(Duration::from_millis(5)).await?);
    /// e.set();
    /// assert!(e.wait_timeout(Duration::from_millis(5)).await?);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "wait")]
    pub async fn wait_timeout(&self, timeout: Duration) -> io::Result<bool> {
        self.wait_in(&mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`wait`](Event::wait), for synchronous code.
    ///
    /// # Errors
    ///
    /// An i/o error from the operating system while waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let e = ipc::Event::new()?;
    /// let setter = std::thread::spawn({
    ///     let e = e.clone();
    ///     move || e.set()
    /// });
    /// e.blocking_wait()?;
    /// setter.join().unwrap();
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait(&self) -> io::Result<()> {
        wake::blocking(self.wait_in(&mut Blocking::new())).map(drop)
    }

    /// Blocking form of [`wait_timeout`](Event::wait_timeout).
    ///
    /// # Errors
    ///
    /// As [`blocking_wait`](Event::blocking_wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let e = ipc::Event::new()?;
    /// assert!(!e.blocking_wait_timeout(std::time::Duration::from_millis(5))?);
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> io::Result<bool> {
        wake::blocking(self.wait_in(&mut Blocking::timeout(timeout)))
    }
}

/// The event's step in the wait engine: whether the flag was raised since
/// the wait began.
struct Raised<'a> {
    word: EventWord<'a>,
    start: u32,
}

impl Step for Raised<'_> {
    type Output = ();

    fn attempt(&mut self) -> Option<()> {
        self.word.released(self.start)
    }

    fn recheck(&mut self, _: Woke) -> io::Result<Recheck<'_, ()>> {
        Ok(self.attempt().map_or(Recheck::Sleep(Also::Nothing), Recheck::Done))
    }
}

/// An event serializes as a handle: its region and eventfd travel out of band.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        wire::serialize(&self.inner.region, self.inner.bell.fd(), serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (region, bell) = wire::deserialize(deserializer, Kind::Event, WORDS)?;
        Ok(Event::from_parts(region, Doorbell::from_fd(bell)))
    }
}

//! [`Condition`]: a condition variable shared between processes (Python's
//! `multiprocessing.Condition`).
//!
//! # Implementation notes
//!
//! Beside its [`Lock`], a condition has a notify *epoch* and one 64-bit word
//! holding two counts: waiters, and credits (notifications granted and not
//! yet claimed). A waiter, holding the lock, notes the epoch and counts
//! itself; then releases the lock and sleeps on a [`Doorbell`]. `notify(n)`,
//! holding the lock, bumps the epoch and raises the credits by `n` (never
//! above the number of waiters), then rings. A waiter may claim a credit
//! only once the epoch has moved since it began, so a notification reaches
//! only waiters that were waiting when it was sent — never one that started
//! later — and every sleeper re-checks on each ring (nothing is consumed, so
//! nobody can take another's wake-up). A waiter that times out takes a
//! credit if one is there for it (it was notified after all); one whose wait
//! is cancelled leaves the credit for the others and rings again, so a
//! notification is never lost with it.
//!
//! (~700 lines, most of them the documented examples of the public items.)

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{LockError, SyncError, TryLockError};
use super::lock::{Lock, LockGuard};
use super::raw::cond_word::{self, CondWord, Ticket};
use super::wire;
use crate::loom::{AtomicU64, Ordering};
use crate::shm::{Kind, Region};
use crate::wake::{self, Also, Async, Blocking, Doorbell, Park, Recheck, Step, Wait, Wakeup, Woke};

/// Credits (high 32 bits) and waiters (low 32 bits).
const COUNTS: usize = 0;
const EPOCH: usize = 2;
const SLEEPERS: usize = 3;
const WORDS: usize = 4;

/// A condition variable with its own [`Lock`], shared by every process
/// holding the handle (Python's `multiprocessing.Condition`).
///
/// [`lock`](Condition::lock) returns a [`ConditionGuard`], on which a
/// holder [`wait`](ConditionGuard::wait)s (releasing the lock while it
/// sleeps, holding it again when it returns) and
/// [`notify`](ConditionGuard::notify)s. Waiting without the lock cannot be
/// written; notifying through [`Condition::notify`] without holding the lock
/// in this process is [`SyncError::NotLocked`], as in Python.
///
/// `notify(n)` wakes at most `n` of the waiters that were waiting when it
/// was called; `notify_all` wakes them all.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let cond = ipc::Condition::new()?;
/// let ready = ipc::Event::new()?; // stands in for state the lock guards
/// let mut child = ipc::Process::spawn(
///     |(cond, ready): (ipc::Condition, ipc::Event)| async move {
///         let guard = cond.lock().await.unwrap();
///         let _guard = guard.wait_for(|| ready.is_set()).await.unwrap();
///         String::from("woken")
///     },
///     (cond.clone(), ready.clone()),
/// )?;
/// let guard = cond.lock().await?;
/// ready.set();
/// guard.notify_all();
/// drop(guard);
/// assert_eq!(child.join().await?, "woken");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Condition {
    lock: Lock,
    inner: Arc<Inner>,
}

struct Inner {
    region: Region,
    bell: Doorbell,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts = self.counts().load(Ordering::Relaxed);
        f.debug_struct("Condition").field("lock", &self.lock).field("waiters", &cond_word::waiters(counts)).finish()
    }
}

/// Holds a [`Condition`]'s lock; waits and notifies. Dropping it releases
/// the lock.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
/// let cond = ipc::Condition::new()?;
/// let guard = cond.lock().await?;
/// let (guard, notified) = guard.wait_timeout(std::time::Duration::from_millis(5)).await?;
/// assert!(!notified);
/// drop(guard);
/// # Ok(()) }
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct ConditionGuard<'a> {
    cond: &'a Condition,
    /// `None` only inside a wait, while the lock is released.
    guard: Option<LockGuard<'a>>,
}

impl fmt::Debug for ConditionGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionGuard").finish_non_exhaustive()
    }
}

impl Condition {
    /// A new condition with a new lock of its own.
    ///
    /// # Errors
    ///
    /// An i/o error if the shared regions or eventfds cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// assert!(!cond.get_lock().is_locked());
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<Condition> {
        Condition::with_lock(Lock::new()?)
    }

    /// A new condition using `lock` (Python's `Condition(lock)`).
    ///
    /// # Errors
    ///
    /// As [`new`](Condition::new).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// let cond = ipc::Condition::with_lock(lock.clone())?;
    /// let _g = cond.try_lock().unwrap();
    /// assert!(lock.is_locked());
    /// # Ok(()) }
    /// ```
    pub fn with_lock(lock: Lock) -> io::Result<Condition> {
        Ok(Condition {
            lock,
            inner: Arc::new(Inner { region: Region::new(Kind::Condition, WORDS)?, bell: Doorbell::new()? }),
        })
    }

    fn counts(&self) -> &AtomicU64 {
        self.inner.region.word64(COUNTS)
    }

    fn word(&self) -> CondWord<'_> {
        CondWord {
            counts: self.counts(),
            epoch: self.inner.region.word(EPOCH),
            sleepers: self.inner.region.word(SLEEPERS),
        }
    }

    /// The condition's lock.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// assert!(!cond.get_lock().is_locked());
    /// # Ok(()) }
    /// ```
    pub fn get_lock(&self) -> &Lock {
        &self.lock
    }

    fn wrap<'a, E: From<LockError<ConditionGuard<'a>>>>(
        &'a self,
        r: Result<LockGuard<'a>, LockError<LockGuard<'a>>>,
    ) -> Result<ConditionGuard<'a>, E> {
        match r {
            Ok(g) => Ok(ConditionGuard { cond: self, guard: Some(g) }),
            Err(e) => Err(e.map(|g| ConditionGuard { cond: self, guard: Some(g) }).into()),
        }
    }

    /// Waits for the lock (Python's `with cond:`).
    ///
    /// # Errors
    ///
    /// As [`Lock::lock`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Lock::lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let guard = cond.lock().await?;
    /// guard.notify(1);
    /// # Ok(()) }
    /// ```
    pub async fn lock(&self) -> Result<ConditionGuard<'_>, LockError<ConditionGuard<'_>>> {
        let r = self.lock.lock_like(&Async::new()).await;
        self.wrap(r)
    }

    /// Takes the lock if it is free, without waiting.
    ///
    /// # Errors
    ///
    /// As [`Lock::try_lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let _g = cond.try_lock().unwrap();
    /// assert!(cond.try_lock().is_err());
    /// # Ok(()) }
    /// ```
    pub fn try_lock(&self) -> Result<ConditionGuard<'_>, TryLockError<ConditionGuard<'_>>> {
        match self.lock.try_lock() {
            Ok(g) => Ok(ConditionGuard { cond: self, guard: Some(g) }),
            Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
            Err(TryLockError::OwnerDied(g)) => {
                Err(TryLockError::OwnerDied(ConditionGuard { cond: self, guard: Some(g) }))
            }
            Err(TryLockError::Io(e)) => Err(TryLockError::Io(e)),
        }
    }

    /// Blocking form of [`lock`](Condition::lock).
    ///
    /// # Errors
    ///
    /// As [`Lock::blocking_lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let _g = cond.blocking_lock()?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_lock(&self) -> Result<ConditionGuard<'_>, LockError<ConditionGuard<'_>>> {
        let r = wake::blocking(self.lock.lock_like(&Blocking::new()));
        self.wrap(r)
    }

    /// Python's `notify(n)` for a lock taken with the unguarded
    /// [`Lock::acquire`]: wakes at most `n` current waiters.
    ///
    /// # Errors
    ///
    /// [`SyncError::NotLocked`] unless this process holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// assert!(matches!(cond.notify(1), Err(ipc::SyncError::NotLocked)));
    /// cond.get_lock().blocking_acquire()?;
    /// cond.notify(1)?;
    /// cond.get_lock().release()?;
    /// # Ok(()) }
    /// ```
    pub fn notify(&self, n: u32) -> Result<(), SyncError> {
        if !self.lock.held_here() {
            return Err(SyncError::NotLocked);
        }
        self.grant(u64::from(n));
        Ok(())
    }

    /// Python's `notify_all()` for a lock taken with the unguarded
    /// [`Lock::acquire`].
    ///
    /// # Errors
    ///
    /// As [`notify`](Condition::notify).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// assert!(cond.notify_all().is_err());
    /// # Ok(()) }
    /// ```
    pub fn notify_all(&self) -> Result<(), SyncError> {
        if !self.lock.held_here() {
            return Err(SyncError::NotLocked);
        }
        self.grant(u64::from(u32::MAX));
        Ok(())
    }

    /// Grants up to `n` credits to the current waiters (lock held).
    fn grant(&self, n: u64) {
        if self.word().grant(n) {
            self.inner.bell.ring();
        }
    }

    /// Counts a new waiter (lock held).
    fn enter(&self) -> Waiting<'_> {
        Waiting { ticket: self.word().enter(), bell: &self.inner.bell }
    }
}

/// A counted waiter and the bell it sleeps on; uncounts itself if dropped
/// before it is done, passing on a notification that may have been its.
struct Waiting<'a> {
    ticket: Ticket<'a>,
    bell: &'a Doorbell,
}

impl Waiting<'_> {
    /// Sleeps until a credit is claimed, or `park`'s deadline passes:
    /// whether it was claimed.
    async fn wait<P: Park>(&mut self, park: &mut P) -> io::Result<bool> {
        let Waiting { ticket, bell } = self;
        // No spin: a notification comes when another task decides so.
        let wait = Wait { sleepers: ticket.register_count(), spinner: None, yielder: None, wakeup: Wakeup::Bell(bell) };
        Ok(wake::wait(park, &wait, &mut Claim(ticket)).await?.is_some())
    }

    /// Ends a timed-out wait: whether it was notified after all.
    fn time_out(&mut self) -> bool {
        let (notified, ring) = self.ticket.time_out();
        if ring {
            self.bell.ring();
        }
        notified
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.ticket.leave() {
            self.bell.ring();
        }
    }
}

/// The condition's step in the wait engine: claim a credit meant for us.
struct Claim<'t, 'a>(&'t mut Ticket<'a>);

impl Step for Claim<'_, '_> {
    type Output = ();

    fn attempt(&mut self) -> Option<()> {
        self.0.claim()
    }

    fn recheck(&mut self, _: Woke) -> io::Result<Recheck<'_, ()>> {
        Ok(self.attempt().map_or(Recheck::Sleep(Also::Nothing), Recheck::Done))
    }
}

impl<'a> ConditionGuard<'a> {
    /// Wakes at most `n` of the processes and tasks waiting now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// cond.blocking_lock()?.notify(2);
    /// # Ok(()) }
    /// ```
    pub fn notify(&self, n: u32) {
        self.cond.grant(u64::from(n));
    }

    /// Wakes every process and task waiting now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// cond.blocking_lock()?.notify_all();
    /// # Ok(()) }
    /// ```
    pub fn notify_all(&self) {
        self.cond.grant(u64::from(u32::MAX));
    }

    /// Releases the lock, waits for a notification, takes the lock again.
    ///
    /// # Errors
    ///
    /// [`LockError::OwnerDied`] if the lock's holder died while we waited;
    /// [`LockError::Io`] outside a tokio runtime (the lock is then not
    /// held).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped wait is uncounted, and a notification it was
    /// given goes to the other waiters. The lock is not held once the wait
    /// is dropped (the guard went with it).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let waiter = tokio::spawn({
    ///     let cond = cond.clone();
    ///     async move {
    ///         let guard = cond.lock().await.unwrap();
    ///         drop(guard.wait().await.unwrap());
    ///     }
    /// });
    /// while !waiter.is_finished() {
    ///     tokio::task::yield_now().await;
    ///     cond.lock().await?.notify(1);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait(self) -> Result<ConditionGuard<'a>, LockError<ConditionGuard<'a>>> {
        self.wait_in(&mut Async::new()).await.map(|(g, _)| g)
    }

    /// [`wait`](ConditionGuard::wait) for at most `timeout`; the flag says
    /// whether it was notified (`false`: timed out), as Python's
    /// `wait(timeout)` does.
    ///
    /// # Errors
    ///
    /// As [`wait`](ConditionGuard::wait).
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](ConditionGuard::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let (_guard, notified) = cond.lock().await?.wait_timeout(std::time::Duration::from_millis(5)).await?;
    /// assert!(!notified);
    /// # Ok(()) }
    /// ```
    pub async fn wait_timeout(
        self,
        timeout: Duration,
    ) -> Result<(ConditionGuard<'a>, bool), LockError<ConditionGuard<'a>>> {
        self.wait_in(&mut Async::timeout(timeout)).await
    }

    /// [`wait`](ConditionGuard::wait) until `park`'s deadline: the guard
    /// (the lock retaken whatever the deadline), and whether it was
    /// notified.
    async fn wait_in<P: Park>(
        mut self,
        park: &mut P,
    ) -> Result<(ConditionGuard<'a>, bool), LockError<ConditionGuard<'a>>> {
        let cond = self.cond;
        let mut ticket = cond.enter();
        drop(self.guard.take());
        let waited = ticket.wait(park).await.map(|claimed| claimed || ticket.time_out());
        drop(ticket);
        let notified = waited.map_err(LockError::Io)?;
        let relocked = cond.lock.lock_like(park).await;
        cond.wrap(relocked).map(|g| (g, notified))
    }

    /// [`wait_for`](ConditionGuard::wait_for) until `park`'s deadline; the
    /// flag is the predicate's last value.
    async fn wait_for_in<P: Park>(
        self,
        mut predicate: impl FnMut() -> bool,
        park: &mut P,
    ) -> Result<(ConditionGuard<'a>, bool), LockError<ConditionGuard<'a>>> {
        let mut guard = self;
        loop {
            if predicate() {
                return Ok((guard, true));
            }
            if park.left() == Some(Duration::ZERO) {
                return Ok((guard, false));
            }
            guard = guard.wait_in(park).await?.0;
        }
    }

    /// Waits until `predicate` holds (checked first, then after each
    /// notification, always with the lock held), as Python's `wait_for`.
    ///
    /// # Errors
    ///
    /// As [`wait`](ConditionGuard::wait).
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](ConditionGuard::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let _guard = cond.lock().await?.wait_for(|| true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for(
        self,
        predicate: impl FnMut() -> bool,
    ) -> Result<ConditionGuard<'a>, LockError<ConditionGuard<'a>>> {
        self.wait_for_in(predicate, &mut Async::new()).await.map(|(g, _)| g)
    }

    /// [`wait_for`](ConditionGuard::wait_for) for at most `timeout`; the flag
    /// is the predicate's last value.
    ///
    /// # Errors
    ///
    /// As [`wait`](ConditionGuard::wait).
    ///
    /// # Cancel safety
    ///
    /// As [`wait`](ConditionGuard::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let guard = cond.lock().await?;
    /// let (_guard, ok) = guard.wait_for_timeout(|| false, std::time::Duration::from_millis(5)).await?;
    /// assert!(!ok);
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_timeout(
        self,
        predicate: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<(ConditionGuard<'a>, bool), LockError<ConditionGuard<'a>>> {
        self.wait_for_in(predicate, &mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`wait`](ConditionGuard::wait).
    ///
    /// # Errors
    ///
    /// As [`wait`](ConditionGuard::wait) (an i/o error only from the
    /// operating system).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let waiter = std::thread::spawn({
    ///     let cond = cond.clone();
    ///     move || drop(cond.blocking_lock().unwrap().blocking_wait().unwrap())
    /// });
    /// while !waiter.is_finished() {
    ///     cond.blocking_lock()?.notify(1);
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait(self) -> Result<ConditionGuard<'a>, LockError<ConditionGuard<'a>>> {
        wake::blocking(self.wait_in(&mut Blocking::new())).map(|(g, _)| g)
    }

    /// Blocking form of [`wait_timeout`](ConditionGuard::wait_timeout).
    ///
    /// # Errors
    ///
    /// As [`blocking_wait`](ConditionGuard::blocking_wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let (_g, notified) = cond.blocking_lock()?.blocking_wait_timeout(std::time::Duration::from_millis(5))?;
    /// assert!(!notified);
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait_timeout(
        self,
        timeout: Duration,
    ) -> Result<(ConditionGuard<'a>, bool), LockError<ConditionGuard<'a>>> {
        wake::blocking(self.wait_in(&mut Blocking::timeout(timeout)))
    }

    /// Blocking form of [`wait_for`](ConditionGuard::wait_for).
    ///
    /// # Errors
    ///
    /// As [`wait`](ConditionGuard::wait) (an i/o error only from the
    /// operating system).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let _guard = cond.blocking_lock()?.blocking_wait_for(|| true)?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait_for(
        self,
        predicate: impl FnMut() -> bool,
    ) -> Result<ConditionGuard<'a>, LockError<ConditionGuard<'a>>> {
        wake::blocking(self.wait_for_in(predicate, &mut Blocking::new())).map(|(g, _)| g)
    }

    /// Blocking form of [`wait_for_timeout`](ConditionGuard::wait_for_timeout).
    ///
    /// # Errors
    ///
    /// As [`blocking_wait_for`](ConditionGuard::blocking_wait_for).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// let (_g, ok) = cond.blocking_lock()?.blocking_wait_for_timeout(|| false, std::time::Duration::from_millis(5))?;
    /// assert!(!ok);
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait_for_timeout(
        self,
        predicate: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<(ConditionGuard<'a>, bool), LockError<ConditionGuard<'a>>> {
        wake::blocking(self.wait_for_in(predicate, &mut Blocking::timeout(timeout)))
    }

    /// As [`LockGuard::make_consistent`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let cond = ipc::Condition::new()?;
    /// cond.blocking_lock()?.make_consistent();
    /// # Ok(()) }
    /// ```
    pub fn make_consistent(&self) {
        if let Some(g) = &self.guard {
            g.make_consistent();
        }
    }
}

/// The condition's own region and eventfd (its lock travels beside them).
struct Own<'a>(&'a Inner);

impl Serialize for Own<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        wire::serialize(&self.0.region, self.0.bell.fd(), serializer)
    }
}

struct OwnDe(Region, OwnedFd);

impl<'de> Deserialize<'de> for OwnDe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (region, bell) = wire::deserialize(deserializer, Kind::Condition, WORDS)?;
        Ok(OwnDe(region, bell))
    }
}

/// A condition serializes as a handle: its lock, region and eventfd travel
/// out of band.
impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.lock, Own(&self.inner)).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (lock, OwnDe(region, bell)) = <(Lock, OwnDe)>::deserialize(deserializer)?;
        Ok(Condition { lock, inner: Arc::new(Inner { region, bell: Doorbell::from_fd(bell) }) })
    }
}

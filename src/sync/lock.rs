//! [`Lock`]: a mutual-exclusion lock shared between processes (Python's
//! `multiprocessing.Lock`), robust against a holder's death.
//!
//! One file of ~850 lines: `RawLock` (which `RLock`, `Condition`, the queue
//! and `Array` share) and `Lock`'s API with its two guards; most of it is
//! the public items' documented examples.
//!
//! # Implementation notes
//!
//! The lock word (64 bits in a shared region) holds the holder's identity
//! — pid and start time, see the `owner` module — or 0 when free. Taking
//! the lock is one compare-exchange, releasing it one swap plus a load of the
//! sleeper count: no system call unless someone sleeps. Waiters spin for the
//! learned budget, then register as sleepers and sleep on [`Tokens`] (wake
//! one: a release posts one token if anyone sleeps) *and* on a pidfd of the
//! holder, opened once per holder and process. The holder's death makes the
//! pidfd readable, so a waiter learns of it at once, swaps its own identity
//! in for the dead one, marks the lock inconsistent, and returns
//! [`LockError::OwnerDied`]. The mark stays until someone calls
//! `make_consistent`.
//!
//! [`RawLock`] is the part [`RLock`](crate::RLock) shares.

use std::fmt;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{LockError, SyncError, TryLockError};
use super::owner::{self, Watch};
pub(crate) use super::raw::lock_word::Acquired;
use super::raw::lock_word::LockWord;
use super::wire;
use crate::shm::{Kind, Region};
use crate::sys;
use crate::wake::{self, Also, Async, Blocking, Park, Recheck, Spinner, Step, Tokens, Wait, Wakeup, Woke};

/// The holder's identity (u64, words 0–1), 0 when free.
const STATE: usize = 0;
const SLEEPERS: usize = 2;
const FLAGS: usize = 3;
/// For `RLock`: the owning task or thread within the holder (u64, 4–5).
pub(super) const OWNER_LOCAL: usize = 4;
/// For `RLock`: the recursion depth.
pub(super) const DEPTH: usize = 6;
const WORDS: usize = 8;
/// The bytes a lock's words take at the start of a region (an `Array` keeps
/// its lock there, before its elements).
pub(crate) const LOCK_BYTES: usize = WORDS * 4;

/// Who holds the lock, as a waiter sees it.
enum Holder {
    Free,
    /// Another task or thread of this process.
    Ours,
    Alive(Arc<Watch>),
    Dead(u64),
}

/// The lock word and its wait, shared by `Lock` and `RLock`.
pub(crate) struct RawLock {
    region: Region,
    tokens: Tokens,
    spinner: Mutex<Spinner>,
    /// The yielding of waiters in [`Lock::lock_brief`].
    yielder: Mutex<Spinner>,
    /// The last holder watched from this process, reused while it holds.
    watch: Mutex<Option<Arc<Watch>>>,
}

impl RawLock {
    /// A new lock in a region of its own, for `kind` (`Lock` or `RLock`).
    pub(crate) fn new(kind: Kind) -> io::Result<RawLock> {
        Ok(RawLock::from_parts(Region::new(kind, WORDS)?, Tokens::new()?))
    }

    /// A lock whose words are the first [`LOCK_BYTES`] of `region` (zeroed
    /// when new, or received), waking sleepers through the eventfd `tokens`.
    pub(crate) fn within(region: Region, tokens: Option<OwnedFd>) -> io::Result<RawLock> {
        let tokens = match tokens {
            Some(fd) => Tokens::from_fd(fd),
            None => Tokens::new()?,
        };
        Ok(RawLock::from_parts(region, tokens))
    }

    /// The eventfd the lock's sleepers wait on.
    pub(crate) fn tokens_fd(&self) -> BorrowedFd<'_> {
        self.tokens.fd()
    }

    fn from_parts(region: Region, tokens: Tokens) -> RawLock {
        RawLock {
            region,
            tokens,
            spinner: Mutex::new(Spinner::default()),
            yielder: Mutex::new(Spinner::yielding()),
            watch: Mutex::new(None),
        }
    }

    pub(crate) fn region(&self) -> &Region {
        &self.region
    }

    /// The lock's words.
    #[inline]
    fn word(&self) -> LockWord<'_> {
        LockWord {
            state: self.region.word64(STATE),
            sleepers: self.region.word(SLEEPERS),
            flags: self.region.word(FLAGS),
        }
    }

    /// The holder's identity, 0 when free.
    #[inline]
    pub(crate) fn holder(&self) -> u64 {
        self.word().holder()
    }

    /// Whether this process holds the lock.
    #[inline]
    pub(crate) fn held_here(&self) -> bool {
        self.holder() == owner::me()
    }

    /// One compare-exchange.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Option<Acquired> {
        self.word().try_acquire(owner::me())
    }

    /// Replaces a dead holder with us.
    fn take_over(&self, dead: u64) -> Option<Acquired> {
        let taken = self.word().take_over(dead, owner::me());
        if taken.is_some() {
            crate::trace::event!(warn, dead_pid = owner::pid(dead), "took over a lock whose holder died holding it");
        }
        taken
    }

    fn holder_status(&self) -> io::Result<Holder> {
        let holder = self.holder();
        if holder == 0 {
            return Ok(Holder::Free);
        }
        if holder == owner::me() {
            return Ok(Holder::Ours);
        }
        let mut cached = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = cached.as_ref().filter(|w| w.id() == holder) {
            return Ok(Holder::Alive(Arc::clone(w)));
        }
        Ok(match Watch::open(holder)? {
            Some(w) => {
                let w = Arc::new(w);
                *cached = Some(Arc::clone(&w));
                Holder::Alive(w)
            }
            None => Holder::Dead(holder),
        })
    }

    /// One attempt that never waits, but does take the lock over from a
    /// dead holder (costing a system call or two when the lock is held).
    pub(crate) fn try_acquire_robust(&self) -> io::Result<Option<Acquired>> {
        if let Some(a) = self.try_acquire() {
            return Ok(Some(a));
        }
        Ok(match self.holder_status()? {
            Holder::Free => self.try_acquire(),
            Holder::Ours => None,
            Holder::Alive(w) if sys::poll_fd(w.fd(), sys::Interest::Read, Some(Duration::ZERO))? => {
                self.take_over(w.id())
            }
            Holder::Alive(_) => None,
            Holder::Dead(h) => self.take_over(h),
        })
    }

    /// Waits for the lock, until `park`'s deadline (`Ok(None)` when it
    /// passes first).
    ///
    /// Cancel safe: the lock is taken only in a step that returns, a
    /// dropped wait unregisters itself, and a token posted for it stays in
    /// the eventfd for the next sleeper.
    pub(crate) async fn acquire<P: Park>(&self, park: &mut P) -> io::Result<Option<Acquired>> {
        self.acquire_with(park, false).await
    }

    /// [`acquire`](RawLock::acquire), yielding the CPU between the spin
    /// and the sleep if `brief` (see [`Spinner::yielding`]).
    async fn acquire_with<P: Park>(&self, park: &mut P, brief: bool) -> io::Result<Option<Acquired>> {
        let wait = Wait {
            sleepers: self.region.word(SLEEPERS),
            spinner: Some(&self.spinner),
            yielder: brief.then_some(&self.yielder),
            wakeup: Wakeup::Tokens(&self.tokens),
        };
        wake::wait(park, &wait, &mut Acquire { lock: self, watched: None }).await
    }

    /// Releases the lock, whoever holds it; `false` if it was not locked.
    #[inline]
    pub(crate) fn release(&self) -> bool {
        match self.word().release() {
            None => false,
            Some(wake) => {
                if wake {
                    self.tokens.post(1);
                }
                true
            }
        }
    }

    /// Clears the inconsistent mark (the caller holds the lock).
    pub(crate) fn make_consistent(&self) {
        self.word().make_consistent();
    }

    pub(crate) fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        wire::serialize(&self.region, self.tokens.fd(), serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D, kind: Kind) -> Result<RawLock, D::Error> {
        let (region, tokens) = wire::deserialize(deserializer, kind, WORDS)?;
        Ok(RawLock::from_parts(region, Tokens::from_fd(tokens)))
    }
}

/// The lock's step in the wait engine: a compare-exchange, and while the
/// lock is held, a watch on the holder's pidfd beside the tokens.
struct Acquire<'a> {
    lock: &'a RawLock,
    /// The holder the last sleep watched.
    watched: Option<Arc<Watch>>,
}

impl Step for Acquire<'_> {
    type Output = Acquired;

    fn attempt(&mut self) -> Option<Acquired> {
        self.lock.try_acquire()
    }

    fn recheck(&mut self, woke: Woke) -> io::Result<Recheck<'_, Acquired>> {
        if woke == Woke::Exited {
            if let Some(a) = self.watched.take().and_then(|w| self.lock.take_over(w.id())) {
                return Ok(Recheck::Done(a));
            }
        }
        loop {
            if let Some(a) = self.lock.try_acquire() {
                return Ok(Recheck::Done(a));
            }
            match self.lock.holder_status()? {
                // Released since: try again.
                Holder::Free => {}
                Holder::Dead(h) => {
                    if let Some(a) = self.lock.take_over(h) {
                        return Ok(Recheck::Done(a));
                    }
                }
                Holder::Ours => return Ok(Recheck::Sleep(Also::Nothing)),
                Holder::Alive(w) => {
                    let w = self.watched.insert(w);
                    return Ok(Recheck::Sleep(Also::Exit(w.pidfd())));
                }
            }
        }
    }
}

/// A lock shared by every process holding the handle (Python's
/// `multiprocessing.Lock`), which a holder's death does not wedge.
///
/// [`lock`](Lock::lock) returns a guard that releases the lock when dropped.
/// Python's unguarded [`acquire`](Lock::acquire) / [`release`](Lock::release)
/// are here too: any process may release, and releasing an unlocked lock is
/// [`SyncError::NotLocked`]. The lock is not re-entrant (see
/// [`RLock`](crate::RLock)): locking it twice from one task waits forever.
///
/// If a process dies (even by SIGKILL) while holding the lock, the next
/// acquirer learns of it at once and gets the lock as
/// [`LockError::OwnerDied`]: repair what the lock protects, then call
/// [`LockGuard::make_consistent`].
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let lock = ipc::Lock::new()?;
/// let mut child = ipc::Process::spawn(
///     |lock: ipc::Lock| async move {
///         let _guard = lock.lock().await.unwrap();
///         String::from("the child held the lock")
///     },
///     lock.clone(),
/// )?;
/// {
///     let _guard = lock.lock().await?;
///     // the child waits here
/// }
/// assert_eq!(child.join().await?, "the child held the lock");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Lock {
    raw: Arc<RawLock>,
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("locked", &self.is_locked()).finish()
    }
}

/// Holds a [`Lock`]; dropping it releases the lock.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
/// let lock = ipc::Lock::new()?;
/// let guard = lock.lock().await?;
/// assert!(lock.is_locked());
/// drop(guard);
/// assert!(!lock.is_locked());
/// # Ok(()) }
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

/// Hands `guard` over as an acquisition went: plainly, or as `OwnerDied`
/// (shared by every guard type of `Lock` and `RLock`).
pub(super) fn hand_over<G, E: From<LockError<G>>>(how: Acquired, guard: G) -> Result<G, E> {
    match how {
        Acquired::Clean => Ok(guard),
        Acquired::OwnerDied => Err(LockError::OwnerDied(guard).into()),
    }
}

/// Turns an acquisition into a guard, or the guard into an `OwnerDied`.
fn guarded<'a, E: From<LockError<LockGuard<'a>>>>(lock: &'a Lock, how: Acquired) -> Result<LockGuard<'a>, E> {
    hand_over(how, LockGuard { lock })
}

impl Lock {
    /// A new, unlocked lock.
    ///
    /// # Errors
    ///
    /// An i/o error if the shared region or the eventfd cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// assert!(!lock.is_locked());
    /// # Ok(()) }
    /// ```
    pub fn new() -> io::Result<Lock> {
        Ok(Lock { raw: Arc::new(RawLock::new(Kind::Lock)?) })
    }

    /// A lock over words of another object's region (see [`RawLock::within`]).
    pub(crate) fn from_raw(raw: RawLock) -> Lock {
        Lock { raw: Arc::new(raw) }
    }

    pub(crate) fn raw(&self) -> &RawLock {
        &self.raw
    }

    /// Whether anyone (in any process) holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// let _g = lock.try_lock().unwrap();
    /// assert!(lock.is_locked());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.raw.holder() != 0
    }

    /// Whether this process holds the lock.
    pub(crate) fn held_here(&self) -> bool {
        self.raw.held_here()
    }

    /// Waits for the lock and returns a guard.
    ///
    /// # Errors
    ///
    /// [`LockError::OwnerDied`] (with the guard) if a holder died holding
    /// it; [`LockError::Io`] outside a tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the lock is taken only in the step that returns the
    /// guard, and a wake-up meant for a dropped wait goes to another waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// let guard = match lock.lock().await {
    ///     Ok(guard) => guard,
    ///     Err(ipc::LockError::OwnerDied(guard)) => {
    ///         // repair the protected state, then:
    ///         guard.make_consistent();
    ///         guard
    ///     }
    ///     Err(e) => return Err(e.into()),
    /// };
    /// drop(guard);
    /// # Ok(()) }
    /// ```
    pub async fn lock(&self) -> Result<LockGuard<'_>, LockError<LockGuard<'_>>> {
        self.lock_like(&Async::new()).await
    }

    /// [`lock`](Lock::lock), returning a guard that owns a handle to the
    /// lock (so it is `'static`: move it into a spawned task).
    ///
    /// # Errors
    ///
    /// As [`lock`](Lock::lock).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`lock`](Lock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// let guard = lock.lock_owned().await?;
    /// let holder = tokio::spawn(async move { drop(guard) });
    /// holder.await.unwrap();
    /// assert!(!lock.is_locked());
    /// # Ok(()) }
    /// ```
    pub async fn lock_owned(&self) -> Result<OwnedLockGuard, LockError<OwnedLockGuard>> {
        let how = self.raw.acquire(&mut Async::new()).await.map_err(LockError::Io)?;
        hand_over(wake::forever(how), OwnedLockGuard { lock: self.clone() })
    }

    /// Blocking form of [`lock_owned`](Lock::lock_owned).
    ///
    /// # Errors
    ///
    /// As [`blocking_lock`](Lock::blocking_lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// let guard = lock.blocking_lock_owned()?;
    /// std::thread::spawn(move || drop(guard)).join().unwrap();
    /// assert!(!lock.is_locked());
    /// # Ok(()) }
    /// ```
    pub fn blocking_lock_owned(&self) -> Result<OwnedLockGuard, LockError<OwnedLockGuard>> {
        let how = wake::blocking(self.raw.acquire(&mut Blocking::new())).map_err(LockError::Io)?;
        hand_over(wake::forever(how), OwnedLockGuard { lock: self.clone() })
    }

    /// Takes the lock if it is free (or its holder is dead), without waiting.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if someone holds it; `OwnerDied` as for
    /// [`lock`](Lock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// let guard = lock.try_lock().unwrap();
    /// assert!(matches!(lock.try_lock(), Err(ipc::TryLockError::WouldBlock)));
    /// drop(guard);
    /// assert!(lock.try_lock().is_ok());
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Result<LockGuard<'_>, TryLockError<LockGuard<'_>>> {
        match self.raw.try_acquire_robust().map_err(TryLockError::Io)? {
            Some(how) => guarded(self, how),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// The lock if it is free now: one compare-exchange, never a system
    /// call (unlike [`try_lock`](Lock::try_lock), it does not look at a
    /// holder to take a dead one's place; waiting paths do). For fast paths
    /// that fall back to waiting.
    #[inline]
    pub(crate) fn try_lock_free(&self) -> Option<Result<LockGuard<'_>, LockError<LockGuard<'_>>>> {
        self.raw.try_acquire().map(|how| guarded(self, how))
    }

    /// [`lock`](Lock::lock) with a park of `park`'s kind, without its
    /// deadline: for the untimed forms, and for waits that must end holding
    /// the lock whatever their caller's deadline (a condition retaking it).
    pub(crate) async fn lock_like<P: Park>(&self, park: &P) -> Result<LockGuard<'_>, LockError<LockGuard<'_>>> {
        if let Some(locked) = self.try_lock_free() {
            return locked;
        }
        let how = self.raw.acquire(&mut park.unbounded()).await.map_err(LockError::Io)?;
        guarded(self, wake::forever(how))
    }

    /// [`lock_like`](Lock::lock_like) for a lock held only briefly by
    /// every holder (a queue's put and get locks, held for a copy): a
    /// waiter yields its CPU for a while before it sleeps, so a holder that
    /// is not running gets to run and release.
    pub(crate) async fn lock_brief<P: Park>(&self, park: &P) -> Result<LockGuard<'_>, LockError<LockGuard<'_>>> {
        if let Some(locked) = self.try_lock_free() {
            return locked;
        }
        let how = self.raw.acquire_with(&mut park.unbounded(), true).await.map_err(LockError::Io)?;
        guarded(self, wake::forever(how))
    }

    /// [`lock`](Lock::lock) until `park`'s deadline, for the timed forms and
    /// for other primitives' operations, which are generic over their park.
    pub(crate) async fn lock_in<P: Park>(&self, park: &mut P) -> Result<LockGuard<'_>, TryLockError<LockGuard<'_>>> {
        match self.raw.acquire(park).await.map_err(TryLockError::Io)? {
            Some(how) => guarded(self, how),
            None => Err(TryLockError::WouldBlock),
        }
    }

    /// [`lock`](Lock::lock) for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if the time ran out; otherwise as
    /// [`lock`](Lock::lock).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`lock`](Lock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// use std::time::Duration;
    /// let lock = ipc::Lock::new()?;
    /// let _held = lock.lock().await?;
    /// let again = lock.lock_timeout(Duration::from_millis(10)).await;
    /// assert!(matches!(again, Err(ipc::TryLockError::WouldBlock)));
    /// # Ok(()) }
    /// ```
    pub async fn lock_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>, TryLockError<LockGuard<'_>>> {
        self.lock_in(&mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`lock`](Lock::lock), for synchronous code.
    ///
    /// # Errors
    ///
    /// As [`lock`](Lock::lock) (an i/o error only from the operating
    /// system).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// let guard = lock.blocking_lock()?;
    /// drop(guard);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn blocking_lock(&self) -> Result<LockGuard<'_>, LockError<LockGuard<'_>>> {
        // The uncontended lock without building the wait's future (a
        // measured 20 ns of a 27 ns lock+drop).
        match self.try_lock_free() {
            Some(locked) => locked,
            None => self.blocking_lock_slow(),
        }
    }

    /// `blocking_lock`'s wait, out of line so that the uncontended path
    /// inlined into callers does not carry the wait's future in its frame.
    #[cold]
    #[inline(never)]
    fn blocking_lock_slow(&self) -> Result<LockGuard<'_>, LockError<LockGuard<'_>>> {
        wake::blocking(self.lock_like(&Blocking::new()))
    }

    /// Blocking form of [`lock_timeout`](Lock::lock_timeout).
    ///
    /// # Errors
    ///
    /// As [`lock_timeout`](Lock::lock_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// use std::time::Duration;
    /// let lock = ipc::Lock::new()?;
    /// let _held = lock.blocking_lock()?;
    /// assert!(lock.blocking_lock_timeout(Duration::from_millis(5)).is_err());
    /// # Ok(()) }
    /// ```
    pub fn blocking_lock_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>, TryLockError<LockGuard<'_>>> {
        wake::blocking(self.lock_in(&mut Blocking::timeout(timeout)))
    }

    /// Python's `acquire()`: waits for the lock and keeps it until some
    /// process calls [`release`](Lock::release).
    ///
    /// # Errors
    ///
    /// As [`lock`](Lock::lock); `OwnerDied(())` means the lock is held.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`lock`](Lock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// lock.acquire().await?;
    /// lock.release()?;
    /// assert!(matches!(lock.release(), Err(ipc::SyncError::NotLocked)));
    /// # Ok(()) }
    /// ```
    pub async fn acquire(&self) -> Result<(), LockError<()>> {
        self.lock().await.map(LockGuard::keep).map_err(|e| e.map(LockGuard::keep))
    }

    /// Python's `acquire(timeout=…)`: `Ok(false)` if the time ran out.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Lock::acquire).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`lock`](Lock::lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// use std::time::Duration;
    /// let lock = ipc::Lock::new()?;
    /// assert!(lock.acquire_timeout(Duration::from_millis(5)).await?);
    /// assert!(!lock.acquire_timeout(Duration::from_millis(5)).await?);
    /// lock.release()?;
    /// # Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<bool, LockError<()>> {
        unguard(self.lock_timeout(timeout).await)
    }

    /// Python's `acquire(block=False)`: `Ok(false)` if someone holds it.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Lock::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// assert!(lock.try_acquire()?);
    /// assert!(!lock.try_acquire()?);
    /// # Ok(()) }
    /// ```
    pub fn try_acquire(&self) -> Result<bool, LockError<()>> {
        unguard(self.try_lock())
    }

    /// Blocking form of [`acquire`](Lock::acquire).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Lock::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// lock.blocking_acquire()?;
    /// lock.release()?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_acquire(&self) -> Result<(), LockError<()>> {
        self.blocking_lock().map(LockGuard::keep).map_err(|e| e.map(LockGuard::keep))
    }

    /// Blocking form of [`acquire_timeout`](Lock::acquire_timeout).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Lock::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// use std::time::Duration;
    /// let lock = ipc::Lock::new()?;
    /// assert!(lock.blocking_acquire_timeout(Duration::ZERO)?);
    /// assert!(!lock.blocking_acquire_timeout(Duration::from_millis(5))?);
    /// # Ok(()) }
    /// ```
    pub fn blocking_acquire_timeout(&self, timeout: Duration) -> Result<bool, LockError<()>> {
        unguard(self.blocking_lock_timeout(timeout))
    }

    /// Python's `release()`: releases the lock, whichever process took it.
    ///
    /// # Errors
    ///
    /// [`SyncError::NotLocked`] if the lock is not locked.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// assert!(lock.release().is_err());
    /// # Ok(()) }
    /// ```
    pub fn release(&self) -> Result<(), SyncError> {
        if self.raw.release() { Ok(()) } else { Err(SyncError::NotLocked) }
    }

    /// After an [`OwnerDied`](LockError::OwnerDied) from an unguarded
    /// [`acquire`](Lock::acquire): declares the protected state repaired.
    /// (With a guard, use [`LockGuard::make_consistent`].)
    ///
    /// # Errors
    ///
    /// [`SyncError::NotLocked`] unless this process holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// assert!(lock.make_consistent().is_err());
    /// # Ok(()) }
    /// ```
    pub fn make_consistent(&self) -> Result<(), SyncError> {
        if !self.raw.held_here() {
            return Err(SyncError::NotLocked);
        }
        self.raw.make_consistent();
        Ok(())
    }
}

/// `Ok(true)` for acquired, `Ok(false)` for would-block, keeping the lock.
fn unguard(r: Result<LockGuard<'_>, TryLockError<LockGuard<'_>>>) -> Result<bool, LockError<()>> {
    match r {
        Ok(g) => {
            g.keep();
            Ok(true)
        }
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::OwnerDied(g)) => {
            g.keep();
            Err(LockError::OwnerDied(()))
        }
        Err(TryLockError::Io(e)) => Err(LockError::Io(e)),
    }
}

impl LockGuard<'_> {
    /// Declares the state the lock protects consistent again after an
    /// [`OwnerDied`](LockError::OwnerDied); later acquirers get plain
    /// guards.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// let guard = lock.try_lock().unwrap();
    /// guard.make_consistent(); // harmless when nobody died
    /// # Ok(()) }
    /// ```
    pub fn make_consistent(&self) {
        self.lock.raw.make_consistent();
    }

    /// Keeps the lock held past the guard (Python's unguarded acquire).
    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release();
    }
}

/// A [`LockGuard`] that owns a handle to its lock, from
/// [`Lock::lock_owned`]; dropping it releases the lock.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
/// let lock = ipc::Lock::new()?;
/// let guard: ipc::OwnedLockGuard = lock.lock_owned().await?;
/// guard.make_consistent();
/// # Ok(()) }
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct OwnedLockGuard {
    lock: Lock,
}

impl fmt::Debug for OwnedLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedLockGuard").finish_non_exhaustive()
    }
}

impl OwnedLockGuard {
    /// As [`LockGuard::make_consistent`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let lock = ipc::Lock::new()?;
    /// lock.lock_owned().await?.make_consistent();
    /// # Ok(()) }
    /// ```
    pub fn make_consistent(&self) {
        self.lock.raw.make_consistent();
    }
}

impl Drop for OwnedLockGuard {
    fn drop(&mut self) {
        self.lock.raw.release();
    }
}

/// A lock serializes as a handle: its region and eventfd travel out of band.
impl Serialize for Lock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Lock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Lock { raw: Arc::new(RawLock::deserialize(deserializer, Kind::Lock)?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wake::Sleeper;

    // A woken waiter may wait long for a CPU: the releases meanwhile must
    // not each post a token (a system call on each side) for it.
    #[test]
    fn a_sleeper_is_woken_once_however_often_the_lock_changes_hands() {
        let lock = Lock::new().unwrap();
        let _asleep = Sleeper::register(lock.raw.region.word(SLEEPERS));
        for _ in 0..10 {
            drop(lock.try_lock().unwrap());
        }
        let tokens = std::iter::from_fn(|| lock.raw.tokens.try_take().unwrap().then_some(())).count();
        assert_eq!(tokens, 1);
    }
}

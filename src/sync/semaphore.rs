//! [`Semaphore`]: a counter of permits shared between processes (Python's
//! `multiprocessing.Semaphore` and, with a bound, `BoundedSemaphore`).
//!
//! # Implementation notes
//!
//! The value is one word: taking a permit is a compare-exchange that
//! decrements it if it is positive, giving one back an increment, and
//! sleepers wait on wake-one [`Tokens`]. A bounded semaphore keeps its bound
//! in the region, so every handle enforces it.
//!
//! Permits taken as guards ([`SemaphorePermit`]) are also counted per
//! process, in a table of [`Semaphore::HOLDER_SLOTS`] slots (pid + start time, count): when a
//! process dies holding permits, [`Semaphore::recover`] — which every
//! sleeping waiter runs every [`Semaphore::RECOVER_EVERY`] — finds its slot and gives
//! its permits back. Permits released "by hand" (Python's pattern of
//! acquiring in one process and releasing in another, see
//! [`SemaphorePermit::forget`]) are not counted, as nobody can tell who
//! holds them. Beyond [`Semaphore::HOLDER_SLOTS`] live processes, further processes' permits
//! are uncounted too. A process killed in the two instructions between
//! taking a permit and counting it leaks that permit.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::SyncError;
use super::owner;
use super::raw::sem_word::SemWord;
use super::wire;
use crate::loom::{AtomicU32, AtomicU64, Ordering};
use crate::shm::{Kind, Region};
use crate::wake::{self, Also, Async, Blocking, Park, Recheck, Spinner, Step, Tokens, Wait, Wakeup, Woke};

const VALUE: usize = 0;
const SLEEPERS: usize = 1;
/// The bound (greatest value) of a bounded semaphore, 0 for none.
const BOUND: usize = 2;
/// The holder table: `SLOTS` slots of four words (identity u64, count, pad).
const TABLE: usize = 4;
/// Processes whose guarded permits are counted, and so recoverable.
const SLOTS: usize = 32;
const WORDS: usize = TABLE + 4 * SLOTS;
/// A slot being emptied by a recovering process.
const RECLAIMING: u64 = u64::MAX;
/// How often a sleeping waiter looks for permits held by dead processes.
const RECOVER_EVERY: Duration = Duration::from_millis(20);

/// A semaphore shared by every process holding the handle (Python's
/// `multiprocessing.Semaphore`, and with [`Semaphore::bounded`], its
/// `BoundedSemaphore`).
///
/// [`acquire`](Semaphore::acquire) waits for a permit and returns it as a
/// guard that gives it back when dropped. Python's style — acquire in one
/// place, [`release`](Semaphore::release) in another, maybe another
/// process — is [`SemaphorePermit::forget`] plus `release`.
///
/// Permits held as guards by a process that dies (even by SIGKILL) are given
/// back: waiters look for dead holders every [`Semaphore::RECOVER_EVERY`] while they
/// sleep, and [`recover`](Semaphore::recover) does it on demand.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let room = ipc::Semaphore::new(2)?;
/// let a = room.acquire().await?;
/// let b = room.acquire().await?;
/// assert!(room.try_acquire().is_none()); // full
/// drop(a);
/// assert_eq!(room.get_value(), 1);
/// # drop(b);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Semaphore {
    inner: Arc<Inner>,
}

struct Inner {
    region: Region,
    tokens: Tokens,
    spinner: Mutex<Spinner>,
    /// This process's slot in the holder table (`None`: the table is full).
    slot: OnceLock<Option<usize>>,
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").field("value", &self.get_value()).field("bound", &self.bound()).finish()
    }
}

/// A permit taken from a [`Semaphore`]; dropping it gives it back.
///
/// # Examples
///
/// ```
/// # fn main() -> ipc::Result<()> {
/// let sem = ipc::Semaphore::new(1)?;
/// let permit = sem.try_acquire().unwrap();
/// assert_eq!(sem.get_value(), 0);
/// drop(permit);
/// assert_eq!(sem.get_value(), 1);
/// # Ok(()) }
/// ```
#[must_use = "the permit is given back as soon as it is dropped"]
#[clippy::has_significant_drop]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    /// The holder-table slot counting this permit.
    slot: Option<usize>,
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}

impl Semaphore {
    /// The greatest value a semaphore may hold (`SEM_VALUE_MAX`).
    pub const MAX: u32 = i32::MAX as u32;
    /// How many live processes' guarded permits are counted (and so
    /// recovered if they die); further processes' permits are not.
    pub const HOLDER_SLOTS: usize = SLOTS;
    /// How often a sleeping waiter looks for permits held by dead processes.
    pub const RECOVER_EVERY: Duration = RECOVER_EVERY;

    /// A semaphore with `value` permits. (A negative count, which Python
    /// rejects at run time, cannot be written: the type is `u32`.)
    ///
    /// # Errors
    ///
    /// [`SyncError::Invalid`] above [`Semaphore::MAX`]; an i/o error if the
    /// shared region or the eventfd cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(3)?;
    /// assert_eq!(sem.get_value(), 3);
    /// assert!(ipc::Semaphore::new(u32::MAX).is_err());
    /// # Ok(()) }
    /// ```
    pub fn new(value: u32) -> Result<Semaphore, SyncError> {
        Semaphore::with_bound(value, 0)
    }

    /// Python's `BoundedSemaphore(value)`: releasing it above `value` is
    /// [`SyncError::TooManyReleases`].
    ///
    /// # Errors
    ///
    /// As [`new`](Semaphore::new).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::bounded(1)?;
    /// assert!(matches!(sem.release(), Err(ipc::SyncError::TooManyReleases { bound: 1 })));
    /// # Ok(()) }
    /// ```
    #[doc(alias = "BoundedSemaphore")]
    pub fn bounded(value: u32) -> Result<Semaphore, SyncError> {
        if value == 0 {
            // A bound of 0 would be "unbounded" in the region; a semaphore
            // that can never be released is no use anyway.
            return Err(SyncError::Invalid("a bounded semaphore needs a value of at least 1"));
        }
        Semaphore::with_bound(value, value)
    }

    fn with_bound(value: u32, bound: u32) -> Result<Semaphore, SyncError> {
        if value > Semaphore::MAX {
            return Err(SyncError::Invalid("semaphore value above Semaphore::MAX"));
        }
        let region = Region::new(Kind::Semaphore, WORDS)?;
        region.word(VALUE).store(value, Ordering::Relaxed);
        region.word(BOUND).store(bound, Ordering::Relaxed);
        Ok(Semaphore::from_parts(region, Tokens::new()?))
    }

    fn from_parts(region: Region, tokens: Tokens) -> Semaphore {
        Semaphore {
            inner: Arc::new(Inner { region, tokens, spinner: Mutex::new(Spinner::default()), slot: OnceLock::new() }),
        }
    }

    fn value(&self) -> &AtomicU32 {
        self.inner.region.word(VALUE)
    }

    fn sleepers(&self) -> &AtomicU32 {
        self.inner.region.word(SLEEPERS)
    }

    fn slot_id(&self, slot: usize) -> &AtomicU64 {
        self.inner.region.word64(TABLE + 4 * slot)
    }

    fn slot_count(&self, slot: usize) -> &AtomicU32 {
        self.inner.region.word(TABLE + 4 * slot + 2)
    }

    /// The bound of a bounded semaphore.
    fn bound(&self) -> Option<u32> {
        // Relaxed: written once before the handle was shared.
        Some(self.inner.region.word(BOUND).load(Ordering::Relaxed)).filter(|&b| b != 0)
    }

    /// The number of free permits now (Python's `get_value()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(2)?;
    /// let _p = sem.try_acquire();
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub fn get_value(&self) -> u32 {
        // Relaxed: a snapshot.
        self.value().load(Ordering::Relaxed)
    }

    fn word(&self) -> SemWord<'_> {
        SemWord { value: self.value(), sleepers: self.sleepers(), bound: self.bound() }
    }

    /// Takes a permit if one is free.
    fn take(&self) -> Option<()> {
        self.word().take()
    }

    /// Adds `n` permits (up to the bound if `clamp`), waking sleepers;
    /// `false` if a bound forbade it (and nothing changed).
    fn give(&self, n: u32, clamp: bool) -> bool {
        match self.word().give(n, clamp) {
            None => false,
            Some(wake) => {
                self.inner.tokens.post(wake);
                true
            }
        }
    }

    /// This process's holder-table slot, claimed on first use.
    fn my_slot(&self) -> Option<usize> {
        *self.inner.slot.get_or_init(|| {
            let me = owner::me();
            // Another handle in this process may have claimed one already.
            // Acquire: pairs with the Release that frees a slot in `recover`.
            if let Some(s) = (0..SLOTS).find(|&s| self.slot_id(s).load(Ordering::Acquire) == me) {
                return Some(s);
            }
            (0..SLOTS).find(|&s| {
                // Relaxed on success: only our own later increments of the
                // slot's count depend on the claim, and they are ours.
                self.slot_id(s).compare_exchange(0, me, Ordering::AcqRel, Ordering::Relaxed).is_ok()
            })
        })
    }

    /// Wraps a permit just taken, counting it in our slot.
    fn permit(&self) -> SemaphorePermit<'_> {
        let slot = self.my_slot();
        if let Some(s) = slot {
            // Relaxed: only this process writes its slot's count while it
            // lives; a recoverer reads it only after seeing us dead.
            self.slot_count(s).fetch_add(1, Ordering::Relaxed);
        }
        SemaphorePermit { sem: self, slot }
    }

    /// Takes a permit if one is free, without waiting (Python's
    /// `acquire(False)`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(1)?;
    /// let p = sem.try_acquire();
    /// assert!(p.is_some());
    /// assert!(sem.try_acquire().is_none());
    /// # Ok(()) }
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.take().map(|()| self.permit())
    }

    /// Waits for a permit.
    ///
    /// # Errors
    ///
    /// [`SyncError::Io`] outside a tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a permit is taken only in the step that returns it, and
    /// a wake-up meant for a dropped wait goes to another waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(1)?;
    /// let p = sem.acquire().await?;
    /// drop(p);
    /// # Ok(()) }
    /// ```
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, SyncError> {
        self.acquire_in(&mut Async::new()).await.map(wake::forever)
    }

    /// [`acquire`](Semaphore::acquire) until `park`'s deadline (`None` when
    /// it passes first).
    async fn acquire_in<P: Park>(&self, park: &mut P) -> Result<Option<SemaphorePermit<'_>>, SyncError> {
        let wait = Wait {
            sleepers: self.sleepers(),
            spinner: Some(&self.inner.spinner),
            yielder: None,
            wakeup: Wakeup::Tokens(&self.inner.tokens),
        };
        Ok(wake::wait(park, &wait, &mut Take(self)).await?.map(|()| self.permit()))
    }

    /// [`acquire`](Semaphore::acquire), returning a permit that owns a
    /// handle to the semaphore (so it is `'static`: move it into a spawned
    /// task).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(1)?;
    /// let permit = sem.acquire_owned().await?;
    /// tokio::spawn(async move { drop(permit) }).await.unwrap();
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn acquire_owned(&self) -> Result<OwnedSemaphorePermit, SyncError> {
        let mut permit = self.acquire().await?;
        let slot = permit.slot.take();
        std::mem::forget(permit);
        Ok(OwnedSemaphorePermit { sem: self.clone(), slot })
    }

    /// Blocking form of [`acquire_owned`](Semaphore::acquire_owned).
    ///
    /// # Errors
    ///
    /// As [`blocking_acquire`](Semaphore::blocking_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(1)?;
    /// let permit = sem.blocking_acquire_owned()?;
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub fn blocking_acquire_owned(&self) -> Result<OwnedSemaphorePermit, SyncError> {
        let mut permit = self.blocking_acquire()?;
        let slot = permit.slot.take();
        std::mem::forget(permit);
        Ok(OwnedSemaphorePermit { sem: self.clone(), slot })
    }

    /// Gives back a guarded permit: uncounts it from its holder-table slot
    /// and adds it to the value.
    fn give_back(&self, slot: Option<usize>) {
        self.uncount(slot);
        // Clamped: if someone released "our" permit by hand already, a
        // bounded semaphore stays at its bound instead of exceeding it.
        self.give(1, true);
    }

    fn uncount(&self, slot: Option<usize>) {
        if let Some(s) = slot {
            // Relaxed: see `Semaphore::permit`.
            self.slot_count(s).fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// [`acquire`](Semaphore::acquire) for at most `timeout`: `None` if the
    /// time ran out (Python's `acquire(timeout=…)` returning `False`).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// use std::time::Duration;
    /// let sem = ipc::Semaphore::new(0)?;
    /// assert!(sem.acquire_timeout(Duration::from_millis(5)).await?.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<Option<SemaphorePermit<'_>>, SyncError> {
        self.acquire_in(&mut Async::timeout(timeout)).await
    }

    /// Blocking form of [`acquire`](Semaphore::acquire).
    ///
    /// # Errors
    ///
    /// An i/o error from the operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(1)?;
    /// let _p = sem.blocking_acquire()?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, SyncError> {
        wake::blocking(self.acquire_in(&mut Blocking::new())).map(wake::forever)
    }

    /// Blocking form of [`acquire_timeout`](Semaphore::acquire_timeout).
    ///
    /// # Errors
    ///
    /// An i/o error from the operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(0)?;
    /// assert!(sem.blocking_acquire_timeout(std::time::Duration::from_millis(5))?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn blocking_acquire_timeout(&self, timeout: Duration) -> Result<Option<SemaphorePermit<'_>>, SyncError> {
        wake::blocking(self.acquire_in(&mut Blocking::timeout(timeout)))
    }

    /// Python's `release()`: adds a permit (for one taken with
    /// [`SemaphorePermit::forget`], or never taken at all).
    ///
    /// # Errors
    ///
    /// [`SyncError::TooManyReleases`] if the semaphore is bounded and
    /// already at its bound (nothing changes).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(0)?;
    /// sem.release()?;
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub fn release(&self) -> Result<(), SyncError> {
        self.release_n(1)
    }

    /// Adds `n` permits at once (Python 3.9's `release(n)` on threading
    /// semaphores).
    ///
    /// # Errors
    ///
    /// As [`release`](Semaphore::release), if all `n` do not fit under the
    /// bound (nothing changes), or above [`Semaphore::MAX`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(0)?;
    /// sem.release_n(3)?;
    /// assert_eq!(sem.get_value(), 3);
    /// # Ok(()) }
    /// ```
    pub fn release_n(&self, n: u32) -> Result<(), SyncError> {
        match self.bound() {
            Some(bound) if !self.give(n, false) => Err(SyncError::TooManyReleases { bound }),
            Some(_) => Ok(()),
            None => {
                if self.get_value().saturating_add(n) > Semaphore::MAX {
                    return Err(SyncError::Invalid("semaphore value above Semaphore::MAX"));
                }
                self.give(n, false);
                Ok(())
            }
        }
    }

    /// Gives back the permits that dead processes held as guards; returns
    /// how many. Sleeping waiters run this every [`Semaphore::RECOVER_EVERY`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(1)?;
    /// assert_eq!(sem.recover(), 0); // nobody died
    /// # Ok(()) }
    /// ```
    pub fn recover(&self) -> u32 {
        let me = owner::me();
        let mut recovered = 0;
        for s in 0..SLOTS {
            let slot = self.slot_id(s);
            // Relaxed: the claim below re-reads with a compare-exchange.
            let id = slot.load(Ordering::Relaxed);
            if id == 0 || id == me || id == RECLAIMING || !owner::is_dead(id) {
                continue;
            }
            // Acquire: the dead holder's count writes are visible after it.
            if slot.compare_exchange(id, RECLAIMING, Ordering::Acquire, Ordering::Relaxed).is_err() {
                continue; // another process is recovering it
            }
            // Relaxed: nobody else touches a reclaiming slot's count.
            recovered += self.slot_count(s).swap(0, Ordering::Relaxed);
            // Release: the zeroed count is visible to the next claimant.
            slot.store(0, Ordering::Release);
        }
        if recovered > 0 {
            crate::trace::event!(warn, permits = recovered, "recovered semaphore permits of dead holders");
            self.give(recovered, true);
        }
        recovered
    }
}

/// The semaphore's step in the wait engine: take a permit; while asleep,
/// look for dead holders' permits every [`RECOVER_EVERY`].
struct Take<'a>(&'a Semaphore);

impl Step for Take<'_> {
    type Output = ();

    fn attempt(&mut self) -> Option<()> {
        self.0.take()
    }

    fn recheck(&mut self, woke: Woke) -> io::Result<Recheck<'_, ()>> {
        if woke == Woke::Tick {
            self.0.recover();
        }
        Ok(match self.0.take() {
            Some(()) => Recheck::Done(()),
            None => Recheck::Sleep(Also::Every(RECOVER_EVERY)),
        })
    }
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken but lets go of the guard: Python's style, where
    /// some process calls [`Semaphore::release`] later. The permit is no
    /// longer counted as this process's, so it is not recovered if this
    /// process dies.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(1)?;
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.get_value(), 0);
    /// sem.release()?;
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub fn forget(mut self) {
        self.sem.uncount(self.slot.take());
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.give_back(self.slot.take());
    }
}

/// A [`SemaphorePermit`] that owns a handle to its semaphore, from
/// [`Semaphore::acquire_owned`]; dropping it gives the permit back.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
/// let sem = ipc::Semaphore::new(1)?;
/// let permit: ipc::OwnedSemaphorePermit = sem.acquire_owned().await?;
/// permit.forget();
/// assert_eq!(sem.get_value(), 0);
/// # Ok(()) }
/// ```
#[must_use = "the permit is given back as soon as it is dropped"]
#[clippy::has_significant_drop]
pub struct OwnedSemaphorePermit {
    sem: Semaphore,
    slot: Option<usize>,
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit").finish_non_exhaustive()
    }
}

impl OwnedSemaphorePermit {
    /// As [`SemaphorePermit::forget`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let sem = ipc::Semaphore::new(1)?;
    /// sem.acquire_owned().await?.forget();
    /// sem.release()?;
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok(()) }
    /// ```
    pub fn forget(mut self) {
        self.sem.uncount(self.slot.take());
        std::mem::forget(self);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.give_back(self.slot.take());
    }
}

/// A semaphore serializes as a handle: its region and eventfd travel out of
/// band.
impl Serialize for Semaphore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        wire::serialize(&self.inner.region, self.inner.tokens.fd(), serializer)
    }
}

impl<'de> Deserialize<'de> for Semaphore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (region, tokens) = wire::deserialize(deserializer, Kind::Semaphore, WORDS)?;
        Ok(Semaphore::from_parts(region, Tokens::from_fd(tokens)))
    }
}

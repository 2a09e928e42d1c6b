//! The lock word: who holds a `Lock` (or `RLock`), whether a holder died
//! holding it, and how many sleep waiting for it.

use crate::loom::{AtomicU32, AtomicU64, Ordering};
use crate::wake::Sleeper;

/// In the flags word: a holder died holding the lock and nobody has vouched
/// for the state since.
const INCONSISTENT: u32 = 1;

/// How an acquisition went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acquired {
    Clean,
    OwnerDied,
}

/// The words of one lock: the holder's identity (0 when free), the count of
/// sleepers, and the flags.
#[derive(Clone, Copy)]
pub(crate) struct LockWord<'a> {
    pub(crate) state: &'a AtomicU64,
    pub(crate) sleepers: &'a AtomicU32,
    pub(crate) flags: &'a AtomicU32,
}

impl LockWord<'_> {
    /// The holder's identity, 0 when free. Relaxed: a snapshot for checks
    /// that order nothing.
    #[inline]
    pub(crate) fn holder(&self) -> u64 {
        self.state.load(Ordering::Relaxed)
    }

    /// One compare-exchange: takes the lock for `me` if it is free.
    #[inline]
    pub(crate) fn try_acquire(&self, me: u64) -> Option<Acquired> {
        // Acquire: pairs with the SeqCst swap in `release`, so the previous
        // holder's writes are visible to us.
        self.state.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).ok()?;
        Some(self.outcome())
    }

    #[inline]
    fn outcome(&self) -> Acquired {
        // Relaxed: we hold the lock, and whoever set the flag did so while
        // holding it, before a release our acquisition synchronised with.
        if self.flags.load(Ordering::Relaxed) & INCONSISTENT != 0 { Acquired::OwnerDied } else { Acquired::Clean }
    }

    /// Replaces the dead holder `dead` with `me`, marking the lock
    /// inconsistent.
    pub(crate) fn take_over(&self, dead: u64, me: u64) -> Option<Acquired> {
        // Acquire: the dead holder's writes (as far as they got) are visible.
        self.state.compare_exchange(dead, me, Ordering::Acquire, Ordering::Relaxed).ok()?;
        // Relaxed: we hold the lock; our release publishes the flag.
        self.flags.fetch_or(INCONSISTENT, Ordering::Relaxed);
        Some(Acquired::OwnerDied)
    }

    /// Releases the lock, whoever holds it. `None` if it was not locked;
    /// otherwise whether a sleeper must be woken (one token posted: the
    /// sleeper is claimed, see [`Sleeper::claim`]).
    #[inline]
    pub(crate) fn release(&self) -> Option<bool> {
        // SeqCst: a release for the next acquirer's Acquire exchange, and
        // the store half of the Dekker pair with a sleeper's registration
        // (the sleeper count below is the load half).
        if self.state.swap(0, Ordering::SeqCst) == 0 {
            return None;
        }
        Some(Sleeper::claim(self.sleepers, 1) > 0)
    }

    /// Clears the inconsistent mark (the caller holds the lock).
    pub(crate) fn make_consistent(&self) {
        // Relaxed: the caller holds the lock; its release publishes this.
        self.flags.fetch_and(!INCONSISTENT, Ordering::Relaxed);
    }
}

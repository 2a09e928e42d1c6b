//! A condition variable's words: a notify epoch, and one 64-bit word of
//! credits (notifications granted, not yet claimed; high half) and waiters
//! (low half). See `Condition`'s implementation notes for the protocol.

use crate::loom::{AtomicU32, AtomicU64, Ordering};
use crate::wake::Sleeper;

const ONE_WAITER: u64 = 1;
const ONE_CREDIT: u64 = 1 << 32;

pub(crate) fn credits(counts: u64) -> u64 {
    counts >> 32
}

pub(crate) fn waiters(counts: u64) -> u64 {
    counts & 0xffff_ffff
}

/// The words of one condition.
#[derive(Clone, Copy)]
pub(crate) struct CondWord<'a> {
    pub(crate) counts: &'a AtomicU64,
    pub(crate) epoch: &'a AtomicU32,
    pub(crate) sleepers: &'a AtomicU32,
}

impl<'a> CondWord<'a> {
    /// Grants up to `n` credits to the current waiters (the condition's lock
    /// is held). Returns whether sleepers must be woken (the bell rung).
    pub(crate) fn grant(&self, n: u64) -> bool {
        // SeqCst: the epoch moves before the credits appear, so a waiter
        // that sees a credit also sees that it may claim it.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        let mut c = self.counts.load(Ordering::SeqCst);
        loop {
            let granted = (credits(c) + n).min(waiters(c));
            if granted == credits(c) {
                return false; // nobody left to notify
            }
            // SeqCst: the store half of the Dekker pair with a sleeper's
            // registration (the sleeper count below is the load half).
            match self.counts.compare_exchange_weak(c, (granted << 32) | waiters(c), Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(seen) => c = seen,
            }
        }
        Sleeper::count(self.sleepers) > 0
    }

    /// Counts a new waiter (the condition's lock is held).
    pub(crate) fn enter(&self) -> Ticket<'a> {
        // Relaxed: the epoch only moves under the lock, which we hold.
        let epoch = self.epoch.load(Ordering::Relaxed);
        // SeqCst: counted before the lock is released, so a notify that
        // takes the lock after us sees us.
        self.counts.fetch_add(ONE_WAITER, Ordering::SeqCst);
        Ticket { word: *self, epoch, done: false }
    }
}

/// A counted waiter. The caller must finish it with `claim` (until it
/// succeeds), `time_out` or `leave`; `leave` is also what dropping it does.
pub(crate) struct Ticket<'a> {
    word: CondWord<'a>,
    epoch: u32,
    done: bool,
}

impl<'a> Ticket<'a> {
    /// The sleeper count to register with (`Sleeper::register`) before the
    /// re-check with `claim` that precedes sleeping.
    pub(crate) fn register_count(&self) -> &'a AtomicU32 {
        self.word.sleepers
    }

    /// Claims a credit if one is there for us.
    pub(crate) fn claim(&mut self) -> Option<()> {
        if self.done {
            return None;
        }
        // SeqCst: the re-check half of the Dekker pair with `grant`.
        if crate::loom::seqcst_load(self.word.epoch) == self.epoch {
            return None; // no notify since we began
        }
        let mut c = self.word.counts.load(Ordering::SeqCst);
        loop {
            // Credits never exceed waiters; checked anyway, so a corrupted
            // region cannot make the subtraction wrap.
            if credits(c) == 0 || waiters(c) == 0 {
                return None;
            }
            match self.word.counts.compare_exchange_weak(
                c,
                c - ONE_CREDIT - ONE_WAITER,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    self.done = true;
                    return Some(());
                }
                Err(seen) => c = seen,
            }
        }
    }

    /// Ends a timed-out wait: notified after all if a credit is there for
    /// us (`true`), else uncounted. Returns also whether to ring (see
    /// `leave`).
    pub(crate) fn time_out(&mut self) -> (bool, bool) {
        if self.claim().is_some() {
            return (true, false);
        }
        (false, self.leave())
    }

    /// Uncounts without claiming; credits beyond the remaining waiters go,
    /// the rest stay for them. Returns whether to ring, in case one of those
    /// was meant for us (and others sleep).
    pub(crate) fn leave(&mut self) -> bool {
        if std::mem::replace(&mut self.done, true) {
            return false;
        }
        let mut c = self.word.counts.load(Ordering::SeqCst);
        loop {
            let left = waiters(c).saturating_sub(1);
            let new = (credits(c).min(left) << 32) | left;
            match self.word.counts.compare_exchange_weak(c, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(seen) => c = seen,
            }
        }
        credits(c).min(waiters(c).saturating_sub(1)) > 0 && Sleeper::count(self.word.sleepers) > 0
    }
}

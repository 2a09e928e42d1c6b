//! The count of sleepers beside a state word: the half of the wait
//! protocol that lives in shared memory, so it is pure atomics (built under
//! the model checker too, where `sync::raw`'s protocols use it).

// Under the model checker only the models register sleepers.
#![cfg_attr(ipc_loom, allow(dead_code))]

use crate::loom::{AtomicU32, Ordering};

/// A registered sleeper; unregisters on drop (also when a wait is
/// cancelled).
///
/// For wake-one waits (tokens) the count is of sleepers *not yet woken*: a
/// waker [claims](Sleeper::claim) registrations as it posts tokens, one
/// each, so a sleeper that has been woken but has not run yet is not woken
/// again by every release or put meanwhile (a system call on each side for
/// nothing, and tokens piling up for the next sleepers to wake on in
/// vain); a sleeper that takes a token counts itself again
/// ([`took_token`](Sleeper::took_token)) before it re-checks. Tokens are
/// anonymous, so the count is kept only in the safe direction: at every
/// moment the sleepers asleep are at most the count plus the tokens
/// posted and not taken — registering and re-counting add one, a claim
/// moves one from the count to a token, taking a token wakes one, and
/// leaving takes one off the count if it is not zero (so a sleeper that
/// dies, or leaves with a token claimed for it still coming, makes at
/// worst one wake-up too many, never one too few).
pub(crate) struct Sleeper<'a>(&'a AtomicU32);

impl<'a> Sleeper<'a> {
    pub(crate) fn register(sleepers: &'a AtomicU32) -> Sleeper<'a> {
        // SeqCst: the store half of the Dekker pair with the waker's
        // `sleepers` load (`Sleeper::count`, `Sleeper::claim`); the
        // sleeper's re-check of the state after this must not move before it.
        sleepers.fetch_add(1, Ordering::SeqCst);
        Sleeper(sleepers)
    }

    /// This sleeper took a token, which a waker posted by claiming a
    /// registration: it counts itself again, before its re-check.
    pub(crate) fn took_token(&self) {
        // SeqCst: as in `register`, the re-check follows.
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// How many sleepers are registered. SeqCst: the load half of the
    /// Dekker pair; the waker's state change before it must not move after
    /// it, so every sleeper is either counted or sees the change.
    #[inline]
    pub(crate) fn count(sleepers: &AtomicU32) -> u32 {
        crate::loom::seqcst_load(sleepers)
    }

    /// Claims up to `n` registered sleepers not yet woken, for as many
    /// tokens as it returns, which the caller posts. A waker's half of the
    /// Dekker pair, as [`count`](Sleeper::count) (which it costs when
    /// nobody sleeps).
    #[inline]
    pub(crate) fn claim(sleepers: &AtomicU32, n: u32) -> u32 {
        let mut c = Sleeper::count(sleepers);
        loop {
            let k = c.min(n);
            if k == 0 {
                return 0;
            }
            // SeqCst: part of the waker's half of the pair, like the load.
            match sleepers.compare_exchange_weak(c, c - k, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return k,
                Err(seen) => c = seen,
            }
        }
    }
}

impl Drop for Sleeper<'_> {
    fn drop(&mut self) {
        // Relaxed is enough: a waker that still counts us wakes once too
        // often, which costs a spurious re-check and nothing else. Never
        // below zero: a claim may have taken our registration already.
        let _ = self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_sub(1));
    }
}

impl std::fmt::Debug for Sleeper<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleeper").finish_non_exhaustive()
    }
}

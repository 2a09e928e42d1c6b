//! A barrier's words: one 64-bit state (the round's arrival count in the low
//! 32 bits, a broken flag in bit 32, the round number above), a 64-round
//! outcome history, and the sleeper count. See `Barrier`'s implementation
//! notes for the protocol.

use crate::loom::{self, AtomicU32, AtomicU64, Ordering};
use crate::wake::Sleeper;

const COUNT_MASK: u64 = 0xffff_ffff;
const BROKEN: u64 = 1 << 32;
const ROUND_SHIFT: u32 = 33;

fn count(s: u64) -> u32 {
    (s & COUNT_MASK) as u32
}

pub(crate) fn round(s: u64) -> u64 {
    s >> ROUND_SHIFT
}

/// The state at the start of the round after `s`'s.
fn next_round(s: u64) -> u64 {
    (round(s).wrapping_add(1) << ROUND_SHIFT) & !(BROKEN | COUNT_MASK)
}

/// How a wait left its round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Left {
    Passed,
    Broken,
}

/// An arrival: the state we arrived in, our index, and whether the caller
/// must ring (our arrival completed the round and others sleep).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arrival {
    pub(crate) arrived: u64,
    pub(crate) index: u32,
    pub(crate) ring: bool,
}

/// The words of one barrier.
#[derive(Clone, Copy)]
pub(crate) struct BarrierWord<'a> {
    pub(crate) state: &'a AtomicU64,
    pub(crate) history: &'a AtomicU64,
    pub(crate) sleepers: &'a AtomicU32,
    pub(crate) parties: u32,
}

impl BarrierWord<'_> {
    /// Parties waiting in the current round: Python's rule, 0 unless the
    /// round is filling (while it completes, and while it is broken: its
    /// parties are leaving).
    pub(crate) fn n_waiting(&self) -> u32 {
        // Relaxed: a snapshot.
        let s = self.state.load(Ordering::Relaxed);
        let c = count(s);
        if c >= self.parties || s & BROKEN != 0 { 0 } else { c }
    }

    pub(crate) fn is_broken(&self) -> bool {
        // Relaxed: a snapshot.
        self.state.load(Ordering::Relaxed) & BROKEN != 0
    }

    /// Arrives, or `None` if the barrier is broken.
    pub(crate) fn arrive(&self) -> Option<Arrival> {
        let mut s = self.state.load(Ordering::SeqCst);
        loop {
            if s & BROKEN != 0 {
                return None;
            }
            if count(s) >= self.parties {
                // A transition is being made: it takes a few instructions.
                loom::yield_now();
                s = loom::seqcst_load64(self.state);
                continue;
            }
            // SeqCst: arrivals, transitions and sleeper counts form one
            // order (the Dekker pair with the waiters' registration).
            match self.state.compare_exchange_weak(s, s + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(seen) => s = seen,
            }
        }
        let index = count(s);
        // Our increment made the count `parties`: the transition is ours.
        let ring = index + 1 == self.parties && self.finish_round(s + 1, false);
        Some(Arrival { arrived: s, index, ring })
    }

    /// Ends the round whose claimed state is `claimed` (count = parties),
    /// recording whether it broke, and opens the next one. Returns whether
    /// to ring.
    fn finish_round(&self, claimed: u64, broken: bool) -> bool {
        let bit = 1u64 << (round(claimed) % 64);
        // SeqCst: the outcome is recorded before the round moves on, so a
        // waiter that sees the new round reads its own round's outcome.
        if broken {
            self.history.fetch_or(bit, Ordering::SeqCst);
        } else {
            self.history.fetch_and(!bit, Ordering::SeqCst);
        }
        // A swap rather than a store: the store half of the Dekker pair with
        // the sleepers is then a read-modify-write, as on every other side
        // of the protocol — the form the loom model checks (with a plain
        // store, loom reports a lost wake-up it cannot rule out).
        self.state.swap(next_round(claimed), Ordering::SeqCst);
        Sleeper::count(self.sleepers) > 0
    }

    /// Whether the round `arrived` has ended, and how.
    pub(crate) fn outcome(&self, arrived: u64) -> Option<Left> {
        // The re-check half of the Dekker pair with the transitions.
        let s = loom::seqcst_load64(self.state);
        if round(s) != round(arrived) {
            // SeqCst: after the round's move, which was after the record.
            let broken = self.history.load(Ordering::SeqCst) & (1 << (round(arrived) % 64)) != 0;
            return Some(if broken { Left::Broken } else { Left::Passed });
        }
        (s & BROKEN != 0).then_some(Left::Broken)
    }

    /// Sets the broken flag — only in round `only` if given (a party leaving
    /// its own round must not break a later one). Returns whether to ring.
    pub(crate) fn break_round(&self, only: Option<u64>) -> bool {
        let mut s = self.state.load(Ordering::SeqCst);
        loop {
            if only.is_some_and(|r| round(s) != r) || s & BROKEN != 0 {
                return false;
            }
            if count(s) >= self.parties {
                loom::yield_now();
                s = loom::seqcst_load64(self.state);
                continue;
            }
            match self.state.compare_exchange_weak(s, s | BROKEN, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break,
                Err(seen) => s = seen,
            }
        }
        Sleeper::count(self.sleepers) > 0
    }

    /// Takes back the arrival `arrived` of a party that leaves before its
    /// round ends (the manager's cancelled wait): the round's count goes
    /// down by one. `false` if there is nothing to take back: the round
    /// ended or broke, or is ending (the arrival then leaves with the
    /// round's outcome, as if it had stayed).
    pub(crate) fn withdraw(&self, arrived: u64) -> bool {
        let mut s = self.state.load(Ordering::SeqCst);
        loop {
            if round(s) != round(arrived) || s & BROKEN != 0 || count(s) == 0 {
                return false;
            }
            if count(s) >= self.parties {
                // The last arrival is completing the round: it passes.
                return false;
            }
            // SeqCst: one order with the arrivals, as `arrive`'s.
            match self.state.compare_exchange_weak(s, s - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(seen) => s = seen,
            }
        }
    }

    /// Ends the current round as broken and opens a fresh one. Returns
    /// whether to ring.
    pub(crate) fn reset(&self) -> bool {
        let mut s = self.state.load(Ordering::SeqCst);
        loop {
            if count(s) >= self.parties {
                loom::yield_now();
                s = loom::seqcst_load64(self.state);
                continue;
            }
            // Claim the transition (count = parties), keeping the round.
            let claimed = (s & !COUNT_MASK & !BROKEN) | u64::from(self.parties);
            match self.state.compare_exchange_weak(s, claimed, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return self.finish_round(claimed, true),
                Err(seen) => s = seen,
            }
        }
    }
}

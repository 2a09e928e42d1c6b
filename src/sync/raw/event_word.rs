//! An event's words: the state (the flag in bit 0, a generation above it,
//! bumped by every `set` that raises the flag) and the sleeper count.

use crate::loom::{self, AtomicU32, Ordering};
use crate::wake::Sleeper;

const FLAG: u32 = 1;

/// The words of one event.
#[derive(Clone, Copy)]
pub(crate) struct EventWord<'a> {
    pub(crate) state: &'a AtomicU32,
    pub(crate) sleepers: &'a AtomicU32,
}

impl EventWord<'_> {
    pub(crate) fn is_set(&self) -> bool {
        // Acquire: pairs with the SeqCst (so also release) update in `set`,
        // so what the setter wrote before `set` is visible after we see it.
        self.state.load(Ordering::Acquire) & FLAG != 0
    }

    /// Raises the flag (if it is down) and bumps the generation. Returns
    /// whether sleepers must be woken (the bell rung).
    pub(crate) fn set(&self) -> bool {
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            if current & FLAG != 0 {
                return false;
            }
            // Raise the flag and bump the generation in one step. SeqCst: the
            // store half of the Dekker pair with a sleeper's registration.
            let raised = current.wrapping_add(2) | FLAG;
            match self.state.compare_exchange_weak(current, raised, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => break,
                Err(seen) => current = seen,
            }
        }
        // Every waiter either is counted here, or registered after our
        // update and sees it.
        Sleeper::count(self.sleepers) > 0
    }

    pub(crate) fn clear(&self) {
        // Release: orders the clearer's earlier writes before the flag drops;
        // nobody waits for a clear, so nothing stronger is needed.
        self.state.fetch_and(!FLAG, Ordering::Release);
    }

    /// Where a wait begins: the state it compares against.
    pub(crate) fn begin(&self) -> u32 {
        loom::seqcst_load(self.state)
    }

    /// Whether the wait that began at `start` is over: the flag is up, or
    /// the generation moved (a `set` happened, even if a `clear` followed).
    pub(crate) fn released(&self, start: u32) -> Option<()> {
        // The re-check half of the Dekker pair with `set`.
        let now = loom::seqcst_load(self.state);
        (now & FLAG != 0 || (now >> 1) != (start >> 1)).then_some(())
    }
}

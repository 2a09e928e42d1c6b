//! The count of sleepers beside a state word: the half of the wait
//! protocol that lives in shared memory, so it is pure atomics (built under
//! the model checker too, where `sync::raw`'s protocols use it).

// Under the model checker only the models register sleepers.
#![cfg_attr(ipc_loom, allow(dead_code))]

use crate::loom::{AtomicU32, Ordering};

/// A registered sleeper; unregisters on drop (also when a wait is
/// cancelled).
pub(crate) struct Sleeper<'a>(&'a AtomicU32);

impl<'a> Sleeper<'a> {
    pub(crate) fn register(sleepers: &'a AtomicU32) -> Sleeper<'a> {
        // SeqCst: the store half of the Dekker pair with the waker's
        // `sleepers` load (`Sleeper::count`); the sleeper's re-check of the
        // state after this must not move before it.
        sleepers.fetch_add(1, Ordering::SeqCst);
        Sleeper(sleepers)
    }

    /// How many sleepers are registered. SeqCst: the load half of the
    /// Dekker pair; the waker's state change before it must not move after
    /// it, so every sleeper is either counted or sees the change.
    #[inline]
    pub(crate) fn count(sleepers: &AtomicU32) -> u32 {
        crate::loom::seqcst_load(sleepers)
    }
}

impl Drop for Sleeper<'_> {
    fn drop(&mut self) {
        // Relaxed is enough: a waker that still counts us wakes once too
        // often, which costs a spurious re-check and nothing else.
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Sleeper<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleeper").finish_non_exhaustive()
    }
}

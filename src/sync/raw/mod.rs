//! The primitives' shared-memory protocols, free of waiting and of the
//! operating system: pure atomics on words handed in, so the same code runs
//! over a `memfd` mapping in the crate and over loom's model atomics in the
//! model checks (`RUSTFLAGS="--cfg ipc_loom" cargo test --release --lib`,
//! see `tests.rs`). The callers add the waiting (spin, eventfd, pidfd).

// Under the model checker only the models use these, and not every method.
#![cfg_attr(ipc_loom, allow(dead_code))]

pub(crate) mod barrier_word;
pub(crate) mod cond_word;
pub(crate) mod event_word;
pub(crate) mod lock_word;
pub(crate) mod sem_word;
#[cfg(all(test, ipc_loom))]
mod tests;

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

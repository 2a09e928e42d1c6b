//! A semaphore's words: the value, the sleeper count, and the bound (0 for
//! none).

use crate::loom::{self, AtomicU32, Ordering};
use crate::wake::Sleeper;

/// The words of one semaphore.
#[derive(Clone, Copy)]
pub(crate) struct SemWord<'a> {
    pub(crate) value: &'a AtomicU32,
    pub(crate) sleepers: &'a AtomicU32,
    /// The greatest value, if bounded.
    pub(crate) bound: Option<u32>,
}

impl SemWord<'_> {
    /// Takes a permit if one is free.
    pub(crate) fn take(&self) -> Option<()> {
        // SeqCst, not Relaxed: after a sleeper's registration this is the
        // re-check half of the Dekker pair with `give`, and a stale zero
        // here would put the sleeper to sleep past a release.
        let mut v = loom::seqcst_load(self.value);
        loop {
            if v == 0 {
                return None;
            }
            // Acquire: pairs with the SeqCst increment in `give`, so what the
            // releaser wrote before releasing is visible to the taker.
            match self.value.compare_exchange_weak(v, v - 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(()),
                Err(seen) => v = seen,
            }
        }
    }

    /// Adds `n` permits (up to the bound if `clamp`). `None` if the bound
    /// forbade it (and nothing changed); otherwise how many sleepers to wake
    /// (claimed: see [`Sleeper::claim`]).
    pub(crate) fn give(&self, n: u32, clamp: bool) -> Option<u32> {
        match self.bound {
            None => {
                // SeqCst: a release for the taker's Acquire, and the store
                // half of the Dekker pair with a sleeper's registration.
                self.value.fetch_add(n, Ordering::SeqCst);
            }
            Some(bound) => {
                let mut v = self.value.load(Ordering::Relaxed);
                loop {
                    let new = match v.checked_add(n).filter(|&new| new <= bound) {
                        Some(new) => new,
                        None if clamp => bound,
                        None => return None,
                    };
                    // SeqCst: as above.
                    match self.value.compare_exchange_weak(v, new, Ordering::SeqCst, Ordering::Relaxed) {
                        Ok(_) => break,
                        Err(seen) => v = seen,
                    }
                }
            }
        }
        Some(Sleeper::claim(self.sleepers, n))
    }
}

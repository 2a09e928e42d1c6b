//! The one place atomics come from.
//!
//! Shared-memory words are atomics laid over a mapping; every other module
//! names them through this facade (clippy's `disallowed-types` rejects
//! `std::sync::atomic` types elsewhere), so the orderings used across the
//! crate can be reviewed in one sweep and a model checker can be switched in
//! here: under `--cfg ipc_loom` these are loom's model atomics, and only
//! this module and `sync::raw` (the protocols, with their model checks)
//! are built. The wrappers are `repr(transparent)`, so a word in a mapping
//! may be viewed as one.
#![allow(clippy::disallowed_types)]

pub(crate) use std::sync::atomic::Ordering;

#[cfg(ipc_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64};

/// A `SeqCst` load, for the load half of a store-then-load (Dekker) pair
/// and for a spin that waits for another party's store. Loom does not model
/// `SeqCst` loads (tokio-rs/loom#180: they act as `Acquire`, so Dekker pairs
/// "fail" and spins may read a stale value forever), so under the model this
/// is an `AcqRel` read-modify-write of nothing, which reads the latest value
/// and is at least as strong; the model then checks everything around it.
#[inline]
pub(crate) fn seqcst_load(word: &AtomicU32) -> u32 {
    #[cfg(not(ipc_loom))]
    {
        word.load(Ordering::SeqCst)
    }
    #[cfg(ipc_loom)]
    {
        word.fetch_add(0, Ordering::AcqRel)
    }
}

#[cfg(not(ipc_loom))]
pub(crate) use std_atomics::{AtomicBool, AtomicU32, AtomicU64};

/// Gives the CPU away while another party finishes a few instructions
/// (loom's version lets the model schedule that party).
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(ipc_loom))]
    std::thread::yield_now();
    #[cfg(ipc_loom)]
    loom::thread::yield_now();
}

/// [`seqcst_load`] for a 64-bit word.
#[inline]
pub(crate) fn seqcst_load64(word: &AtomicU64) -> u64 {
    #[cfg(not(ipc_loom))]
    {
        word.load(Ordering::SeqCst)
    }
    #[cfg(ipc_loom)]
    {
        word.fetch_add(0, Ordering::AcqRel)
    }
}

#[cfg(not(ipc_loom))]
mod std_atomics {
    use std::ops::Deref;

    macro_rules! atomic {
        ($name:ident, $std:ty, $int:ty) => {
            #[doc = concat!("A `", stringify!($std), "` named through the facade.")]
            #[repr(transparent)]
            #[derive(Debug, Default)]
            pub(crate) struct $name($std);

            impl $name {
                #[inline]
                pub(crate) const fn new(v: $int) -> Self {
                    $name(<$std>::new(v))
                }
            }

            impl Deref for $name {
                type Target = $std;
                #[inline]
                fn deref(&self) -> &$std {
                    &self.0
                }
            }
        };
    }

    atomic!(AtomicU32, std::sync::atomic::AtomicU32, u32);
    atomic!(AtomicU64, std::sync::atomic::AtomicU64, u64);
    // Process-local flags only (never laid over a mapping).
    atomic!(AtomicBool, std::sync::atomic::AtomicBool, bool);
}

//! The one place atomics come from.
//!
//! Shared-memory words are atomics laid over a mapping; every other module
//! names them through this facade (clippy's `disallowed-types` rejects
//! `std::sync::atomic` types elsewhere), so the orderings used across the
//! crate can be reviewed in one sweep and a model checker can be switched in
//! here. The wrappers are `repr(transparent)`, so a word in a mapping may be
//! viewed as one. Loom models of the lock, semaphore and barrier words are
//! not written yet.
#![allow(clippy::disallowed_types)]

use std::ops::Deref;

pub(crate) use std::sync::atomic::Ordering;

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

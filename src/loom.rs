//! The one place atomics come from.
//!
//! Shared-memory words are `std` atomics laid over a mapping; every other
//! module reaches them through this facade (clippy's `disallowed-types`
//! enforces it), so the orderings used across the crate can be reviewed in
//! one sweep and a model checker can be switched in here. Loom models of
//! the lock, semaphore and barrier words are not written yet.
#![allow(clippy::disallowed_types)]

pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

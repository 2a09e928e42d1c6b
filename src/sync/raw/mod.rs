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
pub(crate) mod tests;

//! Cross-process synchronisation (Python's `multiprocessing` `Lock`,
//! `RLock`, `Semaphore`, `BoundedSemaphore`, `Event`, `Condition`,
//! `Barrier`).
//!
//! Every primitive is a few words in a shared `memfd` region plus an eventfd
//! for wake-ups (see the notes in the crate's `wake` module): an uncontended
//! operation is atomics only, a waiter spins briefly when that pays and then
//! sleeps without a thread of its own, so a thousand tasks can wait on one
//! object. Primitives are handles: pass them to children and through
//! connections.
//!
//! # How this room is built
//!
//! Each primitive is three layers, and its file holds only the top two:
//!
//! - **A word protocol** in `raw/` (`lock_word.rs`, `sem_word.rs`, …): pure
//!   atomics on words handed in, with no waiting and no system call, so the
//!   same code runs over a mapping here and over loom's model atomics in
//!   `raw/tests.rs` (`RUSTFLAGS="--cfg ipc_loom" cargo test --release
//!   --lib`).
//! - **A step** for the wait engine (`crate::wake`): the attempt, the
//!   recheck and what to watch while asleep, e.g. `lock.rs`'s `Acquire`.
//!   The engine owns the loop — try, spin, register, recheck, sleep — once
//!   for every primitive.
//! - **The API**: each operation is one `async fn …_in<P: Park>(…, park)`;
//!   the async form calls it with `wake::Async`, the blocking form with
//!   `wake::Blocking` through `wake::blocking`, and the timed forms with a
//!   deadline on the park. None of them waits by itself.
//!
//! This room uses `wake`, `shm` (regions), `sys` (pidfds) and `loom`; the
//! queue, the shared values and the manager use it, never the other way.
//!
//! ## Adding a primitive (a read-write lock, say)
//!
//! 1. `raw/rwlock_word.rs`: the state word's protocol (readers count and a
//!    writer bit, a sleeper count per side), and its loom model in
//!    `raw/tests.rs`.
//! 2. `rwlock.rs`: two steps (`Read`, `Write`) over the word, each a
//!    dozen lines, and the API — `read_in`/`write_in` generic over the
//!    park, with their async, blocking and timed forms, guards, serde
//!    through `wire`.
//! 3. One line each in `raw/mod.rs` and this file's module lists, a
//!    `Kind::RwLock` in `shm/mod.rs` (the region's kind, checked when a
//!    handle arrives), the crate root's re-exports and the crate docs' name
//!    table.
//!
//! Nothing in `wake/` changes: a new primitive is a word protocol and a
//! thin file.

#[cfg(not(ipc_loom))]
mod barrier;
#[cfg(not(ipc_loom))]
mod condition;
#[cfg(not(ipc_loom))]
mod error;
#[cfg(not(ipc_loom))]
mod event;
#[cfg(not(ipc_loom))]
pub(crate) mod lock;
#[cfg(not(ipc_loom))]
pub(crate) mod owner;
pub(crate) mod raw;
#[cfg(not(ipc_loom))]
mod rlock;
#[cfg(not(ipc_loom))]
mod semaphore;
#[cfg(not(ipc_loom))]
mod wire;

#[cfg(not(ipc_loom))]
pub use barrier::Barrier;
#[cfg(not(ipc_loom))]
pub use condition::{Condition, ConditionGuard};
#[cfg(not(ipc_loom))]
pub use error::{LockError, SyncError, TryLockError};
#[cfg(not(ipc_loom))]
pub use event::Event;
#[cfg(not(ipc_loom))]
pub use lock::{Lock, LockGuard, OwnedLockGuard};
#[cfg(not(ipc_loom))]
pub use rlock::{RLock, RLockGuard};
#[cfg(not(ipc_loom))]
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

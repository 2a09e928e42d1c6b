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

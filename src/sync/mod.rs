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

mod barrier;
mod condition;
mod error;
mod event;
mod lock;
mod owner;
mod rlock;
mod semaphore;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionGuard};
pub use error::{LockError, SyncError, TryLockError};
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{Semaphore, SemaphorePermit};

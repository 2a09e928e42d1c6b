//! The proxies of the manager's synchronisation objects: `Lock`, `RLock`,
//! `Semaphore` / `BoundedSemaphore`, `Condition`, `Event` and `Barrier`.
//! An owned lock's proxy names its task (`sync::owner::local`) in each
//! call, and undoes an `acquire` (or a `Condition`'s `wait`) that finished
//! after its caller left.

mod barrier;
mod condition;
mod event;
mod lock;
mod semaphore;

pub use barrier::BarrierProxy;
pub use condition::ConditionProxy;
pub use event::EventProxy;
pub use lock::{LockProxy, RLockProxy};
pub use semaphore::SemaphoreProxy;

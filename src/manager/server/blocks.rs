//! A `SharedMemoryManager`'s record of the blocks it made.

use std::sync::{Arc, Mutex};

use super::super::methods::{self, Bytes, Kind, tracker};
use super::{CallFuture, Caller, Served, lock, ready};

/// The names of the shared-memory blocks a `SharedMemoryManager` made:
/// unlinked when this object goes (the manager's shutdown, or its last
/// proxy dropped).
#[derive(Default)]
pub(super) struct BlockTracker {
    names: Mutex<Vec<String>>,
}

impl Served for BlockTracker {
    fn type_name(&self) -> &'static str {
        methods::SharedMemoryTracker::NAME
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        ready(
            tracker::Call::decode(method, &args)
                .map(|tracker::Call::Track(name, a)| {
                    lock(&self.names).push(name);
                    a
                })
                .and_then(|a| a.ok(&())),
        )
    }
}

impl Drop for BlockTracker {
    fn drop(&mut self) {
        for name in lock(&self.names).drain(..) {
            // Already unlinked by someone else is fine: it is gone either way.
            if let Ok(block) = crate::shared::SharedMemory::open(&name) {
                let _ = block.unlink();
            }
        }
    }
}

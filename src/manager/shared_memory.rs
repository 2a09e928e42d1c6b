//! `SharedMemoryManager` (Python's
//! `multiprocessing.managers.SharedMemoryManager`).

use std::fmt;

use super::Manager;
use super::client::ObjectRef;
use super::error::{CallError, ManagerError};
use super::methods::{self, tracker};
use crate::shared::Item;
use crate::shared::{ShareableList, SharedMemory};

/// Makes [`SharedMemory`] blocks and [`ShareableList`]s that are unlinked
/// when it shuts down (Python's `SharedMemoryManager`): a server process
/// keeps their names and unlinks them at
/// [`shutdown`](SharedMemoryManager::shutdown) or when this manager is
/// dropped. If this process is killed instead, the process tree's
/// resource tracker unlinks them, as it does every block the tree made.
///
/// The blocks are ordinary ones: pass them (or their names) to other
/// processes as usual.
///
/// # Examples
///
/// ```
/// #[ipc::main]
/// async fn main() -> ipc::Result<()> {
///     let smm = ipc::manager::SharedMemoryManager::start().await?;
///     let block = smm.shared_memory(128).await?;
///     let list = smm.shareable_list([1i64, 2, 3]).await?;
///     let names = (block.name().to_string(), list.shm().name().to_string());
///     smm.shutdown().await?;
///     assert!(ipc::SharedMemory::open(&names.0).is_err()); // unlinked
///     assert!(ipc::SharedMemory::open(&names.1).is_err());
///     Ok(())
/// }
/// ```
pub struct SharedMemoryManager {
    tracker: ObjectRef,
    manager: Manager,
}

impl fmt::Debug for SharedMemoryManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemoryManager").field("manager", &self.manager).finish_non_exhaustive()
    }
}

impl SharedMemoryManager {
    /// Spawns the server that will unlink the blocks.
    ///
    /// # Errors
    ///
    /// As [`Manager::start`].
    ///
    /// # Examples
    ///
    /// See [`SharedMemoryManager`].
    pub async fn start() -> Result<SharedMemoryManager, ManagerError> {
        let manager = Manager::start().await?;
        let tracker = manager.make(methods::SharedMemoryTracker, &()).await?;
        Ok(SharedMemoryManager { tracker, manager })
    }

    /// Blocking form of [`start`](SharedMemoryManager::start), for
    /// synchronous code.
    ///
    /// # Errors
    ///
    /// As [`start`](SharedMemoryManager::start).
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     ipc::init();
    ///     let smm = ipc::manager::SharedMemoryManager::blocking_start()?;
    ///     let block = smm.blocking_shared_memory(64)?;
    ///     let name = block.name().to_owned();
    ///     smm.blocking_shutdown()?;
    ///     assert!(ipc::SharedMemory::open(&name).is_err(), "unlinked at shutdown");
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_start() -> Result<SharedMemoryManager, ManagerError> {
        crate::manager::blocking(SharedMemoryManager::start())
    }

    /// Hands `block`'s name to the server. Cancel safe: a caller that
    /// leaves before the server has the name unlinks the block here (the
    /// server skips a name already gone).
    async fn track(&self, block: &SharedMemory) -> Result<(), CallError> {
        struct UnlinkUnlessTracked<'a>(Option<&'a SharedMemory>);
        impl Drop for UnlinkUnlessTracked<'_> {
            fn drop(&mut self) {
                if let Some(block) = self.0 {
                    let _ = block.unlink();
                }
            }
        }
        let mut guard = UnlinkUnlessTracked(Some(block));
        self.tracker.call(tracker::Track, &block.name().to_owned()).await?;
        guard.0 = None;
        Ok(())
    }

    /// A new block of `size` bytes with a fresh name (Python's
    /// `smm.SharedMemory(size)`).
    ///
    /// # Errors
    ///
    /// As [`SharedMemory::create`]; [`CallError::Disconnected`] if the
    /// server is gone (the block is then unlinked at once).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a block made for a caller that left is unlinked.
    ///
    /// # Examples
    ///
    /// See [`SharedMemoryManager`].
    pub async fn shared_memory(&self, size: usize) -> Result<SharedMemory, ManagerError> {
        let block = SharedMemory::create(None, size)?;
        self.track(&block).await?;
        Ok(block)
    }

    /// Blocking form of [`shared_memory`](Self::shared_memory), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`shared_memory`](Self::shared_memory).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_shared_memory(&self, size: usize) -> Result<SharedMemory, ManagerError> {
        crate::manager::blocking(self.shared_memory(size))
    }

    /// A new [`ShareableList`] holding `items` (Python's
    /// `smm.ShareableList(sequence)`).
    ///
    /// # Errors
    ///
    /// As [`ShareableList::create`]; [`CallError::Disconnected`] if the
    /// server is gone (the list's block is then unlinked at once).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`shared_memory`](SharedMemoryManager::shared_memory).
    ///
    /// # Examples
    ///
    /// See [`SharedMemoryManager`].
    pub async fn shareable_list<I>(&self, items: I) -> Result<ShareableList, ManagerError>
    where
        I: IntoIterator,
        I::Item: Into<Item>,
    {
        let list = ShareableList::create(None, items)?;
        self.track(list.shm()).await?;
        Ok(list)
    }

    /// Blocking form of [`shareable_list`](Self::shareable_list), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`shareable_list`](Self::shareable_list).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_shareable_list<I>(&self, items: I) -> Result<ShareableList, ManagerError>
    where
        I: IntoIterator,
        I::Item: Into<Item>,
    {
        crate::manager::blocking(self.shareable_list(items))
    }

    /// The manager underneath, for the other managed objects (Python's
    /// `SharedMemoryManager` is a `SyncManager` too).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let smm = ipc::manager::SharedMemoryManager::start().await?;
    /// let q = smm.manager().queue::<u8>(0).await?;
    /// q.put(&1).await?;
    /// # Ok(()) }
    /// ```
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// Unlinks every block made here and stops the server (Python's
    /// `smm.shutdown()`); blocks already unlinked are skipped.
    ///
    /// # Errors
    ///
    /// As [`Manager::shutdown`].
    ///
    /// # Examples
    ///
    /// See [`SharedMemoryManager`].
    pub async fn shutdown(self) -> Result<(), CallError> {
        let SharedMemoryManager { tracker, manager } = self;
        drop(tracker);
        manager.shutdown().await
    }

    /// Blocking form of [`shutdown`](SharedMemoryManager::shutdown).
    ///
    /// # Errors
    ///
    /// As [`shutdown`](SharedMemoryManager::shutdown).
    ///
    /// # Examples
    ///
    /// See [`blocking_start`](SharedMemoryManager::blocking_start).
    pub fn blocking_shutdown(self) -> Result<(), CallError> {
        crate::manager::blocking(self.shutdown())
    }
}

//! Shared data: [`Value`] and [`Array`] (with their lock-free forms
//! [`RawValue`] and [`RawArray`]) for plain-old-data types, and named
//! [`SharedMemory`] blocks and [`ShareableList`]s compatible with Python's.
//!
//! # What this room holds and may use
//!
//! `Value`/`Array`, named `SharedMemory` and `ShareableList`: it uses `sync`
//! (the data lock), `shm`, `handle`, `sys`, and `process`'s resource tracker
//! for named blocks; the manager serves its blocks.
// `SharedMemory::as_slice` and `as_mut_slice` are unsafe by contract, and an
// `ArrayGuard` borrows its elements under the array's lock.
#![allow(unsafe_code)]

mod list;
mod memory;
mod value;

pub use list::{Item, ListError, ShareableList};
pub use memory::SharedMemory;
pub use value::{Array, ArrayGuard, ArrayResult, DataLock, RawArray, RawValue, Value, ValueGuard};

pub use crate::shm::ShmSafe;

/// Why an element access did nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The index is not below the length.
    #[error("index {index} is out of range for length {len}")]
    OutOfRange {
        /// The index asked for.
        index: usize,
        /// The length.
        len: usize,
    },
    /// A whole-array assignment with a slice of another length.
    #[error("cannot assign {got} elements to an array of {len}")]
    WrongLength {
        /// The array's length.
        len: usize,
        /// The slice's length.
        got: usize,
    },
    /// A byte range reaching past the end of a block.
    #[error("bytes {offset}..{offset}+{len} are out of bounds for a block of {size}")]
    OutOfBounds {
        /// Where the range starts.
        offset: usize,
        /// Its length.
        len: usize,
        /// The block's size.
        size: usize,
    },
    /// Another process shrank the block (`ftruncate`) below the range: the
    /// bytes are gone. Nothing was copied, or (for a read) what was copied
    /// is not to be used.
    #[error("the block was shrunk to {size} bytes by another process")]
    Shrunk {
        /// The block's size now.
        size: usize,
    },
    /// The lock could not be waited for (outside a tokio runtime).
    #[error("cannot take the array's lock: {0}")]
    Io(#[from] std::io::Error),
}

//! Shared data: [`Value`] and [`Array`] (with their lock-free forms
//! [`RawValue`] and [`RawArray`]) for plain-old-data types, and named
//! [`SharedMemory`] blocks and [`ShareableList`]s compatible with Python's.
//!
//! # What this room holds and may use
//!
//! `Value`/`Array`, named `SharedMemory` and `ShareableList`: it uses `sync`
//! (the data lock), `shm`, `handle`, `sys`, and `process`'s resource tracker
//! for named blocks; the manager serves its blocks.
// The `ShmSafe` contract is an unsafe trait with unsafe impls.
#![allow(unsafe_code)]

mod list;
mod memory;
mod value;

pub use list::{Item, ListError, ShareableList};
pub use memory::SharedMemory;
pub use value::{Array, ArrayGuard, ArrayResult, DataLock, RawArray, RawValue, Value, ValueGuard};

/// A type that may live in memory other processes read and write.
///
/// Derive it for your own `#[repr(C)]` structs with
/// [`#[derive(ipc::ShmSafe)]`](macro@crate::ShmSafe); the derive checks the
/// `repr` and requires every field to be `ShmSafe` (each failure is a
/// compile error at its culprit).
///
/// # Safety
///
/// Implement it (or derive it) only for a type that:
///
/// - has a layout every process agrees on: a primitive, an array of
///   `ShmSafe`, or a `#[repr(C)]` / `#[repr(transparent)]` struct of
///   `ShmSafe` fields;
/// - is valid for **every** bit pattern, since another process (or a
///   process killed mid-write) may leave any bytes there: no `bool`,
///   `char`, enum, `NonZero*` or reference;
/// - holds no pointer, reference or file descriptor: addresses and
///   descriptor numbers mean nothing in another process (store offsets and
///   indices instead).
///
/// # Examples
///
/// ```
/// #[derive(Clone, Copy, Debug, PartialEq, ipc::ShmSafe)]
/// #[repr(C)]
/// struct Point {
///     x: f64,
///     y: f64,
/// }
///
/// # fn main() -> ipc::Result<()> {
/// let p = ipc::Value::new(Point { x: 1.0, y: 2.0 })?;
/// p.blocking_get_lock()?.y = 3.0;
/// assert_eq!(p.blocking_load()?, Point { x: 1.0, y: 3.0 });
/// # Ok(()) }
/// ```
pub unsafe trait ShmSafe: Copy + Send + Sync + 'static {}

macro_rules! shm_safe {
    ($($t:ty),*) => {
        $(
            // SAFETY: a primitive number: every bit pattern is a value, and
            // it holds no pointer or descriptor.
            unsafe impl ShmSafe for $t {}
        )*
    };
}

shm_safe!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

// SAFETY: an array of ShmSafe elements has their layout repeated, with no
// padding between elements and nothing else in it.
unsafe impl<T: ShmSafe, const N: usize> ShmSafe for [T; N] {}

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

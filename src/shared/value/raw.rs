//! [`RawArray`] and [`RawValue`]: the lock-free forms.

use std::fmt;
use std::io;
use std::sync::Arc;

#[cfg(doc)]
use super::super::AccessError;
use super::super::ShmSafe;
#[cfg(doc)]
use super::Array;
use super::{ArrayResult, Cells, Checked};
use crate::shm::Kind;

/// A fixed-length array of `T` in shared memory without a lock (Python's
/// `RawArray`, or `Array(..., lock=False)`).
///
/// Each element is copied in or out on its own; a reader racing a writer
/// of the same element may see it half-written (still a `T`, see
/// [`ShmSafe`]). Use [`Array`] when that matters.
///
/// # Examples
///
/// ```
/// # fn main() -> ipc::Result<()> {
/// let a = ipc::RawArray::new(&[1u32, 2, 3])?;
/// a.set(0, 7)?;
/// assert_eq!(a.get(0)?, 7);
/// assert_eq!(a.to_vec(), [7, 2, 3]);
/// # Ok(()) }
/// ```
pub struct RawArray<T> {
    pub(super) cells: Arc<Cells<T>>,
}

impl<T> Clone for RawArray<T> {
    fn clone(&self) -> Self {
        RawArray { cells: Arc::clone(&self.cells) }
    }
}

impl<T> fmt::Debug for RawArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawArray").field("len", &self.cells.len()).finish_non_exhaustive()
    }
}

impl<T: ShmSafe> RawArray<T> {
    /// An array holding a copy of `values`.
    ///
    /// # Errors
    ///
    /// An i/o error if the shared region cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert_eq!(ipc::RawArray::new(&[0u8; 16])?.len(), 16);
    /// # Ok(()) }
    /// ```
    pub fn new(values: &[T]) -> io::Result<RawArray<T>> {
        Ok(RawArray { cells: Arc::new(Cells::new(Kind::RawArray, values)?) })
    }

    /// The number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert_eq!(ipc::RawArray::new(&[1i16])?.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the array has no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert!(ipc::RawArray::<u8>::new(&[])?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfRange`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let a = ipc::RawArray::new(&[3u8])?;
    /// assert!(matches!(a.get(1), Err(ipc::AccessError::OutOfRange { index: 1, len: 1 })));
    /// # Ok(()) }
    /// ```
    pub fn get(&self, i: usize) -> ArrayResult<T> {
        self.cells.check(i)?;
        Ok(self.cells.load(i))
    }

    /// Sets element `i`.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfRange`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let a = ipc::RawArray::new(&[3u8])?;
    /// assert!(a.set(5, 1).is_err());
    /// # Ok(()) }
    /// ```
    pub fn set(&self, i: usize, v: T) -> ArrayResult<()> {
        self.cells.check(i)?;
        self.cells.store(i, v);
        Ok(())
    }

    /// A copy of every element.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert_eq!(ipc::RawArray::new(&[1u8, 2])?.to_vec(), [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn to_vec(&self) -> Vec<T> {
        (0..self.cells.len()).map(|i| self.cells.load(i)).collect()
    }

    /// Replaces every element.
    ///
    /// # Errors
    ///
    /// [`AccessError::WrongLength`] if `values` is not as long as the array
    /// (nothing is written).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let a = ipc::RawArray::new(&[0u8; 2])?;
    /// assert!(a.assign(&[1]).is_err());
    /// a.assign(&[1, 2]).unwrap();
    /// assert_eq!(a.to_vec(), [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn assign(&self, values: &[T]) -> ArrayResult<()> {
        self.cells.check_len(values.len())?;
        for (i, v) in values.iter().enumerate() {
            self.cells.store(i, *v);
        }
        Ok(())
    }
}

/// One `T` in shared memory without a lock (Python's `RawValue`, or
/// `Value(..., lock=False)`): loads and stores are single copies that may
/// tear when they race (see [`RawArray`]).
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let v = ipc::RawValue::new(1u64)?;
/// v.store(2);
/// assert_eq!(v.load(), 2);
/// # Ok(()) }
/// ```
pub struct RawValue<T> {
    pub(super) array: RawArray<T>,
}

impl<T> Clone for RawValue<T> {
    fn clone(&self) -> Self {
        RawValue { array: self.array.clone() }
    }
}

impl<T> fmt::Debug for RawValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawValue").finish_non_exhaustive()
    }
}

impl<T: ShmSafe> RawValue<T> {
    /// A shared `T` starting at `value`.
    ///
    /// # Errors
    ///
    /// An i/o error if the shared region cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert_eq!(ipc::RawValue::new(-3i32)?.load(), -3);
    /// # Ok(()) }
    /// ```
    pub fn new(value: T) -> io::Result<RawValue<T>> {
        Ok(RawValue { array: RawArray::new(&[value])? })
    }

    /// The value now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert_eq!(ipc::RawValue::new(1.5f64)?.load(), 1.5);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "value")]
    pub fn load(&self) -> T {
        self.array.cells.load(0)
    }

    /// Sets the value.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let v = ipc::RawValue::new(0u8)?;
    /// v.store(9);
    /// assert_eq!(v.load(), 9);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "value")]
    pub fn store(&self, value: T) {
        self.array.cells.store(0, value);
    }
}

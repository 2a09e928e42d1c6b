//! [`Array`]: elements behind a robust lock in their own region.

use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use super::super::{AccessError, ShmSafe};
use super::{Cells, Checked};
#[cfg(doc)]
use super::{RawArray, Value};
use crate::shm::{Kind, Region};
use crate::sync::lock::{LOCK_BYTES, RawLock};
use crate::sync::{Lock, LockError, LockGuard, TryLockError};

/// A fixed-length array of `T` in shared memory with its own lock (Python's
/// `multiprocessing.Array(typecode, ...)`).
///
/// [`get_lock`](Array::get_lock) takes the lock and returns a guard that
/// derefs to `[T]`; [`get`](Array::get), [`set`](Array::set),
/// [`to_vec`](Array::to_vec) and [`assign`](Array::assign) take it for one
/// step. Clones and copies received by other processes (as spawn arguments
/// or through a `Connection`) share the elements.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let num = ipc::Array::new(&[1i32, 2, 3, 4, 5])?;
/// let mut p = ipc::Process::spawn(
///     |num: ipc::Array<i32>| async move { num.set(2, 9999).await.unwrap() },
///     num.clone(),
/// )?;
/// p.join().await?;
/// assert_eq!(num.to_vec().await?, [1, 2, 9999, 4, 5]);
/// # Ok(()) }
/// ```
pub struct Array<T> {
    pub(super) inner: Arc<Locked<T>>,
}

pub(super) struct Locked<T> {
    pub(super) cells: Cells<T>,
    pub(super) lock: DataLock,
}

impl<T: ShmSafe> Locked<T> {
    /// The lock over the first words of `cells`' region (a mapping of its
    /// own of the same memfd), waking through `tokens` (a new eventfd if
    /// `None`).
    pub(super) fn new(cells: Cells<T>, tokens: Option<OwnedFd>) -> io::Result<Locked<T>> {
        let fd = crate::sys::dup_cloexec(cells.region().fd())?;
        let words = Region::from_fd(fd, Kind::Array, LOCK_BYTES / 4)?;
        let lock = DataLock { lock: Lock::from_raw(RawLock::within(words, tokens)?) };
        Ok(Locked { cells, lock })
    }
}

/// The lock of an [`Array`] or a [`Value`] (Python's `get_lock()`, used as
/// a lock: `with arr.get_lock(): ...`).
///
/// It is a [`Lock`] that can only be taken as a guard: there is no
/// unguarded `acquire`/`release` (Python's), and no handle to it apart from
/// the array's, because a release behind the back of a live
/// [`ArrayGuard`] would let two guards write the same elements. Use the
/// guard's scope instead of `acquire()`/`release()`:
///
/// ```compile_fail
/// # fn main() -> ipc::Result<()> {
/// let a = ipc::Array::new(&[1u8])?;
/// let mut g = a.blocking_get_lock()?;
/// a.lock().release(); // no such method: `g` still holds the lock
/// # Ok(()) }
/// ```
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
/// let a = ipc::Array::new(&[0u8])?;
/// let held = a.lock().lock().await?;
/// assert!(a.lock().is_locked());
/// assert!(a.lock().try_lock().is_err());
/// drop(held);
/// a.set(0, 1).await?;
/// # Ok(()) }
/// ```
pub struct DataLock {
    pub(super) lock: Lock,
}

impl fmt::Debug for DataLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataLock").field("locked", &self.is_locked()).finish()
    }
}

impl DataLock {
    /// Whether some process holds the lock now.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(0u8)?;
    /// assert!(!v.lock().is_locked());
    /// # Ok(()) }
    /// ```
    pub fn is_locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// As [`Lock::lock`].
    ///
    /// # Errors
    ///
    /// As [`Lock::lock`].
    ///
    /// # Cancel safety
    ///
    /// As [`Lock::lock`]: a dropped call holds nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(0u8)?;
    /// let _held = v.lock().lock().await?;
    /// assert!(v.lock().is_locked());
    /// # Ok(()) }
    /// ```
    pub async fn lock(&self) -> Result<LockGuard<'_>, LockError<LockGuard<'_>>> {
        self.lock.lock().await
    }

    /// As [`Lock::try_lock`].
    ///
    /// # Errors
    ///
    /// As [`Lock::try_lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(0u8)?;
    /// let held = v.lock().try_lock()?;
    /// assert!(v.lock().try_lock().is_err());
    /// # drop(held); Ok(()) }
    /// ```
    pub fn try_lock(&self) -> Result<LockGuard<'_>, TryLockError<LockGuard<'_>>> {
        self.lock.try_lock()
    }

    /// As [`Lock::lock_timeout`].
    ///
    /// # Errors
    ///
    /// As [`Lock::lock_timeout`].
    ///
    /// # Cancel safety
    ///
    /// As [`Lock::lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(0u8)?;
    /// let _held = v.get_lock().await?;
    /// let r = v.lock().lock_timeout(std::time::Duration::from_millis(5)).await;
    /// assert!(matches!(r, Err(ipc::TryLockError::WouldBlock)));
    /// # Ok(()) }
    /// ```
    pub async fn lock_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>, TryLockError<LockGuard<'_>>> {
        self.lock.lock_timeout(timeout).await
    }

    /// As [`Lock::blocking_lock`].
    ///
    /// # Errors
    ///
    /// As [`Lock::blocking_lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(0u8)?;
    /// let held = v.lock().blocking_lock()?;
    /// assert!(v.lock().is_locked());
    /// # drop(held); Ok(()) }
    /// ```
    pub fn blocking_lock(&self) -> Result<LockGuard<'_>, LockError<LockGuard<'_>>> {
        self.lock.blocking_lock()
    }

    /// As [`Lock::blocking_lock_timeout`].
    ///
    /// # Errors
    ///
    /// As [`Lock::blocking_lock_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(0u8)?;
    /// let _held = v.blocking_get_lock()?;
    /// let r = v.lock().blocking_lock_timeout(std::time::Duration::from_millis(5));
    /// assert!(matches!(r, Err(ipc::TryLockError::WouldBlock)));
    /// # Ok(()) }
    /// ```
    pub fn blocking_lock_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>, TryLockError<LockGuard<'_>>> {
        self.lock.blocking_lock_timeout(timeout)
    }
}

impl<T> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array { inner: Arc::clone(&self.inner) }
    }
}

impl<T: ShmSafe + fmt::Debug> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array").field("len", &self.inner.cells.len()).finish_non_exhaustive()
    }
}

/// The lock of an [`Array`] (or [`Value`]) held, with its elements.
///
/// Derefs to `[T]`; the lock is released when the guard drops.
pub struct ArrayGuard<'a, T> {
    pub(super) guard: LockGuard<'a>,
    pub(super) cells: &'a Cells<T>,
}

impl<T> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayGuard").field("len", &self.cells.len()).finish_non_exhaustive()
    }
}

impl<T> ArrayGuard<'_, T> {
    /// After [`LockError::OwnerDied`]: marks the elements consistent again
    /// (see [`LockGuard::make_consistent`]).
    pub fn make_consistent(&self) {
        self.guard.make_consistent();
    }
}

impl<T: ShmSafe> Deref for ArrayGuard<'_, T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: the array's lock is held for the guard's life and is freed
        // only by the guard's drop (`DataLock` has no unguarded release).
        // Its words live in the elements' own region, and regions are mapped
        // only as their kind, so every handle that reaches these elements is
        // a handle of this array, which takes this lock before making a
        // reference: nothing in any process that goes through `ipc` writes
        // them while this borrow lives (see the module notes for a process
        // that does not): `as_slice`'s contract.
        unsafe { self.cells.as_slice() }
    }
}

impl<T: ShmSafe> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow
        // through the guard; no other guard of this array exists, in any
        // process, while the lock is held: `as_mut_slice`'s contract.
        unsafe { self.cells.as_mut_slice() }
    }
}

/// Why an [`Array`] or [`RawArray`] operation did nothing.
pub type ArrayResult<T> = Result<T, AccessError>;

impl<T: ShmSafe> Array<T> {
    /// An array holding a copy of `values`.
    ///
    /// # Errors
    ///
    /// An i/o error if the shared region or the lock cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let a = ipc::Array::new(&[1.5f64, 2.5])?;
    /// assert_eq!(a.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn new(values: &[T]) -> io::Result<Array<T>> {
        let inner = Locked::new(Cells::new(Kind::Array, values)?, None)?;
        Ok(Array { inner: Arc::new(inner) })
    }

    /// An array of `len` zeroed elements (Python's `Array('i', 10)`).
    ///
    /// # Errors
    ///
    /// As [`new`](Array::new).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::<u64>::zeroed(3)?;
    /// assert_eq!(*a.blocking_get_lock()?, [0, 0, 0]);
    /// # Ok(()) }
    /// ```
    pub fn zeroed(len: usize) -> io::Result<Array<T>> {
        let inner = Locked::new(Cells::zeroed(Kind::Array, len)?, None)?;
        Ok(Array { inner: Arc::new(inner) })
    }

    /// The number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert_eq!(ipc::Array::<u8>::zeroed(4)?.len(), 4);
    /// # Ok(()) }
    /// ```
    pub fn len(&self) -> usize {
        self.inner.cells.len()
    }

    /// Whether the array has no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert!(ipc::Array::<u8>::zeroed(0)?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The array's lock, for use on its own (Python's `get_lock()` used
    /// as a lock: `with arr.get_lock(): ...`): it can be taken only as a
    /// guard (see [`DataLock`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::new(&[0u8])?;
    /// let _held = a.lock().lock().await?;
    /// assert!(a.lock().try_lock().is_err());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "get_lock")]
    pub fn lock(&self) -> &DataLock {
        &self.inner.lock
    }

    pub(super) fn guarded<'a>(
        &'a self,
        r: Result<LockGuard<'a>, LockError<LockGuard<'a>>>,
    ) -> Result<ArrayGuard<'a, T>, LockError<ArrayGuard<'a, T>>> {
        let cells = &self.inner.cells;
        match r {
            Ok(guard) => Ok(ArrayGuard { guard, cells }),
            Err(e) => Err(e.map(|guard| ArrayGuard { guard, cells })),
        }
    }

    /// Takes the lock: a guard that derefs to the elements.
    ///
    /// # Errors
    ///
    /// [`LockError::OwnerDied`] (with the guard) if a holder died holding
    /// it, so the elements may be half-written; [`LockError::Io`] outside a
    /// tokio runtime.
    ///
    /// # Cancel safety
    ///
    /// As [`Lock::lock`]: a dropped call holds nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::new(&[1u32, 2, 3])?;
    /// {
    ///     let mut g = a.get_lock().await?;
    ///     g.reverse();
    /// }
    /// assert_eq!(a.to_vec().await?, [3, 2, 1]);
    /// # Ok(()) }
    /// ```
    pub async fn get_lock(&self) -> Result<ArrayGuard<'_, T>, LockError<ArrayGuard<'_, T>>> {
        let r = self.inner.lock.lock().await;
        self.guarded(r)
    }

    /// Blocking form of [`get_lock`](Array::get_lock).
    ///
    /// # Errors
    ///
    /// As [`get_lock`](Array::get_lock) (an i/o error only from the
    /// operating system).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::new(&[1u8, 2])?;
    /// a.blocking_get_lock()?[0] = 7;
    /// assert_eq!(*a.blocking_get_lock()?, [7, 2]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_get_lock(&self) -> Result<ArrayGuard<'_, T>, LockError<ArrayGuard<'_, T>>> {
        let r = self.inner.lock.blocking_lock();
        self.guarded(r)
    }

    /// Takes the lock for one step. A dead holder's mark is accepted (the
    /// elements are whatever it left: each is still a `T`).
    pub(super) async fn with<R>(&self, f: impl FnOnce(&mut [T]) -> R) -> io::Result<R> {
        let mut guard = match self.get_lock().await {
            Ok(g) => g,
            Err(LockError::OwnerDied(g)) => g,
            Err(LockError::Io(e)) => return Err(e),
        };
        Ok(f(&mut guard))
    }

    /// Element `i`, under the lock.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfRange`]; [`AccessError::Io`] outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::new(&[10u8, 20])?;
    /// assert_eq!(a.get(1).await?, 20);
    /// assert!(a.get(2).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, i: usize) -> ArrayResult<T> {
        self.inner.cells.check(i)?;
        Ok(self.with(|s| s[i]).await?)
    }

    /// Sets element `i`, under the lock.
    ///
    /// # Errors
    ///
    /// As [`get`](Array::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::new(&[10u8, 20])?;
    /// a.set(0, 11).await?;
    /// assert_eq!(a.to_vec().await?, [11, 20]);
    /// # Ok(()) }
    /// ```
    pub async fn set(&self, i: usize, v: T) -> ArrayResult<()> {
        self.inner.cells.check(i)?;
        Ok(self.with(|s| s[i] = v).await?)
    }

    /// A copy of every element, under the lock (Python's `arr[:]`).
    ///
    /// # Errors
    ///
    /// An i/o error outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// assert_eq!(ipc::Array::new(&[1i64, -1])?.to_vec().await?, [1, -1]);
    /// # Ok(()) }
    /// ```
    pub async fn to_vec(&self) -> io::Result<Vec<T>> {
        self.with(|s| s.to_vec()).await
    }

    /// Replaces every element, under the lock (Python's `arr[:] = ...`).
    ///
    /// # Errors
    ///
    /// [`AccessError::WrongLength`] if `values` is not as long as the array
    /// (nothing is written); [`AccessError::Io`] outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::<u8>::zeroed(2)?;
    /// a.assign(&[4, 5]).await?;
    /// assert!(a.assign(&[1, 2, 3]).await.is_err());
    /// assert_eq!(a.to_vec().await?, [4, 5]);
    /// # Ok(()) }
    /// ```
    pub async fn assign(&self, values: &[T]) -> ArrayResult<()> {
        self.inner.cells.check_len(values.len())?;
        Ok(self.with(|s| s.copy_from_slice(values)).await?)
    }

    /// Takes the lock for one step, blocking the thread.
    pub(super) fn blocking_with<R>(&self, f: impl FnOnce(&mut [T]) -> R) -> io::Result<R> {
        let mut guard = match self.blocking_get_lock() {
            Ok(g) | Err(LockError::OwnerDied(g)) => g,
            Err(LockError::Io(e)) => return Err(e),
        };
        Ok(f(&mut guard))
    }

    /// Blocking form of [`get`](Array::get), for synchronous code.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfRange`]; [`AccessError::Io`] only from the
    /// operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::new(&[10u8, 20])?;
    /// assert_eq!(a.blocking_get(1)?, 20);
    /// assert!(a.blocking_get(2).is_err());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "__getitem__")]
    pub fn blocking_get(&self, i: usize) -> ArrayResult<T> {
        self.inner.cells.check(i)?;
        Ok(self.blocking_with(|s| s[i])?)
    }

    /// Blocking form of [`set`](Array::set).
    ///
    /// # Errors
    ///
    /// As [`blocking_get`](Array::blocking_get).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::new(&[10u8, 20])?;
    /// a.blocking_set(0, 11)?;
    /// assert_eq!(a.blocking_to_vec()?, [11, 20]);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "__setitem__")]
    pub fn blocking_set(&self, i: usize, v: T) -> ArrayResult<()> {
        self.inner.cells.check(i)?;
        Ok(self.blocking_with(|s| s[i] = v)?)
    }

    /// Blocking form of [`to_vec`](Array::to_vec).
    ///
    /// # Errors
    ///
    /// An i/o error only from the operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// assert_eq!(ipc::Array::new(&[1i64, -1])?.blocking_to_vec()?, [1, -1]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_to_vec(&self) -> io::Result<Vec<T>> {
        self.blocking_with(|s| s.to_vec())
    }

    /// Blocking form of [`assign`](Array::assign).
    ///
    /// # Errors
    ///
    /// As [`assign`](Array::assign).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let a = ipc::Array::<u8>::zeroed(2)?;
    /// a.blocking_assign(&[4, 5])?;
    /// assert!(a.blocking_assign(&[1]).is_err());
    /// assert_eq!(a.blocking_to_vec()?, [4, 5]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_assign(&self, values: &[T]) -> ArrayResult<()> {
        self.inner.cells.check_len(values.len())?;
        Ok(self.blocking_with(|s| s.copy_from_slice(values))?)
    }
}

//! `Value<T>` and `Array<T>` (Python's `multiprocessing.Value` / `Array`),
//! and their lock-free forms `RawValue<T>` / `RawArray<T>`.
//!
//! # Implementation notes
//!
//! The elements live in an anonymous shared `memfd` region (it vanishes with
//! the last process holding it). `Array<T>` keeps a robust lock's words at
//! the start of the same region, before the elements; its guard hands out
//! `&mut [T]` while the lock is held. That is sound because:
//!
//! - the lock cannot be separated from its elements: a handle carries one
//!   region, and the lock it uses is the one in that region;
//! - a region is mapped only as the kind it was made for (see
//!   [`crate::shm::Kind`]), so no other handle — a lock-free array, a
//!   [`Lock`], a garbled or lying message — reaches these bytes;
//! - the lock is released only by dropping the guard that took it: the
//!   array hands out a [`DataLock`], which has no unguarded `release`.
//!
//! What no library can rule out is a process that writes the shared pages
//! without going through `ipc` (a broken or hostile peer that holds the
//! descriptor): it can garble the elements, never make them an invalid `T`
//! (see below). The raw forms copy elements in and out with volatile
//! accesses and never make a reference to shared bytes, so racing writers
//! may tear an element (as in Python) but break no aliasing rule. A `T` is
//! [`ShmSafe`]: any bit pattern is a valid `T`, so a torn or peer-written
//! element is still a `T`.
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{AccessError, ShmSafe};
use crate::handle::{DeFd, SerFd};
use crate::shm::{Kind, Region};
use crate::sync::lock::{RawLock, LOCK_BYTES};
use crate::sync::{Lock, LockError, LockGuard, TryLockError};

/// `len` elements of `T` in a shared region, from byte `start` on.
struct Cells<T> {
    region: Region,
    start: usize,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: ShmSafe> Cells<T> {
    /// Where the elements start: after the lock's words (on a cache line of
    /// their own) in an [`Array`]'s region, at 0 in a [`RawArray`]'s.
    fn start(kind: Kind) -> usize {
        match kind {
            // A multiple of T's alignment (both are powers of two).
            Kind::Array => 64.max(align_of::<T>()),
            _ => 0,
        }
    }

    fn words_for(kind: Kind, len: usize) -> io::Result<usize> {
        len.checked_mul(size_of::<T>())
            .and_then(|b| b.checked_add(Cells::<T>::start(kind)))
            .filter(|&b| b <= isize::MAX as usize / 2)
            .map(|b| b.div_ceil(4).max(1))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the array is too large"))
    }

    /// `len` zeroed elements (all-zero bytes are a valid T) in a new region.
    fn zeroed(kind: Kind, len: usize) -> io::Result<Cells<T>> {
        let region = Region::new(kind, Cells::<T>::words_for(kind, len)?)?;
        Ok(Cells { region, start: Cells::<T>::start(kind), len, _t: PhantomData })
    }

    fn new(kind: Kind, values: &[T]) -> io::Result<Cells<T>> {
        let cells = Cells::zeroed(kind, values.len())?;
        for (i, v) in values.iter().enumerate() {
            cells.store(i, *v);
        }
        Ok(cells)
    }

    fn from_fd(fd: OwnedFd, kind: Kind, len: usize) -> io::Result<Cells<T>> {
        let region = Region::from_fd(fd, kind, Cells::<T>::words_for(kind, len)?)?;
        Ok(Cells { region, start: Cells::<T>::start(kind), len, _t: PhantomData })
    }

    fn ptr(&self) -> *mut T {
        // SAFETY: `start` is within the mapping, which `words_for` sized
        // for `start` plus `len` elements (checked at creation or receipt).
        unsafe { self.region.as_ptr().add(self.start) }.cast()
    }

    /// Element `i` (in range), copied out.
    fn load(&self, i: usize) -> T {
        debug_assert!(i < self.len);
        // SAFETY: `i < len` keeps the element inside the mapping (sized for
        // `start` plus `len` elements at creation or receipt, sealed against
        // shrinking); the mapping is page-aligned, `start` is a multiple of
        // T's alignment and T's size is a multiple of it, so the pointer is
        // aligned. Any bit pattern is a valid T (ShmSafe), so whatever a
        // peer wrote is one; the volatile read makes no reference to the
        // shared bytes.
        unsafe { self.ptr().add(i).read_volatile() }
    }

    /// Stores `v` as element `i` (in range).
    fn store(&self, i: usize, v: T) {
        debug_assert!(i < self.len);
        // SAFETY: as in `load`: in bounds and aligned; a volatile write makes
        // no reference to the shared bytes.
        unsafe { self.ptr().add(i).write_volatile(v) }
    }

    fn check(&self, i: usize) -> Result<(), AccessError> {
        if i < self.len {
            Ok(())
        } else {
            Err(AccessError::OutOfRange { index: i, len: self.len })
        }
    }

    fn check_len(&self, got: usize) -> Result<(), AccessError> {
        if got == self.len {
            Ok(())
        } else {
            Err(AccessError::WrongLength { len: self.len, got })
        }
    }
}

// ----- Array ---------------------------------------------------------------

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
    inner: Arc<Locked<T>>,
}

struct Locked<T> {
    cells: Cells<T>,
    lock: DataLock,
}

impl<T: ShmSafe> Locked<T> {
    /// The lock over the first words of `cells`' region (a mapping of its
    /// own of the same memfd), waking through `tokens` (a new eventfd if
    /// `None`).
    fn new(cells: Cells<T>, tokens: Option<OwnedFd>) -> io::Result<Locked<T>> {
        let fd = crate::sys::dup_cloexec(cells.region.fd())?;
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
    lock: Lock,
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
        f.debug_struct("Array").field("len", &self.inner.cells.len).finish_non_exhaustive()
    }
}

/// The lock of an [`Array`] (or [`Value`]) held, with its elements.
///
/// Derefs to `[T]`; the lock is released when the guard drops.
pub struct ArrayGuard<'a, T> {
    guard: LockGuard<'a>,
    cells: &'a Cells<T>,
}

impl<T> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayGuard").field("len", &self.cells.len).finish_non_exhaustive()
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
        // that does not). In bounds and aligned as in `Cells::load`; any bit
        // pattern is a valid T.
        unsafe { std::slice::from_raw_parts(self.cells.ptr(), self.cells.len) }
    }
}

impl<T: ShmSafe> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow
        // through the guard; no other guard of this array exists, in any
        // process, while the lock is held.
        unsafe { std::slice::from_raw_parts_mut(self.cells.ptr(), self.cells.len) }
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
        self.inner.cells.len
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

    fn guarded<'a>(
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
    async fn with<R>(&self, f: impl FnOnce(&mut [T]) -> R) -> io::Result<R> {
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
    fn blocking_with<R>(&self, f: impl FnOnce(&mut [T]) -> R) -> io::Result<R> {
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

// ----- Value ---------------------------------------------------------------

/// One `T` in shared memory with its own lock (Python's
/// `multiprocessing.Value(typecode, value)`).
///
/// [`load`](Value::load) and [`store`](Value::store) take the lock for one
/// step (Python's `.value`); [`get_lock`](Value::get_lock) holds it across
/// a read-modify-write (Python's `with v.get_lock(): v.value += 1`).
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let num = ipc::Value::new(10.0f64)?;
/// let mut p = ipc::Process::spawn(|num: ipc::Value<f64>| async move { num.store(10.78).await.unwrap() }, num.clone())?;
/// p.join().await?;
/// assert_eq!(num.load().await?, 10.78);
/// # Ok(()) }
/// ```
pub struct Value<T> {
    array: Array<T>,
}

impl<T> Clone for Value<T> {
    fn clone(&self) -> Self {
        Value { array: self.array.clone() }
    }
}

impl<T: ShmSafe + fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value").finish_non_exhaustive()
    }
}

/// The lock of a [`Value`] held: derefs to the `T`.
pub struct ValueGuard<'a, T> {
    inner: ArrayGuard<'a, T>,
}

impl<T> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueGuard").finish_non_exhaustive()
    }
}

impl<T> ValueGuard<'_, T> {
    /// After [`LockError::OwnerDied`]: marks the value consistent again.
    pub fn make_consistent(&self) {
        self.inner.make_consistent();
    }
}

impl<T: ShmSafe> Deref for ValueGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner[0]
    }
}

impl<T: ShmSafe> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner[0]
    }
}

fn value_guard<'a, T>(
    r: Result<ArrayGuard<'a, T>, LockError<ArrayGuard<'a, T>>>,
) -> Result<ValueGuard<'a, T>, LockError<ValueGuard<'a, T>>> {
    match r {
        Ok(inner) => Ok(ValueGuard { inner }),
        Err(e) => Err(e.map(|inner| ValueGuard { inner })),
    }
}

impl<T: ShmSafe> Value<T> {
    /// A shared `T` starting at `value`.
    ///
    /// # Errors
    ///
    /// An i/o error if the shared region or the lock cannot be made.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(3u32)?;
    /// assert_eq!(v.blocking_load()?, 3);
    /// # Ok(()) }
    /// ```
    pub fn new(value: T) -> io::Result<Value<T>> {
        Ok(Value { array: Array::new(&[value])? })
    }

    /// The value's lock, for use on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(0u8)?;
    /// assert!(!v.lock().is_locked());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "get_lock")]
    pub fn lock(&self) -> &DataLock {
        self.array.lock()
    }

    /// Takes the lock: a guard that derefs to the value.
    ///
    /// # Errors
    ///
    /// As [`Array::get_lock`].
    ///
    /// # Cancel safety
    ///
    /// As [`Lock::lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(1u64)?;
    /// *v.get_lock().await? += 1;
    /// assert_eq!(v.load().await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn get_lock(&self) -> Result<ValueGuard<'_, T>, LockError<ValueGuard<'_, T>>> {
        value_guard(self.array.get_lock().await)
    }

    /// Blocking form of [`get_lock`](Value::get_lock).
    ///
    /// # Errors
    ///
    /// As [`get_lock`](Value::get_lock).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(1i8)?;
    /// *v.blocking_get_lock()? -= 2;
    /// assert_eq!(v.blocking_load()?, -1);
    /// # Ok(()) }
    /// ```
    pub fn blocking_get_lock(&self) -> Result<ValueGuard<'_, T>, LockError<ValueGuard<'_, T>>> {
        value_guard(self.array.blocking_get_lock())
    }

    /// The value, read under the lock (Python's `v.value`). A dead
    /// holder's mark is accepted: the value is whatever it left.
    ///
    /// # Errors
    ///
    /// An i/o error outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// assert_eq!(ipc::Value::new('x' as u32)?.load().await?, 'x' as u32);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "value")]
    pub async fn load(&self) -> io::Result<T> {
        self.array.with(|s| s[0]).await
    }

    /// Sets the value under the lock (Python's `v.value = x`).
    ///
    /// # Errors
    ///
    /// An i/o error outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> ipc::Result<()> {
    /// let v = ipc::Value::new(0.0f32)?;
    /// v.store(2.5).await?;
    /// assert_eq!(v.load().await?, 2.5);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "value")]
    pub async fn store(&self, value: T) -> io::Result<()> {
        self.array.with(|s| s[0] = value).await
    }

    /// Blocking form of [`load`](Value::load).
    ///
    /// # Errors
    ///
    /// An i/o error only from the operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// assert_eq!(ipc::Value::new(5u16)?.blocking_load()?, 5);
    /// # Ok(()) }
    /// ```
    pub fn blocking_load(&self) -> io::Result<T> {
        Ok(*unpoison(self.blocking_get_lock())?)
    }

    /// Blocking form of [`store`](Value::store).
    ///
    /// # Errors
    ///
    /// An i/o error only from the operating system.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let v = ipc::Value::new(5u16)?;
    /// v.blocking_store(6)?;
    /// assert_eq!(v.blocking_load()?, 6);
    /// # Ok(()) }
    /// ```
    pub fn blocking_store(&self, value: T) -> io::Result<()> {
        *unpoison(self.blocking_get_lock())? = value;
        Ok(())
    }
}

fn unpoison<G>(r: Result<G, LockError<G>>) -> io::Result<G> {
    match r {
        Ok(g) | Err(LockError::OwnerDied(g)) => Ok(g),
        Err(LockError::Io(e)) => Err(e),
    }
}

// ----- the lock-free forms -------------------------------------------------

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
    cells: Arc<Cells<T>>,
}

impl<T> Clone for RawArray<T> {
    fn clone(&self) -> Self {
        RawArray { cells: Arc::clone(&self.cells) }
    }
}

impl<T> fmt::Debug for RawArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawArray").field("len", &self.cells.len).finish_non_exhaustive()
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
        self.cells.len
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
        (0..self.cells.len).map(|i| self.cells.load(i)).collect()
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
    array: RawArray<T>,
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

// ----- as handles ----------------------------------------------------------

/// An array as a handle: its region and (for an [`Array`]) its lock's
/// eventfd, out of band. The lock's words are in the region.
#[derive(Serialize)]
struct WireRef<'a> {
    region: SerFd<'a>,
    len: u64,
    elem_size: u32,
    wake: Option<SerFd<'a>>,
}

#[derive(Deserialize)]
struct Wire {
    region: DeFd,
    len: u64,
    elem_size: u32,
    wake: Option<DeFd>,
}

fn ser<T, S: Serializer>(cells: &Cells<T>, wake: Option<BorrowedFd<'_>>, s: S) -> Result<S::Ok, S::Error> {
    let wire = WireRef {
        region: SerFd(cells.region.fd()),
        len: cells.len as u64,
        elem_size: size_of::<T>() as u32,
        wake: wake.map(SerFd),
    };
    wire.serialize(s)
}

/// An array's elements as received (a region of `kind`), and its lock's
/// eventfd if it has a lock.
fn de<'de, T: ShmSafe, D: Deserializer<'de>>(d: D, kind: Kind) -> Result<(Cells<T>, Option<OwnedFd>), D::Error> {
    let wire = Wire::deserialize(d)?;
    if wire.elem_size as usize != size_of::<T>() {
        return Err(D::Error::custom("a shared array handle of a different element size"));
    }
    if wire.wake.is_some() != (kind == Kind::Array) {
        return Err(D::Error::custom("a locked and a lock-free shared array mixed up"));
    }
    let len = usize::try_from(wire.len).map_err(D::Error::custom)?;
    let cells = Cells::from_fd(wire.region.0, kind, len).map_err(D::Error::custom)?;
    Ok((cells, wire.wake.map(|w| w.0)))
}

/// Serializes as a handle: the region and the lock's eventfd travel out of
/// band.
impl<T: ShmSafe> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser(&self.inner.cells, Some(self.inner.lock.lock.raw().tokens_fd()), s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (cells, wake) = de::<T, D>(d, Kind::Array)?;
        let wake = wake.ok_or_else(|| D::Error::custom("a shared array handle without its lock"))?;
        Ok(Array { inner: Arc::new(Locked::new(cells, Some(wake)).map_err(D::Error::custom)?) })
    }
}

/// Serializes as a handle (see [`Array`]).
impl<T: ShmSafe> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.array.serialize(s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let array = Array::<T>::deserialize(d)?;
        if array.len() != 1 {
            return Err(D::Error::custom("a shared value handle holding an array"));
        }
        Ok(Value { array })
    }
}

/// Serializes as a handle: the region travels out of band.
impl<T: ShmSafe> Serialize for RawArray<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser(&self.cells, None, s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for RawArray<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (cells, _) = de::<T, D>(d, Kind::RawArray)?;
        Ok(RawArray { cells: Arc::new(cells) })
    }
}

/// Serializes as a handle (see [`RawArray`]).
impl<T: ShmSafe> Serialize for RawValue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.array.serialize(s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for RawValue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let array = RawArray::<T>::deserialize(d)?;
        if array.len() != 1 {
            return Err(D::Error::custom("a shared value handle holding an array"));
        }
        Ok(RawValue { array })
    }
}

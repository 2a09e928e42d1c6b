//! [`Value`]: one element behind a robust lock (an [`Array`] of one).

use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};

use super::super::ShmSafe;
use super::{Array, ArrayGuard, DataLock};
#[cfg(doc)]
use crate::sync::Lock;
use crate::sync::LockError;

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
    pub(super) array: Array<T>,
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
    pub(super) inner: ArrayGuard<'a, T>,
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

pub(super) fn value_guard<'a, T>(
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

pub(super) fn unpoison<G>(r: Result<G, LockError<G>>) -> io::Result<G> {
    match r {
        Ok(g) | Err(LockError::OwnerDied(g)) => Ok(g),
        Err(LockError::Io(e)) => Err(e),
    }
}

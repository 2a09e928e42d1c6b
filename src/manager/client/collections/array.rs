//! `ArrayProxy`: an `Array` (a fixed-length list) on the server.

use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(doc)]
use super::super::super::error::RemoteError;
use super::super::super::methods::array;
use super::super::{CallError, load};

proxy! {
    /// A fixed-length array in a manager (Python's
    /// `manager.Array(typecode, sequence)`): items are any serde type;
    /// its length never changes. For numbers shared between processes of
    /// one machine, [`ipc::Array`](crate::Array) in shared memory is far
    /// faster.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let a = manager.array(&[0.0f64; 4]).await?;
    ///     a.set(-1, &2.5).await?;
    ///     assert_eq!(a.to_vec().await?, [0.0, 0.0, 0.0, 2.5]);
    ///     assert_eq!(a.len().await?, 4);
    ///     Ok(())
    /// }
    /// ```
    ArrayProxy<T>
}

impl<T: Serialize + DeserializeOwned> ArrayProxy<T> {
    /// `a[index]` (negative counts from the end).
    ///
    /// # Errors
    ///
    /// `IndexError` out of range, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let a = manager.array(&[1u8, 2, 3]).await?;
    /// assert_eq!(a.get(-1).await?, 3);
    /// assert!(a.get(3).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, index: i64) -> Result<T, CallError> {
        let v: Vec<u8> = self.obj.call(array::Get, &index).await?;
        load(&v)
    }

    /// Blocking form of [`get`](Self::get), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_get(&self, index: i64) -> Result<T, CallError> {
        crate::manager::blocking(self.get(index))
    }

    /// `a[index] = value`.
    ///
    /// # Errors
    ///
    /// `IndexError` out of range, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`ArrayProxy`].
    pub async fn set(&self, index: i64, value: &T) -> Result<(), CallError> {
        self.obj.call(array::Set, &(index, self.obj.stored(value)?)).await
    }

    /// Blocking form of [`set`](Self::set), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_set(&self, index: i64, value: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.set(index, value))
    }

    /// `len(a)`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`ArrayProxy`].
    pub async fn len(&self) -> Result<usize, CallError> {
        Ok(self.obj.call(array::Len, &()).await? as usize)
    }

    /// Blocking form of [`len`](Self::len), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`len`](Self::len).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_len(&self) -> Result<usize, CallError> {
        crate::manager::blocking(self.len())
    }

    /// `len(a) == 0`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// assert!(manager.array::<u8>(&[]).await?.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn is_empty(&self) -> Result<bool, CallError> {
        Ok(self.len().await? == 0)
    }

    /// Blocking form of [`is_empty`](Self::is_empty), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`is_empty`](Self::is_empty).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_is_empty(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.is_empty())
    }

    /// `a[:]`: every item (one round trip).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or an item does not decode.
    ///
    /// # Examples
    ///
    /// See [`ArrayProxy`].
    pub async fn to_vec(&self) -> Result<Vec<T>, CallError> {
        let items: Vec<Vec<u8>> = self.obj.call(array::ToVec, &()).await?;
        items.iter().map(|b| load(b)).collect()
    }

    /// Blocking form of [`to_vec`](Self::to_vec), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`to_vec`](Self::to_vec).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_to_vec(&self) -> Result<Vec<T>, CallError> {
        crate::manager::blocking(self.to_vec())
    }
}

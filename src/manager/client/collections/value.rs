//! `ValueProxy`: a `Value` on the server.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::super::super::methods::value;
use super::super::{CallError, load};

proxy! {
    /// A value in a manager (Python's `manager.Value(typecode, value)`),
    /// of any serde type.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let v = manager.value(&1.5f64).await?;
    ///     v.set(&2.5).await?;
    ///     assert_eq!(v.get().await?, 2.5);
    ///     Ok(())
    /// }
    /// ```
    ValueProxy<T>
}

impl<T: Serialize + DeserializeOwned> ValueProxy<T> {
    /// `v.value`.
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
    /// assert_eq!(manager.value(&7u8).await?.get().await?, 7);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> Result<T, CallError> {
        let v: Vec<u8> = self.obj.call(value::Get, &()).await?;
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
    pub fn blocking_get(&self) -> Result<T, CallError> {
        crate::manager::blocking(self.get())
    }

    /// `v.value = value`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the value cannot be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let v = manager.value(&0u8).await?;
    /// v.set(&9).await?;
    /// assert_eq!(v.get().await?, 9);
    /// # Ok(()) }
    /// ```
    pub async fn set(&self, value: &T) -> Result<(), CallError> {
        self.obj.call(value::Set, &self.obj.stored(value)?).await
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
    pub fn blocking_set(&self, value: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.set(value))
    }
}

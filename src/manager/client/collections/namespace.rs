//! `NamespaceProxy`: a `Namespace` on the server.

use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(doc)]
use super::super::super::error::RemoteError;
use super::super::super::methods::namespace;
use super::super::{CallError, load};

proxy! {
    /// A `Namespace` in a manager: named attributes of any serde type.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let ns = manager.namespace().await?;
    ///     ns.set("x", &10).await?;
    ///     ns.set("name", &"包子").await?;
    ///     assert_eq!(ns.get::<i32>("x").await?, 10);
    ///     assert_eq!(ns.names().await?, ["name", "x"]);
    ///     Ok(())
    /// }
    /// ```
    NamespaceProxy
}

impl NamespaceProxy {
    /// `ns.name`; a missing attribute is [`RemoteError::AttributeError`].
    ///
    /// # Errors
    ///
    /// `AttributeError`, a value that does not decode as `T`, or
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let ns = manager.namespace().await?;
    /// assert!(matches!(ns.get::<u8>("nope").await, Err(ipc::CallError::Remote(ipc::RemoteError::AttributeError(_)))));
    /// # Ok(()) }
    /// ```
    pub async fn get<T: DeserializeOwned>(&self, name: &str) -> Result<T, CallError> {
        let v: Vec<u8> = self.obj.call(namespace::Get, &name.to_owned()).await?;
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
    pub fn blocking_get<T: DeserializeOwned>(&self, name: &str) -> Result<T, CallError> {
        crate::manager::blocking(self.get(name))
    }

    /// `ns.name = value`.
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
    /// let ns = manager.namespace().await?;
    /// ns.set("y", &[1, 2]).await?;
    /// assert_eq!(ns.get::<[i32; 2]>("y").await?, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub async fn set<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), CallError> {
        self.obj.call(namespace::Set, &(name.to_owned(), self.obj.stored(value)?)).await
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
    pub fn blocking_set<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.set(name, value))
    }

    /// `del ns.name`.
    ///
    /// # Errors
    ///
    /// `AttributeError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let ns = manager.namespace().await?;
    /// ns.set("y", &1).await?;
    /// ns.delete("y").await?;
    /// assert!(ns.delete("y").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, name: &str) -> Result<(), CallError> {
        self.obj.call(namespace::Delete, &name.to_owned()).await
    }

    /// Blocking form of [`delete`](Self::delete), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`delete`](Self::delete).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_delete(&self, name: &str) -> Result<(), CallError> {
        crate::manager::blocking(self.delete(name))
    }

    /// The attribute names, sorted.
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
    /// assert!(manager.namespace().await?.names().await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn names(&self) -> Result<Vec<String>, CallError> {
        self.obj.call(namespace::Names, &()).await
    }

    /// Blocking form of [`names`](Self::names), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`names`](Self::names).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_names(&self) -> Result<Vec<String>, CallError> {
        crate::manager::blocking(self.names())
    }
}

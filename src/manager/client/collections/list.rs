//! `ListProxy`: a `list` on the server.

use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(doc)]
use super::super::super::error::RemoteError;
use super::super::super::methods::list;
use super::super::{CallError, load};

proxy! {
    /// A `list` in a manager (Python's `ListProxy`). Indices follow
    /// Python's rules: negative ones count from the end.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let l = manager.list_from(&[1, 2, 3]).await?;
    ///     l.push(&4).await?;
    ///     l.reverse().await?;
    ///     assert_eq!(l.to_vec().await?, [4, 3, 2, 1]);
    ///     assert_eq!(l.get(-1).await?, 1);
    ///     Ok(())
    /// }
    /// ```
    ListProxy<T>
}

impl<T: Serialize + DeserializeOwned> ListProxy<T> {
    /// `l.append(value)`.
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
    /// let l = manager.list::<String>().await?;
    /// l.push(&"a".into()).await?;
    /// assert_eq!(l.len().await?, 1);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "append")]
    pub async fn push(&self, value: &T) -> Result<(), CallError> {
        self.obj.call(list::Append, &self.obj.stored(value)?).await
    }

    /// Blocking form of [`push`](Self::push), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_push(&self, value: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.push(value))
    }

    /// `l.extend(values)`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or a value cannot be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let l = manager.list::<u8>().await?;
    /// l.extend(&[1, 2]).await?;
    /// assert_eq!(l.to_vec().await?, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub async fn extend(&self, values: &[T]) -> Result<(), CallError> {
        let values = self.obj.stored_all(values)?;
        self.obj.call(list::Extend, &values).await
    }

    /// Blocking form of [`extend`](Self::extend), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`extend`](Self::extend).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_extend(&self, values: &[T]) -> Result<(), CallError> {
        crate::manager::blocking(self.extend(values))
    }

    /// `l[index]`; out of range is [`RemoteError::IndexError`].
    ///
    /// # Errors
    ///
    /// `IndexError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let l = manager.list_from(&['a', 'b']).await?;
    /// assert_eq!((l.get(0).await?, l.get(-1).await?), ('a', 'b'));
    /// assert!(l.get(2).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, index: i64) -> Result<T, CallError> {
        let v: Vec<u8> = self.obj.call(list::Get, &index).await?;
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

    /// `l[index] = value`.
    ///
    /// # Errors
    ///
    /// `IndexError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let l = manager.list_from(&[0, 0]).await?;
    /// l.set(-1, &5).await?;
    /// assert_eq!(l.to_vec().await?, [0, 5]);
    /// # Ok(()) }
    /// ```
    pub async fn set(&self, index: i64, value: &T) -> Result<(), CallError> {
        self.obj.call(list::Set, &(index, self.obj.stored(value)?)).await
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

    /// `l.insert(index, value)` (the index is clamped, as in Python).
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
    /// let l = manager.list_from(&[1, 3]).await?;
    /// l.insert(1, &2).await?;
    /// l.insert(99, &4).await?;
    /// assert_eq!(l.to_vec().await?, [1, 2, 3, 4]);
    /// # Ok(()) }
    /// ```
    pub async fn insert(&self, index: i64, value: &T) -> Result<(), CallError> {
        self.obj.call(list::Insert, &(index, self.obj.stored(value)?)).await
    }

    /// Blocking form of [`insert`](Self::insert), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`insert`](Self::insert).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_insert(&self, index: i64, value: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.insert(index, value))
    }

    /// `l.pop()` (the last item); an empty list is `IndexError`.
    ///
    /// # Errors
    ///
    /// `IndexError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let l = manager.list_from(&[1, 2]).await?;
    /// assert_eq!(l.pop().await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn pop(&self) -> Result<T, CallError> {
        let v: Vec<u8> = self.obj.call(list::Pop, &None::<i64>).await?;
        load(&v)
    }

    /// Blocking form of [`pop`](Self::pop), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`pop`](Self::pop).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_pop(&self) -> Result<T, CallError> {
        crate::manager::blocking(self.pop())
    }

    /// `l.pop(index)`.
    ///
    /// # Errors
    ///
    /// `IndexError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let l = manager.list_from(&[1, 2]).await?;
    /// assert_eq!(l.pop_at(0).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn pop_at(&self, index: i64) -> Result<T, CallError> {
        let v: Vec<u8> = self.obj.call(list::Pop, &Some(index)).await?;
        load(&v)
    }

    /// Blocking form of [`pop_at`](Self::pop_at), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`pop_at`](Self::pop_at).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_pop_at(&self, index: i64) -> Result<T, CallError> {
        crate::manager::blocking(self.pop_at(index))
    }

    /// `l.remove(value)` (the first equal item); absent is `ValueError`.
    ///
    /// # Errors
    ///
    /// `ValueError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let l = manager.list_from(&[1, 2, 1]).await?;
    /// l.remove(&1).await?;
    /// assert_eq!(l.to_vec().await?, [2, 1]);
    /// # Ok(()) }
    /// ```
    pub async fn remove(&self, value: &T) -> Result<(), CallError> {
        self.obj.call(list::Remove, &self.obj.stored(value)?).await
    }

    /// Blocking form of [`remove`](Self::remove), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`remove`](Self::remove).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_remove(&self, value: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.remove(value))
    }

    /// `l.index(value)`; absent is `ValueError`.
    ///
    /// # Errors
    ///
    /// `ValueError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let l = manager.list_from(&['x', 'y']).await?;
    /// assert_eq!(l.index(&'y').await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn index(&self, value: &T) -> Result<usize, CallError> {
        Ok(self.obj.call(list::Index, &self.obj.stored(value)?).await? as usize)
    }

    /// Blocking form of [`index`](Self::index), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`index`](Self::index).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_index(&self, value: &T) -> Result<usize, CallError> {
        crate::manager::blocking(self.index(value))
    }

    /// `l.count(value)`.
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
    /// let l = manager.list_from(&[1, 2, 1]).await?;
    /// assert_eq!(l.count(&1).await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn count(&self, value: &T) -> Result<usize, CallError> {
        Ok(self.obj.call(list::Count, &self.obj.stored(value)?).await? as usize)
    }

    /// Blocking form of [`count`](Self::count), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`count`](Self::count).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_count(&self, value: &T) -> Result<usize, CallError> {
        crate::manager::blocking(self.count(value))
    }

    /// `l.reverse()`.
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
    /// let l = manager.list_from(&[1, 2]).await?;
    /// l.reverse().await?;
    /// assert_eq!(l.to_vec().await?, [2, 1]);
    /// # Ok(()) }
    /// ```
    pub async fn reverse(&self) -> Result<(), CallError> {
        self.obj.call(list::Reverse, &()).await
    }

    /// Blocking form of [`reverse`](Self::reverse), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`reverse`](Self::reverse).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_reverse(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.reverse())
    }

    /// `len(l)`.
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
    /// assert_eq!(manager.list_from(&[1, 2]).await?.len().await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn len(&self) -> Result<usize, CallError> {
        Ok(self.obj.call(list::Len, &()).await? as usize)
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

    /// `len(l) == 0`.
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
    /// assert!(manager.list::<u8>().await?.is_empty().await?);
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

    /// `l[:]`: a copy of every item (one round trip).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or an item does not decode.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// assert_eq!(manager.list_from(&[1, 2]).await?.to_vec().await?, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub async fn to_vec(&self) -> Result<Vec<T>, CallError> {
        let raw: Vec<Vec<u8>> = self.obj.call(list::ToVec, &()).await?;
        raw.iter().map(|b| load(b)).collect()
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

    /// `l.clear()`.
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
    /// let l = manager.list_from(&[1]).await?;
    /// l.clear().await?;
    /// assert!(l.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn clear(&self) -> Result<(), CallError> {
        self.obj.call(list::Clear, &()).await
    }

    /// Blocking form of [`clear`](Self::clear), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`clear`](Self::clear).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_clear(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.clear())
    }
}

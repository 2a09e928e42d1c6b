//! `DictProxy`: a `dict` on the server.

use std::borrow::Borrow;

use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(doc)]
use super::super::super::error::RemoteError;
use super::super::super::methods::dict;
use super::super::{CallError, encode, load, storing};

proxy! {
    /// A `dict` in a manager (Python's `DictProxy`): keys and values are
    /// serde types, kept in insertion order.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let d = manager.dict::<String, u32>().await?;
    ///     d.insert(&"one".to_string(), &1).await?;
    ///     assert_eq!(d.get(&"one".to_string()).await?, Some(1));
    ///     assert_eq!(d.len().await?, 1);
    ///     Ok(())
    /// }
    /// ```
    DictProxy<K, V>
}

/// Keys are looked up by what they borrow as, as in `HashMap`: a
/// `DictProxy<String, _>` takes a `&str`. (The server compares encoded
/// keys; a type and what it borrows as encode alike, as `String` and
/// `str`, `Vec<T>` and `[T]`, `Box<T>` and `T` do.)
impl<K: Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> DictProxy<K, V> {
    /// `d[key] = value`; returns the value it replaced.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or a value cannot be encoded.
    ///
    /// # Cancel safety
    ///
    /// Dropped before its reply, the insert may or may not have happened.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let d = manager.dict::<u8, String>().await?;
    /// assert_eq!(d.insert(&1, &"a".into()).await?, None);
    /// assert_eq!(d.insert(&1, &"b".into()).await?, Some("a".to_string()));
    /// # Ok(()) }
    /// ```
    #[doc(alias = "__setitem__")]
    pub async fn insert<Q>(&self, key: &Q, value: &V) -> Result<Option<V>, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let old: Option<Vec<u8>> =
            self.obj.call(dict::Insert, &(self.obj.stored(key)?, self.obj.stored(value)?)).await?;
        old.map(|b| load(&b)).transpose()
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
    pub fn blocking_insert<Q>(&self, key: &Q, value: &V) -> Result<Option<V>, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        crate::manager::blocking(self.insert(key, value))
    }

    /// `d.get(key)`.
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
    /// let d = manager.dict::<u8, u8>().await?;
    /// assert_eq!(d.get(&1).await?, None);
    /// let named = manager.dict::<String, u8>().await?;
    /// named.insert("one", &1).await?;
    /// assert_eq!(named.get("one").await?, Some(1)); // a &str for a String key
    /// # Ok(()) }
    /// ```
    #[doc(alias = "__getitem__")]
    pub async fn get<Q>(&self, key: &Q) -> Result<Option<V>, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let v: Option<Vec<u8>> = self.obj.call(dict::Get, &self.obj.stored(key)?).await?;
        v.map(|b| load(&b)).transpose()
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
    pub fn blocking_get<Q>(&self, key: &Q) -> Result<Option<V>, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        crate::manager::blocking(self.get(key))
    }

    /// `del d[key]`, returning the value: a missing key is
    /// [`RemoteError::KeyError`], as in Python.
    ///
    /// # Errors
    ///
    /// `KeyError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let d = manager.dict::<u8, u8>().await?;
    /// d.insert(&1, &10).await?;
    /// assert_eq!(d.remove(&1).await?, 10);
    /// assert!(matches!(d.remove(&1).await, Err(ipc::CallError::Remote(ipc::RemoteError::KeyError(_)))));
    /// # Ok(()) }
    /// ```
    #[doc(alias = "__delitem__")]
    pub async fn remove<Q>(&self, key: &Q) -> Result<V, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let v: Vec<u8> = self.obj.call(dict::Remove, &self.obj.stored(key)?).await?;
        load(&v)
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
    pub fn blocking_remove<Q>(&self, key: &Q) -> Result<V, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        crate::manager::blocking(self.remove(key))
    }

    /// `d.pop(key, None)`.
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
    /// let d = manager.dict::<u8, u8>().await?;
    /// assert_eq!(d.pop(&1).await?, None);
    /// # Ok(()) }
    /// ```
    pub async fn pop<Q>(&self, key: &Q) -> Result<Option<V>, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let v: Option<Vec<u8>> = self.obj.call(dict::Pop, &self.obj.stored(key)?).await?;
        v.map(|b| load(&b)).transpose()
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
    pub fn blocking_pop<Q>(&self, key: &Q) -> Result<Option<V>, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        crate::manager::blocking(self.pop(key))
    }

    /// `key in d`.
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
    /// let d = manager.dict::<u8, u8>().await?;
    /// d.insert(&1, &1).await?;
    /// assert!(d.contains_key(&1).await? && !d.contains_key(&2).await?);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "__contains__")]
    pub async fn contains_key<Q>(&self, key: &Q) -> Result<bool, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        self.obj.call(dict::Contains, &self.obj.stored(key)?).await
    }

    /// Blocking form of [`contains_key`](Self::contains_key), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`contains_key`](Self::contains_key).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_contains_key<Q>(&self, key: &Q) -> Result<bool, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        crate::manager::blocking(self.contains_key(key))
    }

    /// `len(d)`.
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
    /// assert_eq!(manager.dict::<u8, u8>().await?.len().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn len(&self) -> Result<usize, CallError> {
        Ok(self.obj.call(dict::Len, &()).await? as usize)
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

    /// `len(d) == 0`.
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
    /// assert!(manager.dict::<u8, u8>().await?.is_empty().await?);
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

    /// `list(d.items())`, in insertion order (one round trip).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or an entry does not decode.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let d = manager.dict::<u8, char>().await?;
    /// d.insert(&2, &'b').await?;
    /// d.insert(&1, &'a').await?;
    /// assert_eq!(d.items().await?, [(2, 'b'), (1, 'a')]);
    /// # Ok(()) }
    /// ```
    pub async fn items(&self) -> Result<Vec<(K, V)>, CallError> {
        let raw: Vec<(Vec<u8>, Vec<u8>)> = self.obj.call(dict::Items, &()).await?;
        raw.iter().map(|(k, v)| Ok((load(k)?, load(v)?))).collect()
    }

    /// Blocking form of [`items`](Self::items), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`items`](Self::items).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_items(&self) -> Result<Vec<(K, V)>, CallError> {
        crate::manager::blocking(self.items())
    }

    /// `list(d.keys())`, in insertion order.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or a key does not decode.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let d = manager.dict::<char, u8>().await?;
    /// d.update(&[('b', 2), ('a', 1)]).await?;
    /// assert_eq!(d.keys().await?, ['b', 'a']);
    /// assert_eq!(d.values().await?, [2, 1]);
    /// # Ok(()) }
    /// ```
    pub async fn keys(&self) -> Result<Vec<K>, CallError> {
        let raw: Vec<Vec<u8>> = self.obj.call(dict::Keys, &()).await?;
        raw.iter().map(|k| load(k)).collect()
    }

    /// Blocking form of [`keys`](Self::keys), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`keys`](Self::keys).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_keys(&self) -> Result<Vec<K>, CallError> {
        crate::manager::blocking(self.keys())
    }

    /// `list(d.values())`, in insertion order.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or a value does not decode.
    ///
    /// # Examples
    ///
    /// See [`keys`](DictProxy::keys).
    pub async fn values(&self) -> Result<Vec<V>, CallError> {
        let raw: Vec<Vec<u8>> = self.obj.call(dict::Values, &()).await?;
        raw.iter().map(|v| load(v)).collect()
    }

    /// Blocking form of [`values`](Self::values), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`values`](Self::values).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_values(&self) -> Result<Vec<V>, CallError> {
        crate::manager::blocking(self.values())
    }

    /// `d.popitem()`: removes and returns the pair inserted last; an empty
    /// dict is [`RemoteError::KeyError`], as in Python.
    ///
    /// # Errors
    ///
    /// `KeyError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let d = manager.dict::<u8, u8>().await?;
    /// d.update(&[(1, 10), (2, 20)]).await?;
    /// assert_eq!(d.popitem().await?, (2, 20));
    /// assert_eq!(d.popitem().await?, (1, 10));
    /// assert!(matches!(d.popitem().await, Err(ipc::CallError::Remote(ipc::RemoteError::KeyError(_)))));
    /// # Ok(()) }
    /// ```
    pub async fn popitem(&self) -> Result<(K, V), CallError> {
        let (k, v): (Vec<u8>, Vec<u8>) = self.obj.call(dict::PopItem, &()).await?;
        Ok((load(&k)?, load(&v)?))
    }

    /// Blocking form of [`popitem`](Self::popitem), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`popitem`](Self::popitem).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_popitem(&self) -> Result<(K, V), CallError> {
        crate::manager::blocking(self.popitem())
    }

    /// `d.setdefault(key, default)`: the value at `key`, inserting
    /// `default` first if there is none.
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
    /// let d = manager.dict::<String, u8>().await?;
    /// assert_eq!(d.setdefault("k", &1).await?, 1);
    /// assert_eq!(d.setdefault("k", &2).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn setdefault<Q>(&self, key: &Q, default: &V) -> Result<V, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let v: Vec<u8> = self.obj.call(dict::SetDefault, &(self.obj.stored(key)?, self.obj.stored(default)?)).await?;
        load(&v)
    }

    /// Blocking form of [`setdefault`](Self::setdefault), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`setdefault`](Self::setdefault).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_setdefault<Q>(&self, key: &Q, default: &V) -> Result<V, CallError>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        crate::manager::blocking(self.setdefault(key, default))
    }

    /// `d.update(pairs)`: inserts every pair, in order (one round trip).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or a pair cannot be encoded.
    ///
    /// # Examples
    ///
    /// See [`keys`](DictProxy::keys).
    pub async fn update(&self, pairs: &[(K, V)]) -> Result<(), CallError> {
        let (encoded, pins) = storing(self.obj.mux(), || {
            pairs.iter().map(|(k, v)| Ok((encode(k)?, encode(v)?))).collect::<Result<Vec<_>, CallError>>()
        });
        self.obj.pin(pins);
        self.obj.call(dict::Update, &encoded?).await
    }

    /// Blocking form of [`update`](Self::update), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`update`](Self::update).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_update(&self, pairs: &[(K, V)]) -> Result<(), CallError> {
        crate::manager::blocking(self.update(pairs))
    }

    /// `d.clear()`.
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
    /// let d = manager.dict::<u8, u8>().await?;
    /// d.insert(&1, &1).await?;
    /// d.clear().await?;
    /// assert!(d.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn clear(&self) -> Result<(), CallError> {
        self.obj.call(dict::Clear, &()).await
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

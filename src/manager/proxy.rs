//! Proxies: typed handles to objects in a manager server.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client::{transfer_token, Mux, Remote, Undo};
use super::error::CallError;
#[cfg(doc)]
use super::error::RemoteError;
use super::protocol::{ObjectId, Op};
use crate::codec;
use crate::pipe::Address;

/// A reference to one server object, shared by the clones of a proxy in
/// this process (the server counts one reference per process holding it).
#[derive(Clone)]
pub(crate) struct ObjectRef(Arc<Remote>);

impl ObjectRef {
    pub(crate) fn new(mux: Arc<Mux>, id: ObjectId) -> ObjectRef {
        ObjectRef(Arc::new(Remote { mux, id }))
    }

    async fn call_raw(&self, method: &str, args: Vec<u8>, undo: Option<Undo>) -> Result<Vec<u8>, CallError> {
        let op = Op::Call { object: self.0.id, method: method.into(), args: args.as_slice().into() };
        self.0.mux.request(op, undo).await
    }

    /// `args` encoded for a call on this object: proxies of this object's
    /// server in them are pinned to it first (see [`Op::Pin`]).
    fn encode_args<A: Serialize + ?Sized>(&self, args: &A) -> Result<Vec<u8>, CallError> {
        let (bytes, pins) = encode_for(&self.0.mux, args)?;
        if !pins.is_empty() {
            self.0.mux.notify(Op::Pin { object: self.0.id, refs: pins });
        }
        Ok(bytes)
    }

    /// `value` encoded to be handed to this object (stored, or compared
    /// with what it stores): proxies of this object's server in it are
    /// pinned to this object, so they stay alive while it may hold them,
    /// and encode the same way every time.
    pub(crate) fn stored<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CallError> {
        self.encode_args(value)
    }

    /// This object's connection.
    pub(crate) fn mux(&self) -> &Mux {
        &self.0.mux
    }

    /// Pins `refs` to this object (see [`Op::Pin`]).
    pub(crate) fn pin(&self, refs: Vec<ObjectId>) {
        if !refs.is_empty() {
            self.0.mux.notify(Op::Pin { object: self.0.id, refs });
        }
    }

    /// As [`stored`](ObjectRef::stored), for several values.
    pub(crate) fn stored_all<T: Serialize>(&self, values: &[T]) -> Result<Vec<Vec<u8>>, CallError> {
        let (encoded, pins) = storing(&self.0.mux, || values.iter().map(encode).collect::<Result<Vec<_>, _>>());
        let encoded = encoded?;
        if !pins.is_empty() {
            self.0.mux.notify(Op::Pin { object: self.0.id, refs: pins });
        }
        Ok(encoded)
    }

    /// Calls `method` with `args`, decoding the reply as `R`.
    pub(crate) async fn call<A: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        args: &A,
    ) -> Result<R, CallError> {
        let bytes = self.call_raw(method, self.encode_args(args)?, None).await?;
        Ok(codec::decode(&bytes, Vec::new())?)
    }

    /// As [`call`](ObjectRef::call), with a compensating call if the caller
    /// leaves after the server finished (`undo` is given the raw reply).
    pub(crate) async fn call_with_undo<A: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        args: &A,
        undo: impl FnOnce(&Mux, ObjectId, Vec<u8>) + Send + 'static,
    ) -> Result<R, CallError> {
        let id = self.0.id;
        let undo: Undo = Box::new(move |mux, reply| undo(mux, id, reply));
        let bytes = self.call_raw(method, self.encode_args(args)?, Some(undo)).await?;
        Ok(codec::decode(&bytes, Vec::new())?)
    }
}

thread_local! {
    /// While a call's arguments for one server are encoded: that server's
    /// connection (by address), and the objects of it the arguments' proxies
    /// name, which are stored in the server rather than sent to a process.
    static STORING: RefCell<Option<(usize, Vec<ObjectId>)>> = const { RefCell::new(None) };
}

/// Runs `f` (which encodes values for the server of `mux`); returns its
/// result and the objects of that server whose proxies it encoded.
pub(super) fn storing<R>(mux: &Mux, f: impl FnOnce() -> R) -> (R, Vec<ObjectId>) {
    /// Puts the outer context back, also when `Serialize` panics.
    struct Restore(Option<(usize, Vec<ObjectId>)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            STORING.with(|s| *s.borrow_mut() = outer);
        }
    }
    let me = std::ptr::from_ref(mux) as usize;
    let restore = Restore(STORING.with(|s| s.borrow_mut().replace((me, Vec::new()))));
    let result = f();
    let pins = STORING.with(|s| s.borrow_mut().take()).map(|(_, ids)| ids).unwrap_or_default();
    drop(restore);
    (result, pins)
}

/// `value` encoded as arguments for the server of `mux`, and the objects of
/// that server whose proxies it holds.
pub(super) fn encode_for<T: Serialize + ?Sized>(mux: &Mux, value: &T) -> Result<(Vec<u8>, Vec<ObjectId>), CallError> {
    let (bytes, pins) = storing(mux, || encode(value));
    Ok((bytes?, pins))
}

pub(super) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CallError> {
    let (bytes, fds) = codec::encode(value)?;
    if !fds.is_empty() {
        return Err(CallError::Encode(crate::codec::EncodeError(
            "handles cannot be stored in a manager (send them through a Connection)".into(),
        )));
    }
    Ok(bytes)
}

pub(super) fn load<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CallError> {
    Ok(codec::decode(bytes, Vec::new())?)
}

impl fmt::Debug for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A proxy as data: its server's address and its object. Never the key.
#[derive(Serialize, Deserialize)]
enum Wire {
    /// Sent to a process, with a reference lent under `token`.
    Lent { address: Address, object: ObjectId, token: u64 },
    /// Stored in an object of its own server, which holds a reference.
    Stored { address: Address, object: ObjectId },
}

/// A proxy serializes as where its server is and which object it names,
/// plus a transfer token: the server holds a reference for the receiver
/// until it adopts it (a proxy serialized but never received keeps its
/// object alive until the server shuts down). The authkey is not in it
/// (Python too refuses to pickle one outside spawning a child): the
/// receiver authenticates with its own.
impl Serialize for ObjectRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mux = &self.0.mux;
        let me = Arc::as_ptr(mux) as usize;
        let stored = STORING.with(|s| match &mut *s.borrow_mut() {
            Some((server, ids)) if *server == me => {
                ids.push(self.0.id);
                true
            }
            _ => false,
        });
        let address = mux.address().clone();
        if stored {
            return Wire::Stored { address, object: self.0.id }.serialize(serializer);
        }
        let token = transfer_token();
        mux.notify(Op::Lend { object: self.0.id, token });
        Wire::Lent { address, object: self.0.id, token }.serialize(serializer)
    }
}

/// Receiving a proxy connects this process to its server (once per process
/// and server, blocking briefly for the handshake) and adopts the lent
/// reference. The key is this process's: the one it connected to that
/// server with ([`Manager::connect`](crate::Manager::connect)), one its
/// parent knew when it spawned this process, or the tree's
/// ([`current_process().authkey()`](crate::CurrentProcess::authkey)).
impl<'de> Deserialize<'de> for ObjectRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (address, object, op) = match Wire::deserialize(deserializer)? {
            Wire::Lent { address, object, token } => (address, object, Op::Adopt { object, token }),
            Wire::Stored { address, object } => (address, object, Op::Hold { object }),
        };
        let mux = Mux::for_received(&address)
            .map_err(|e| D::Error::custom(format!("cannot reach the manager at {address}: {e}")))?;
        mux.notify(op);
        Ok(ObjectRef::new(mux, object))
    }
}

/// A proxy type [`Manager::named`](crate::Manager::named) can make: every
/// built-in proxy, and those `#[derive(Managed)]` makes. Not to be
/// implemented by hand.
pub trait NamedProxy: Sized {
    /// The server type the proxy serves, for messages.
    #[doc(hidden)]
    fn type_name() -> &'static str;
    /// Whether the proxy serves an object the server made as `type_name`.
    #[doc(hidden)]
    fn serves(type_name: &str) -> bool;
    #[doc(hidden)]
    fn from_object(object: Object) -> Self;
}

/// A server object a proxy is made from (see [`NamedProxy`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct Object(pub(crate) ObjectRef);

/// `NamedProxy` for built-in proxies: the server type names each serves.
macro_rules! named_proxy {
    ($($name:ident $(<$($t:ident),+>)? = [$first:literal $(, $more:literal)*];)*) => {
        $(
            impl $(<$($t),+>)? $crate::manager::NamedProxy for $name $(<$($t),+>)? {
                fn type_name() -> &'static str {
                    $first
                }
                fn serves(type_name: &str) -> bool {
                    type_name == $first $(|| type_name == $more)*
                }
                fn from_object(object: $crate::manager::proxy::Object) -> Self {
                    $name::from_ref(object.0)
                }
            }
        )*
    };
}

pub(super) use named_proxy;

/// Declares a proxy type: a transparent wrapper of an [`ObjectRef`] with
/// phantom type parameters, cloneable, serializable, `Debug`.
macro_rules! proxy {
    ($(#[$doc:meta])* $name:ident $(<$($t:ident),+>)?) => {
        $(#[$doc])*
        pub struct $name $(<$($t),+>)? {
            obj: ObjectRef,
            _types: PhantomData<fn() -> ($($($t,)+)?)>,
        }

        impl $(<$($t),+>)? $name $(<$($t),+>)? {
            pub(crate) fn from_ref(obj: ObjectRef) -> Self {
                $name { obj, _types: PhantomData }
            }
        }

        impl $(<$($t),+>)? Clone for $name $(<$($t),+>)? {
            fn clone(&self) -> Self {
                $name { obj: self.obj.clone(), _types: PhantomData }
            }
        }

        impl $(<$($t),+>)? fmt::Debug for $name $(<$($t),+>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.obj).finish()
            }
        }

        impl $(<$($t),+>)? Serialize for $name $(<$($t),+>)? {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.obj.serialize(serializer)
            }
        }

        impl<'de, $($($t),+)?> Deserialize<'de> for $name $(<$($t),+>)? {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($name::from_ref(ObjectRef::deserialize(deserializer)?))
            }
        }
    };
}

pub(super) use proxy;

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
        let old: Option<Vec<u8>> = self.obj.call("insert", &(self.obj.stored(key)?, self.obj.stored(value)?)).await?;
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
        let v: Option<Vec<u8>> = self.obj.call("get", &self.obj.stored(key)?).await?;
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
        let v: Vec<u8> = self.obj.call("remove", &self.obj.stored(key)?).await?;
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
        let v: Option<Vec<u8>> = self.obj.call("pop", &self.obj.stored(key)?).await?;
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
        self.obj.call("contains", &self.obj.stored(key)?).await
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
        Ok(self.obj.call::<_, u64>("len", &()).await? as usize)
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
        let raw: Vec<(Vec<u8>, Vec<u8>)> = self.obj.call("items", &()).await?;
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
        let raw: Vec<Vec<u8>> = self.obj.call("keys", &()).await?;
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
        let raw: Vec<Vec<u8>> = self.obj.call("values", &()).await?;
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
        let (k, v): (Vec<u8>, Vec<u8>) = self.obj.call("popitem", &()).await?;
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
        let v: Vec<u8> = self.obj.call("setdefault", &(self.obj.stored(key)?, self.obj.stored(default)?)).await?;
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
        self.obj.call("update", &encoded?).await
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
        self.obj.call("clear", &()).await
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
        self.obj.call("append", &self.obj.stored(value)?).await
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
        self.obj.call("extend", &values).await
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
        let v: Vec<u8> = self.obj.call("get", &index).await?;
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
        self.obj.call("set", &(index, self.obj.stored(value)?)).await
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
        self.obj.call("insert", &(index, self.obj.stored(value)?)).await
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
        let v: Vec<u8> = self.obj.call("pop", &None::<i64>).await?;
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
        let v: Vec<u8> = self.obj.call("pop", &Some(index)).await?;
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
        self.obj.call("remove", &self.obj.stored(value)?).await
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
        Ok(self.obj.call::<_, u64>("index", &self.obj.stored(value)?).await? as usize)
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
        Ok(self.obj.call::<_, u64>("count", &self.obj.stored(value)?).await? as usize)
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
        self.obj.call("reverse", &()).await
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
        Ok(self.obj.call::<_, u64>("len", &()).await? as usize)
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
        let raw: Vec<Vec<u8>> = self.obj.call("to_vec", &()).await?;
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
        self.obj.call("clear", &()).await
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
        let v: Vec<u8> = self.obj.call("get", name).await?;
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
        self.obj.call("set", &(name, self.obj.stored(value)?)).await
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
        self.obj.call("delete", name).await
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
        self.obj.call("names", &()).await
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
        let v: Vec<u8> = self.obj.call("get", &()).await?;
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
        self.obj.call("set", &self.obj.stored(value)?).await
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

/// Puts an item back after its getter left (the undo of a `get`).
fn unget(mux: &Mux, object: ObjectId, reply: Vec<u8>) {
    // The reply is the encoded `(priority, item)`: exactly unget's arguments.
    mux.notify(Op::Call { object, method: "unget".into(), args: reply.into() });
}

proxy! {
    /// A queue in a manager: Python's `manager.Queue()`, `JoinableQueue()`
    /// and `LifoQueue()` (one proxy type; the order is the object's).
    /// Items are serde values; waits happen in the server, so a waiting
    /// `get` holds up no other call.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let q = manager.queue::<String>(0).await?;
    ///     q.put(&"包子".into()).await?;
    ///     assert_eq!(q.get().await?, "包子");
    ///     assert!(matches!(q.try_get().await, Err(ipc::CallError::Remote(ipc::RemoteError::Empty))));
    ///     let lifo = manager.lifo_queue::<u8>(0).await?;
    ///     lifo.put(&1).await?;
    ///     lifo.put(&2).await?;
    ///     assert_eq!(lifo.get().await?, 2);
    ///     Ok(())
    /// }
    /// ```
    QueueProxy<T>
}

impl<T: Serialize + DeserializeOwned> QueueProxy<T> {
    async fn put_with(&self, item: &T, block: bool, timeout: Option<Duration>) -> Result<(), CallError> {
        self.obj.call("put", &((0i64, self.obj.stored(item)?), block, timeout)).await
    }

    async fn get_with(&self, block: bool, timeout: Option<Duration>) -> Result<T, CallError> {
        let (_, item): (i64, Vec<u8>) = self.obj.call_with_undo("get", &(block, timeout), unget).await?;
        load(&item)
    }

    /// `q.put(item)`: waits while a bounded queue is full.
    ///
    /// The item is given as it is to [`Queue::put`](crate::Queue::put) —
    /// `q.put(item)` — or by reference (`q.put(&item)`): a proxy encodes it
    /// at once and keeps nothing, where a `Queue` keeps it to hand it back
    /// if the put is refused.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the item cannot be encoded.
    ///
    /// # Cancel safety
    ///
    /// Dropped before its reply, the item may or may not be in the queue
    /// (never twice).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(1).await?;
    /// q.put(&1).await?;
    /// assert_eq!(q.qsize().await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, item: impl Borrow<T>) -> Result<(), CallError> {
        self.put_with(item.borrow(), true, None).await
    }

    /// Blocking form of [`put`](Self::put), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_put(&self, item: impl Borrow<T>) -> Result<(), CallError> {
        crate::manager::blocking(self.put(item))
    }

    /// `q.put(item, timeout=t)`: [`RemoteError::Full`] if there is still no
    /// room after `timeout`.
    ///
    /// # Errors
    ///
    /// `Full`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(1).await?;
    /// q.put(&1).await?;
    /// let full = q.put_timeout(&2, std::time::Duration::from_millis(10)).await;
    /// assert!(matches!(full, Err(ipc::CallError::Remote(ipc::RemoteError::Full))));
    /// # Ok(()) }
    /// ```
    pub async fn put_timeout(&self, item: impl Borrow<T>, timeout: Duration) -> Result<(), CallError> {
        self.put_with(item.borrow(), true, Some(timeout)).await
    }

    /// Blocking form of [`put_timeout`](Self::put_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`put_timeout`](Self::put_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_put_timeout(&self, item: impl Borrow<T>, timeout: Duration) -> Result<(), CallError> {
        crate::manager::blocking(self.put_timeout(item, timeout))
    }

    /// `q.put_nowait(item)`: [`RemoteError::Full`] at once if there is no
    /// room. The item by value or by reference, as for
    /// [`put`](QueueProxy::put).
    ///
    /// # Errors
    ///
    /// `Full`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(1).await?;
    /// q.try_put(&1).await?;
    /// assert!(q.try_put(&2).await.is_err());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "put_nowait")]
    pub async fn try_put(&self, item: impl Borrow<T>) -> Result<(), CallError> {
        self.put_with(item.borrow(), false, None).await
    }

    /// Blocking form of [`try_put`](Self::try_put), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`try_put`](Self::try_put).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_try_put(&self, item: impl Borrow<T>) -> Result<(), CallError> {
        crate::manager::blocking(self.try_put(item))
    }

    /// `q.get()`: waits for an item.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the item does not decode.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item taken for a caller that left is put back at the
    /// front.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(0).await?;
    /// q.put(&3).await?;
    /// assert_eq!(q.get().await?, 3);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> Result<T, CallError> {
        self.get_with(true, None).await
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

    /// `q.get(timeout=t)`: [`RemoteError::Empty`] if no item came.
    ///
    /// # Errors
    ///
    /// `Empty`, or [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// As [`get`](QueueProxy::get).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(0).await?;
    /// assert!(q.get_timeout(std::time::Duration::from_millis(10)).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn get_timeout(&self, timeout: Duration) -> Result<T, CallError> {
        self.get_with(true, Some(timeout)).await
    }

    /// Blocking form of [`get_timeout`](Self::get_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](Self::get_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_get_timeout(&self, timeout: Duration) -> Result<T, CallError> {
        crate::manager::blocking(self.get_timeout(timeout))
    }

    /// `q.get_nowait()`: [`RemoteError::Empty`] at once if there is no item.
    ///
    /// # Errors
    ///
    /// `Empty`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.queue::<u8>(0).await?;
    /// assert!(q.try_get().await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn try_get(&self) -> Result<T, CallError> {
        self.get_with(false, None).await
    }

    /// Blocking form of [`try_get`](Self::try_get), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`try_get`](Self::try_get).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_try_get(&self) -> Result<T, CallError> {
        crate::manager::blocking(self.try_get())
    }

    /// `q.qsize()`.
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
    /// assert_eq!(manager.queue::<u8>(0).await?.qsize().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn qsize(&self) -> Result<usize, CallError> {
        Ok(self.obj.call::<_, u64>("qsize", &()).await? as usize)
    }

    /// Blocking form of [`qsize`](Self::qsize), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`qsize`](Self::qsize).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_qsize(&self) -> Result<usize, CallError> {
        crate::manager::blocking(self.qsize())
    }

    /// `q.task_done()`: one call too many is [`RemoteError::ValueError`].
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
    /// let q = manager.joinable_queue::<u8>(0).await?;
    /// q.put(&1).await?;
    /// q.get().await?;
    /// q.task_done().await?;
    /// assert!(q.task_done().await.is_err());
    /// q.join().await?; // nothing unfinished
    /// # Ok(()) }
    /// ```
    pub async fn task_done(&self) -> Result<(), CallError> {
        self.obj.call("task_done", &()).await
    }

    /// Blocking form of [`task_done`](Self::task_done), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`task_done`](Self::task_done).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_task_done(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.task_done())
    }

    /// `q.join()`: waits until every item put has been marked done.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`task_done`](QueueProxy::task_done).
    pub async fn join(&self) -> Result<(), CallError> {
        self.obj.call("join", &()).await
    }

    /// Blocking form of [`join`](Self::join), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_join(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.join())
    }
}

proxy! {
    /// Python's `manager.PriorityQueue()`: items come out lowest priority
    /// first, equal priorities in the order they were put (Python compares
    /// `(priority, item)` tuples; here the priority is explicit).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let q = manager.priority_queue::<&str>(0).await?;
    ///     q.put(5, &"later").await?;
    ///     q.put(1, &"first").await?;
    ///     assert_eq!(q.get().await?, (1, "first".to_string()));
    ///     Ok(())
    /// }
    /// ```
    PriorityQueueProxy<T>
}

impl<T: Serialize> PriorityQueueProxy<T> {
    /// Puts `item` with `priority`; waits while a bounded queue is full.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the item cannot be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.priority_queue::<u8>(0).await?;
    /// q.put(-1, &7).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put(&self, priority: i64, item: &T) -> Result<(), CallError> {
        self.obj.call("put", &((priority, self.obj.stored(item)?), true, None::<Duration>)).await
    }

    /// Blocking form of [`put`](Self::put), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_put(&self, priority: i64, item: &T) -> Result<(), CallError> {
        crate::manager::blocking(self.put(priority, item))
    }

    /// Takes the item of lowest priority, waiting for one; returns it with
    /// its priority. The item decodes as `R` (for `T = &str`, a `String`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone or the item does not decode.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an item taken for a caller that left is put back.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// # let manager = ipc::Manager::start().await?;
    /// let q = manager.priority_queue::<u8>(0).await?;
    /// q.put(2, &2).await?;
    /// q.put(1, &1).await?;
    /// assert_eq!(q.get::<u8>().await?, (1, 1));
    /// # Ok(()) }
    /// ```
    pub async fn get<R: DeserializeOwned>(&self) -> Result<(i64, R), CallError> {
        let (priority, item): (i64, Vec<u8>) = self.obj.call_with_undo("get", &(true, None::<Duration>), unget).await?;
        Ok((priority, load(&item)?))
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
    pub fn blocking_get<R: DeserializeOwned>(&self) -> Result<(i64, R), CallError> {
        crate::manager::blocking(self.get())
    }

    /// `q.qsize()`.
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
    /// assert_eq!(manager.priority_queue::<u8>(0).await?.qsize().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn qsize(&self) -> Result<usize, CallError> {
        Ok(self.obj.call::<_, u64>("qsize", &()).await? as usize)
    }

    /// Blocking form of [`qsize`](Self::qsize), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`qsize`](Self::qsize).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_qsize(&self) -> Result<usize, CallError> {
        crate::manager::blocking(self.qsize())
    }
}

/// The undo of an `acquire` whose caller left: if the reply says it
/// acquired, calls `release` with `release_args` (encoded).
pub(super) fn release_if_acquired<A: Serialize>(
    release_args: A,
) -> impl FnOnce(&Mux, ObjectId, Vec<u8>) + Send + 'static {
    let args = codec::encode(&release_args).map(|(bytes, _)| bytes);
    move |mux, object, reply| {
        if let (Ok(true), Ok(args)) = (codec::decode::<bool>(&reply, Vec::new()), args) {
            mux.notify(Op::Call { object, method: "release".into(), args: args.into() });
        }
    }
}

proxy! {
    /// A lock in a manager (Python's `manager.Lock()`): any process may
    /// release it, as in Python; if its holder's process dies, the server
    /// releases it (Python's stays locked forever).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let lock = manager.lock().await?;
    ///     lock.acquire().await?;
    ///     assert!(!lock.try_acquire().await?);
    ///     lock.release().await?;
    ///     assert!(matches!(lock.release().await, Err(ipc::CallError::Remote(ipc::RemoteError::RuntimeError(_)))));
    ///     Ok(())
    /// }
    /// ```
    LockProxy
}

impl LockProxy {
    async fn acquire_with(&self, block: bool, timeout: Option<Duration>) -> Result<bool, CallError> {
        self.obj.call_with_undo("acquire", &(block, timeout), release_if_acquired(())).await
    }

    /// `lock.acquire()`: waits until this caller holds the lock.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a lock acquired for a caller that left is released.
    ///
    /// # Examples
    ///
    /// See [`LockProxy`].
    pub async fn acquire(&self) -> Result<(), CallError> {
        self.acquire_with(true, None).await.map(drop)
    }

    /// Blocking form of [`acquire`](Self::acquire), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_acquire(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.acquire())
    }

    /// `lock.acquire(timeout=t)`: whether it was acquired in time.
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
    /// let lock = manager.lock().await?;
    /// assert!(lock.acquire_timeout(std::time::Duration::from_millis(10)).await?);
    /// assert!(!lock.acquire_timeout(std::time::Duration::from_millis(10)).await?);
    /// # Ok(()) }
    /// ```
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        self.acquire_with(true, Some(timeout)).await
    }

    /// Blocking form of [`acquire_timeout`](Self::acquire_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_acquire_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        crate::manager::blocking(self.acquire_timeout(timeout))
    }

    /// `lock.acquire(False)`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`LockProxy`].
    pub async fn try_acquire(&self) -> Result<bool, CallError> {
        self.acquire_with(false, None).await
    }

    /// Blocking form of [`try_acquire`](Self::try_acquire), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_try_acquire(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.try_acquire())
    }

    /// `lock.release()`; an unlocked lock is [`RemoteError::RuntimeError`].
    ///
    /// # Errors
    ///
    /// `RuntimeError`, or [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`LockProxy`].
    pub async fn release(&self) -> Result<(), CallError> {
        self.obj.call("release", &()).await
    }

    /// Blocking form of [`release`](Self::release), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`release`](Self::release).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_release(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.release())
    }
}

proxy! {
    /// An event in a manager (Python's `manager.Event()`).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipc::main]
    /// async fn main() -> ipc::Result<()> {
    ///     let manager = ipc::Manager::start().await?;
    ///     let event = manager.event().await?;
    ///     assert!(!event.wait_timeout(std::time::Duration::from_millis(10)).await?);
    ///     event.set().await?;
    ///     event.wait().await?;
    ///     assert!(event.is_set().await?);
    ///     Ok(())
    /// }
    /// ```
    EventProxy
}

impl EventProxy {
    /// `event.set()`: wakes every waiter.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn set(&self) -> Result<(), CallError> {
        self.obj.call("set", &()).await
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
    pub fn blocking_set(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.set())
    }

    /// `event.clear()`.
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
    /// let e = manager.event().await?;
    /// e.set().await?;
    /// e.clear().await?;
    /// assert!(!e.is_set().await?);
    /// # Ok(()) }
    /// ```
    pub async fn clear(&self) -> Result<(), CallError> {
        self.obj.call("clear", &()).await
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

    /// `event.is_set()`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn is_set(&self) -> Result<bool, CallError> {
        self.obj.call("is_set", &()).await
    }

    /// Blocking form of [`is_set`](Self::is_set), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`is_set`](Self::is_set).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_is_set(&self) -> Result<bool, CallError> {
        crate::manager::blocking(self.is_set())
    }

    /// `event.wait()`.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (waiting changes nothing).
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn wait(&self) -> Result<(), CallError> {
        self.obj.call::<_, bool>("wait", &None::<Duration>).await.map(drop)
    }

    /// Blocking form of [`wait`](Self::wait), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_wait(&self) -> Result<(), CallError> {
        crate::manager::blocking(self.wait())
    }

    /// `event.wait(timeout)`: whether the event is set.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        self.obj.call("wait", &Some(timeout)).await
    }

    /// Blocking form of [`wait_timeout`](Self::wait_timeout), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`wait_timeout`](Self::wait_timeout).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> Result<bool, CallError> {
        crate::manager::blocking(self.wait_timeout(timeout))
    }
}

named_proxy! {
    DictProxy<K, V> = ["dict"];
    ListProxy<T> = ["list"];
    NamespaceProxy = ["Namespace"];
    ValueProxy<T> = ["Value"];
    QueueProxy<T> = ["Queue", "JoinableQueue", "LifoQueue"];
    PriorityQueueProxy<T> = ["PriorityQueue"];
    LockProxy = ["Lock"];
    EventProxy = ["Event"];
}

//! The manager's client side: the connection a process keeps to each
//! server (`mux`), and the proxies — typed handles to objects in a server —
//! by family: `collections` (`dict`, `list`, `Array`, `Namespace`,
//! `Value`), `queue` and `sync` (the locks, `Semaphore`, `Condition`,
//! `Event`, `Barrier`).
//!
//! Every call goes through [`ObjectRef::call`], which takes a method of the
//! shared table (`super::methods`): its arguments and reply are that
//! method's types, the ones the server decodes and answers.
//!
//! May use: `super::{methods, protocol, error, custom}`, the `Manager`
//! handle (`make.rs` adds its constructors), and the rooms below the
//! manager (`pipe`, `codec`, `process`, `sync::owner`, `wake`, `sys`); not
//! `super::server`.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::CallError;
use super::methods::{self, Kind, Method};
use super::protocol::{ObjectId, Op};
use crate::codec;
use crate::pipe::Address;

mod mux;

pub(crate) use mux::{Mux, Remote, Undo, blocking, in_blocking, transfer_token};

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

    /// Calls `method` with `args`; its reply.
    pub(crate) async fn call<M: Method>(&self, method: M, args: &M::Args) -> Result<M::Reply, CallError> {
        let _ = method;
        let bytes = self.call_raw(M::NAME, self.encode_args(args)?, None).await?;
        Ok(codec::decode(&bytes, Vec::new())?)
    }

    /// As [`call`](ObjectRef::call), with a compensating call if the caller
    /// leaves after the server finished (`undo` is given the raw reply).
    pub(crate) async fn call_with_undo<M: Method>(
        &self,
        method: M,
        args: &M::Args,
        undo: impl FnOnce(&Mux, ObjectId, Vec<u8>) + Send + 'static,
    ) -> Result<M::Reply, CallError> {
        let _ = method;
        let id = self.0.id;
        let undo: Undo = Box::new(move |mux, reply| undo(mux, id, reply));
        let bytes = self.call_raw(M::NAME, self.encode_args(args)?, Some(undo)).await?;
        Ok(codec::decode(&bytes, Vec::new())?)
    }

    /// Calls a custom type's method by name (its arguments and reply are
    /// the proxy's, which `#[ipc::managed]` writes for both sides).
    pub(crate) async fn call_custom<A: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        args: &A,
    ) -> Result<R, CallError> {
        let bytes = self.call_raw(method, self.encode_args(args)?, None).await?;
        Ok(codec::decode(&bytes, Vec::new())?)
    }
}

/// Sends a call of `method` on `object` without waiting for its reply (the
/// undo of a call whose caller left, a release from `Drop`).
pub(crate) fn notify_call<M: Method>(mux: &Mux, object: ObjectId, method: M, args: &M::Args) {
    let _ = method;
    if let Ok((args, _)) = codec::encode(args) {
        mux.notify(Op::Call { object, method: M::NAME.into(), args: args.into() });
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
    ($($name:ident $(<$($t:ident),+>)? = [$first:path $(, $more:path)*];)*) => {
        $(
            impl $(<$($t),+>)? $crate::manager::NamedProxy for $name $(<$($t),+>)? {
                fn type_name() -> &'static str {
                    <$first as Kind>::NAME
                }
                fn serves(type_name: &str) -> bool {
                    type_name == <$first as Kind>::NAME $(|| type_name == <$more as Kind>::NAME)*
                }
                fn from_object(object: Object) -> Self {
                    $name::from_ref(object.0)
                }
            }
        )*
    };
}

/// Declares a proxy type: a transparent wrapper of an [`ObjectRef`] with
/// phantom type parameters, cloneable, serializable, `Debug`.
macro_rules! proxy {
    ($(#[$doc:meta])* $name:ident $(<$($t:ident),+>)?) => {
        $(#[$doc])*
        pub struct $name $(<$($t),+>)? {
            obj: $crate::manager::client::ObjectRef,
            _types: ::std::marker::PhantomData<fn() -> ($($($t,)+)?)>,
        }

        impl $(<$($t),+>)? $name $(<$($t),+>)? {
            pub(crate) fn from_ref(obj: $crate::manager::client::ObjectRef) -> Self {
                $name { obj, _types: ::std::marker::PhantomData }
            }
        }

        impl $(<$($t),+>)? Clone for $name $(<$($t),+>)? {
            fn clone(&self) -> Self {
                $name { obj: self.obj.clone(), _types: ::std::marker::PhantomData }
            }
        }

        impl $(<$($t),+>)? ::std::fmt::Debug for $name $(<$($t),+>)? {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.obj).finish()
            }
        }

        impl $(<$($t),+>)? ::serde::Serialize for $name $(<$($t),+>)? {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&self.obj, serializer)
            }
        }

        impl<'de, $($($t),+)?> ::serde::Deserialize<'de> for $name $(<$($t),+>)? {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($name::from_ref(<$crate::manager::client::ObjectRef as ::serde::Deserialize>::deserialize(deserializer)?))
            }
        }
    };
}

// After the macros, which the proxies' files use.
mod collections;
mod make;
pub use make::Named;
mod queue;
mod sync;

pub use collections::{ArrayProxy, DictProxy, ListProxy, NamespaceProxy, ValueProxy};
pub use queue::{PriorityQueueProxy, QueueProxy};
pub use sync::{BarrierProxy, ConditionProxy, EventProxy, LockProxy, RLockProxy, SemaphoreProxy};

named_proxy! {
    DictProxy<K, V> = [methods::Dict];
    ListProxy<T> = [methods::List];
    NamespaceProxy = [methods::Namespace];
    ValueProxy<T> = [methods::Value];
    ArrayProxy<T> = [methods::Array];
    QueueProxy<T> = [methods::Queue, methods::JoinableQueue, methods::LifoQueue];
    PriorityQueueProxy<T> = [methods::PriorityQueue];
    LockProxy = [methods::Lock];
    EventProxy = [methods::Event];
    RLockProxy = [methods::RLock];
    SemaphoreProxy = [methods::Semaphore, methods::BoundedSemaphore];
    ConditionProxy = [methods::Condition];
    BarrierProxy = [methods::Barrier];
}

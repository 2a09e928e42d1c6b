//! Custom managed types (Python's `BaseManager.register`).
//!
//! `#[derive(ipc::Managed)]` on a type and `#[ipc::managed]` on an impl
//! block of it, with `#[expose]` on the methods a proxy may call, generate:
//! the [`Managed`] and [`Exposed`] implementations (the server's dispatch
//! by method name, nothing else callable) and a typed proxy, `<Type>Proxy`,
//! with one `async` method per exposed method. A manager serves the types
//! registered with [`ManagerBuilder::register`](super::ManagerBuilder::register).
//!
//! # Implementation notes
//!
//! Registration is a type-level list: `register::<A>().register::<B>()`
//! is a `ManagerBuilder<(B, (A, ()))>`, and the server process's target is
//! `server_main::<(B, (A, ()))>`, a function item like any spawn target. So
//! the server child knows every registered type from its own code: no code
//! address ever travels over a manager connection (which a remote peer
//! could forge), and no global registry is needed.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client::ObjectRef;
use super::error::{CallError, RemoteError};
use super::methods::{self, decode, no_method};
use super::server::{CallFuture, Caller, Served, lock, ready};

/// A type whose values live in a manager server and are used through a
/// proxy. Derive it with `#[derive(ipc::Managed)]` (which also makes the
/// proxy type, `<Type>Proxy`) and mark the callable methods in a
/// `#[ipc::managed]` impl block with `#[expose]`.
///
/// The value travels to the server when made
/// ([`Manager::create`](super::Manager::create)), hence the serde bounds;
/// it must not hold handles (descriptors stay with the sender). The type
/// cannot be generic: the server finds it by [`NAME`](Managed::NAME).
///
/// # Examples
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
/// struct Counter {
///     n: u64,
/// }
///
/// #[ipc::managed]
/// impl Counter {
///     /// Adds `by` and returns the new count.
///     #[expose]
///     pub fn bump(&mut self, by: u64) -> u64 {
///         self.n += by;
///         self.n
///     }
///
///     /// Not exposed: a proxy cannot call it.
///     pub fn reset(&mut self) {
///         self.n = 0;
///     }
/// }
///
/// #[ipc::main]
/// async fn main() -> ipc::Result<()> {
///     let manager = ipc::Manager::builder().register::<Counter>().start().await?;
///     let counter: CounterProxy = manager.create(&Counter { n: 40 }).await?;
///     counter.bump(1).await?;
///     assert_eq!(counter.bump(1).await?, 42);
///     let refused = counter.call_method::<_, ()>("reset", &()).await;
///     assert!(matches!(refused, Err(ipc::CallError::Remote(ipc::RemoteError::NoSuchMethod { .. }))));
///     Counter { n: 1 }.reset(); // (callable here, of course)
///     Ok(())
/// }
/// ```
pub trait Managed: Exposed + Serialize + DeserializeOwned + Send + 'static {
    /// The name the type is registered and created under (the type's
    /// name, or `#[ipc(name = "...")]`).
    const NAME: &'static str;
    /// The typed proxy the derive makes.
    type Proxy: From<Proxy<Self>>;
}

impl<T: Managed> super::NamedProxy for Proxy<T> {
    fn type_name() -> &'static str {
        T::NAME
    }

    fn serves(type_name: &str) -> bool {
        type_name == T::NAME
    }

    fn from_object(object: super::client::Object) -> Self {
        Proxy::from_ref(object.0)
    }
}

/// The methods of a [`Managed`] type that proxies may call, written by
/// `#[ipc::managed]` from the methods marked `#[expose]`.
///
/// # Examples
///
/// ```
/// use ipc::manager::Exposed;
///
/// #[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
/// struct Maths;
///
/// #[ipc::managed]
/// impl Maths {
///     #[expose]
///     fn add(&self, x: i64, y: i64) -> i64 {
///         x + y
///     }
/// }
///
/// assert_eq!(Maths::METHODS, ["add"]);
/// assert_eq!(Maths.add(1, 2), 3);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `#[ipc::managed]` impl block",
    label = "a managed type needs its exposed methods",
    note = "write `#[ipc::managed] impl {Self} {{ #[expose] fn method(&self, ...) ... }}`"
)]
pub trait Exposed {
    /// The exposed methods' names.
    const METHODS: &'static [&'static str];

    /// Runs `method` with its encoded arguments; `None` if there is no such
    /// exposed method.
    #[doc(hidden)]
    fn dispatch(&mut self, method: &str, args: &[u8]) -> Option<Result<Vec<u8>, RemoteError>>;
}

/// A proxy of a [`Managed`] type, untyped in its methods: the derived
/// `<Type>Proxy` wraps one (and dereferences to it). Cloneable, and a
/// handle: send it to another process and use it there.
///
/// # Examples
///
/// See [`Managed`].
pub struct Proxy<T> {
    obj: ObjectRef,
    _type: PhantomData<fn() -> T>,
}

impl<T: Managed> Proxy<T> {
    /// Calls the exposed method `method` with `args` (a tuple of its
    /// arguments: `&()` for none, `&(x,)` for one), decoding its result as
    /// `R` (Python's `proxy._callmethod(name, args)`). The derived proxy's
    /// methods call this.
    ///
    /// # Errors
    ///
    /// [`RemoteError::NoSuchMethod`] for a method that is not exposed,
    /// [`RemoteError::BadRequest`] for arguments of the wrong types,
    /// [`RemoteError::Panicked`] if the method panicked, or
    /// [`CallError::Disconnected`] if the manager is gone.
    ///
    /// # Examples
    ///
    /// See [`Managed`].
    pub async fn call_method<A: Serialize, R: DeserializeOwned>(&self, method: &str, args: &A) -> Result<R, CallError> {
        self.obj.call_custom(method, args).await
    }

    /// Blocking form of [`call_method`](Self::call_method), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`call_method`](Self::call_method).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_call_method<A: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        args: &A,
    ) -> Result<R, CallError> {
        crate::manager::blocking(self.call_method(method, args))
    }
}

impl<T> Proxy<T> {
    pub(crate) fn from_ref(obj: ObjectRef) -> Proxy<T> {
        Proxy { obj, _type: PhantomData }
    }
}

impl<T> Clone for Proxy<T> {
    fn clone(&self) -> Self {
        Proxy { obj: self.obj.clone(), _type: PhantomData }
    }
}

impl<T> fmt::Debug for Proxy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Proxy").field(&self.obj).finish()
    }
}

impl<T> Serialize for Proxy<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.obj.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Proxy<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Proxy::from_ref(ObjectRef::deserialize(deserializer)?))
    }
}

/// A server object holding a managed value; calls take turns on it.
struct Custom<T> {
    value: Mutex<T>,
}

impl<T: Managed> Served for Custom<T> {
    fn type_name(&self) -> &'static str {
        T::NAME
    }

    fn call(self: Arc<Self>, method: &str, args: Vec<u8>, caller: Caller) -> CallFuture {
        ready(self.call_now(method, &args, caller).unwrap_or_else(|| Err(no_method(T::NAME, method))))
    }

    fn call_now(&self, method: &str, args: &[u8], _: Caller) -> Option<Result<Vec<u8>, RemoteError>> {
        Some(lock(&self.value).dispatch(method, args).unwrap_or_else(|| Err(no_method(T::NAME, method))))
    }
}

/// Makes a server object from a value's encoding.
/// Custom types' named objects (here, beside [`Managed`], so that the
/// client side needs nothing of this file).
impl super::Named {
    /// A value of a registered custom type ([`Managed`]; its proxy).
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
    /// struct Counter {
    ///     n: u64,
    /// }
    ///
    /// #[ipc::managed]
    /// impl Counter {
    ///     #[expose]
    ///     fn get(&self) -> u64 {
    ///         self.n
    ///     }
    /// }
    ///
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let named = ipc::manager::Named::custom(&Counter { n: 7 });
    /// let manager = ipc::Manager::builder().register::<Counter>().named("counter", named).start().await?;
    /// let counter: CounterProxy = manager.named("counter").await?;
    /// assert_eq!(counter.get().await?, 7);
    /// # Ok(()) }
    /// ```
    pub fn custom<T: Managed>(value: &T) -> super::Named {
        super::Named { type_name: T::NAME, args: super::client::encode(value) }
    }
}

pub(crate) type Factory = fn(&[u8]) -> Result<Arc<dyn Served>, RemoteError>;

fn factory<T: Managed>(args: &[u8]) -> Result<Arc<dyn Served>, RemoteError> {
    Ok(Arc::new(Custom { value: Mutex::new(decode::<T>(args)?) }))
}

/// The custom types a server makes, by name (only [`Registry`]'s
/// implementations use it).
#[doc(hidden)]
#[derive(Default)]
pub struct Factories {
    map: HashMap<&'static str, Factory>,
    clashes: Vec<&'static str>,
}

impl fmt::Debug for Factories {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Factories {
    fn add<T: Managed>(&mut self) {
        if methods::KINDS.contains(&T::NAME) || self.map.insert(T::NAME, factory::<T>).is_some() {
            self.clashes.push(T::NAME);
        }
    }

    pub(crate) fn of<R: Registry>() -> Result<Factories, String> {
        let mut factories = Factories::default();
        R::add_to(&mut factories);
        match factories.clashes.as_slice() {
            [] => Ok(factories),
            names => Err(format!(
                "managed type names registered twice or taken by built-in types: {names:?} (rename one with #[ipc(name = \"...\")])"
            )),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<Factory> {
        self.map.get(name).copied()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl<T, R> Sealed for (T, R) {}
}

/// The list of types registered with a
/// [`ManagerBuilder`](super::ManagerBuilder): `()` for none, `(T, R)` for
/// `T` and those of `R`. You never write it; `register` builds it.
///
/// # Examples
///
/// ```
/// fn takes_any<R: ipc::manager::Registry>(_: ipc::manager::ManagerBuilder<R>) {}
/// takes_any(ipc::Manager::builder());
/// ```
pub trait Registry: sealed::Sealed + 'static {
    #[doc(hidden)]
    fn add_to(factories: &mut Factories);
}

impl Registry for () {
    fn add_to(_: &mut Factories) {}
}

impl<T: Managed, R: Registry> Registry for (T, R) {
    fn add_to(factories: &mut Factories) {
        R::add_to(factories);
        factories.add::<T>();
    }
}

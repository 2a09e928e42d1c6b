//! Managers (Python's `multiprocessing.Manager()`): objects that live in a
//! server process and are used from any process through proxies.
//!
//! [`Manager::start`] spawns the server; its methods make objects there and
//! return typed proxies ([`DictProxy`], [`ListProxy`], [`NamespaceProxy`],
//! [`ValueProxy`], [`ArrayProxy`], [`QueueProxy`], [`PriorityQueueProxy`],
//! [`LockProxy`], [`RLockProxy`], [`SemaphoreProxy`], [`ConditionProxy`],
//! [`EventProxy`], [`BarrierProxy`]). Proxies are handles: clone them, pass them to children
//! (or through a [`Connection`]); a process that
//! receives one connects to the server by itself, with a key of its own: a
//! proxy's serde form (JSON included) never carries the authkey. The key
//! is the one this process connected to that server with
//! ([`Manager::connect`]), one its parent knew when it spawned it, or the
//! tree's [`current_process().authkey()`](crate::CurrentProcess::authkey),
//! which [`Manager::start`]'s server uses (as Python's `Manager()` does).
//!
//! **Beyond Python — fast proxies.** Each process keeps one connection per
//! server, shared by all its proxies, with request ids: calls from many
//! tasks are in flight at once (pipelined), and a call that waits in the
//! server (a queue's `get`, a lock's `acquire`) holds up no other. Python
//! makes one blocking round trip per call, on one connection per thread.
//!
//! **Beyond Python — nothing hangs, nothing leaks.** An object is freed
//! when the last proxy to it, in any process, is dropped (a proxy stored in
//! another object of the same server, or passed to one of its methods,
//! counts as one for as long as that object lives, as a Python container's
//! reference does; cycles of containers are freed with the server); a process that
//! dies gives back its references and the locks it held. A method's error
//! reaches the caller as a [`RemoteError`] of the same kind as Python's
//! exception; a dead manager makes every call fail with
//! [`CallError::Disconnected`] at once. Waiting calls are cancel safe.
//!
//! A [`Manager`] made with [`Manager::connect`] uses a server that another
//! program runs with [`serve`] (Python's remote managers), over TCP or a
//! Unix socket, with an authkey.
//!
//! # Blocking forms
//!
//! Every waiting method here — of [`Manager`], [`SharedMemoryManager`],
//! every proxy, and the proxies `#[derive(Managed)]` makes — has a
//! `blocking_*` twin for synchronous code: it needs no tokio runtime, so a
//! synchronous child target (the usual shape of Python code) uses proxies
//! as they are. A blocking call writes its request like any other and
//! reads its own reply (or takes it from whichever caller of this process
//! is reading the connection at the time), so blocking and async calls mix
//! freely on one connection.
//!
//! ```
//! #[ipc::main]
//! async fn main() -> ipc::Result<()> {
//!     let manager = ipc::Manager::start().await?;
//!     let counts = manager.dict::<String, i64>().await?;
//!     let mut child = ipc::Process::spawn(count_words, (counts.clone(), "a b a".to_owned()))?;
//!     child.join().await?;
//!     assert_eq!(counts.get("a").await?, Some(2));
//!     Ok(())
//! }
//!
//! /// A synchronous target: no runtime, so the blocking forms.
//! fn count_words((counts, text): (ipc::manager::DictProxy<String, i64>, String)) {
//!     for word in text.split_whitespace() {
//!         let n = counts.blocking_get(word).unwrap().unwrap_or(0);
//!         counts.blocking_insert(word, &(n + 1)).unwrap();
//!     }
//! }
//! ```
//!
//! Custom types are served too: `#[derive(ipc::Managed)]` and
//! `#[ipc::managed]` (see [`Managed`]) make a typed proxy, and
//! [`Manager::builder`] registers the types. [`SharedMemoryManager`] makes
//! shared-memory blocks that are unlinked at its shutdown.
//!
//! (The crate's own [`RLock`](crate::RLock), [`Semaphore`](crate::Semaphore)
//! and the others are shared handles, far faster than any proxy, for
//! processes of one machine; managers are for objects of any type, and for
//! processes on other machines.)
//!
//! ```
//! #[ipc::main]
//! async fn main() -> ipc::Result<()> {
//!     let manager = ipc::Manager::start().await?;
//!     let d = manager.dict::<String, i64>().await?;
//!     let mut child = ipc::Process::spawn(fill, d.clone())?;
//!     child.join().await?;
//!     assert_eq!(d.get(&"answer".to_string()).await?, Some(42));
//!     Ok(())
//! }
//!
//! async fn fill(d: ipc::manager::DictProxy<String, i64>) {
//!     d.insert(&"answer".to_string(), &42).await.unwrap();
//! }
//! ```
//!
//! # What this room holds and may use
//!
//! The manager's client side (proxies, the connection mux) and its server
//! (built-in and custom types): the top floor, which may use every room below
//! it (`pipe`, `process`, `sync`, `shared`, `codec`, `wake`, `sys`); nothing
//! below uses it.

mod builtin;
mod builtin_sync;
mod client;
mod custom;
mod error;
pub(crate) mod protocol;
mod proxy;
#[doc(hidden)]
pub use proxy::Object;
mod proxy_sync;
mod server;
mod shared_memory;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use custom::{Exposed, Factories, Managed, Proxy, Registry};
pub use error::{CallError, RemoteError};
pub use proxy::{
    DictProxy, EventProxy, ListProxy, LockProxy, NamedProxy, NamespaceProxy, PriorityQueueProxy, QueueProxy, ValueProxy,
};
pub use proxy_sync::{ArrayProxy, BarrierProxy, ConditionProxy, RLockProxy, SemaphoreProxy};
pub use shared_memory::SharedMemoryManager;

pub(crate) use client::blocking;
use client::Mux;
use protocol::{ObjectId, Op};
use proxy::ObjectRef;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use server::fuzz_requests;
use server::NamedSpec;
pub(crate) use server::{decode as server_decode, encode as server_encode};

use crate::codec;
use crate::error::Error;
use crate::pipe::{Address, Authkey, Listener};
use crate::pipe::{Connection, Pipe};
use crate::process::Process;

/// How long [`Manager::shutdown`] waits for the server to exit before
/// killing it.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A manager server and this process's connection to it (Python's
/// `SyncManager`, as returned by `multiprocessing.Manager()`).
///
/// Dropping a manager that [`start`](Manager::start)ed its server shuts the
/// server down (its objects die with it, and proxies fail with
/// [`CallError::Disconnected`]); [`shutdown`](Manager::shutdown) does the
/// same and waits for the server process to exit.
///
/// # Examples
///
/// ```
/// #[ipc::main]
/// async fn main() -> ipc::Result<()> {
///     let manager = ipc::Manager::start().await?;
///     let l = manager.list_from(&[1, 2, 3]).await?;
///     l.reverse().await?;
///     assert_eq!(l.to_vec().await?, [3, 2, 1]);
///     manager.shutdown().await?;
///     Ok(())
/// }
/// ```
pub struct Manager {
    mux: Arc<Mux>,
    server: Option<Process<()>>,
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("address", self.mux.address())
            .field("server_pid", &self.server.as_ref().map(Process::pid))
            .finish()
    }
}

/// What the server child is given.
#[derive(Serialize, serde::Deserialize)]
struct ServerArg {
    address: Address,
    authkey: Vec<u8>,
    legacy_md5: bool,
    named: Vec<NamedSpec>,
    /// Where the server says it listens (the address bound: a TCP port of
    /// 0 resolved), or why it cannot.
    ready: Connection,
}

/// The server process's target: serves the built-in types and those of `R`.
async fn server_main<R: Registry>(arg: ServerArg) {
    // A method's panic is its caller's error (with its location), not noise
    // on the server's stderr.
    crate::process::quiet_panics();
    let mut ready = arg.ready;
    let prepared = Factories::of::<R>().and_then(|factories| server::prepare(factories, &arg.named));
    let server = match prepared {
        Ok(server) => server,
        Err(e) => {
            let _ = ready.send(&Err::<Address, String>(e)).await;
            return;
        }
    };
    let key = Authkey::new(&arg.authkey).legacy_md5(arg.legacy_md5);
    match Listener::builder(arg.address).authkey(key).bind() {
        Ok(listener) => {
            if ready.send(&Ok::<Address, String>(listener.address().clone())).await.is_ok() {
                drop(ready);
                server::serve(listener, server).await;
            }
        }
        Err(e) => {
            let _ = ready.send(&Err::<Address, String>(e.to_string())).await;
        }
    }
}

/// An object a manager server makes when it starts and serves by name, for
/// processes that find each other only by address and key (Python's
/// `BaseManager.register('get_queue', callable=lambda: queue)`): see
/// [`ManagerBuilder::named`] and [`Manager::named`].
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let manager = ipc::Manager::builder().named("jobs", ipc::manager::Named::queue(0)).start().await?;
/// let jobs: ipc::manager::QueueProxy<String> = manager.named("jobs").await?;
/// jobs.put("first".to_owned()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Named {
    type_name: &'static str,
    args: Result<Vec<u8>, CallError>,
}

impl Named {
    fn of<A: Serialize + ?Sized>(type_name: &'static str, args: &A) -> Named {
        Named { type_name, args: proxy::encode(args) }
    }

    /// A `dict` ([`DictProxy`]).
    pub fn dict() -> Named {
        Named::of("dict", &())
    }

    /// A `list` holding `items` ([`ListProxy`]).
    pub fn list<T: Serialize>(items: &[T]) -> Named {
        Named { type_name: "list", args: encode_all(items).and_then(|items| proxy::encode(&items)) }
    }

    /// A `Namespace` ([`NamespaceProxy`]).
    pub fn namespace() -> Named {
        Named::of("Namespace", &())
    }

    /// A `Value` holding `value` ([`ValueProxy`]).
    pub fn value<T: Serialize>(value: &T) -> Named {
        Named { type_name: "Value", args: proxy::encode(value).and_then(|v| proxy::encode(&v)) }
    }

    /// An `Array` of `items` ([`ArrayProxy`]).
    pub fn array<T: Serialize>(items: &[T]) -> Named {
        Named { type_name: "Array", args: encode_all(items).and_then(|items| proxy::encode(&items)) }
    }

    /// A `Queue` of `maxsize` items (0: unbounded) ([`QueueProxy`]).
    pub fn queue(maxsize: usize) -> Named {
        Named::of("Queue", &(maxsize as u64))
    }

    /// A `JoinableQueue` ([`QueueProxy`]).
    pub fn joinable_queue(maxsize: usize) -> Named {
        Named::of("JoinableQueue", &(maxsize as u64))
    }

    /// A `LifoQueue` ([`QueueProxy`]).
    pub fn lifo_queue(maxsize: usize) -> Named {
        Named::of("LifoQueue", &(maxsize as u64))
    }

    /// A `PriorityQueue` ([`PriorityQueueProxy`]).
    pub fn priority_queue(maxsize: usize) -> Named {
        Named::of("PriorityQueue", &(maxsize as u64))
    }

    /// A `Lock` ([`LockProxy`]).
    pub fn lock() -> Named {
        Named::of("Lock", &())
    }

    /// An `RLock` ([`RLockProxy`]).
    pub fn rlock() -> Named {
        Named::of("RLock", &())
    }

    /// An `Event` ([`EventProxy`]).
    pub fn event() -> Named {
        Named::of("Event", &())
    }

    /// A `Semaphore` starting at `value` ([`SemaphoreProxy`]).
    pub fn semaphore(value: u64) -> Named {
        Named::of("Semaphore", &value)
    }

    /// A `BoundedSemaphore` ([`SemaphoreProxy`]).
    pub fn bounded_semaphore(value: u64) -> Named {
        Named::of("BoundedSemaphore", &value)
    }

    /// A `Condition` ([`ConditionProxy`]).
    pub fn condition() -> Named {
        Named::of("Condition", &())
    }

    /// A `Barrier` of `parties` ([`BarrierProxy`]).
    pub fn barrier(parties: u64) -> Named {
        Named::of("Barrier", &parties)
    }

    /// A value of a registered custom type ([`Managed`]; its proxy).
    pub fn custom<T: Managed>(value: &T) -> Named {
        Named::of(T::NAME, value)
    }
}

/// Starts a manager server with custom types registered
/// (Python's `BaseManager` subclass with `register` calls).
///
/// # Examples
///
/// ```
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
/// #[ipc::main]
/// async fn main() -> ipc::Result<()> {
///     let manager = ipc::Manager::builder().register::<Maths>().start().await?;
///     let maths = manager.create(&Maths).await?;
///     assert_eq!(maths.add(4, 3).await?, 7);
///     Ok(())
/// }
/// ```
pub struct ManagerBuilder<R = ()> {
    address: Option<Address>,
    authkey: Option<Authkey>,
    named: Vec<(String, Named)>,
    _registered: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for ManagerBuilder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagerBuilder")
            .field("registered", &std::any::type_name::<R>())
            .field("address", &self.address)
            .field("named", &self.named.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<R: Registry> ManagerBuilder<R> {
    /// Lets the server make values of `T` ([`Manager::create`]). A name
    /// registered twice, or taken by a built-in type, makes
    /// [`start`](ManagerBuilder::start) and [`serve`](ManagerBuilder::serve)
    /// fail.
    ///
    /// # Examples
    ///
    /// See [`ManagerBuilder`].
    pub fn register<T: Managed>(self) -> ManagerBuilder<(T, R)> {
        ManagerBuilder { address: self.address, authkey: self.authkey, named: self.named, _registered: PhantomData }
    }

    /// Where [`start`](ManagerBuilder::start)'s server listens (Python's
    /// `BaseManager(address=...)`): a TCP address (port 0 picks one; see
    /// [`Manager::address`]), a socket path or an abstract name. Default:
    /// a fresh abstract name, for this process tree.
    ///
    /// # Examples
    ///
    /// See [`named`](ManagerBuilder::named).
    pub fn address(mut self, address: Address) -> ManagerBuilder<R> {
        self.address = Some(address);
        self
    }

    /// The key [`start`](ManagerBuilder::start)'s server demands (Python's
    /// `BaseManager(authkey=...)`). Default: the tree's
    /// ([`current_process().authkey()`](crate::CurrentProcess::authkey)).
    ///
    /// # Examples
    ///
    /// See [`named`](ManagerBuilder::named).
    pub fn authkey(mut self, key: impl Into<Authkey>) -> ManagerBuilder<R> {
        self.authkey = Some(key.into());
        self
    }

    /// Serves an object under `name`, made when the server starts and kept
    /// as long as it runs (Python's `register(name, callable=...)` of an
    /// object the callable returns every time): any process that reaches
    /// the server gets a proxy to it by name ([`Manager::named`]). Two
    /// objects of one name, or one that cannot be made, fail the start.
    ///
    /// # Examples
    ///
    /// A server and a client that know each other only by address and key:
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// use ipc::manager::{Named, QueueProxy};
    /// let server = ipc::Manager::builder()
    ///     .address("127.0.0.1:0".parse()?)
    ///     .authkey(b"shared secret")
    ///     .named("tasks", Named::queue(0))
    ///     .start()
    ///     .await?;
    /// let address = server.address().clone(); // the port it got
    ///
    /// // Elsewhere: another program, given the address and the key.
    /// let client = ipc::Manager::connect(address, b"shared secret").await?;
    /// let tasks: QueueProxy<u32> = client.named("tasks").await?;
    /// tasks.put(42).await?;
    /// let same: QueueProxy<u32> = server.named("tasks").await?;
    /// assert_eq!(same.get().await?, 42);
    /// # Ok(()) }
    /// ```
    pub fn named(mut self, name: &str, object: Named) -> ManagerBuilder<R> {
        self.named.push((name.to_owned(), object));
        self
    }

    /// The named objects as the server makes them.
    fn named_specs(&self) -> Result<Vec<NamedSpec>, CallError> {
        self.named
            .iter()
            .map(|(name, object)| {
                let args =
                    object.args.as_ref().map_err(|e| CallError::Encode(crate::codec::EncodeError(e.to_string())))?;
                Ok(NamedSpec { name: name.clone(), type_name: object.type_name.to_owned(), args: args.clone() })
            })
            .collect()
    }

    /// Spawns the server (as [`Manager::start`]) with the registered types.
    ///
    /// # Errors
    ///
    /// As [`Manager::start`]; also a name clash among the registered types.
    ///
    /// # Examples
    ///
    /// See [`ManagerBuilder`].
    pub async fn start(self) -> Result<Manager, Error> {
        let named = self.named_specs()?;
        let address = match self.address {
            Some(address) => address,
            None => Address::unique()?,
        };
        // By default the tree's key (Python's default, `current_process().
        // authkey`): every process of the tree can use a proxy it is handed.
        let key = self.authkey.unwrap_or_else(|| Authkey::new(crate::process::current_process().authkey()));
        let (mut ready, theirs) = Pipe::duplex()?;
        let arg = ServerArg {
            address,
            authkey: key.bytes().to_vec(),
            legacy_md5: key.allows_legacy_md5(),
            named,
            ready: theirs,
        };
        let server =
            Process::builder().name("ipc-manager").daemon(true).kill_on_drop(true).spawn(server_main::<R>, arg)?;
        let started: Result<Result<Address, String>, _> =
            if client::in_blocking() { ready.blocking_recv() } else { ready.recv().await };
        let address = match started? {
            Ok(bound) => bound,
            Err(e) => return Err(Error::Io(std::io::Error::other(format!("manager server could not start: {e}")))),
        };
        let mux = Mux::get(&address, &key).await?;
        Ok(Manager { mux, server: Some(server) })
    }

    /// Blocking form of [`start`](ManagerBuilder::start), for synchronous
    /// code: no runtime needed.
    ///
    /// # Errors
    ///
    /// As [`start`](ManagerBuilder::start).
    ///
    /// # Examples
    ///
    /// See [`Manager::blocking_start`].
    pub fn blocking_start(self) -> Result<Manager, Error> {
        blocking(self.start())
    }

    /// Runs a server on `listener` (blocking this thread), with the registered
    /// types, until a client calls [`Manager::shutdown`] (as [`serve`]).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a name clash among the registered types; the
    /// server's runtime could not be built.
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
    /// struct Greeter {
    ///     greeting: String,
    /// }
    ///
    /// #[ipc::managed]
    /// impl Greeter {
    ///     #[expose]
    ///     fn greet(&self, name: String) -> String {
    ///         format!("{}, {name}!", self.greeting)
    ///     }
    /// }
    ///
    /// # #[tokio::main] async fn main() -> ipc::Result<()> {
    /// let listener = ipc::Listener::builder("127.0.0.1:0".parse()?).authkey(b"key").bind()?;
    /// let address = listener.address().clone();
    /// let server = std::thread::spawn(move || ipc::Manager::builder().register::<Greeter>().serve(listener));
    ///
    /// let manager = ipc::Manager::connect(address, b"key").await?;
    /// let greeter = manager.create(&Greeter { greeting: "Hello".into() }).await?;
    /// assert_eq!(greeter.greet("world".into()).await?, "Hello, world!");
    /// manager.shutdown().await?;
    /// server.join().unwrap()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "serve_forever")]
    #[doc(alias = "get_server")]
    pub fn serve(self, listener: Listener) -> std::io::Result<()> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let named = self.named_specs().map_err(|e| invalid(e.to_string()))?;
        let server = Factories::of::<R>().and_then(|f| server::prepare(f, &named)).map_err(invalid)?;
        // On a thread of its own, with its runtime: this one may be inside
        // a runtime (an `#[ipc::main]` program that serves), where a
        // runtime can be neither driven nor dropped.
        std::thread::scope(|s| {
            s.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(server::serve(listener, server));
                Ok(())
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl Manager {
    /// Spawns a manager server (a daemon child process listening on a fresh
    /// abstract Unix address, with the tree's authkey) and connects to it
    /// (Python's `Manager()` / `SyncManager().start()`).
    ///
    /// # Errors
    ///
    /// The server could not be spawned, could not listen, or could not be
    /// reached.
    ///
    /// # Examples
    ///
    /// See [`Manager`].
    pub async fn start() -> Result<Manager, Error> {
        Manager::builder().start().await
    }

    /// Blocking form of [`start`](Manager::start), for synchronous code:
    /// no runtime needed, and every proxy method has its blocking form too
    /// (see [the blocking forms](crate::manager#blocking-forms)).
    ///
    /// # Errors
    ///
    /// As [`start`](Manager::start).
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     ipc::init();
    ///     let manager = ipc::Manager::blocking_start()?;
    ///     let d = manager.blocking_dict::<String, u32>()?;
    ///     d.blocking_insert("one", &1)?;
    ///     assert_eq!(d.blocking_get("one")?, Some(1));
    ///     manager.blocking_shutdown()?;
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_start() -> Result<Manager, Error> {
        blocking(Manager::start())
    }

    /// A builder to register custom types before starting a server or
    /// serving one.
    ///
    /// # Examples
    ///
    /// See [`ManagerBuilder`].
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder { address: None, authkey: None, named: Vec::new(), _registered: PhantomData }
    }

    /// Connects to a server that another program runs with [`serve`]
    /// (Python's `BaseManager(address, authkey).connect()`). Dropping this
    /// manager leaves the server running; [`shutdown`](Manager::shutdown)
    /// stops it.
    ///
    /// # Errors
    ///
    /// Nobody serves there, or the authkey handshake failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> ipc::Result<()> {
    /// let listener = ipc::Listener::builder("127.0.0.1:0".parse()?).authkey(b"secret").bind()?;
    /// let address = listener.address().clone();
    /// let server = std::thread::spawn(move || ipc::manager::serve(listener));
    ///
    /// let manager = ipc::Manager::connect(address, b"secret").await?;
    /// let q = manager.queue::<String>(0).await?;
    /// q.put(&"over tcp".into()).await?;
    /// assert_eq!(q.get().await?, "over tcp");
    /// manager.shutdown().await?;
    /// server.join().unwrap()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "BaseManager")]
    pub async fn connect(address: Address, authkey: impl Into<Authkey>) -> Result<Manager, Error> {
        let mux = Mux::get(&address, &authkey.into()).await?;
        Ok(Manager { mux, server: None })
    }

    /// Blocking form of [`connect`](Manager::connect), for synchronous code.
    ///
    /// # Errors
    ///
    /// As [`connect`](Manager::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let listener = ipc::Listener::builder("127.0.0.1:0".parse()?).authkey(b"secret").bind()?;
    /// let address = listener.address().clone();
    /// let server = std::thread::spawn(move || ipc::manager::serve(listener));
    /// let manager = ipc::Manager::blocking_connect(address, b"secret")?;
    /// let q = manager.blocking_queue::<u8>(0)?;
    /// q.blocking_put(7)?;
    /// assert_eq!(q.blocking_get()?, 7);
    /// manager.blocking_shutdown()?;
    /// server.join().unwrap()?;
    /// # Ok(()) }
    /// ```
    pub fn blocking_connect(address: Address, authkey: impl Into<Authkey>) -> Result<Manager, Error> {
        blocking(Manager::connect(address, authkey))
    }

    /// Where the server listens.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let manager = ipc::Manager::start().await?;
    /// assert!(matches!(manager.address(), ipc::Address::Abstract(_)));
    /// # Ok(()) }
    /// ```
    pub fn address(&self) -> &Address {
        self.mux.address()
    }

    /// The server process's pid, for a manager that started its server.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let manager = ipc::Manager::start().await?;
    /// assert!(manager.server_pid().is_some());
    /// # Ok(()) }
    /// ```
    pub fn server_pid(&self) -> Option<u32> {
        self.server.as_ref().map(Process::pid)
    }

    /// Stops the server (its objects die with it) and, if this manager
    /// started it, waits for it to exit (killing it after 5 s).
    ///
    /// # Errors
    ///
    /// The server was already gone ([`CallError::Disconnected`]) or could
    /// not be reaped.
    ///
    /// # Examples
    ///
    /// See [`Manager`].
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let asked = self.mux.request(Op::Shutdown, None).await;
        if let Some(mut server) = self.server.take() {
            if client::in_blocking() {
                if server.blocking_join_timeout(SHUTDOWN_GRACE).is_err() {
                    let _ = server.kill();
                    let _ = server.blocking_join();
                }
            } else if server.join_timeout(SHUTDOWN_GRACE).await.is_err() {
                let _ = server.kill();
                let _ = server.join().await;
            }
        }
        asked.map(drop).map_err(Error::Call)
    }

    /// Blocking form of [`shutdown`](Manager::shutdown).
    ///
    /// # Errors
    ///
    /// As [`shutdown`](Manager::shutdown).
    ///
    /// # Examples
    ///
    /// See [`Manager::blocking_start`].
    pub fn blocking_shutdown(self) -> Result<(), Error> {
        blocking(self.shutdown())
    }

    /// How many objects the server holds (Python's
    /// `manager._number_of_objects()`), to watch objects being freed.
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let manager = ipc::Manager::start().await?;
    /// let d = manager.dict::<u8, u8>().await?;
    /// assert_eq!(manager.object_count().await?, 1);
    /// drop(d);
    /// assert_eq!(manager.object_count().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn object_count(&self) -> Result<usize, CallError> {
        let bytes = self.mux.request(Op::Count, None).await?;
        Ok(codec::decode::<u64>(&bytes, Vec::new())? as usize)
    }

    /// A proxy to the object the server serves as `name` (Python: the
    /// client's `register('get_queue')`, then `m.get_queue()`), made by
    /// [`ManagerBuilder::named`]. The proxy type says what is expected; the
    /// item types inside it (a `QueueProxy<T>`'s `T`) are the caller's word,
    /// as in Python.
    ///
    /// # Errors
    ///
    /// [`RemoteError::NoSuchName`] for a name the server does not serve,
    /// [`CallError::WrongType`] for an object of another type, or
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// use ipc::manager::{DictProxy, Named, QueueProxy};
    /// let manager = ipc::Manager::builder().named("settings", Named::dict()).start().await?;
    /// let settings: DictProxy<String, String> = manager.named("settings").await?;
    /// settings.insert("mode", &"fast".into()).await?;
    /// assert!(matches!(manager.named::<QueueProxy<u8>>("settings").await, Err(ipc::CallError::WrongType { .. })));
    /// assert!(manager.named::<DictProxy<u8, u8>>("nothing").await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn named<P: NamedProxy>(&self, name: &str) -> Result<P, CallError> {
        let reply = self.mux.request(Op::Lookup { name: name.into() }, None).await?;
        let (id, type_name): (ObjectId, String) = codec::decode(&reply, Vec::new())?;
        // Made now, so a refused one gives its reference back as it drops.
        let object = ObjectRef::new(self.mux.clone(), id);
        if !P::serves(&type_name) {
            return Err(CallError::WrongType { name: name.to_owned(), expected: P::type_name(), found: type_name });
        }
        Ok(P::from_object(proxy::Object(object)))
    }

    /// Blocking form of [`named`](Manager::named), for synchronous code.
    ///
    /// # Errors
    ///
    /// As [`named`](Manager::named).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_named<P: NamedProxy>(&self, name: &str) -> Result<P, CallError> {
        blocking(self.named(name))
    }

    /// Blocking form of [`object_count`](Self::object_count), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`object_count`](Self::object_count).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_object_count(&self) -> Result<usize, CallError> {
        crate::manager::blocking(self.object_count())
    }

    /// Makes `value` an object in the server (it travels there), returning
    /// its typed proxy (Python's `manager.Maths()` for a type registered as
    /// `"Maths"`). `T` must be registered with the server
    /// ([`ManagerBuilder::register`]).
    ///
    /// # Errors
    ///
    /// [`RemoteError::NoSuchType`] if the server does not know `T`,
    /// [`CallError::Encode`] if `value` holds handles, or
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`Managed`].
    pub async fn create<T: Managed>(&self, value: &T) -> Result<T::Proxy, CallError> {
        Ok(T::Proxy::from(Proxy::from_ref(self.make(T::NAME, value).await?)))
    }

    /// Blocking form of [`create`](Self::create), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_create<T: Managed>(&self, value: &T) -> Result<T::Proxy, CallError> {
        crate::manager::blocking(self.create(value))
    }

    async fn make<A: Serialize + ?Sized>(&self, type_name: &str, args: &A) -> Result<ObjectRef, CallError> {
        let (args, pins) = proxy::encode_for(&self.mux, args)?;
        self.make_encoded(type_name, args, pins).await
    }

    /// A new object from `items`, each encoded on its own (the server
    /// stores items as bytes).
    async fn make_from<T: Serialize>(&self, type_name: &str, items: &[T]) -> Result<ObjectRef, CallError> {
        let (args, pins) = proxy::storing(&self.mux, || proxy::encode(&encode_all(items)?));
        self.make_encoded(type_name, args?, pins).await
    }

    async fn make_encoded(&self, type_name: &str, args: Vec<u8>, pins: Vec<ObjectId>) -> Result<ObjectRef, CallError> {
        // Proxies of this server among the arguments (held by the caller
        // until this returns) are pinned to the new object once it has its
        // id.
        let bytes = self.mux.request(Op::Create { type_name: type_name.into(), args: args.into() }, None).await?;
        let id: ObjectId = codec::decode(&bytes, Vec::new())?;
        if !pins.is_empty() {
            self.mux.notify(Op::Pin { object: id, refs: pins });
        }
        Ok(ObjectRef::new(self.mux.clone(), id))
    }

    /// A new, empty `dict` (Python's `manager.dict()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`DictProxy`].
    pub async fn dict<K, V>(&self) -> Result<DictProxy<K, V>, CallError> {
        Ok(DictProxy::from_ref(self.make("dict", &()).await?))
    }

    /// Blocking form of [`dict`](Self::dict), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`dict`](Self::dict).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_dict<K, V>(&self) -> Result<DictProxy<K, V>, CallError> {
        crate::manager::blocking(self.dict())
    }

    /// A new, empty `list` (Python's `manager.list()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let manager = ipc::Manager::start().await?;
    /// assert!(manager.list::<u8>().await?.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn list<T>(&self) -> Result<ListProxy<T>, CallError> {
        let empty: Vec<Vec<u8>> = Vec::new();
        Ok(ListProxy::from_ref(self.make("list", &empty).await?))
    }

    /// Blocking form of [`list`](Self::list), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`list`](Self::list).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_list<T>(&self) -> Result<ListProxy<T>, CallError> {
        crate::manager::blocking(self.list())
    }

    /// A new `list` holding `items` (Python's `manager.list(range(5))`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the server is gone or an item cannot be encoded.
    ///
    /// # Examples
    ///
    /// See [`ListProxy`].
    pub async fn list_from<T: Serialize>(&self, items: &[T]) -> Result<ListProxy<T>, CallError> {
        Ok(ListProxy::from_ref(self.make_from("list", items).await?))
    }

    /// Blocking form of [`list_from`](Self::list_from), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`list_from`](Self::list_from).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_list_from<T: Serialize>(&self, items: &[T]) -> Result<ListProxy<T>, CallError> {
        crate::manager::blocking(self.list_from(items))
    }

    /// A new, empty `Namespace` (Python's `manager.Namespace()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`NamespaceProxy`].
    pub async fn namespace(&self) -> Result<NamespaceProxy, CallError> {
        Ok(NamespaceProxy::from_ref(self.make("Namespace", &()).await?))
    }

    /// Blocking form of [`namespace`](Self::namespace), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`namespace`](Self::namespace).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_namespace(&self) -> Result<NamespaceProxy, CallError> {
        crate::manager::blocking(self.namespace())
    }

    /// A new value (Python's `manager.Value(typecode, value)`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the server is gone or the value cannot be encoded.
    ///
    /// # Examples
    ///
    /// See [`ValueProxy`].
    pub async fn value<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<ValueProxy<T>, CallError> {
        Ok(ValueProxy::from_ref({
            let (args, pins) = proxy::storing(&self.mux, || proxy::encode(&proxy::encode(value)?));
            self.make_encoded("Value", args?, pins).await?
        }))
    }

    /// Blocking form of [`value`](Self::value), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`value`](Self::value).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_value<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<ValueProxy<T>, CallError> {
        crate::manager::blocking(self.value(value))
    }

    /// A new FIFO queue holding at most `maxsize` items, 0 for no limit
    /// (Python's `manager.Queue(maxsize)`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`QueueProxy`].
    pub async fn queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        Ok(QueueProxy::from_ref(self.make("Queue", &(maxsize as u64)).await?))
    }

    /// Blocking form of [`queue`](Self::queue), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`queue`](Self::queue).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        crate::manager::blocking(self.queue(maxsize))
    }

    /// A new joinable queue (Python's `manager.JoinableQueue(maxsize)`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`QueueProxy::task_done`].
    pub async fn joinable_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        Ok(QueueProxy::from_ref(self.make("JoinableQueue", &(maxsize as u64)).await?))
    }

    /// Blocking form of [`joinable_queue`](Self::joinable_queue), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`joinable_queue`](Self::joinable_queue).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_joinable_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        crate::manager::blocking(self.joinable_queue(maxsize))
    }

    /// A new last-in-first-out queue (Python's `queue.LifoQueue` through a
    /// manager).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`QueueProxy`].
    pub async fn lifo_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        Ok(QueueProxy::from_ref(self.make("LifoQueue", &(maxsize as u64)).await?))
    }

    /// Blocking form of [`lifo_queue`](Self::lifo_queue), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`lifo_queue`](Self::lifo_queue).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_lifo_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        crate::manager::blocking(self.lifo_queue(maxsize))
    }

    /// A new priority queue (Python's `queue.PriorityQueue` through a
    /// manager).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`PriorityQueueProxy`].
    pub async fn priority_queue<T>(&self, maxsize: usize) -> Result<PriorityQueueProxy<T>, CallError> {
        Ok(PriorityQueueProxy::from_ref(self.make("PriorityQueue", &(maxsize as u64)).await?))
    }

    /// Blocking form of [`priority_queue`](Self::priority_queue), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`priority_queue`](Self::priority_queue).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_priority_queue<T>(&self, maxsize: usize) -> Result<PriorityQueueProxy<T>, CallError> {
        crate::manager::blocking(self.priority_queue(maxsize))
    }

    /// A new lock (Python's `manager.Lock()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`LockProxy`].
    pub async fn lock(&self) -> Result<LockProxy, CallError> {
        Ok(LockProxy::from_ref(self.make("Lock", &()).await?))
    }

    /// Blocking form of [`lock`](Self::lock), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`lock`](Self::lock).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_lock(&self) -> Result<LockProxy, CallError> {
        crate::manager::blocking(self.lock())
    }

    /// A new event (Python's `manager.Event()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn event(&self) -> Result<EventProxy, CallError> {
        Ok(EventProxy::from_ref(self.make("Event", &()).await?))
    }

    /// Blocking form of [`event`](Self::event), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`event`](Self::event).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_event(&self) -> Result<EventProxy, CallError> {
        crate::manager::blocking(self.event())
    }

    /// A new re-entrant lock (Python's `manager.RLock()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`RLockProxy`].
    pub async fn rlock(&self) -> Result<RLockProxy, CallError> {
        Ok(RLockProxy::from_ref(self.make("RLock", &()).await?))
    }

    /// Blocking form of [`rlock`](Self::rlock), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`rlock`](Self::rlock).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_rlock(&self) -> Result<RLockProxy, CallError> {
        crate::manager::blocking(self.rlock())
    }

    /// A new semaphore with `value` permits (Python's
    /// `manager.Semaphore(value)`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`SemaphoreProxy`].
    pub async fn semaphore(&self, value: u64) -> Result<SemaphoreProxy, CallError> {
        Ok(SemaphoreProxy::from_ref(self.make("Semaphore", &value).await?))
    }

    /// Blocking form of [`semaphore`](Self::semaphore), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`semaphore`](Self::semaphore).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_semaphore(&self, value: u64) -> Result<SemaphoreProxy, CallError> {
        crate::manager::blocking(self.semaphore(value))
    }

    /// A new bounded semaphore (Python's `manager.BoundedSemaphore(value)`):
    /// releasing it above `value` is a `ValueError`.
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`SemaphoreProxy`].
    pub async fn bounded_semaphore(&self, value: u64) -> Result<SemaphoreProxy, CallError> {
        Ok(SemaphoreProxy::from_ref(self.make("BoundedSemaphore", &value).await?))
    }

    /// Blocking form of [`bounded_semaphore`](Self::bounded_semaphore), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`bounded_semaphore`](Self::bounded_semaphore).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_bounded_semaphore(&self, value: u64) -> Result<SemaphoreProxy, CallError> {
        crate::manager::blocking(self.bounded_semaphore(value))
    }

    /// A new condition variable with its own re-entrant lock (Python's
    /// `manager.Condition()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`ConditionProxy`].
    pub async fn condition(&self) -> Result<ConditionProxy, CallError> {
        Ok(ConditionProxy::from_ref(self.make("Condition", &()).await?))
    }

    /// Blocking form of [`condition`](Self::condition), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`condition`](Self::condition).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_condition(&self) -> Result<ConditionProxy, CallError> {
        crate::manager::blocking(self.condition())
    }

    /// A new barrier for `parties` parties (Python's
    /// `manager.Barrier(parties)`).
    ///
    /// # Errors
    ///
    /// `ValueError` for 0 parties, or [`CallError::Disconnected`] if the
    /// server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let manager = ipc::Manager::start().await?;
    /// assert!(manager.barrier(0).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn barrier(&self, parties: u64) -> Result<BarrierProxy, CallError> {
        Ok(BarrierProxy::from_ref(self.make("Barrier", &parties).await?))
    }

    /// Blocking form of [`barrier`](Self::barrier), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`barrier`](Self::barrier).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_barrier(&self, parties: u64) -> Result<BarrierProxy, CallError> {
        crate::manager::blocking(self.barrier(parties))
    }

    /// A new fixed-length array holding `items` (Python's
    /// `manager.Array(typecode, sequence)`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the server is gone or an item cannot be encoded.
    ///
    /// # Examples
    ///
    /// See [`ArrayProxy`].
    pub async fn array<T: Serialize>(&self, items: &[T]) -> Result<ArrayProxy<T>, CallError> {
        Ok(ArrayProxy::from_ref(self.make_from("Array", items).await?))
    }

    /// Blocking form of [`array`](Self::array), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`array`](Self::array).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_array<T: Serialize>(&self, items: &[T]) -> Result<ArrayProxy<T>, CallError> {
        crate::manager::blocking(self.array(items))
    }
}

/// Each item encoded on its own (the server stores items as bytes).
/// The built-in types' names, for tests that make every kind of object.
#[cfg(test)]
pub(crate) fn builtin_names() -> &'static [&'static str] {
    builtin::NAMES
}

fn encode_all<T: Serialize>(items: &[T]) -> Result<Vec<Vec<u8>>, CallError> {
    items.iter().map(proxy::encode).collect()
}

impl Drop for Manager {
    /// A manager that started its server stops it: asks it to shut down
    /// (so its objects' clean-up runs, a `SharedMemoryManager`'s unlinks),
    /// and reaps it from a task, killing it if it has not exited after 5 s
    /// (or at once, outside a runtime or when the runtime ends first).
    fn drop(&mut self) {
        let Some(mut server) = self.server.take() else { return };
        self.mux.notify(Op::Shutdown);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if server.join_timeout(SHUTDOWN_GRACE).await.is_err() {
                    let _ = server.kill();
                    let _ = server.join().await;
                }
            });
        }
    }
}

/// Runs a manager server on `listener` in this thread until a client calls
/// [`Manager::shutdown`] (Python's `manager.get_server().serve_forever()`).
/// Give the listener an authkey: whoever passes it may create and call
/// objects here (data only: no code travels).
///
/// # Errors
///
/// The server's runtime could not be built.
///
/// # Examples
///
/// See [`Manager::connect`].
#[doc(alias = "serve_forever")]
#[doc(alias = "get_server")]
pub fn serve(listener: Listener) -> std::io::Result<()> {
    Manager::builder().serve(listener)
}

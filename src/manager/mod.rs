//! Managers (Python's `multiprocessing.Manager()`): objects that live in a
//! server process and are used from any process through proxies.
//!
//! [`Manager::start`] spawns the server; its methods make objects there and
//! return typed proxies ([`DictProxy`], [`ListProxy`], [`NamespaceProxy`],
//! [`ValueProxy`], [`ArrayProxy`], [`QueueProxy`], [`PriorityQueueProxy`],
//! [`LockProxy`], [`RLockProxy`], [`SemaphoreProxy`], [`ConditionProxy`],
//! [`EventProxy`], [`BarrierProxy`]). Proxies are handles: clone them, pass them to children
//! (or through a [`Connection`](crate::Connection)); a process that
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
//! The top floor, which may use every room below it (`pipe`, `process`,
//! `sync`, `shared`, `codec`, `wake`, `sys`); nothing below uses it, and it
//! returns its own errors ([`CallError`], [`ManagerError`], and `pipe`'s
//! [`ConnectError`]), never the crate-wide one.
//!
//! - `methods.rs`: the built-in types and their methods, written once: a
//!   method's name, arguments and reply type are one declaration that the
//!   proxies call and the server decodes, so the two sides cannot disagree.
//! - `client/`: the process's connection to a server (`mux.rs`), the
//!   proxies' common core and macros (`mod.rs`), the constructors
//!   (`make.rs`), and the proxies by family: `collections/`, `queue.rs`,
//!   `sync/`.
//! - `server/`: the object table and reference counts (`mod.rs`), one
//!   connection's requests and replies (`connection.rs`), and the served
//!   objects by the same families (`collections.rs`, `queue.rs`,
//!   `sync.rs`, `blocks.rs`). The server's `Barrier` runs the rules of the
//!   crate's own (`sync::raw::barrier_word`); `Lock` and `RLock` are one
//!   state machine with a reentrancy flag.
//! - `builder.rs` (starting a server), `custom.rs` (registered types, both
//!   sides, as `#[ipc::managed]` writes them), `protocol.rs` (the wire),
//!   `error.rs`, `shared_memory.rs`.
//!
//! Adding a built-in type: its `Kind` and method set in `methods.rs`, its
//! served object in `server/` (a `match` over its `Call`, which the
//! compiler checks is complete), its proxy in `client/`, and its
//! constructor in `client/make.rs`.

mod builder;
mod client;
mod custom;
mod error;
mod methods;
pub(crate) mod protocol;
mod server;
mod shared_memory;

#[doc(hidden)]
pub use client::Object;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use builder::ManagerBuilder;
pub use client::{
    ArrayProxy, BarrierProxy, ConditionProxy, DictProxy, EventProxy, ListProxy, LockProxy, Named, NamedProxy,
    NamespaceProxy, PriorityQueueProxy, QueueProxy, RLockProxy, SemaphoreProxy, ValueProxy,
};
pub use custom::{Exposed, Factories, Managed, Proxy, Registry};
pub use error::{CallError, ManagerError, RemoteError};
pub use shared_memory::SharedMemoryManager;

use client::Mux;
use client::ObjectRef;
pub(crate) use client::blocking;
use protocol::{ObjectId, Op};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use server::fuzz_requests;
pub(crate) use server::{decode as server_decode, encode as server_encode};

use crate::codec;
use crate::pipe::ConnectError;
use crate::pipe::{Address, Authkey, Listener};
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
    pub async fn start() -> Result<Manager, ManagerError> {
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
    pub fn blocking_start() -> Result<Manager, ManagerError> {
        blocking(Manager::start())
    }

    /// A builder to register custom types before starting a server or
    /// serving one.
    ///
    /// # Examples
    ///
    /// See [`ManagerBuilder`].
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::new()
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
    pub async fn connect(address: Address, authkey: impl Into<Authkey>) -> Result<Manager, ConnectError> {
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
    pub fn blocking_connect(address: Address, authkey: impl Into<Authkey>) -> Result<Manager, ConnectError> {
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
    pub async fn shutdown(mut self) -> Result<(), CallError> {
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
        asked.map(drop)
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
    pub fn blocking_shutdown(self) -> Result<(), CallError> {
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
        Ok(P::from_object(client::Object(object)))
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
        Ok(T::Proxy::from(Proxy::from_ref(self.make_custom(T::NAME, value).await?)))
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
}

/// The built-in types' names, for tests that make every kind of object.
#[cfg(test)]
pub(crate) fn builtin_names() -> &'static [&'static str] {
    methods::KINDS
}

/// Every built-in method's name, once.
#[cfg(test)]
pub(crate) fn builtin_methods() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = methods::ALL.iter().flat_map(|set| set.iter().copied()).collect();
    names.sort_unstable();
    names.dedup();
    names
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

//! Starting a server: [`ManagerBuilder`] (custom types, named objects, an
//! address and key), the server child's target, and [`serve`](super::serve)'s
//! body for a program that serves on its own listener.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;

use super::client::{self, Mux, blocking};
use super::custom::{Factories, Managed, Registry};
use super::error::{CallError, ManagerError};
use super::server::{self, NamedSpec};
use super::{Manager, Named};
use crate::pipe::{Address, Authkey, Connection, Listener, Pipe};
use crate::process::Process;

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
    let key = Authkey::new(&arg.authkey).with_legacy_md5(arg.legacy_md5);
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

impl ManagerBuilder {
    pub(super) fn new() -> ManagerBuilder {
        ManagerBuilder { address: None, authkey: None, named: Vec::new(), _registered: PhantomData }
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
    pub async fn start(self) -> Result<Manager, ManagerError> {
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
            Err(e) => return Err(ManagerError::Listen(e)),
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
    pub fn blocking_start(self) -> Result<Manager, ManagerError> {
        blocking(self.start())
    }

    /// Runs a server on `listener` (blocking this thread), with the registered
    /// types, until a client calls [`Manager::shutdown`] (as [`serve`](super::serve)).
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

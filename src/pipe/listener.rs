//! [`Listener`] and [`Client`]: connections between processes that did not
//! start each other (Python's `multiprocessing.connection.Listener` and
//! `Client`), over a Unix socket path, the Linux abstract namespace, or TCP.
//!
//! One file of ~800 lines: addresses, the builder, the concurrent
//! handshakes and the client share one accept path, and most of the length
//! is the public items' documented examples.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener, UnixStream};
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::Connection;
use super::auth::{self, Authkey, HandshakeError};
use super::error::{AcceptError, ConnectError, RecvError, SendError};
use crate::sys;
use crate::wake::LazyAsyncFd;

/// Where a [`Listener`] listens and a [`Client`] connects (Python's
/// `address` with its `family`).
///
/// Parsed from a string ([`FromStr`]) as Python spells addresses: `@name`
/// (or a leading NUL) for the abstract namespace, anything with a `/` for a
/// socket path, otherwise `host:port` (resolved, first address wins).
///
/// # Examples
///
/// ```
/// use ipc::Address;
/// assert_eq!("127.0.0.1:6000".parse::<Address>()?, Address::Tcp(([127, 0, 0, 1], 6000).into()));
/// assert_eq!("/tmp/app.sock".parse::<Address>()?, Address::Unix("/tmp/app.sock".into()));
/// assert_eq!("@app".parse::<Address>()?, Address::Abstract(b"app".to_vec()));
/// assert_eq!(Address::Abstract(b"app".to_vec()).to_string(), "@app");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Address {
    /// A Unix socket at a filesystem path (Python's `AF_UNIX`). The listener
    /// removes the file when it is dropped.
    Unix(PathBuf),
    /// A Unix socket in Linux's abstract namespace (Python: an `AF_UNIX`
    /// address starting with `"\0"`): no file, gone with the listener.
    Abstract(Vec<u8>),
    /// A TCP address (Python's `AF_INET`/`AF_INET6` `(host, port)`); port 0
    /// asks the system for a free one ([`Listener::address`] tells which).
    Tcp(SocketAddr),
}

impl Address {
    /// A fresh name in the abstract namespace, unique to this call (for a
    /// listener nobody outside needs to find by name).
    ///
    /// # Errors
    ///
    /// An i/o error if the system has no randomness to give.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = ipc::Address::unique()?;
    /// assert_ne!(a, ipc::Address::unique()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unique() -> io::Result<Address> {
        let mut r = [0u8; 8];
        sys::random_bytes(&mut r)?;
        Ok(Address::Abstract(format!("ipc-{}-{:016x}", sys::getpid(), u64::from_ne_bytes(r)).into_bytes()))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(path) => write!(f, "{}", path.display()),
            Address::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
            Address::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

impl FromStr for Address {
    type Err = io::Error;

    fn from_str(s: &str) -> io::Result<Address> {
        if let Some(name) = s.strip_prefix('@').or_else(|| s.strip_prefix('\0')) {
            return Ok(Address::Abstract(name.as_bytes().to_vec()));
        }
        if s.contains('/') {
            return Ok(Address::Unix(s.into()));
        }
        s.to_socket_addrs()?
            .next()
            .map(Address::Tcp)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{s:?} resolves to no address")))
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Address {
        Address::Tcp(addr)
    }
}

impl From<PathBuf> for Address {
    fn from(path: PathBuf) -> Address {
        Address::Unix(path)
    }
}

impl From<&std::path::Path> for Address {
    fn from(path: &std::path::Path) -> Address {
        Address::Unix(path.to_path_buf())
    }
}

/// The default time a peer has to finish the authkey handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default bound on handshakes in progress at once (see
/// [`ListenerBuilder::max_pending_handshakes`]).
pub const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 1024;

/// Which local users may connect to a [`Listener`] on a Unix socket (a
/// path or an abstract name), checked with the credentials the kernel
/// recorded at `connect` (`SO_PEERCRED`) before a byte is read. TCP peers
/// have no such credentials: there the authkey is the only check.
///
/// An abstract name is reachable by every local user (it is listed in
/// `/proc/net/unix`, and has no file permissions), so the default admits
/// only processes of this process's own effective user.
///
/// # Examples
///
/// ```
/// use ipc::LocalPeers;
/// assert_eq!(LocalPeers::default(), LocalPeers::SameUser);
/// let _shared = LocalPeers::Users(vec![1000, 1001]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalPeers {
    /// Processes whose effective user is this process's (the default).
    #[default]
    SameUser,
    /// Processes running as one of these user ids.
    Users(Vec<u32>),
    /// Any local process (Python's listeners do not check).
    AnyUser,
}

impl LocalPeers {
    fn admits(&self, uid: u32) -> bool {
        match self {
            LocalPeers::SameUser => uid == sys::geteuid(),
            LocalPeers::Users(uids) => uids.contains(&uid),
            LocalPeers::AnyUser => true,
        }
    }
}

/// What a finished handshake gives `accept`.
type Accepted = Result<Connection, AcceptError>;

/// A handshake in progress for [`Listener::blocking_accept`]: its future
/// (over a [`auth::Polled`] connection it owns), polled when its socket
/// (watched through `fd`, a duplicate) turns readable.
struct Polled {
    fd: OwnedFd,
    deadline: Option<std::time::Instant>,
    handshake: Pin<Box<dyn Future<Output = Accepted> + Send>>,
}

impl Polled {
    /// One step of the handshake: `Some` once it has finished.
    fn step(&mut self) -> Option<Accepted> {
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        match self.handshake.as_mut().poll(&mut cx) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }
}

/// Accepts [`Connection`]s at an [`Address`], checking each peer's authkey
/// first when one is set (Python's `multiprocessing.connection.Listener`).
///
/// The handshake is Python's (both generations, see [`Authkey`]), so Python
/// clients connect to a Rust listener and the other way round; frames are
/// Python's too, so `send_bytes`/`recv_bytes` interoperate. Objects sent
/// with [`Connection::send`] are serde data, never code. Handles travel only
/// over Unix sockets (TCP cannot carry descriptors).
///
/// Handshakes run concurrently with accepting (Python's run one at a
/// time, inside `accept`): a peer that connects and says nothing holds up
/// nobody but itself. At most
/// [`max_pending_handshakes`](ListenerBuilder::max_pending_handshakes) run
/// at once; a peer that arrives beyond that is disconnected at once (not
/// queued). `accept` returns whichever connection finishes its handshake
/// first. A peer that fails the handshake, or does not finish it within
/// the handshake timeout (10 s by default; Python waits forever), is an
/// error from one `accept`: the listener keeps serving the others.
///
/// On a Unix socket, a peer of another user is refused before it is read
/// from (see [`LocalPeers`]).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = ipc::Listener::builder("127.0.0.1:0".parse()?).authkey(b"secret password").bind()?;
/// let address = listener.address().clone();
/// let client = tokio::spawn(async move {
///     let mut conn = ipc::Client::new(address).authkey(b"secret password").connect().await?;
///     conn.send(&vec![1.5f64, 2.5]).await?;
///     Ok::<_, ipc::Error>(())
/// });
/// let mut conn = listener.accept().await?;
/// assert_eq!(conn.recv::<Vec<f64>>().await?, [1.5, 2.5]);
/// client.await??;
/// # Ok(()) }
/// ```
pub struct Listener {
    socket: Socket,
    ready: LazyAsyncFd,
    address: Address,
    authkey: Option<Authkey>,
    handshake_timeout: Duration,
    max_pending: usize,
    peers: LocalPeers,
    /// Handshakes in progress for `accept`: tasks on the runtime that
    /// accepted them, aborted when the listener drops. A finished one waits
    /// here for the next `accept`, so a cancelled `accept` loses nothing.
    handshakes: tokio::sync::Mutex<JoinSet<Accepted>>,
    /// Handshakes in progress for `blocking_accept`.
    polled: Mutex<Vec<Polled>>,
}

enum Socket {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("address", &self.address)
            .field("authkey", &self.authkey)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("max_pending", &self.max_pending)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Listener`]; made by [`Listener::builder`].
///
/// # Examples
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let listener = ipc::Listener::builder(ipc::Address::unique()?)
///     .authkey(ipc::Authkey::new(b"k"))
///     .handshake_timeout(std::time::Duration::from_secs(1))
///     .bind()?;
/// # drop(listener); Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `bind`"]
pub struct ListenerBuilder {
    address: Address,
    authkey: Option<Authkey>,
    handshake_timeout: Duration,
    max_pending: usize,
    peers: LocalPeers,
}

impl ListenerBuilder {
    /// Checks every peer's key (Python: `authkey=`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::Listener::builder(ipc::Address::unique()?).authkey(b"k").bind()?;
    /// # drop(l); Ok(()) }
    /// ```
    pub fn authkey(mut self, key: impl Into<Authkey>) -> ListenerBuilder {
        self.authkey = Some(key.into());
        self
    }

    /// How long a peer has to finish the handshake (default 10 s).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::Listener::builder(ipc::Address::unique()?)
    ///     .authkey(b"k")
    ///     .handshake_timeout(std::time::Duration::from_millis(500))
    ///     .bind()?;
    /// # drop(l); Ok(()) }
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> ListenerBuilder {
        self.handshake_timeout = timeout;
        self
    }

    /// How many handshakes may be in progress at once (default
    /// [`DEFAULT_MAX_PENDING_HANDSHAKES`], at least 1). A peer that
    /// connects while that many are in progress is disconnected at once,
    /// so a flood of peers that never speak costs a bounded number of
    /// descriptors and never delays a peer that does beyond the bound.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::Listener::builder(ipc::Address::unique()?).authkey(b"k").max_pending_handshakes(64).bind()?;
    /// # drop(l); Ok(()) }
    /// ```
    pub fn max_pending_handshakes(mut self, n: usize) -> ListenerBuilder {
        self.max_pending = n.max(1);
        self
    }

    /// Which local users may connect over a Unix socket (default
    /// [`LocalPeers::SameUser`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::Listener::builder(ipc::Address::unique()?).peers(ipc::LocalPeers::AnyUser).bind()?;
    /// # drop(l); Ok(()) }
    /// ```
    pub fn peers(mut self, peers: LocalPeers) -> ListenerBuilder {
        self.peers = peers;
        self
    }

    /// Binds and listens.
    ///
    /// # Errors
    ///
    /// The operating system's: the address is in use (`AddrInUse`, also
    /// for an existing socket file), the path's directory does not exist,
    /// and so on.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let a = ipc::Address::unique()?;
    /// let first = ipc::Listener::builder(a.clone()).bind()?;
    /// assert_eq!(ipc::Listener::bind(a).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    /// # drop(first); Ok(()) }
    /// ```
    pub fn bind(self) -> io::Result<Listener> {
        let (socket, address) = match self.address {
            Address::Unix(path) => (Socket::Unix(UnixListener::bind(&path)?), Address::Unix(path)),
            Address::Abstract(name) => {
                let addr = UnixAddr::from_abstract_name(&name)?;
                (Socket::Unix(UnixListener::bind_addr(&addr)?), Address::Abstract(name))
            }
            Address::Tcp(addr) => {
                let listener = TcpListener::bind(addr)?;
                let bound = listener.local_addr()?;
                (Socket::Tcp(listener), Address::Tcp(bound))
            }
        };
        let fd = match &socket {
            Socket::Unix(l) => {
                l.set_nonblocking(true)?;
                l.as_fd()
            }
            Socket::Tcp(l) => {
                l.set_nonblocking(true)?;
                l.as_fd()
            }
        };
        let ready = LazyAsyncFd::new(sys::dup_cloexec(fd)?);
        Ok(Listener {
            socket,
            ready,
            address,
            authkey: self.authkey,
            handshake_timeout: self.handshake_timeout,
            max_pending: self.max_pending,
            peers: self.peers,
            handshakes: tokio::sync::Mutex::new(JoinSet::new()),
            polled: Mutex::new(Vec::new()),
        })
    }
}

impl Listener {
    /// Listens at `address` without an authkey: anyone who can reach the
    /// address may connect (Python's `Listener(address)`).
    ///
    /// # Errors
    ///
    /// As [`ListenerBuilder::bind`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("ipc-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("listener.sock");
    /// let listener = ipc::Listener::bind(path.clone().into())?;
    /// assert!(path.exists());
    /// drop(listener); // the socket file goes with it
    /// assert!(!path.exists());
    /// # std::fs::remove_dir(&dir) }
    /// ```
    pub fn bind(address: Address) -> io::Result<Listener> {
        Listener::builder(address).bind()
    }

    /// Settings beyond the address: the authkey and the handshake timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let l = ipc::Listener::builder("127.0.0.1:0".parse()?).authkey(b"k").bind()?;
    /// assert!(matches!(l.address(), ipc::Address::Tcp(a) if a.port() != 0));
    /// # Ok(()) }
    /// ```
    pub fn builder(address: Address) -> ListenerBuilder {
        ListenerBuilder {
            address,
            authkey: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING_HANDSHAKES,
            peers: LocalPeers::SameUser,
        }
    }

    /// The address clients connect to (a TCP port of 0 resolved to the one
    /// the system chose).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let a = ipc::Address::unique()?;
    /// assert_eq!(ipc::Listener::bind(a.clone())?.address(), &a);
    /// # Ok(()) }
    /// ```
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Waits for the next peer that finishes the handshake (with an
    /// authkey), or for the next peer (without one) (Python's `accept()`).
    /// Several tasks may accept on one listener at once.
    ///
    /// # Errors
    ///
    /// [`AcceptError`]: a peer failed the handshake, took too long, went
    /// away, or is of a user [`LocalPeers`] refuses; or the socket failed.
    /// After a peer's failure, `accept` again serves the others.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: handshakes run on the runtime beside `accept` (tasks
    /// the listener owns), and one that finishes while nobody accepts waits
    /// for the next call.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = ipc::Listener::builder(ipc::Address::unique()?).authkey(b"right").bind()?;
    /// let a = listener.address().clone();
    /// // A peer with the wrong key fails on both sides...
    /// let (server, client) =
    ///     tokio::join!(listener.accept(), ipc::Client::new(a.clone()).authkey(b"wrong").connect());
    /// assert!(matches!(server, Err(ipc::AcceptError::Authentication(_))));
    /// assert!(matches!(client, Err(ipc::ConnectError::Authentication(_))));
    /// // ...and the listener serves the next one.
    /// let (server, client) = tokio::join!(listener.accept(), ipc::Client::new(a).authkey(b"right").connect());
    /// server?.send_bytes(b"welcome").await?;
    /// assert_eq!(client?.recv_bytes(64).await?, b"welcome");
    /// # Ok(()) }
    /// ```
    pub async fn accept(&self) -> Result<Connection, AcceptError> {
        let afd = self.ready.registered()?;
        let mut handshakes = self.handshakes.lock().await;
        loop {
            tokio::select! {
                biased;
                Some(done) = handshakes.join_next(), if !handshakes.is_empty() => {
                    return done.unwrap_or_else(|e| Err(AcceptError::Io(io::Error::other(e))));
                }
                guard = afd.readable() => {
                    let mut guard = guard?;
                    // A bounded batch, so a flood of arrivals cannot keep
                    // finished handshakes from being returned.
                    for _ in 0..ACCEPT_BATCH {
                        let conn = match self.accept_now() {
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                guard.clear_ready();
                                break;
                            }
                            Err(e) if retry_accept(&e) => continue,
                            other => self.admit(other?)?,
                        };
                        let Some(key) = &self.authkey else { return Ok(conn) };
                        if handshakes.len() >= self.max_pending {
                            // Refused, not queued: the peer sees the end.
                            continue;
                        }
                        handshakes.spawn(handshake(conn, key.clone(), self.handshake_timeout));
                    }
                }
            }
        }
    }

    /// A new peer's connection, if [`LocalPeers`] admits its user.
    fn admit(&self, fd: OwnedFd) -> Result<Connection, AcceptError> {
        if matches!(self.socket, Socket::Unix(_)) {
            let (pid, uid) = sys::peer_credentials(fd.as_fd())?;
            if !self.peers.admits(uid) {
                return Err(AcceptError::PeerRefused { pid, uid });
            }
        }
        Ok(Connection::from_fd(fd)?)
    }

    /// [`accept`](Listener::accept) for synchronous code: blocks the thread.
    ///
    /// # Errors
    ///
    /// As [`accept`](Listener::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = ipc::Listener::builder(ipc::Address::unique()?).authkey(b"k").bind()?;
    /// let a = listener.address().clone();
    /// let client = std::thread::spawn(move || ipc::Client::new(a).authkey(b"k").blocking_connect());
    /// let mut conn = listener.blocking_accept()?;
    /// conn.blocking_send(&"hi")?;
    /// assert_eq!(client.join().unwrap()?.blocking_recv::<String>()?, "hi");
    /// # Ok(()) }
    /// ```
    pub fn blocking_accept(&self) -> Result<Connection, AcceptError> {
        // The same concurrency as `accept`, driven by poll(2): every
        // handshake in progress is a future stepped when its socket turns
        // readable; the listener's own socket brings new ones.
        let mut polled = self.polled.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = std::time::Instant::now();
            if let Some(i) = polled.iter().position(|p| p.deadline.is_some_and(|d| d <= now)) {
                polled.swap_remove(i);
                return Err(AcceptError::HandshakeTimedOut);
            }
            let deadline = polled.iter().filter_map(|p| p.deadline).min();
            let ready = {
                let fds: Vec<_> = std::iter::once(self.ready.fd()).chain(polled.iter().map(|p| p.fd.as_fd())).collect();
                sys::poll_each(&fds, deadline)?
            };
            for i in (0..polled.len()).rev() {
                if ready[i + 1] {
                    if let Some(done) = polled[i].step() {
                        polled.swap_remove(i);
                        return done;
                    }
                }
            }
            if !ready[0] {
                continue;
            }
            for _ in 0..ACCEPT_BATCH {
                let conn = match self.accept_now() {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if retry_accept(&e) => continue,
                    other => self.admit(other?)?,
                };
                let Some(key) = &self.authkey else { return Ok(conn) };
                if polled.len() >= self.max_pending {
                    continue;
                }
                let fd = sys::dup_cloexec(conn.as_fd())?;
                let key = key.clone();
                let handshake = Box::pin(async move {
                    let mut conn = conn;
                    auth::server(&mut auth::Polled(&mut conn), &key).await.map_err(accept_error)?;
                    Ok(conn)
                });
                let mut p = Polled { fd, deadline: crate::deadline::after(self.handshake_timeout), handshake };
                // Its first step sends the challenge.
                match p.step() {
                    Some(done) => return done,
                    None => polled.push(p),
                }
            }
        }
    }

    /// One non-blocking `accept`; TCP peers get `TCP_NODELAY` (small
    /// request/reply messages must not wait for Nagle).
    fn accept_now(&self) -> io::Result<OwnedFd> {
        match &self.socket {
            Socket::Unix(l) => Ok(l.accept()?.0.into()),
            Socket::Tcp(l) => {
                let (stream, _) = l.accept()?;
                stream.set_nodelay(true)?;
                Ok(stream.into())
            }
        }
    }
}

impl Drop for Listener {
    /// A socket file goes with its listener, as in Python.
    fn drop(&mut self) {
        if let Address::Unix(path) = &self.address {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// New peers taken from the socket per turn of an accept loop.
const ACCEPT_BATCH: usize = 64;

/// Errors of `accept(2)` that concern one peer that already left, not the
/// listener: try the next.
fn retry_accept(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted)
}

/// The listener's side of the handshake with one peer, within `timeout`.
async fn handshake(mut conn: Connection, key: Authkey, timeout: Duration) -> Accepted {
    let accepted = match tokio::time::timeout(timeout, auth::server(&mut auth::Async(&mut conn), &key)).await {
        Err(_) => Err(AcceptError::HandshakeTimedOut),
        Ok(result) => result.map(|()| conn).map_err(accept_error),
    };
    if let Err(e) = &accepted {
        crate::trace::event!(warn, error = %e, "refused a peer at the authkey handshake");
    }
    accepted
}

fn accept_error(e: HandshakeError) -> AcceptError {
    match e {
        HandshakeError::Auth(e) => AcceptError::Authentication(e),
        HandshakeError::Send(e) => AcceptError::Io(send_io(e)),
        HandshakeError::Recv(e) => AcceptError::Io(recv_io(e)),
    }
}

fn connect_error(e: HandshakeError) -> ConnectError {
    let e = match e {
        HandshakeError::Auth(e) => ConnectError::Authentication(e),
        HandshakeError::Send(e) => ConnectError::Io(send_io(e)),
        HandshakeError::Recv(e) => ConnectError::Io(recv_io(e)),
    };
    crate::trace::event!(warn, error = %e, "the authkey handshake with the listener failed");
    e
}

fn send_io(e: SendError) -> io::Error {
    match e {
        SendError::Io(e) => e,
        SendError::BrokenPipe => io::Error::new(io::ErrorKind::BrokenPipe, "the peer left during the handshake"),
        other => io::Error::other(other),
    }
}

fn recv_io(e: RecvError) -> io::Error {
    match e {
        RecvError::Io(e) => e,
        RecvError::Eof | RecvError::Truncated { .. } => {
            io::Error::new(io::ErrorKind::UnexpectedEof, "the peer left during the handshake")
        }
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

/// Connects to a [`Listener`] (Python's `multiprocessing.connection.Client`),
/// answering and checking the authkey handshake when a key is set.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let listener = ipc::Listener::bind(ipc::Address::unique()?)?;
/// let mut client = ipc::Client::new(listener.address().clone()).connect().await?;
/// let mut server = listener.accept().await?;
/// client.send(&("ping", 1u8)).await?;
/// assert_eq!(server.recv::<(String, u8)>().await?, ("ping".to_string(), 1));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Client does nothing until `connect`"]
pub struct Client {
    address: Address,
    authkey: Option<Authkey>,
}

impl Client {
    /// A client for `address`, without an authkey yet.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let client = ipc::Client::new("127.0.0.1:6000".parse()?).authkey(b"k");
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn new(address: Address) -> Client {
        Client { address, authkey: None }
    }

    /// The key to prove, and to demand of the listener (Python: `authkey=`).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = ipc::Client::new(ipc::Address::Abstract(b"app".to_vec())).authkey(b"secret");
    /// # let _ = client;
    /// ```
    pub fn authkey(mut self, key: impl Into<Authkey>) -> Client {
        self.authkey = Some(key.into());
        self
    }

    /// Connects, then runs the handshake if a key is set.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Io`] if nobody listens there (`ConnectionRefused`,
    /// `NotFound`) or the listener leaves mid-handshake;
    /// [`ConnectError::Authentication`] if either side's key check fails.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future abandons the attempt; the listener sees a peer
    /// that left.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
    /// let nobody = ipc::Client::new(ipc::Address::unique()?).connect().await;
    /// assert!(matches!(nobody, Err(ipc::ConnectError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused));
    /// # Ok(()) }
    /// ```
    pub async fn connect(self) -> Result<Connection, ConnectError> {
        crate::wake::require_runtime()?;
        let fd: OwnedFd = match &self.address {
            Address::Unix(path) => tokio::net::UnixStream::connect(path).await?.into_std()?.into(),
            Address::Abstract(name) => {
                let mut path = vec![0u8];
                path.extend_from_slice(name);
                let path = std::ffi::OsStr::from_bytes(&path);
                tokio::net::UnixStream::connect(path).await?.into_std()?.into()
            }
            Address::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr).await?;
                stream.set_nodelay(true)?;
                stream.into_std()?.into()
            }
        };
        let mut conn = Connection::from_fd(fd)?;
        if let Some(key) = &self.authkey {
            auth::client(&mut auth::Async(&mut conn), key).await.map_err(connect_error)?;
        }
        Ok(conn)
    }

    /// [`connect`](Client::connect) for synchronous code: blocks the thread.
    ///
    /// # Errors
    ///
    /// As [`connect`](Client::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let nobody = ipc::Client::new(ipc::Address::unique()?).blocking_connect();
    /// assert!(matches!(nobody, Err(ipc::ConnectError::Io(_))));
    /// # Ok(()) }
    /// ```
    pub fn blocking_connect(&self) -> Result<Connection, ConnectError> {
        let fd: OwnedFd = match &self.address {
            Address::Unix(path) => UnixStream::connect(path)?.into(),
            Address::Abstract(name) => UnixStream::connect_addr(&UnixAddr::from_abstract_name(name)?)?.into(),
            Address::Tcp(addr) => {
                let stream = TcpStream::connect(addr)?;
                stream.set_nodelay(true)?;
                stream.into()
            }
        };
        let mut conn = Connection::from_fd(fd)?;
        if let Some(key) = &self.authkey {
            crate::wake::block_on(auth::client(&mut auth::Blocking(&mut conn, None), key)).map_err(connect_error)?;
        }
        Ok(conn)
    }
}

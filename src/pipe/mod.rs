//! Pipes and connections (Python's `multiprocessing.Pipe` and
//! `multiprocessing.connection.Connection`).
//!
//! [`Pipe::duplex`] returns two connected ends that both send and receive;
//! [`Pipe::simplex`] returns `(receiver, sender)`, in Python's order. Both
//! are Unix sequenced-packet socket pairs, so every end can carry handles
//! (including other connections), and a message of up to 64 KiB is one
//! atomic record: several processes may share one end, as the tutorials'
//! "several consumers" programs do, without tearing each other's messages
//! (with Python's stream pipes they can). Longer messages should have one
//! reader and one writer per end at a time.
//!
//! Frames are Python's (`multiprocessing.connection`): a
//! [`Connection::from_fd`] over a stream socket talks to a Python peer.
//!
//! Processes that did not start each other meet through a [`Listener`] and
//! a [`Client`] (Python's `multiprocessing.connection.Listener`/`Client`):
//! a Unix socket path, an abstract name or a TCP address, and Python's
//! authkey handshake, so either side may be a Python program.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (mut rx, mut tx) = ipc::Pipe::simplex()?;
//! tx.send(&"包子").await?;
//! drop(tx);
//! assert_eq!(rx.recv::<String>().await?, "包子");
//! assert!(rx.recv::<String>().await.unwrap_err().is_eof());
//! # Ok(()) }
//! ```
//!
//! # What this room holds and may use
//!
//! Connections, their frames and handshake, listeners and clients: it uses
//! `codec`, `handle`, `wake`, `deadline` and `sys`; `process`, `pool` and
//! `manager` use it.

pub(crate) mod auth;
mod connection;
mod error;
pub(crate) mod frame;
mod listener;

pub use auth::Authkey;
pub(crate) use auth::{inherit_keyring, keyring, known_key, remember_key};
pub(crate) use connection::TrySend;
pub use connection::{Connection, DEFAULT_MAX_MESSAGE};
pub use error::{AcceptError, AuthenticationError, ConnectError, RecvError, SendError};
pub(crate) use frame::{push_frame, push_frame_with};
pub use listener::{
    Address, Client, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_PENDING_HANDSHAKES, Listener, ListenerBuilder, LocalPeers,
};

use crate::sys;

/// Creates connected pairs of [`Connection`]s (Python's `Pipe()`).
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut a, mut b) = ipc::Pipe::duplex()?;
/// a.blocking_send(&"hi")?;
/// assert_eq!(b.blocking_recv::<String>()?, "hi");
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Pipe;

impl Pipe {
    /// Two connected ends, each able to send and receive (Python's
    /// `Pipe()` / `Pipe(duplex=True)`).
    ///
    /// # Errors
    ///
    /// An i/o error if the process is out of descriptors.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut left, mut right) = ipc::Pipe::duplex()?;
    /// left.blocking_send(&1u32)?;
    /// right.blocking_send(&2u32)?;
    /// assert_eq!(right.blocking_recv::<u32>()?, 1);
    /// assert_eq!(left.blocking_recv::<u32>()?, 2);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "Pipe")]
    pub fn duplex() -> std::io::Result<(Connection, Connection)> {
        let (a, b) = sys::socketpair(sys::SocketKind::SeqPacket)?;
        Ok((Connection::new(a, true, true)?, Connection::new(b, true, true)?))
    }

    /// A one-way pipe: `(receiver, sender)`, in Python's order for
    /// `Pipe(duplex=False)`. Sending on the receiver or receiving on the
    /// sender is an error.
    ///
    /// # Errors
    ///
    /// An i/o error if the process is out of descriptors.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut rx, mut tx) = ipc::Pipe::simplex()?;
    /// assert!(matches!(rx.blocking_send(&1u8), Err(ipc::SendError::NotWritable)));
    /// tx.blocking_send(&1u8)?;
    /// assert_eq!(rx.blocking_recv::<u8>()?, 1);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "Pipe")]
    pub fn simplex() -> std::io::Result<(Connection, Connection)> {
        let (r, w) = sys::socketpair(sys::SocketKind::SeqPacket)?;
        // Half-close the unused directions so misuse from a raw fd shows too.
        sys::shutdown(std::os::fd::AsFd::as_fd(&r), sys::Shutdown::Write)?;
        sys::shutdown(std::os::fd::AsFd::as_fd(&w), sys::Shutdown::Read)?;
        Ok((Connection::new(r, true, false)?, Connection::new(w, false, true)?))
    }
}

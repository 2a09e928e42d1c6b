//! [`Connection`]: one end of a pipe, speaking Python's frame format.

use std::fmt;
use std::io::{self};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::{RecvError, SendError};
use super::frame::FrameReader;
use crate::codec;
use crate::handle::{DeFd, SerFd};
use crate::sys::{self, Interest};
use crate::wake::{LazyAsyncFd, Spinner};

mod transport;

pub(crate) use transport::TrySend;
use transport::{Unsent, blocking_write, timed_out};

/// The default largest message a connection accepts: 1 GiB.
pub const DEFAULT_MAX_MESSAGE: usize = 1 << 30;

/// One end of a pipe: sends and receives whole messages, optionally with
/// handles, to and from the other end (Python's
/// `multiprocessing.connection.Connection`).
///
/// Messages are framed exactly as Python frames them, so
/// [`send_bytes`](Connection::send_bytes) / [`recv_bytes`](Connection::recv_bytes)
/// interoperate with a Python peer on the same socket. Objects
/// ([`send`](Connection::send) / [`recv`](Connection::recv)) are encoded
/// with serde + bincode instead of pickle: data only, never code, and they may
/// contain handles (another `Connection` included), whose descriptors travel
/// with the message.
///
/// A `Connection` is itself a handle: pass it to a child process as (part of)
/// the spawn argument, or send it through another `Connection`.
///
/// Once a long message was decoded ([`recv`](Connection::recv)) or copied
/// out ([`recv_bytes_into`](Connection::recv_bytes_into)), the connection
/// keeps its buffer — the largest such, up to 32 MiB — and reads the next
/// long message of at least a quarter its size into it: a stream of large
/// messages costs no fresh pages each (a 16 MiB `Vec<u8>` a message went 3×
/// faster for it).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (mut left, mut right) = ipc::Pipe::duplex()?;
/// left.send(&("包子", 3u32)).await?;
/// let (what, n): (String, u32) = right.recv().await?;
/// assert_eq!((what.as_str(), n), ("包子", 3));
///
/// drop(left); // the peer closes: the receiver sees the end of the stream
/// assert!(right.recv::<u32>().await.unwrap_err().is_eof());
/// # Ok(()) }
/// ```
pub struct Connection {
    socket: LazyAsyncFd,
    readable: bool,
    writable: bool,
    /// A Unix socket: descriptors may travel (not over TCP).
    unix: bool,
    reader: FrameReader,
    /// Learns how long to spin before parking on a receive.
    spinner: Spinner,
    /// The tail of a frame whose `send` was cancelled half-way; written before
    /// anything else so the stream stays framed.
    unsent: Vec<u8>,
    max_message: usize,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.as_raw_fd())
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(fd: OwnedFd, readable: bool, writable: bool) -> io::Result<Connection> {
        sys::set_nonblocking(fd.as_fd(), true)?;
        let kind = sys::socket_kind(fd.as_fd());
        let unix = sys::is_unix_socket(fd.as_fd());
        Ok(Connection {
            socket: LazyAsyncFd::new(fd),
            readable,
            writable,
            unix,
            reader: FrameReader::new(kind),
            spinner: Spinner::default(),
            unsent: Vec::new(),
            max_message: DEFAULT_MAX_MESSAGE,
        })
    }

    /// Wraps a connected Unix socket: a stream socket (for example one end of
    /// a socketpair shared with a Python process, or an accepted Unix socket)
    /// or a sequenced-packet socket (as [`Pipe`](crate::Pipe) makes).
    ///
    /// # Errors
    ///
    /// Fails if the descriptor cannot be made non-blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut a = ipc::Connection::from_fd(a.into())?;
    /// let mut b = ipc::Connection::from_fd(b.into())?;
    /// a.blocking_send_bytes(b"hi")?;
    /// assert_eq!(b.blocking_recv_bytes(16)?, b"hi");
    /// # Ok(()) }
    /// ```
    pub fn from_fd(fd: OwnedFd) -> io::Result<Connection> {
        Connection::new(fd, true, true)
    }

    /// Sets the largest message this end accepts (default 1 GiB). A longer
    /// frame is [`RecvError::TooLarge`] before anything is allocated for it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// b.set_max_message_size(4);
    /// a.blocking_send_bytes(b"too long")?;
    /// assert!(matches!(b.blocking_recv_bytes(usize::MAX), Err(ipc::RecvError::TooLarge { len: 8, .. })));
    /// # Ok(()) }
    /// ```
    pub fn set_max_message_size(&mut self, max: usize) {
        self.max_message = max;
    }

    /// Another handle to the same end (a duplicated descriptor), for example
    /// to give one end of a pipe to several processes. On a
    /// [`Pipe`](crate::Pipe), messages of up to 64 KiB stay whole however
    /// many handles send or receive at once.
    ///
    /// # Errors
    ///
    /// An i/o error if the descriptor cannot be duplicated, or
    /// `InvalidInput` while this handle is in the middle of a message.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, b) = ipc::Pipe::duplex()?;
    /// let (mut b1, mut b2) = (b.try_clone()?, b);
    /// a.blocking_send(&1u8)?;
    /// a.blocking_send(&2u8)?;
    /// assert_eq!(b1.blocking_recv::<u8>()? + b2.blocking_recv::<u8>()?, 3);
    /// # Ok(()) }
    /// ```
    pub fn try_clone(&self) -> io::Result<Connection> {
        if self.reader.in_frame() || !self.unsent.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "connection is in the middle of a message"));
        }
        let mut clone = Connection::new(sys::dup_cloexec(self.borrowed())?, self.readable, self.writable)?;
        clone.max_message = self.max_message;
        Ok(clone)
    }

    /// Whether this end can receive.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (rx, tx) = ipc::Pipe::simplex()?;
    /// assert!(rx.readable() && !tx.readable());
    /// # Ok(()) }
    /// ```
    pub fn readable(&self) -> bool {
        self.readable
    }

    /// Whether this end can send.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (rx, tx) = ipc::Pipe::simplex()?;
    /// assert!(tx.writable() && !rx.writable());
    /// # Ok(()) }
    /// ```
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// Closes this end (Python's `close()`); the peer then sees
    /// [`RecvError::Eof`] once it has drained what was sent. Dropping a
    /// connection closes it too; `close` also reports a send that a
    /// cancelled future left half-written and could not finish.
    ///
    /// # Errors
    ///
    /// [`SendError`] if the rest of a cancelled message cannot be written.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, mut b) = ipc::Pipe::duplex()?;
    /// a.close()?;
    /// assert!(b.blocking_recv_bytes(16).unwrap_err().is_eof());
    /// # Ok(()) }
    /// ```
    pub fn close(mut self) -> Result<(), SendError> {
        let mut tail = std::mem::take(&mut self.unsent);
        blocking_write(self.borrowed(), &mut Unsent(&mut tail, self.reader.record_size()), &[])
    }

    // ----- objects --------------------------------------------------------

    /// Sends `value` as one message; handles inside it travel with it.
    ///
    /// # Errors
    ///
    /// [`SendError::BrokenPipe`] if the peer has closed, [`SendError::Encode`]
    /// if the value cannot be encoded (nothing is sent then).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in the sense that matters: the stream stays framed. If the
    /// future is dropped before any byte was written, nothing was sent; if it
    /// is dropped half-way, the rest of the message is kept and written
    /// before the next message (or by [`close`](Connection::close)).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// let (inner_a, mut inner_b) = ipc::Pipe::duplex()?;
    /// a.send(&inner_a).await?; // a connection travels through a connection
    /// let mut got: ipc::Connection = b.recv().await?;
    /// got.send(&42u8).await?;
    /// assert_eq!(inner_b.recv::<u8>().await?, 42);
    /// # Ok(()) }
    /// ```
    pub async fn send<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SendError> {
        let (bytes, fds) = codec::encode(value)?;
        self.send_frame(&bytes, &fds).await
    }

    /// Receives one message and decodes it as `T`.
    ///
    /// # Errors
    ///
    /// [`RecvError::Eof`] once the peer closed and everything was received
    /// (also when it closed with messages of ours unread, which resets a
    /// Unix socket: what it sent still comes first; over TCP such a reset
    /// discards data and is an i/o error), [`RecvError::Decode`] if the
    /// message is not a `T` (the message is consumed),
    /// [`RecvError::TooLarge`] over the connection's limit.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a partly received message stays buffered in the
    /// connection and the next `recv*` call continues it; no message is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.send(&vec![1u16, 2, 3]).await?;
    /// assert_eq!(b.recv::<Vec<u16>>().await?, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<T, RecvError> {
        let (bytes, fds) = self.recv_frame(usize::MAX).await?;
        self.decode(bytes, fds)
    }

    /// [`recv`](Connection::recv) giving up after `timeout` with `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As [`recv`](Connection::recv).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`recv`](Connection::recv): a timeout in the middle of
    /// a message keeps what arrived, and the next call continues it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// assert_eq!(b.recv_timeout::<u8>(Duration::from_millis(5)).await?, None);
    /// a.send(&3u8).await?;
    /// assert_eq!(b.recv_timeout::<u8>(Duration::from_secs(5)).await?, Some(3));
    /// # Ok(()) }
    /// ```
    pub async fn recv_timeout<T: DeserializeOwned>(&mut self, timeout: Duration) -> Result<Option<T>, RecvError> {
        match tokio::time::timeout(timeout, self.recv()).await {
            Ok(value) => value.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Receives a message if a whole one can be had without waiting;
    /// `Ok(None)` otherwise (part of a message may have been read: it is
    /// kept, as with a cancelled [`recv`](Connection::recv)).
    ///
    /// # Errors
    ///
    /// As [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// assert_eq!(b.try_recv::<u8>()?, None);
    /// a.blocking_send(&9u8)?;
    /// assert_eq!(b.try_recv::<u8>()?, Some(9));
    /// # Ok(()) }
    /// ```
    pub fn try_recv<T: DeserializeOwned>(&mut self) -> Result<Option<T>, RecvError> {
        match self.blocking_recv_frame(usize::MAX, Some(Duration::ZERO))? {
            None => Ok(None),
            Some((bytes, fds)) => self.decode(bytes, fds).map(Some),
        }
    }

    /// Blocking form of [`send`](Connection::send), for synchronous code.
    ///
    /// # Errors
    ///
    /// As [`send`](Connection::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.blocking_send(&"hello")?;
    /// assert_eq!(b.blocking_recv::<String>()?, "hello");
    /// # Ok(()) }
    /// ```
    pub fn blocking_send<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SendError> {
        let (bytes, fds) = codec::encode(value)?;
        self.blocking_send_frame(&bytes, &fds)
    }

    /// Blocking form of [`recv`](Connection::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.blocking_send(&1.5f64)?;
    /// assert_eq!(b.blocking_recv::<f64>()?, 1.5);
    /// # Ok(()) }
    /// ```
    pub fn blocking_recv<T: DeserializeOwned>(&mut self) -> Result<T, RecvError> {
        let (bytes, fds) = self.blocking_recv_frame(usize::MAX, None)?.ok_or_else(timed_out)?;
        self.decode(bytes, fds)
    }

    /// [`blocking_recv`](Connection::blocking_recv) giving up after `timeout`
    /// with `Ok(None)`.
    ///
    /// # Errors
    ///
    /// As [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (_a, mut b) = ipc::Pipe::duplex()?;
    /// let got = b.blocking_recv_timeout::<u8>(std::time::Duration::from_millis(10))?;
    /// assert_eq!(got, None);
    /// # Ok(()) }
    /// ```
    pub fn blocking_recv_timeout<T: DeserializeOwned>(&mut self, timeout: Duration) -> Result<Option<T>, RecvError> {
        match self.blocking_recv_frame(usize::MAX, Some(timeout))? {
            None => Ok(None),
            Some((bytes, fds)) => self.decode(bytes, fds).map(Some),
        }
    }

    // ----- bytes ----------------------------------------------------------

    /// Sends `bytes` as one message (Python's `send_bytes`); an empty message
    /// is a message.
    ///
    /// # Errors
    ///
    /// [`SendError::BrokenPipe`] if the peer has closed.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Connection::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.send_bytes(b"").await?;
    /// a.send_bytes("包子".as_bytes()).await?;
    /// assert_eq!(b.recv_bytes(1024).await?, b"");
    /// assert_eq!(b.recv_bytes(1024).await?, "包子".as_bytes());
    /// # Ok(()) }
    /// ```
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.send_frame(bytes, &[]).await
    }

    /// Receives one message of at most `max_len` bytes (Python's
    /// `recv_bytes(maxlength)`).
    ///
    /// # Errors
    ///
    /// [`RecvError::TooLarge`] if the message is longer than `max_len`: it is
    /// not consumed, so a call with a larger limit still gets it.
    /// [`RecvError::Eof`] at the end of the stream.
    ///
    /// # Cancel safety
    ///
    /// As [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.send_bytes(b"0123456789").await?;
    /// assert!(matches!(b.recv_bytes(4).await, Err(ipc::RecvError::TooLarge { len: 10, max: 4 })));
    /// assert_eq!(b.recv_bytes(10).await?, b"0123456789");
    /// # Ok(()) }
    /// ```
    pub async fn recv_bytes(&mut self, max_len: usize) -> Result<Vec<u8>, RecvError> {
        Ok(self.recv_frame(max_len).await?.0)
    }

    /// Receives one message into `buf`, returning its length (Python's
    /// `recv_bytes_into`).
    ///
    /// # Errors
    ///
    /// [`RecvError::BufferTooShort`] carrying the whole message if it does not
    /// fit (the message is consumed and handed to you in the error).
    ///
    /// # Cancel safety
    ///
    /// As [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.send_bytes("包子".as_bytes()).await?;
    /// a.send_bytes("包子包子包子".as_bytes()).await?;
    /// let mut buf = [0u8; 10];
    /// assert_eq!(b.recv_bytes_into(&mut buf).await?, 6);
    /// match b.recv_bytes_into(&mut buf).await {
    ///     Err(ipc::RecvError::BufferTooShort { message, .. }) => assert_eq!(message, "包子包子包子".as_bytes()),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn recv_bytes_into(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        let (bytes, _fds) = self.recv_frame(usize::MAX).await?;
        self.copy_into(bytes, buf)
    }

    /// Blocking form of [`send_bytes`](Connection::send_bytes).
    ///
    /// # Errors
    ///
    /// As [`send_bytes`](Connection::send_bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.blocking_send_bytes(b"x")?;
    /// assert_eq!(b.blocking_recv_bytes(1)?, b"x");
    /// # Ok(()) }
    /// ```
    pub fn blocking_send_bytes(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.blocking_send_frame(bytes, &[])
    }

    /// Blocking form of [`recv_bytes`](Connection::recv_bytes).
    ///
    /// # Errors
    ///
    /// As [`recv_bytes`](Connection::recv_bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.blocking_send_bytes(b"abc")?;
    /// assert_eq!(b.blocking_recv_bytes(3)?, b"abc");
    /// # Ok(()) }
    /// ```
    pub fn blocking_recv_bytes(&mut self, max_len: usize) -> Result<Vec<u8>, RecvError> {
        Ok(self.blocking_recv_frame(max_len, None)?.ok_or_else(timed_out)?.0)
    }

    /// Blocking form of [`recv_bytes_into`](Connection::recv_bytes_into).
    ///
    /// # Errors
    ///
    /// As [`recv_bytes_into`](Connection::recv_bytes_into).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, mut b) = ipc::Pipe::duplex()?;
    /// a.blocking_send_bytes(b"abc")?;
    /// let mut buf = [0u8; 8];
    /// assert_eq!(b.blocking_recv_bytes_into(&mut buf)?, 3);
    /// # Ok(()) }
    /// ```
    pub fn blocking_recv_bytes_into(&mut self, buf: &mut [u8]) -> Result<usize, RecvError> {
        let (bytes, _fds) = self.blocking_recv_frame(usize::MAX, None)?.ok_or_else(timed_out)?;
        self.copy_into(bytes, buf)
    }

    /// Decodes a received frame, handing its buffer back to the reader for
    /// the next one.
    fn decode<T: DeserializeOwned>(&mut self, bytes: Vec<u8>, fds: Vec<OwnedFd>) -> Result<T, RecvError> {
        let value = codec::decode(&bytes, fds);
        self.reader.recycle(bytes);
        Ok(value?)
    }

    /// Copies a received frame into `buf` (the buffer goes back to the
    /// reader), or hands it over inside `BufferTooShort`.
    fn copy_into(&mut self, bytes: Vec<u8>, buf: &mut [u8]) -> Result<usize, RecvError> {
        if bytes.len() > buf.len() {
            return Err(RecvError::BufferTooShort { capacity: buf.len(), message: bytes });
        }
        buf[..bytes.len()].copy_from_slice(&bytes);
        let len = bytes.len();
        self.reader.recycle(bytes);
        Ok(len)
    }

    // ----- readiness ------------------------------------------------------

    /// Waits up to `timeout` for something to receive; `true` if a message
    /// (or the end of the stream) is ready, `false` on timeout (Python's
    /// `poll(timeout)`: `Some(Duration::ZERO)` asks without waiting, as
    /// Python's `poll()`; `None` waits as long as it takes, as `poll(None)`).
    ///
    /// # Errors
    ///
    /// [`RecvError::NotReadable`] on a send-only end, or an i/o error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it consumes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// let (mut a, b) = ipc::Pipe::duplex()?;
    /// assert!(!b.poll(Some(Duration::ZERO)).await?); // Python's poll()
    /// assert!(!b.poll(Some(Duration::from_millis(5))).await?);
    /// a.send(&1u8).await?;
    /// assert!(b.poll(None).await?); // Python's poll(None): waits as long as it takes
    /// # Ok(()) }
    /// ```
    pub async fn poll(&self, timeout: Option<Duration>) -> Result<bool, RecvError> {
        if !self.readable {
            return Err(RecvError::NotReadable);
        }
        let afd = self.socket.registered()?;
        let wait = async {
            loop {
                let mut guard = afd.readable().await?;
                if sys::poll_fd(afd.get_ref().as_fd(), Interest::Read, Some(Duration::ZERO))? {
                    return Ok::<bool, io::Error>(true);
                }
                guard.clear_ready();
            }
        };
        let Some(timeout) = timeout else { return Ok(wait.await?) };
        match tokio::time::timeout(timeout, wait).await {
            Ok(ready) => Ok(ready?),
            Err(_) => Ok(false),
        }
    }

    /// Blocking form of [`poll`](Connection::poll); `None` waits forever.
    ///
    /// # Errors
    ///
    /// As [`poll`](Connection::poll).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, b) = ipc::Pipe::duplex()?;
    /// drop(a);
    /// assert!(b.blocking_poll(None)?); // the end of the stream is "ready"
    /// # Ok(()) }
    /// ```
    pub fn blocking_poll(&self, timeout: Option<Duration>) -> Result<bool, RecvError> {
        if !self.readable {
            return Err(RecvError::NotReadable);
        }
        Ok(sys::poll_fd(self.borrowed(), Interest::Read, timeout)?)
    }
}

impl AsRawFd for Connection {
    fn as_raw_fd(&self) -> RawFd {
        self.borrowed().as_raw_fd()
    }
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.borrowed()
    }
}

#[derive(Serialize)]
struct WireRef<'a> {
    fd: SerFd<'a>,
    readable: bool,
    writable: bool,
}

#[derive(Deserialize)]
struct Wire {
    fd: DeFd,
    readable: bool,
    writable: bool,
}

/// A connection serializes as a handle: its socket travels out of band.
/// Serializing one with a half-received or half-sent message is an error
/// (the message would be torn between the two copies).
impl Serialize for Connection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.reader.in_frame() || !self.unsent.is_empty() {
            return Err(S::Error::custom("cannot send a Connection in the middle of a message"));
        }
        WireRef { fd: SerFd(self.borrowed()), readable: self.readable, writable: self.writable }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Connection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        Connection::new(wire.fd.0, wire.readable, wire.writable).map_err(D::Error::custom)
    }
}

//! [`Connection`]: one end of a pipe, speaking Python's frame format.

use std::fmt;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::io::unix::AsyncFd;

use super::error::{RecvError, SendError};
use super::frame::{encode_header, Frame, FrameReader, ReadOutcome};
use crate::codec;
use crate::handle::{DeFd, SerFd};
use crate::sys::{self, Interest};
use crate::wake::{LazyAsyncFd, Spinner};

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
    /// [`RecvError::Eof`] once the peer closed and everything was received,
    /// [`RecvError::Decode`] if the message is not a `T` (the message is
    /// consumed), [`RecvError::TooLarge`] over the connection's limit.
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
        Ok(codec::decode(&bytes, fds)?)
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
            Some((bytes, fds)) => Ok(Some(codec::decode(&bytes, fds)?)),
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
        Ok(codec::decode(&bytes, fds)?)
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
            Some((bytes, fds)) => Ok(Some(codec::decode(&bytes, fds)?)),
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
        copy_into(bytes, buf)
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
        copy_into(bytes, buf)
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

    // ----- machinery ------------------------------------------------------

    fn borrowed(&self) -> BorrowedFd<'_> {
        self.socket.fd()
    }

    pub(crate) async fn recv_frame(&mut self, max_len: usize) -> Result<Frame, RecvError> {
        if !self.readable {
            return Err(RecvError::NotReadable);
        }
        let max = max_len.min(self.max_message);
        let Connection { socket, reader, spinner, .. } = self;
        let afd = socket.registered()?;
        let fd = afd.get_ref().as_fd();
        if let Some(outcome) = read_or_spin(reader, spinner, fd, max, None)? {
            return finish(outcome, max);
        }
        loop {
            let mut guard = afd.readable().await?;
            match reader.read(fd, max)? {
                ReadOutcome::WouldBlock => guard.clear_ready(),
                other => return finish(other, max),
            }
        }
    }

    /// One non-blocking read: a whole frame if the socket holds the rest of
    /// one, `Ok(None)` if not (what arrived so far is kept for the next read).
    pub(crate) fn try_recv_frame(&mut self, max_len: usize) -> Result<Option<Frame>, RecvError> {
        self.recv_frame_now(max_len, false)
    }

    /// Like [`try_recv_frame`](Connection::try_recv_frame), but first spins
    /// on the socket for this connection's learned budget (see
    /// [`Spinner`]), never blocking in the kernel: `Ok(None)` means the spin
    /// ran out. For callers that expect an answer within microseconds.
    pub(crate) fn spin_recv_frame(&mut self, max_len: usize) -> Result<Option<Frame>, RecvError> {
        self.recv_frame_now(max_len, true)
    }

    /// Like [`spin_recv_frame`](Connection::spin_recv_frame), but spins for
    /// `budget` whatever the connection has learned (the peer said more is
    /// coming at once), and without learning from it.
    pub(crate) fn spin_recv_frame_for(&mut self, max_len: usize, budget: Duration) -> Result<Option<Frame>, RecvError> {
        if !self.readable {
            return Err(RecvError::NotReadable);
        }
        let max = max_len.min(self.max_message);
        let Connection { socket, reader, .. } = self;
        let fd = socket.fd();
        let spun = Spinner::spin_for(budget, || match reader.read(fd, max) {
            Ok(ReadOutcome::WouldBlock) => None,
            other => Some(other),
        });
        spun.transpose()?.map(|outcome| finish(outcome, max)).transpose()
    }

    fn recv_frame_now(&mut self, max_len: usize, spin: bool) -> Result<Option<Frame>, RecvError> {
        if !self.readable {
            return Err(RecvError::NotReadable);
        }
        let max = max_len.min(self.max_message);
        let Connection { socket, reader, spinner, .. } = self;
        let fd = socket.fd();
        let outcome = if spin {
            read_or_spin(reader, spinner, fd, max, None)?
        } else {
            match reader.read(fd, max)? {
                ReadOutcome::WouldBlock => None,
                other => Some(other),
            }
        };
        outcome.map(|outcome| finish(outcome, max)).transpose()
    }

    pub(crate) fn blocking_recv_frame(
        &mut self,
        max_len: usize,
        timeout: Option<Duration>,
    ) -> Result<Option<Frame>, RecvError> {
        if !self.readable {
            return Err(RecvError::NotReadable);
        }
        let max = max_len.min(self.max_message);
        let deadline = crate::deadline::within(timeout);
        let Connection { socket, reader, spinner, .. } = self;
        let fd = socket.fd();
        if let Some(outcome) = read_or_spin(reader, spinner, fd, max, timeout)? {
            return finish(outcome, max).map(Some);
        }
        loop {
            let left = crate::deadline::left(deadline);
            if !sys::poll_fd(fd, Interest::Read, left)? {
                return Ok(None);
            }
            match reader.read(fd, max)? {
                ReadOutcome::WouldBlock => {}
                other => return finish(other, max).map(Some),
            }
        }
    }

    async fn send_frame(&mut self, payload: &[u8], fds: &[OwnedFd]) -> Result<(), SendError> {
        self.check_send(fds)?;
        let record = self.reader.record_size();
        let Connection { socket, unsent, .. } = self;
        let afd = socket.registered()?;
        let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        // First the tail of a frame a cancelled send left behind.
        async_write(afd, &mut Unsent(unsent, record), &[]).await?;
        let (header, hlen) = encode_header(payload.len());
        let mut partial = Partial::new(unsent, [&header[..hlen], payload], record);
        async_write(afd, &mut partial, &fds).await
    }

    pub(crate) fn blocking_send_frame(&mut self, payload: &[u8], fds: &[OwnedFd]) -> Result<(), SendError> {
        self.check_send(fds)?;
        let fd = self.socket.fd();
        let record = self.reader.record_size();
        blocking_write(fd, &mut Unsent(&mut self.unsent, record), &[])?;
        let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        let (header, hlen) = encode_header(payload.len());
        let mut partial = Partial::new(&mut self.unsent, [&header[..hlen], payload], record);
        blocking_write(fd, &mut partial, &fds)
    }

    /// Writes already framed bytes (any number of whole frames, see
    /// [`push_frame`](super::frame::push_frame)) without waiting:
    /// [`TrySend::Busy`] (nothing written) if the socket is full or an
    /// earlier write's tail is still unsent; [`TrySend::Started`] if only
    /// part fitted, the rest kept for [`flush`](Connection::flush), which
    /// must run before anything else is sent. Stream sockets only (several
    /// frames in one write would break a sequenced-packet socket's records).
    pub(crate) fn try_send_framed(&mut self, framed: &[u8]) -> Result<TrySend, SendError> {
        self.check_framed()?;
        self.try_write([framed, &[]], usize::MAX, &[])
    }

    /// Sends `value` as one frame without waiting, on any socket kind, with
    /// [`try_send_framed`](Connection::try_send_framed)'s outcomes: a
    /// [`TrySend::Started`] frame's tail is kept for
    /// [`flush`](Connection::flush).
    pub(crate) fn try_send<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<TrySend, SendError> {
        let (payload, fds) = codec::encode(value)?;
        self.check_send(&fds)?;
        let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        let (header, hlen) = encode_header(payload.len());
        let record = self.reader.record_size();
        self.try_write([&header[..hlen], &payload], record, &fds)
    }

    /// A tail of an earlier frame waits for [`flush`](Connection::flush).
    pub(crate) fn has_unsent(&self) -> bool {
        !self.unsent.is_empty()
    }

    fn try_write(&mut self, parts: [&[u8]; 2], record: usize, fds: &[BorrowedFd<'_>]) -> Result<TrySend, SendError> {
        if !self.unsent.is_empty() {
            return Ok(TrySend::Busy);
        }
        let fd = self.socket.fd();
        let mut partial = Partial::new(&mut self.unsent, parts, record);
        loop {
            match partial.step(fd, fds) {
                Ok(true) => return Ok(TrySend::Sent),
                Ok(false) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Dropping `partial` keeps a started write's tail.
                    return Ok(if partial.written == 0 { TrySend::Busy } else { TrySend::Started });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes already framed bytes, waiting for room (cancel safe as
    /// [`send_bytes`](Connection::send_bytes)). Stream sockets only.
    pub(crate) async fn send_framed(&mut self, framed: &[u8]) -> Result<(), SendError> {
        self.check_framed()?;
        let Connection { socket, unsent, .. } = self;
        let afd = socket.registered()?;
        async_write(afd, &mut Unsent(unsent, usize::MAX), &[]).await?;
        async_write(afd, &mut Partial::new(unsent, [framed, &[]], usize::MAX), &[]).await
    }

    /// [`send_framed`](Connection::send_framed), blocking.
    pub(crate) fn blocking_send_framed(&mut self, framed: &[u8]) -> Result<(), SendError> {
        self.check_framed()?;
        let fd = self.socket.fd();
        blocking_write(fd, &mut Unsent(&mut self.unsent, usize::MAX), &[])?;
        blocking_write(fd, &mut Partial::new(&mut self.unsent, [framed, &[]], usize::MAX), &[])
    }

    fn check_framed(&self) -> Result<(), SendError> {
        self.check_send(&[])?;
        if self.reader.record_size() != usize::MAX {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "several frames per write need a stream socket");
            return Err(SendError::Io(e));
        }
        Ok(())
    }

    /// Reads ahead from now on: one `recvmsg` takes every frame the socket
    /// holds (see [`FrameReader`]). For stream connections over which no
    /// handles travel (descriptors that come anyway are closed).
    pub(crate) fn read_ahead(&mut self) {
        self.reader.read_ahead();
    }

    /// A whole frame is waiting in the read-ahead buffer.
    pub(crate) fn frame_buffered(&self) -> bool {
        self.reader.frame_buffered()
    }

    /// Writes the tail a [`try_send_framed`](Connection::try_send_framed)
    /// (or a cancelled send) left behind, waiting for room.
    pub(crate) async fn flush(&mut self) -> Result<(), SendError> {
        let record = self.reader.record_size();
        let Connection { socket, unsent, .. } = self;
        let afd = socket.registered()?;
        async_write(afd, &mut Unsent(unsent, record), &[]).await
    }

    fn check_send(&self, fds: &[OwnedFd]) -> Result<(), SendError> {
        if !self.writable {
            return Err(SendError::NotWritable);
        }
        if fds.len() > sys::MAX_FDS_PER_MSG {
            return Err(SendError::TooManyHandles(fds.len()));
        }
        if !fds.is_empty() && !self.unix {
            return Err(SendError::HandlesNeedUnixSocket);
        }
        Ok(())
    }
}

/// What [`Connection::try_send_framed`] managed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrySend {
    /// Everything is written.
    Sent,
    /// Part is written; [`Connection::flush`] writes the rest.
    Started,
    /// Nothing is written: send it later.
    Busy,
}

/// Reads what the socket holds; if nothing, spins for the learned budget (at
/// most `limit`). `Ok(None)` means: park until readable.
fn read_or_spin(
    reader: &mut FrameReader,
    spinner: &mut Spinner,
    fd: BorrowedFd<'_>,
    max: usize,
    limit: Option<Duration>,
) -> io::Result<Option<ReadOutcome>> {
    match reader.read(fd, max)? {
        ReadOutcome::WouldBlock => {}
        other => return Ok(Some(other)),
    }
    let plan = spinner.plan(limit);
    let spun = plan.run(|| match reader.read(fd, max) {
        Ok(ReadOutcome::WouldBlock) => None,
        other => Some(other),
    });
    spinner.settle(&plan, spun.is_some());
    spun.transpose()
}

fn timed_out() -> RecvError {
    RecvError::Io(io::Error::from(io::ErrorKind::TimedOut))
}

fn copy_into(bytes: Vec<u8>, buf: &mut [u8]) -> Result<usize, RecvError> {
    if bytes.len() > buf.len() {
        return Err(RecvError::BufferTooShort { capacity: buf.len(), message: bytes });
    }
    buf[..bytes.len()].copy_from_slice(&bytes);
    Ok(bytes.len())
}

fn finish(outcome: ReadOutcome, max: usize) -> Result<Frame, RecvError> {
    match outcome {
        ReadOutcome::Frame(bytes, fds) => Ok((bytes, fds)),
        ReadOutcome::Eof => Err(RecvError::Eof),
        ReadOutcome::TooLarge(len) => Err(RecvError::TooLarge { len, max }),
        ReadOutcome::Truncated { received } => Err(RecvError::Truncated { received }),
        ReadOutcome::InvalidHeader(h) => Err(RecvError::InvalidHeader(h)),
        ReadOutcome::WouldBlock => unreachable!("callers wait on WouldBlock"),
    }
}

/// Something written to the socket in non-blocking steps.
trait Write {
    /// One non-blocking `sendmsg`; `Ok(true)` once everything is written.
    fn step(&mut self, fd: BorrowedFd<'_>, fds: &[BorrowedFd<'_>]) -> io::Result<bool>;
}

/// The tail of a frame a cancelled send left behind, written in place (in
/// records of at most `.1` bytes): what is written is drained, so cancelling
/// this write loses nothing either.
struct Unsent<'a>(&'a mut Vec<u8>, usize);

impl Write for Unsent<'_> {
    fn step(&mut self, fd: BorrowedFd<'_>, _fds: &[BorrowedFd<'_>]) -> io::Result<bool> {
        if self.0.is_empty() {
            return Ok(true);
        }
        let chunk = self.0.len().min(self.1);
        let n = sys::send_with_fds(fd, &[IoSlice::new(&self.0[..chunk])], &[])?;
        self.0.drain(..n);
        Ok(self.0.is_empty())
    }
}

/// A new frame being written straight from the caller's buffers, in records
/// of at most `record` bytes. If it is dropped part-way (a cancelled `send`),
/// the unwritten tail is copied into the connection's stash so the stream
/// stays framed; only that slow path copies.
struct Partial<'a> {
    stash: &'a mut Vec<u8>,
    parts: [&'a [u8]; 2],
    written: usize,
    record: usize,
}

impl<'a> Partial<'a> {
    fn new(stash: &'a mut Vec<u8>, parts: [&'a [u8]; 2], record: usize) -> Partial<'a> {
        Partial { stash, parts, written: 0, record }
    }

    fn remaining(&self) -> [&'a [u8]; 2] {
        let [a, b] = self.parts;
        if self.written < a.len() {
            [&a[self.written..], b]
        } else {
            [&[], &b[self.written - a.len()..]]
        }
    }

    fn done(&self) -> bool {
        self.written == self.parts[0].len() + self.parts[1].len()
    }
}

impl Write for Partial<'_> {
    /// Descriptors ride on the first byte of the frame only.
    fn step(&mut self, fd: BorrowedFd<'_>, fds: &[BorrowedFd<'_>]) -> io::Result<bool> {
        let [a, b] = self.remaining();
        let a = &a[..a.len().min(self.record)];
        let b = &b[..b.len().min(self.record - a.len())];
        let fds = if self.written == 0 { fds } else { &[] };
        self.written += sys::send_with_fds(fd, &[IoSlice::new(a), IoSlice::new(b)], fds)?;
        Ok(self.done())
    }
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        if self.written > 0 && !self.done() {
            *self.stash = self.remaining().concat();
        }
    }
}

async fn async_write(afd: &AsyncFd<OwnedFd>, w: &mut impl Write, fds: &[BorrowedFd<'_>]) -> Result<(), SendError> {
    loop {
        match w.step(afd.get_ref().as_fd(), fds) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut guard = afd.writable().await.map_err(SendError::from)?;
                // Only forget readiness if the socket is still full now.
                match w.step(afd.get_ref().as_fd(), fds) {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn blocking_write(fd: BorrowedFd<'_>, w: &mut impl Write, fds: &[BorrowedFd<'_>]) -> Result<(), SendError> {
    loop {
        match w.step(fd, fds) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::poll_fd(fd, Interest::Write, None)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
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

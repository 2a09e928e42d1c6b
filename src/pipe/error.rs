//! Errors of [`Connection`](crate::Connection) operations.

use std::io;

use crate::codec::{DecodeError, EncodeError};

/// Why a `recv*` call on a [`Connection`](crate::Connection) failed.
///
/// Python's `EOFError` is [`RecvError::Eof`] and its `BufferTooShort` is
/// [`RecvError::BufferTooShort`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// The peer closed its end and every message it sent has been received.
    #[error("end of stream: the peer closed the connection")]
    Eof,
    /// The next message is longer than the limit given (or the connection's
    /// maximum). Nothing was lost: a later call with a larger limit gets it.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The length the frame header announces.
        len: u64,
        /// The limit in force for the call.
        max: usize,
    },
    /// `recv_bytes_into`'s buffer is shorter than the message; the whole
    /// message is here (Python: `e.args[0]`).
    #[error("buffer of {capacity} bytes is too short for a message of {} bytes", message.len())]
    BufferTooShort {
        /// The complete message.
        message: Vec<u8>,
        /// The length of the buffer that was offered.
        capacity: usize,
    },
    /// The peer closed the connection in the middle of a message.
    #[error("connection closed in the middle of a message ({received} bytes of it received)")]
    Truncated {
        /// Bytes of the unfinished frame (header included) that arrived.
        received: u64,
    },
    /// The stream does not hold a valid frame header (not a peer speaking
    /// this protocol); the connection cannot be used for receiving any more.
    #[error("invalid frame header (length {0})")]
    InvalidHeader(i32),
    /// The message arrived but is not a valid encoding of the requested type.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// This end was created send-only (`Pipe::simplex`).
    #[error("connection is send-only")]
    NotReadable,
    /// An operating-system error.
    #[error("connection i/o error: {0}")]
    Io(#[from] io::Error),
}

impl RecvError {
    /// Whether this is the end of the stream ([`RecvError::Eof`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, mut b) = ipc::Pipe::duplex()?;
    /// drop(a);
    /// assert!(b.blocking_recv::<u8>().unwrap_err().is_eof());
    /// # Ok(()) }
    /// ```
    pub fn is_eof(&self) -> bool {
        matches!(self, RecvError::Eof)
    }
}

/// Why a `send*` call on a [`Connection`](crate::Connection) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The peer has closed its end (Python's `BrokenPipeError`; never a
    /// `SIGPIPE`).
    #[error("broken pipe: the peer closed the connection")]
    BrokenPipe,
    /// The value could not be encoded; nothing was sent.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The message carries more handle descriptors than one message may (253).
    #[error("message carries {0} descriptors; at most 253 fit one message")]
    TooManyHandles(usize),
    /// This end was created receive-only (`Pipe::simplex`).
    #[error("connection is receive-only")]
    NotWritable,
    /// The message carries handles, but this connection is not a Unix socket
    /// (a TCP [`Client`](crate::Client)): descriptors cannot travel over it.
    #[error("handles can only be sent over Unix-socket connections, not TCP")]
    HandlesNeedUnixSocket,
    /// An operating-system error.
    #[error("connection i/o error: {0}")]
    Io(io::Error),
}

impl SendError {
    /// Whether the peer is gone ([`SendError::BrokenPipe`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut a, b) = ipc::Pipe::duplex()?;
    /// drop(b);
    /// assert!(a.blocking_send(&1u8).unwrap_err().is_broken_pipe());
    /// # Ok(()) }
    /// ```
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, SendError::BrokenPipe)
    }
}

impl From<io::Error> for SendError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => SendError::BrokenPipe,
            _ => SendError::Io(e),
        }
    }
}

/// The authkey handshake failed (Python's
/// `multiprocessing.AuthenticationError`). On the side that checked the
/// digest, the peer has been told `#FAILURE#`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthenticationError {
    /// The peer's answer to our challenge was wrong: it holds another key.
    #[error("digest received was wrong (the peer holds another authkey)")]
    WrongDigest,
    /// The peer rejected our answer (`#FAILURE#`): it holds another key.
    #[error("digest sent was rejected (the peer holds another authkey)")]
    Rejected,
    /// The peer speaks the legacy HMAC-MD5 form (Python ≤ 3.11), which this
    /// end accepts only when told to (`Authkey::legacy_md5(true)`, with the
    /// crate's `legacy-md5` feature).
    #[error(
        "the peer uses the legacy HMAC-MD5 handshake of Python <= 3.11, which is refused by default; \
         allow it with Authkey::legacy_md5(true) (ipc's `legacy-md5` feature)"
    )]
    LegacyRefused,
    /// The peer named a digest we do not implement.
    #[error("unsupported handshake digest {{{0}}}")]
    Unsupported(String),
    /// The peer does not speak the handshake (or sent more than 256 bytes in
    /// one handshake message).
    #[error("handshake protocol error: {0}")]
    Protocol(String),
}

/// Why [`Listener::accept`](crate::Listener::accept) returned no connection.
/// A failed peer never harms the listener: call `accept` again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The peer failed the authkey handshake.
    #[error(transparent)]
    Authentication(#[from] AuthenticationError),
    /// The peer did not finish the handshake within the listener's
    /// handshake timeout.
    #[error("the peer did not finish the handshake in time")]
    HandshakeTimedOut,
    /// A local peer of a user the listener does not admit (see
    /// [`LocalPeers`](crate::LocalPeers)); it was disconnected unread.
    #[error("refused a local peer (pid {pid}) of user {uid}, whom the listener does not admit")]
    PeerRefused {
        /// The peer's process id when it connected.
        pid: i32,
        /// The peer's user id.
        uid: u32,
    },
    /// The peer went away during the handshake, or the socket failed.
    #[error("accept i/o error: {0}")]
    Io(#[from] io::Error),
}

/// Why [`Client::connect`](crate::Client::connect) returned no connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The listener failed the authkey handshake, or failed us.
    #[error(transparent)]
    Authentication(#[from] AuthenticationError),
    /// Nobody listens there, the listener went away during the handshake, or
    /// the socket failed.
    #[error("connect i/o error: {0}")]
    Io(#[from] io::Error),
}

//! The frame format of Python's `multiprocessing.connection`, and the
//! incremental, cancel-safe reader for it.
//!
//! A frame is a 4-byte big-endian signed length followed by that many bytes.
//! Lengths above `i32::MAX` are written as `-1` followed by an 8-byte
//! big-endian unsigned length (Python ≥ 3.8). Any other negative length is
//! garbage.
//!
//! # Implementation notes
//!
//! The reader never reads past the end of the current frame: the header and
//! the payload are each read with exactly the bytes still missing. That keeps
//! descriptors (which the kernel attaches to the first byte of the `sendmsg`
//! that carried them, i.e. to a frame's header) with their frame, and lets
//! several processes read whole small messages from one socket end, as
//! Python's programs do. All progress lives in [`FrameReader`], so a caller
//! that stops half way (a cancelled future) resumes where it left off.
//!
//! The payload buffer grows with the bytes that actually arrive (doubling,
//! starting at 64 KiB), never with what the header claims, so a lying header
//! costs at most what the peer really sent.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::sys;

/// The largest length that fits the short (4-byte) header.
const SHORT_MAX: usize = i32::MAX as usize;
/// First capacity of a payload buffer whose header claims more than this.
const INITIAL_CHUNK: usize = 64 << 10;
/// The most descriptors one frame may bring (more is a hostile peer).
const MAX_FDS_PER_FRAME: usize = 4 * sys::MAX_FDS_PER_MSG;

/// Encodes the header for a payload of `len` bytes; returns the buffer and
/// how many of its bytes to send.
pub(crate) fn encode_header(len: usize) -> ([u8; 12], usize) {
    let mut h = [0u8; 12];
    if len > SHORT_MAX {
        h[..4].copy_from_slice(&(-1i32).to_be_bytes());
        h[4..].copy_from_slice(&(len as u64).to_be_bytes());
        (h, 12)
    } else {
        h[..4].copy_from_slice(&(len as i32).to_be_bytes());
        (h, 4)
    }
}

/// A received message: its bytes and the descriptors that came with it.
pub(crate) type Frame = (Vec<u8>, Vec<OwnedFd>);

/// What one call to [`FrameReader::read`] achieved.
#[derive(Debug)]
pub(crate) enum ReadOutcome {
    /// A whole frame and the descriptors that came with it.
    Frame(Vec<u8>, Vec<OwnedFd>),
    /// The socket has no more bytes now.
    WouldBlock,
    /// The peer closed the connection at a frame boundary.
    Eof,
    /// The header announces more than the caller's limit; nothing was consumed
    /// beyond the header, and a later read with a larger limit continues.
    TooLarge(u64),
    /// The peer closed the connection in the middle of a frame.
    Truncated { received: u64 },
    /// The header is not a valid length (the stream is garbage from here on).
    InvalidHeader(i32),
}

/// Reads frames incrementally; see the module notes.
#[derive(Debug, Default)]
pub(crate) struct FrameReader {
    header: [u8; 12],
    header_len: usize,
    /// The payload length once the header is complete.
    len: Option<u64>,
    payload: Vec<u8>,
    fds: Vec<OwnedFd>,
    /// Set after an invalid header: the stream cannot be re-synchronised.
    poisoned: Option<i32>,
}

impl FrameReader {
    /// Whether part of a frame has been consumed from the socket.
    pub(crate) fn in_frame(&self) -> bool {
        self.header_len > 0
    }

    /// Makes as much progress as the socket allows without blocking.
    pub(crate) fn read(&mut self, fd: BorrowedFd<'_>, max: usize) -> io::Result<ReadOutcome> {
        if let Some(h) = self.poisoned {
            return Ok(ReadOutcome::InvalidHeader(h));
        }
        // 1. The header: 4 bytes, or 12 when the first four say -1.
        while self.len.is_none() {
            let want = if self.header_len >= 4 && self.short_header() == -1 { 12 } else { 4 };
            if self.header_len == want {
                let len = if want == 12 {
                    u64::from_be_bytes(self.header[4..12].try_into().expect("8 bytes"))
                } else {
                    let short = self.short_header();
                    if short < 0 {
                        self.poisoned = Some(short);
                        return Ok(ReadOutcome::InvalidHeader(short));
                    }
                    short as u64
                };
                self.len = Some(len);
                break;
            }
            let (start, end) = (self.header_len, want);
            let n = match self.recv(fd, RecvInto::Header(start, end)) {
                Ok(0) => return Ok(self.eof()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadOutcome::WouldBlock),
                Err(e) => return Err(e),
            };
            self.header_len += n;
        }
        let len = self.len.expect("header parsed");
        if len > max as u64 {
            return Ok(ReadOutcome::TooLarge(len));
        }
        let len = len as usize;
        // 2. The payload, into capacity that grows with what arrives.
        while self.payload.len() < len {
            if self.payload.capacity() == self.payload.len() {
                let have = self.payload.len();
                let grow = (len - have).min(have.max(INITIAL_CHUNK));
                self.payload.reserve_exact(grow);
            }
            match self.recv(fd, RecvInto::Payload(len)) {
                Ok(0) => return Ok(self.eof()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadOutcome::WouldBlock),
                Err(e) => return Err(e),
            }
        }
        let payload = std::mem::take(&mut self.payload);
        let fds = std::mem::take(&mut self.fds);
        self.header_len = 0;
        self.len = None;
        Ok(ReadOutcome::Frame(payload, fds))
    }

    fn short_header(&self) -> i32 {
        i32::from_be_bytes(self.header[..4].try_into().expect("4 bytes"))
    }

    fn eof(&mut self) -> ReadOutcome {
        if !self.in_frame() {
            return ReadOutcome::Eof;
        }
        ReadOutcome::Truncated { received: (self.header_len + self.payload.len()) as u64 }
    }

    fn recv(&mut self, fd: BorrowedFd<'_>, into: RecvInto) -> io::Result<usize> {
        let n = match into {
            RecvInto::Header(start, end) => sys::recv_with_fds(fd, &mut self.header[start..end], &mut self.fds)?,
            RecvInto::Payload(len) => {
                let missing = len - self.payload.len();
                sys::recv_append(fd, &mut self.payload, missing, &mut self.fds)?
            }
        };
        if self.fds.len() > MAX_FDS_PER_FRAME {
            self.fds.clear();
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "peer attached too many descriptors to one message",
            ));
        }
        Ok(n)
    }
}

#[derive(Clone, Copy)]
enum RecvInto {
    Header(usize, usize),
    Payload(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_python() {
        assert_eq!(encode_header(0), ([0; 12], 4));
        let (h, n) = encode_header(5);
        assert_eq!(&h[..n], &[0, 0, 0, 5]);
        let (h, n) = encode_header(SHORT_MAX);
        assert_eq!(&h[..n], &[0x7f, 0xff, 0xff, 0xff]);
        let (h, n) = encode_header(SHORT_MAX + 1);
        assert_eq!(n, 12);
        assert_eq!(&h[..4], &[0xff; 4]);
        assert_eq!(&h[4..], &(0x8000_0000u64).to_be_bytes());
    }
}

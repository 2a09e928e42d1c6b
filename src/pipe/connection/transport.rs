//! The transport under a [`Connection`]: frames in and out of the socket,
//! the partial write kept for the next send, the spin before parking.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use serde::Serialize;
use tokio::io::unix::AsyncFd;

use super::super::error::{RecvError, SendError};
use super::super::frame::{Frame, FrameReader, ReadOutcome, encode_header};
use super::Connection;
use crate::codec;
use crate::sys::{self, Interest};
use crate::wake::Spinner;

impl Connection {
    pub(super) fn borrowed(&self) -> BorrowedFd<'_> {
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

    pub(super) fn recv_frame_now(&mut self, max_len: usize, spin: bool) -> Result<Option<Frame>, RecvError> {
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

    pub(super) async fn send_frame(&mut self, payload: &[u8], fds: &[OwnedFd]) -> Result<(), SendError> {
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

    /// Sends `payload` (with `fds`) as one frame without waiting, with
    /// [`try_send_framed`](Connection::try_send_framed)'s outcomes: a
    /// [`TrySend::Started`] frame's tail is kept for
    /// [`blocking_flush`](Connection::blocking_flush).
    pub(crate) fn try_send_frame(&mut self, payload: &[u8], fds: &[OwnedFd]) -> Result<TrySend, SendError> {
        self.check_send(fds)?;
        let fds: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
        let (header, hlen) = encode_header(payload.len());
        let record = self.reader.record_size();
        self.try_write([&header[..hlen], payload], record, &fds)
    }

    /// Writes the tail of a frame a cancelled or [`TrySend::Started`] send
    /// left behind, waiting for room.
    pub(crate) fn blocking_flush(&mut self) -> Result<(), SendError> {
        let record = self.reader.record_size();
        blocking_write(self.socket.fd(), &mut Unsent(&mut self.unsent, record), &[])
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

    pub(super) fn try_write(
        &mut self,
        parts: [&[u8]; 2],
        record: usize,
        fds: &[BorrowedFd<'_>],
    ) -> Result<TrySend, SendError> {
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

    pub(super) fn check_framed(&self) -> Result<(), SendError> {
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

    pub(super) fn check_send(&self, fds: &[OwnedFd]) -> Result<(), SendError> {
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
pub(super) fn read_or_spin(
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

pub(super) fn timed_out() -> RecvError {
    RecvError::Io(io::Error::from(io::ErrorKind::TimedOut))
}

pub(super) fn finish(outcome: ReadOutcome, max: usize) -> Result<Frame, RecvError> {
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
pub(super) trait Write {
    /// One non-blocking `sendmsg`; `Ok(true)` once everything is written.
    fn step(&mut self, fd: BorrowedFd<'_>, fds: &[BorrowedFd<'_>]) -> io::Result<bool>;
}

/// The tail of a frame a cancelled send left behind, written in place (in
/// records of at most `.1` bytes): what is written is drained, so cancelling
/// this write loses nothing either.
pub(super) struct Unsent<'a>(pub(super) &'a mut Vec<u8>, pub(super) usize);

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
        if self.written < a.len() { [&a[self.written..], b] } else { [&[], &b[self.written - a.len()..]] }
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

pub(super) fn blocking_write(fd: BorrowedFd<'_>, w: &mut impl Write, fds: &[BorrowedFd<'_>]) -> Result<(), SendError> {
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

//! A test's children's output, through the test harness's capture.
//!
//! Under `#[ipc::test]` the test process's children would write straight to
//! its descriptors 1 and 2, past the harness, so a passing test printed
//! whatever its children did. Instead each thread that spawns gets a pair of
//! pipes (made on its first spawn, closed with the thread): its children's
//! stdout and stderr are their write ends, and two threads started from the
//! spawning thread — which therefore share its capture — read them and
//! print what comes with `print!` and `eprint!`, line by line. The harness
//! then shows a child's output with the test's own, for a failing test
//! only (or at once under `--nocapture`). Deeper descendants inherit the
//! pipes from their parent. What a child writes is printed as it arrives, so
//! output written in the last instant before its test ends may come too late
//! for that test's capture.

use std::cell::RefCell;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};

use crate::sys;

/// The write ends one spawning thread's children get (copies of them).
struct Pipes {
    out: OwnedFd,
    err: OwnedFd,
}

thread_local! {
    static PIPES: RefCell<Option<Pipes>> = const { RefCell::new(None) };
}

/// Where a child's stdout and stderr go: this thread's pipes' write ends
/// (made, with their readers, on the first call).
pub(super) fn writers() -> io::Result<(OwnedFd, OwnedFd)> {
    PIPES.with(|cell| {
        let mut cell = cell.borrow_mut();
        let pipes = match cell.take() {
            Some(pipes) => pipes,
            None => Pipes { out: forwarded(Stream::Out)?, err: forwarded(Stream::Err)? },
        };
        let copies =
            sys::dup_cloexec(pipes.out.as_fd()).and_then(|out| Ok((out, sys::dup_cloexec(pipes.err.as_fd())?)));
        *cell = Some(pipes);
        copies
    })
}

#[derive(Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// A pipe whose read end a new thread forwards to `stream`; its write end.
fn forwarded(stream: Stream) -> io::Result<OwnedFd> {
    let (read, write) = sys::pipe()?;
    std::thread::Builder::new().name("ipc-child-output".into()).spawn(move || forward(read, stream))?;
    Ok(write)
}

/// Copies what arrives on `read` to this thread's `print!` / `eprint!`
/// (the capture inherited from the spawning thread), whole lines at a time,
/// until every write end is closed.
fn forward(read: OwnedFd, stream: Stream) {
    let mut file = std::fs::File::from(read);
    let mut chunk = vec![0u8; 8192];
    let mut pending = Vec::new();
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        pending.extend_from_slice(&chunk[..n]);
        if let Some(end) = pending.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = pending.drain(..=end).collect();
            emit(stream, &lines);
        }
    }
    if !pending.is_empty() {
        emit(stream, &pending);
    }
}

fn emit(stream: Stream, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    // `print!` panics if the real stdout is gone (under --nocapture): the
    // output is lost then, and this thread must not die noisily for it.
    let _ = std::panic::catch_unwind(|| match stream {
        Stream::Out => print!("{text}"),
        Stream::Err => eprint!("{text}"),
    });
}

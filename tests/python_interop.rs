//! Byte messages interoperate with CPython's `multiprocessing.connection`:
//! a Python process on the other end of a socketpair talks to a Rust
//! `Connection` in both directions.

mod support;

use std::os::unix::net::UnixStream;
use std::process::Stdio;

use ipc::{Connection, RecvError};
use support::bounded;

/// Runs `python3 -c script` with the other end of a socketpair as its fd 0
/// (where the scripts open `Connection(0)`); returns the process and our end.
fn python_peer(script: &str) -> (tokio::process::Child, Connection) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let python = tokio::process::Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .kill_on_drop(true)
        .spawn()
        .expect("python3 must be installed for the interop tests");
    (python, Connection::from_fd(ours.into()).unwrap())
}

/// Echoes every message reversed until it gets b"END", then sends a few of
/// its own (including an empty one and a pickled object, which is just bytes
/// to us) and closes.
const ECHO: &str = r#"
from multiprocessing.connection import Connection
c = Connection(0)
while True:
    m = c.recv_bytes()
    if m == b"END":
        break
    c.send_bytes(m[::-1])
c.send_bytes(b"")
c.send_bytes(b"x" * 100000)
c.send_bytes("包子".encode())
c.send(["pickled", 1])
c.close()
"#;

#[tokio::test]
async fn bytes_round_trip_with_a_python_peer() {
    let (mut python, mut conn) = python_peer(ECHO);

    let messages: Vec<Vec<u8>> = vec![b"abc".to_vec(), vec![], (0..=255u8).collect(), vec![9u8; 1 << 20]];
    for m in &messages {
        bounded(conn.send_bytes(m)).await.unwrap();
        let back = bounded(conn.recv_bytes(usize::MAX)).await.unwrap();
        let mut expected = m.clone();
        expected.reverse();
        assert_eq!(back, expected);
    }
    bounded(conn.send_bytes(b"END")).await.unwrap();

    assert_eq!(bounded(conn.recv_bytes(16)).await.unwrap(), b"");
    assert_eq!(bounded(conn.recv_bytes(100_000)).await.unwrap(), vec![b'x'; 100_000]);
    let mut buf = [0u8; 4];
    match bounded(conn.recv_bytes_into(&mut buf)).await {
        Err(RecvError::BufferTooShort { message, .. }) => assert_eq!(message, "包子".as_bytes()),
        other => panic!("expected BufferTooShort, got {other:?}"),
    }
    let pickle = bounded(conn.recv_bytes(1024)).await.unwrap();
    assert_eq!(pickle.first(), Some(&0x80), "a pickle starts with the PROTO opcode");
    assert!(bounded(conn.recv_bytes(16)).await.unwrap_err().is_eof());
    let status = bounded(python.wait()).await.unwrap();
    assert!(status.success(), "python exited with {status}");
}

/// Python reads what Rust's framing produces and answers with its verdict.
const CHECK: &str = r#"
from multiprocessing.connection import Connection
c = Connection(0)
got = [c.recv_bytes() for _ in range(3)]
ok = got == [b"", b"hello", bytes(range(256)) * 300]
c.send_bytes(b"ok" if ok else repr(got[:2]).encode())
"#;

#[tokio::test]
async fn python_reads_rust_frames() {
    let (mut python, mut conn) = python_peer(CHECK);
    conn.send_bytes(b"").await.unwrap();
    conn.blocking_send_bytes(b"hello").unwrap();
    let big: Vec<u8> = (0..=255u8).cycle().take(256 * 300).collect();
    bounded(conn.send_bytes(&big)).await.unwrap();
    assert_eq!(bounded(conn.recv_bytes(64)).await.unwrap(), b"ok");
    assert!(bounded(python.wait()).await.unwrap().success());
}

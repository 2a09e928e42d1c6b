//! Compile-time checks that handles and the futures of their async methods
//! are `Send` (and handles `Sync`), so they work with `tokio::spawn` and
//! across threads. Nothing here runs; it only has to compile.
#![allow(dead_code, clippy::let_underscore_future)]

use std::time::Duration;

use ipc::{Connection, Process};

fn send<T: Send>(_: &T) {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn handles_are_send_and_sync() {
    send_sync::<Connection>();
    send_sync::<Process<String>>();
    send_sync::<ipc::Pipe>();
    send_sync::<ipc::Error>();
    send_sync::<ipc::JoinError>();
    send_sync::<ipc::RecvError>();
    send_sync::<ipc::SendError>();
}

fn futures_are_send(conn: &mut Connection, p: &mut Process<u8>) {
    send(&conn.send(&1u8));
    send(&conn.recv::<String>());
    send(&conn.recv_timeout::<String>(Duration::ZERO));
    send(&conn.send_bytes(b""));
    send(&conn.recv_bytes(1));
    send(&conn.poll(Duration::ZERO));
    send(&p.join());
    send(&p.join_timeout(Duration::ZERO));
}

#[test]
fn futures_compile_as_send() {
    // The function above is the check; reference it so it is type-checked.
    let _ = futures_are_send as fn(&mut Connection, &mut Process<u8>);
}

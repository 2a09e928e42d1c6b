//! Property tests of the frame layer: whatever messages are sent arrive
//! whole and in order over both kinds of socket, and whatever bytes a peer
//! writes, the receiver returns errors, never panics, and allocates no more
//! than it was sent.

use std::io::Write;
use std::os::unix::net::UnixStream;

use ipc::{Connection, Pipe, RecvError};
use proptest::prelude::*;

fn message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..64),
        2 => proptest::collection::vec(any::<u8>(), 60_000..70_000), // around one record
        1 => proptest::collection::vec(any::<u8>(), 130_000..200_000), // several records
    ]
}

fn pair(stream: bool) -> (Connection, Connection) {
    if stream {
        let (a, b) = UnixStream::pair().unwrap();
        (Connection::from_fd(a.into()).unwrap(), Connection::from_fd(b.into()).unwrap())
    } else {
        Pipe::duplex().unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn messages_arrive_whole_and_in_order(messages in proptest::collection::vec(message(), 0..12), stream: bool) {
        let (mut tx, mut rx) = pair(stream);
        let sent = messages.clone();
        let writer = std::thread::spawn(move || {
            for m in &sent {
                tx.blocking_send_bytes(m).unwrap();
            }
        });
        for m in &messages {
            prop_assert_eq!(&rx.blocking_recv_bytes(usize::MAX).unwrap(), m);
        }
        writer.join().unwrap();
        prop_assert!(rx.blocking_recv_bytes(1).unwrap_err().is_eof());
    }

    #[test]
    fn garbage_on_a_stream_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let (a, mut raw) = UnixStream::pair().unwrap();
        let mut conn = Connection::from_fd(a.into()).unwrap();
        raw.write_all(&bytes).unwrap();
        drop(raw);
        // Each call consumes at least one frame or ends; bound the loop anyway.
        for _ in 0..=bytes.len() {
            match conn.blocking_recv::<(String, Vec<u64>, Option<i32>)>() {
                Ok(_) | Err(RecvError::Decode(_)) => continue,
                Err(RecvError::Eof | RecvError::Truncated { .. } | RecvError::InvalidHeader(_)) => break,
                Err(RecvError::TooLarge { len, .. }) => {
                    prop_assert!(len > ipc::pipe::DEFAULT_MAX_MESSAGE as u64);
                    break;
                }
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }
    }

    #[test]
    fn garbage_payloads_decode_to_errors(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (mut tx, mut rx) = Pipe::duplex().unwrap();
        tx.blocking_send_bytes(&payload).unwrap();
        // Any outcome but a panic (or a hang) is fine.
        let _ = rx.blocking_recv::<Vec<(String, u8, Option<Vec<u16>>)>>();
        tx.blocking_send_bytes(&payload).unwrap();
        let _ = rx.blocking_recv::<std::collections::HashMap<String, Vec<i64>>>();
    }
}

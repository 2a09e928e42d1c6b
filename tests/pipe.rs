//! `Pipe` and `Connection`: messages, boundaries, every error, cancel safety,
//! garbage on the wire.

mod support;

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use ipc::{Connection, Pipe, RecvError, SendError};
use support::bounded;

/// Both kinds of connection: our own pipe (sequenced packets) and one over a
/// stream socket (as with a Python peer).
fn both_kinds() -> Vec<(&'static str, Connection, Connection)> {
    let (a, b) = Pipe::duplex().unwrap();
    let (x, y) = UnixStream::pair().unwrap();
    vec![("pipe", a, b), ("stream", Connection::from_fd(x.into()).unwrap(), Connection::from_fd(y.into()).unwrap())]
}

/// A connection whose peer is a raw socket we can write anything to.
fn raw_peer() -> (Connection, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    (Connection::from_fd(a.into()).unwrap(), b)
}

#[tokio::test]
async fn objects_and_bytes_keep_message_boundaries() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    a.send_bytes(b"").await.unwrap();
    a.send_bytes(b"one").await.unwrap();
    a.send(&(1u8, "two".to_string())).await.unwrap();
    a.send_bytes(&[7u8; 100_000]).await.unwrap();
    assert_eq!(b.recv_bytes(10).await.unwrap(), b"");
    assert_eq!(b.recv_bytes(10).await.unwrap(), b"one");
    assert_eq!(b.recv::<(u8, String)>().await.unwrap(), (1, "two".to_string()));
    assert_eq!(b.recv_bytes(usize::MAX).await.unwrap(), vec![7u8; 100_000]);
    // And the other direction of a duplex pipe.
    b.send(&42i64).await.unwrap();
    assert_eq!(a.recv::<i64>().await.unwrap(), 42);
}

// A long message's buffer is kept for the next long message once it was
// decoded or copied out: what comes next is exactly what was sent, however
// much longer or shorter, on both kinds of socket.
#[test]
fn long_messages_after_long_messages_are_exactly_what_was_sent() {
    const WAIT: Duration = Duration::from_secs(20);
    for (kind, mut tx, mut rx) in both_kinds() {
        let sender = std::thread::spawn(move || {
            tx.blocking_send(&vec![1u8; 300_000]).unwrap();
            tx.blocking_send(&vec![2u8; 150_000]).unwrap();
            tx.blocking_send_bytes(&[3u8; 70_000]).unwrap();
            tx.blocking_send(&vec![4u8; 100]).unwrap();
            tx.blocking_send_bytes(&[5u8; 200_000]).unwrap();
            tx.blocking_send_bytes(&[6u8; 90_000]).unwrap();
            tx.blocking_send(&(vec![7u8; 400_000], 9u32)).unwrap();
            tx
        });
        let got = |v: Option<Vec<u8>>| v.expect("a message within the wait");
        assert_eq!(got(rx.blocking_recv_timeout(WAIT).unwrap()), vec![1u8; 300_000], "{kind}");
        assert_eq!(got(rx.blocking_recv_timeout(WAIT).unwrap()), vec![2u8; 150_000], "{kind}");
        assert_eq!(rx.blocking_recv_bytes(usize::MAX).unwrap(), vec![3u8; 70_000], "{kind}");
        assert_eq!(got(rx.blocking_recv_timeout(WAIT).unwrap()), vec![4u8; 100], "{kind}");
        let mut buf = vec![0u8; 250_000];
        assert_eq!(rx.blocking_recv_bytes_into(&mut buf).unwrap(), 200_000, "{kind}");
        assert!(buf[..200_000].iter().all(|&b| b == 5) && buf[200_000..].iter().all(|&b| b == 0), "{kind}");
        assert_eq!(rx.blocking_recv_bytes(usize::MAX).unwrap(), vec![6u8; 90_000], "{kind}");
        let last: Option<(Vec<u8>, u32)> = rx.blocking_recv_timeout(WAIT).unwrap();
        assert_eq!(last.expect("the last message"), (vec![7u8; 400_000], 9), "{kind}");
        drop(sender.join().unwrap());
        assert!(rx.blocking_recv_bytes(16).unwrap_err().is_eof(), "{kind}");
    }
}

// The buffer kept from a long decoded message is not handed out with a much
// shorter one: a `recv_bytes` vector holds about its message, not the
// largest message the connection ever decoded.
#[test]
fn a_kept_buffer_is_not_handed_out_with_a_much_shorter_message() {
    for (kind, mut tx, mut rx) in both_kinds() {
        let sender = std::thread::spawn(move || {
            tx.blocking_send(&vec![1u8; 4 << 20]).unwrap();
            tx.blocking_send_bytes(&[2u8; 100_000]).unwrap();
            tx
        });
        let big: Option<Vec<u8>> = rx.blocking_recv_timeout(Duration::from_secs(20)).unwrap();
        assert_eq!(big.expect("the long message").len(), 4 << 20, "{kind}");
        let short = rx.blocking_recv_bytes(usize::MAX).unwrap();
        assert_eq!(short, vec![2u8; 100_000], "{kind}");
        assert!(short.capacity() <= 4 * short.len(), "{kind}: capacity {} for {} bytes", short.capacity(), short.len());
        drop(sender.join().unwrap());
    }
}

#[tokio::test]
async fn eof_comes_after_the_data_is_drained() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    for i in 0..3u32 {
        a.send(&i).await.unwrap();
    }
    a.close().unwrap();
    for i in 0..3u32 {
        assert_eq!(b.recv::<u32>().await.unwrap(), i);
    }
    assert!(b.recv::<u32>().await.unwrap_err().is_eof());
    // End of stream is sticky.
    assert!(b.recv_bytes(8).await.unwrap_err().is_eof());
    assert!(b.blocking_recv::<u32>().unwrap_err().is_eof());
}

// A peer that closes with messages of ours unread (a worker killed with
// jobs queued for it) makes the kernel reset the connection; what it sent
// before still arrives, in order, and then the end, as over a stream.
#[tokio::test]
async fn a_peer_that_closed_with_messages_unread_is_still_heard_to_the_end() {
    for (kind, mut a, mut b) in both_kinds() {
        b.send(&1u32).await.unwrap();
        b.send(&2u32).await.unwrap();
        a.send(&"never read").await.unwrap();
        drop(b);
        assert_eq!(bounded(a.recv::<u32>()).await.unwrap(), 1, "{kind}");
        assert_eq!(a.try_recv::<u32>().unwrap(), Some(2), "{kind}");
        let end = a.blocking_recv::<u32>().unwrap_err();
        assert!(end.is_eof(), "{kind}: {end:?}");
    }
}

#[tokio::test]
async fn sending_to_a_closed_peer_is_broken_pipe_not_sigpipe() {
    let (mut a, b) = Pipe::duplex().unwrap();
    drop(b);
    let err = a.send_bytes(b"x").await.unwrap_err();
    assert!(err.is_broken_pipe(), "{err:?}");
    assert!(a.blocking_send(&1u8).unwrap_err().is_broken_pipe());
}

#[tokio::test]
async fn buffer_too_short_carries_the_whole_message() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    a.send_bytes("包子".as_bytes()).await.unwrap();
    a.send_bytes("包子包子包子".as_bytes()).await.unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(b.recv_bytes_into(&mut buf).await.unwrap(), 6);
    assert_eq!(&buf[..6], "包子".as_bytes());
    match b.recv_bytes_into(&mut buf).await {
        Err(RecvError::BufferTooShort { message, capacity }) => {
            assert_eq!(message, "包子包子包子".as_bytes());
            assert_eq!(capacity, 10);
        }
        other => panic!("expected BufferTooShort, got {other:?}"),
    }
}

#[tokio::test]
async fn too_large_loses_nothing() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    a.send_bytes(&[1u8; 64]).await.unwrap();
    match b.recv_bytes(63).await {
        Err(RecvError::TooLarge { len: 64, max: 63 }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(b.recv_bytes(64).await.unwrap(), vec![1u8; 64]);
    b.set_max_message_size(8);
    a.send(&"a string longer than eight bytes").await.unwrap();
    assert!(matches!(b.recv::<String>().await, Err(RecvError::TooLarge { max: 8, .. })));
    b.set_max_message_size(1 << 20);
    assert_eq!(b.recv::<String>().await.unwrap(), "a string longer than eight bytes");
}

#[tokio::test]
async fn poll_reports_data_and_end_of_stream() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    assert!(!b.poll(Some(Duration::ZERO)).await.unwrap());
    assert!(!b.poll(Some(Duration::from_millis(20))).await.unwrap());
    a.send(&1u8).await.unwrap();
    assert!(b.poll(Some(Duration::from_secs(5))).await.unwrap());
    assert!(b.poll(Some(Duration::ZERO)).await.unwrap(), "poll consumes nothing");
    assert_eq!(b.recv::<u8>().await.unwrap(), 1);
    assert!(!b.poll(Some(Duration::ZERO)).await.unwrap());
    assert!(!b.blocking_poll(Some(Duration::ZERO)).unwrap());
    drop(a);
    assert!(b.poll(Some(Duration::from_secs(5))).await.unwrap());
    assert!(b.recv::<u8>().await.unwrap_err().is_eof());
}

#[tokio::test]
async fn simplex_ends_are_one_way() {
    let (mut rx, mut tx) = Pipe::simplex().unwrap();
    assert!(rx.readable() && !rx.writable());
    assert!(tx.writable() && !tx.readable());
    assert!(matches!(rx.send(&1u8).await, Err(SendError::NotWritable)));
    assert!(matches!(tx.recv::<u8>().await, Err(RecvError::NotReadable)));
    assert!(matches!(tx.poll(Some(Duration::ZERO)).await, Err(RecvError::NotReadable)));
    tx.send(&9u8).await.unwrap();
    assert_eq!(rx.recv::<u8>().await.unwrap(), 9);
}

#[tokio::test]
async fn a_negative_header_is_invalid() {
    let (mut conn, mut raw) = raw_peer();
    raw.write_all(&(-2i32).to_be_bytes()).unwrap();
    assert!(matches!(conn.recv_bytes(100).await, Err(RecvError::InvalidHeader(-2))));
    // The stream cannot be re-synchronised: it stays an error.
    raw.write_all(&[0, 0, 0, 1, 9]).unwrap();
    assert!(matches!(conn.recv_bytes(100).await, Err(RecvError::InvalidHeader(-2))));
}

#[tokio::test]
async fn a_lying_header_allocates_nothing_it_was_not_sent() {
    // Claims 2 GiB - 1 but sends 10 bytes and hangs up: we must see a
    // truncated message, not an attempt to allocate 2 GiB.
    let (mut conn, mut raw) = raw_peer();
    conn.set_max_message_size(usize::MAX);
    raw.write_all(&i32::MAX.to_be_bytes()).unwrap();
    raw.write_all(&[5u8; 10]).unwrap();
    drop(raw);
    match conn.recv_bytes(usize::MAX).await {
        Err(RecvError::Truncated { received: 14 }) => {}
        other => panic!("expected Truncated, got {other:?}"),
    }
}

#[tokio::test]
async fn huge_and_extended_headers_are_checked_before_allocation() {
    let (mut conn, mut raw) = raw_peer();
    // The 12-byte form: -1 then an 8-byte length of u64::MAX.
    raw.write_all(&(-1i32).to_be_bytes()).unwrap();
    raw.write_all(&u64::MAX.to_be_bytes()).unwrap();
    match conn.recv_bytes(usize::MAX).await {
        Err(RecvError::TooLarge { len, max }) => {
            assert_eq!(len, u64::MAX);
            assert_eq!(max, ipc::pipe::DEFAULT_MAX_MESSAGE);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn the_extended_header_form_is_understood() {
    // Python uses it only above 2 GiB, but any length may be sent that way.
    let (mut conn, mut raw) = raw_peer();
    raw.write_all(&(-1i32).to_be_bytes()).unwrap();
    raw.write_all(&3u64.to_be_bytes()).unwrap();
    raw.write_all(b"abc").unwrap();
    assert_eq!(conn.recv_bytes(3).await.unwrap(), b"abc");

    // On a packet socket too, where the first record holds the header and
    // the payload's start: a long one, whose buffer is handed over, and a
    // record that ends inside the extended header, which is invalid.
    let (mut conn, theirs) = raw_packet_peer();
    let mut record = (-1i32).to_be_bytes().to_vec();
    record.extend_from_slice(&40_000u64.to_be_bytes());
    record.extend_from_slice(&[9u8; 40_000]);
    theirs.send(&record).unwrap();
    assert_eq!(conn.recv_bytes(40_000).await.unwrap(), vec![9u8; 40_000]);
    let mut record = (-1i32).to_be_bytes().to_vec();
    record.extend_from_slice(&3u64.to_be_bytes());
    record.extend_from_slice(b"abc");
    theirs.send(&record).unwrap();
    assert_eq!(conn.recv_bytes(3).await.unwrap(), b"abc");
    theirs.send(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0]).unwrap();
    assert!(matches!(conn.recv_bytes(100).await, Err(RecvError::InvalidHeader(_))));
}

#[tokio::test]
async fn garbage_payloads_are_decode_errors() {
    let (mut conn, mut raw) = raw_peer();
    // A frame whose payload is not a String (a varint length of 2^40).
    let mut payload = vec![253u8];
    payload.extend_from_slice(&(1u64 << 40).to_le_bytes());
    raw.write_all(&(payload.len() as i32).to_be_bytes()).unwrap();
    raw.write_all(&payload).unwrap();
    assert!(matches!(conn.recv::<String>().await, Err(RecvError::Decode(_))));
    // Trailing bytes are garbage too, and the connection is still usable.
    raw.write_all(&[0, 0, 0, 2, 1, 1]).unwrap();
    assert!(matches!(conn.recv::<u8>().await, Err(RecvError::Decode(_))));
    raw.write_all(&[0, 0, 0, 1, 7]).unwrap();
    assert_eq!(conn.recv::<u8>().await.unwrap(), 7);
}

#[tokio::test]
async fn a_connection_travels_through_a_connection() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    let (inner_near, inner_far) = Pipe::duplex().unwrap();
    a.send(&("here you go", inner_far)).await.unwrap();
    let (note, mut far): (String, Connection) = b.recv().await.unwrap();
    assert_eq!(note, "here you go");
    let mut near = inner_near;
    far.send(&"through the passed end").await.unwrap();
    assert_eq!(near.recv::<String>().await.unwrap(), "through the passed end");
    // The sent end was moved into the message and dropped after sending, so
    // the received copy is the only one left: dropping it ends the stream.
    drop(far);
    assert!(near.recv::<String>().await.unwrap_err().is_eof());
}

#[tokio::test]
async fn many_handles_in_one_message_and_too_many() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    let ends: Vec<(Connection, Connection)> = (0..100).map(|_| Pipe::duplex().unwrap()).collect();
    let (mut nears, fars): (Vec<_>, Vec<_>) = ends.into_iter().unzip();
    a.send(&fars).await.unwrap();
    drop(fars);
    let mut got: Vec<Connection> = b.recv().await.unwrap();
    assert_eq!(got.len(), 100);
    for (i, (near, far)) in nears.iter_mut().zip(got.iter_mut()).enumerate() {
        far.send(&(i as u32)).await.unwrap();
        assert_eq!(near.recv::<u32>().await.unwrap(), i as u32);
    }
    let too_many: Vec<Connection> = (0..254).map(|_| Pipe::duplex().unwrap().0).collect();
    assert!(matches!(a.send(&too_many).await, Err(SendError::TooManyHandles(254))));
    // Nothing was sent: the stream is still in step.
    a.send(&5u8).await.unwrap();
    assert_eq!(b.recv::<u8>().await.unwrap(), 5);
}

#[tokio::test]
async fn a_handle_outside_a_transfer_is_an_error() {
    let (a, _b) = Pipe::duplex().unwrap();
    let err = bincode::serde::encode_to_vec(&a, bincode::config::standard()).unwrap_err();
    assert!(err.to_string().contains("can only be serialized by an ipc transfer"), "{err}");
}

#[tokio::test]
async fn recv_is_cancel_safe_under_timeout() {
    // Large messages trickle in; the receiver keeps timing out part-way and
    // retrying. Every message must come out whole and in order.
    for (kind, mut a, mut b) in both_kinds() {
        let messages: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 3 << 20]).collect();
        let expected = messages.clone();
        let writer = tokio::spawn(async move {
            for m in &messages {
                a.send_bytes(m).await.unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            a
        });
        let mut timeouts = 0;
        let mut got = Vec::new();
        bounded(async {
            while got.len() < expected.len() {
                match tokio::time::timeout(Duration::from_micros(200), b.recv_bytes(usize::MAX)).await {
                    Ok(m) => got.push(m.unwrap()),
                    Err(_) => timeouts += 1,
                }
            }
        })
        .await;
        assert!(got == expected, "{kind}: messages torn or reordered");
        assert!(timeouts > 0, "{kind}: the test should have cancelled some receives");
        drop(writer.await.unwrap());
        assert!(b.recv_bytes(1).await.unwrap_err().is_eof());
    }
}

#[tokio::test]
async fn a_cancelled_send_keeps_the_stream_framed() {
    for (kind, mut a, mut b) in both_kinds() {
        let big = vec![0xabu8; 8 << 20];
        // Nobody reads yet, so the send fills the socket buffer and times out
        // part-way.
        let r = tokio::time::timeout(Duration::from_millis(20), a.send_bytes(&big)).await;
        assert!(r.is_err(), "{kind}: an 8 MiB send cannot complete into a full socket");
        let reader = tokio::spawn(async move {
            let first = b.recv_bytes(usize::MAX).await.unwrap();
            let second = b.recv::<String>().await.unwrap();
            (first, second)
        });
        a.send(&"after".to_string()).await.unwrap();
        let (first, second) = bounded(reader).await.unwrap();
        assert!(first == big, "{kind}: the cancelled message must be completed, not torn");
        assert_eq!(second, "after");
    }
}

/// A connection over a sequenced-packet socket whose peer we control.
fn raw_packet_peer() -> (Connection, std::os::unix::net::UnixDatagram) {
    let mut fds = [0; 2];
    let flags = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    // SAFETY: `fds` is a valid array of two ints for socketpair to fill.
    assert_eq!(unsafe { libc::socketpair(libc::AF_UNIX, flags, 0, fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just created and nothing else owns them.
    let (ours, theirs) =
        unsafe { (std::os::fd::OwnedFd::from_raw_fd(fds[0]), std::os::unix::net::UnixDatagram::from_raw_fd(fds[1])) };
    (Connection::from_fd(ours).unwrap(), theirs)
}

#[tokio::test]
async fn garbage_records_on_a_packet_socket_are_invalid() {
    // A record shorter than a header.
    let (mut conn, theirs) = raw_packet_peer();
    theirs.send(&[0, 0]).unwrap();
    assert!(matches!(conn.recv_bytes(100).await, Err(RecvError::InvalidHeader(_))));

    // A record holding more than its header announces.
    let (mut conn, theirs) = raw_packet_peer();
    theirs.send(&[0, 0, 0, 1, 7, 7]).unwrap();
    assert!(matches!(conn.recv_bytes(100).await, Err(RecvError::InvalidHeader(1))));
    // A valid record after a lying one cannot resynchronise us.
    theirs.send(&[0, 0, 0, 1, 7]).unwrap();
    assert!(matches!(conn.recv_bytes(100).await, Err(RecvError::InvalidHeader(1))));
}

#[tokio::test]
async fn an_empty_record_is_not_the_end_of_the_stream() {
    let (mut conn, theirs) = raw_packet_peer();
    theirs.send(&[]).unwrap();
    theirs.send(&[0, 0, 0, 2, 4, 2]).unwrap();
    assert_eq!(bounded(conn.recv_bytes(100)).await.unwrap(), [4, 2], "the message after it");
    // Between the records of one message, and alone before a blocking read.
    theirs.send(&[0, 0, 0, 3, 1]).unwrap();
    theirs.send(&[]).unwrap();
    theirs.send(&[2, 3]).unwrap();
    assert_eq!(conn.blocking_recv_bytes(100).unwrap(), [1, 2, 3]);
    theirs.send(&[]).unwrap();
    assert!(matches!(conn.try_recv::<u8>(), Ok(None)), "nothing to read is not the end either");
    // After the peer has gone: what it sent is still read, then the end.
    theirs.send(&[0, 0, 0, 1, 9]).unwrap();
    theirs.send(&[]).unwrap();
    drop(theirs);
    assert_eq!(bounded(conn.recv_bytes(100)).await.unwrap(), [9]);
    assert!(matches!(bounded(conn.recv_bytes(100)).await, Err(RecvError::Eof)));
}

#[tokio::test]
async fn try_recv_and_recv_timeout_never_lose_a_message() {
    for (kind, mut a, mut b) in both_kinds() {
        assert!(b.try_recv::<u32>().unwrap().is_none(), "{kind}");
        assert!(b.recv_timeout::<u32>(Duration::from_millis(5)).await.unwrap().is_none(), "{kind}");
        // A 1 MiB object is many records and more than the socket holds: short
        // timeouts and try_recv see pieces of it and return None until all of
        // it is there, and nothing is lost or torn.
        let big: Vec<u16> = (0..(1u32 << 19)).map(|i| i as u16).collect();
        let expected = big.clone();
        let writer = tokio::spawn(async move {
            a.send(&big).await.unwrap();
            a.send(&7u32).await.unwrap();
            a
        });
        let mut nones = 0;
        let got = bounded(async {
            loop {
                let attempt = if nones % 2 == 0 {
                    b.recv_timeout::<Vec<u16>>(Duration::from_micros(100)).await.unwrap()
                } else {
                    b.try_recv::<Vec<u16>>().unwrap()
                };
                match attempt {
                    Some(v) => break v,
                    None => {
                        nones += 1;
                        tokio::task::yield_now().await;
                    }
                }
            }
        })
        .await;
        assert!(got == expected, "{kind}: the object came out torn");
        assert!(nones > 0, "{kind}: the test should have seen partial progress");
        assert_eq!(bounded(b.recv::<u32>()).await.unwrap(), 7, "{kind}");
        drop(writer.await.unwrap());
    }
}

#[test]
fn blocking_forms_work_across_threads() {
    let (mut a, mut b) = Pipe::duplex().unwrap();
    let t = std::thread::spawn(move || {
        let mut n = 0u64;
        while let Ok(x) = b.blocking_recv::<u64>() {
            n += x;
        }
        n
    });
    for i in 1..=100u64 {
        a.blocking_send(&i).unwrap();
    }
    drop(a);
    assert_eq!(t.join().unwrap(), 5050);
    let (_a, mut b) = Pipe::duplex().unwrap();
    assert_eq!(b.blocking_recv_timeout::<u8>(Duration::from_millis(5)).unwrap(), None);
}

#[test]
fn raw_fd_is_exposed() {
    let (a, b) = Pipe::duplex().unwrap();
    assert!(a.as_raw_fd() >= 0 && a.as_raw_fd() != b.as_raw_fd());
    // A Connection can also be built over any stream socket.
    let (x, _y) = UnixStream::pair().unwrap();
    let fd = x.as_raw_fd();
    std::mem::forget(x);
    // SAFETY: `fd` was leaked from `x` above, so we are its only owner.
    let c = Connection::from_fd(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }).unwrap();
    assert_eq!(c.as_raw_fd(), fd);
}

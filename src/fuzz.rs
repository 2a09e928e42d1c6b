//! Entry points for fuzzing the parsers a peer feeds: the frame reader, the
//! authkey handshake, the manager protocol and the `ShareableList` layout.
//!
//! Each takes arbitrary bytes and drives the real code with them, checking
//! what must hold whatever a peer sends: no panic, no allocation beyond
//! what was sent, no handshake passed without the key. The `cargo fuzz`
//! targets in `fuzz/` call them (crate feature `fuzzing`); the unit tests
//! below run them on random and near-valid inputs in every `cargo test`,
//! for a bounded number of cases (the toolchain here has no sanitizers).

use std::io::Write as _;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use crate::pipe::frame::{FrameReader, ReadOutcome};
use crate::sys::{self, SocketKind};

/// The bytes of one run: its first byte chooses the setting, the rest is
/// the peer's.
fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&first, rest)) => (first, rest),
        None => (0, &[]),
    }
}

/// The frame reader, on a stream (plain or reading ahead) or a
/// sequenced-packet socket, with a size limit chosen by the first byte,
/// reads whatever the rest says until it ends. The peer's bytes go out as
/// they fit the socket's buffer, cut into writes (or records) at the
/// lengths the bytes themselves give.
pub fn frame_reader(data: &[u8]) {
    let (setting, bytes) = split(data);
    let kind = if setting & 3 == 3 { SocketKind::SeqPacket } else { SocketKind::Stream };
    let max = [0usize, 1, 16, 300, 70_000, usize::MAX][usize::from(setting >> 2) % 6];
    let (ours, theirs) = match kind {
        SocketKind::SeqPacket => sys::socketpair(SocketKind::SeqPacket).expect("a socket pair"),
        SocketKind::Stream => {
            let (a, b) = UnixStream::pair().expect("a socket pair");
            (a.into(), b.into())
        }
    };
    sys::set_nonblocking(ours.as_fd(), true).expect("non-blocking");
    sys::set_nonblocking(theirs.as_fd(), true).expect("non-blocking");
    let mut peer = UnixStream::from(theirs);
    let mut sent = 0usize;
    let mut rest = bytes;
    while let Some((&cut, tail)) = rest.split_first() {
        let n = (usize::from(cut) * 7).min(tail.len());
        // A write the buffer has no room for ends the peer's part.
        match peer.write(&tail[..n]) {
            Ok(written) => sent += written,
            Err(_) => break,
        }
        rest = &tail[n..];
    }
    drop(peer);
    let mut reader = FrameReader::new(kind);
    if setting & 3 == 1 {
        reader.read_ahead();
    }
    let mut received = 0usize;
    // Each read consumes at least a header's worth or ends: bounded.
    for _ in 0..=sent + 1 {
        match reader.read(ours.as_fd(), max) {
            Ok(ReadOutcome::Frame(payload, _fds)) => {
                assert!(payload.len() <= max, "a frame over the limit");
                received += payload.len();
                assert!(received <= sent, "more payload than was sent");
            }
            Ok(ReadOutcome::TooLarge(len)) => {
                assert!(len > max as u64);
                break;
            }
            Ok(ReadOutcome::Truncated { received: got }) => {
                assert!(got <= sent as u64);
                break;
            }
            Ok(ReadOutcome::WouldBlock | ReadOutcome::Eof | ReadOutcome::InvalidHeader(_)) | Err(_) => break,
        }
    }
}

/// Both sides of the authkey handshake against a peer whose frames are the
/// bytes (each one byte of length, then that many bytes): neither side may
/// ever pass, since the peer cannot know the key or foresee the challenge.
pub fn handshake(data: &[u8]) {
    let (setting, bytes) = split(data);
    let key = crate::pipe::Authkey::new(b"fuzz").with_legacy_md5(setting & 1 == 1);
    let frames = || {
        let mut frames = Vec::new();
        let mut rest = bytes;
        while let Some((&len, tail)) = rest.split_first() {
            let n = usize::from(len).min(tail.len());
            frames.push(tail[..n].to_vec());
            rest = &tail[n..];
        }
        frames
    };
    let mut peer = crate::pipe::auth::Scripted::new(frames());
    let server = futures::executor::block_on(crate::pipe::auth::server(&mut peer, &key));
    assert!(server.is_err(), "a listener passed a peer that has no key");
    let mut peer = crate::pipe::auth::Scripted::new(frames());
    let client = futures::executor::block_on(crate::pipe::auth::client(&mut peer, &key));
    assert!(client.is_err(), "a client passed a listener that has no key");
}

/// The manager server decodes each request (a 16-bit length, then the
/// request) and applies it to a table of objects, as a connection would:
/// garbage is an error reply, and no request panics the server.
#[cfg(feature = "manager")]
pub fn manager_requests(data: &[u8]) {
    let (_, bytes) = split(data);
    crate::manager::fuzz_requests(bytes);
}

/// A `ShareableList` attached to a block holding the bytes: a layout that
/// lies is refused at open or an error per item, never a panic or an
/// out-of-bounds read; writes that fit change only their slot.
pub fn shareable_list(data: &[u8]) {
    let (setting, bytes) = split(data);
    let shm = crate::shared::SharedMemory::create(None, bytes.len().max(1)).expect("a block");
    shm.write_at(0, bytes).expect("written");
    if let Ok(list) = crate::shared::ShareableList::open(shm.name()) {
        for i in 0..list.len() {
            let i = i as isize;
            let _ = list.get(i);
            let value = match setting % 4 {
                0 => crate::shared::Item::Int(i64::from(setting)),
                1 => crate::shared::Item::Str("x".repeat(usize::from(setting))),
                2 => crate::shared::Item::None,
                _ => crate::shared::Item::Bytes(vec![setting; 3]),
            };
            if list.set(i, value.clone()).is_ok() {
                assert_eq!(list.get(i).ok(), Some(value), "a value that fit its slot reads back");
            }
        }
        let _ = list.get(-1);
        let _ = list.get(isize::MIN);
    }
    let _ = shm.unlink();
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max)
    }

    /// Valid frames (or records) with a mutation here and there: inputs
    /// that get past the first checks.
    fn near_frames() -> impl Strategy<Value = Vec<u8>> {
        (any::<u8>(), proptest::collection::vec(bytes(300), 0..6), any::<u16>(), any::<u8>()).prop_map(
            |(setting, messages, at, flip)| {
                let mut out = vec![setting];
                let mut stream = Vec::new();
                for m in &messages {
                    crate::pipe::push_frame(&mut stream, m);
                }
                if !stream.is_empty() {
                    let i = usize::from(at) % stream.len();
                    stream[i] ^= flip;
                }
                for chunk in stream.chunks(250) {
                    out.push((chunk.len() / 7) as u8);
                    out.extend_from_slice(chunk);
                }
                out
            },
        )
    }

    /// Well-formed requests with arguments that are garbage or values of
    /// the shapes the built-in methods take: inputs that reach the methods.
    #[cfg(feature = "manager")]
    fn requests() -> impl Strategy<Value = Vec<u8>> {
        use crate::manager::protocol::{Op, Request};
        // Every built-in type, and one the server does not know.
        let types: Vec<&'static str> = crate::manager::builtin_names().iter().copied().chain(["NoSuch"]).collect();
        // Every built-in method, and one no type has.
        let methods: Vec<&'static str> = crate::manager::builtin_methods().into_iter().chain(["nope"]).collect();
        let enc = |v: &dyn erased::Encode| v.bytes();
        let args = prop_oneof![
            bytes(40),
            any::<u64>().prop_map(move |v| enc(&v)),
            any::<i64>().prop_map(move |v| enc(&v)),
            (any::<bool>(), proptest::option::of(0u64..3))
                .prop_map(move |(b, ms)| { enc(&(b, ms.map(std::time::Duration::from_millis))) }),
            bytes(12).prop_map(move |v| enc(&v)),
            (any::<i64>(), bytes(12)).prop_map(move |v| enc(&v)),
            (any::<u64>(), bytes(12)).prop_map(move |v| enc(&v)),
            (bytes(8), bytes(8)).prop_map(move |v| enc(&v)),
            proptest::collection::vec(bytes(8), 0..4).prop_map(move |v| enc(&v)),
            ((any::<i64>(), bytes(8)), any::<bool>(), proptest::option::of(0u64..3))
                .prop_map(move |(item, b, ms)| enc(&(item, b, ms.map(std::time::Duration::from_millis)))),
        ];
        // Each built-in type with arguments its constructor takes.
        let names = types.clone();
        let made = (0..types.len(), bytes(6), 0u64..4).prop_map(move |(t, item, n)| {
            let args = match names[t] {
                "list" | "Array" => enc(&vec![item; n as usize]),
                "Value" => enc(&item),
                "Queue" | "LifoQueue" | "PriorityQueue" | "JoinableQueue" | "Semaphore" | "BoundedSemaphore" => enc(&n),
                "Barrier" => enc(&(n + 1)),
                _ => enc(&()),
            };
            (0u8, t as u64, 0u64, args)
        });
        let op = prop_oneof![
            2 => made,
            1 => (0..types.len(), args.clone()).prop_map(|(t, args)| (0u8, t as u64, 0u64, args)),
            6 => (1u64..6, 0..methods.len(), args).prop_map(|(o, m, args)| (1, o, m as u64, args)),
            1 => (0u64..6, any::<u8>()).prop_map(|(o, t)| (2, o, u64::from(t), Vec::new())),
            1 => (0u64..6, any::<u8>()).prop_map(|(o, t)| (3, o, u64::from(t), Vec::new())),
            1 => (0u64..6, 0u64..6).prop_map(|(o, r)| (4, o, r, Vec::new())),
            1 => (0u64..6).prop_map(|o| (5, o, 0, Vec::new())),
            1 => (0u64..6).prop_map(|o| (6, o, 0, Vec::new())).prop_filter("fewer releases", |(_, o, _, _)| *o == 0),
        ];
        proptest::collection::vec(op, 0..24).prop_map(move |ops| {
            let mut out = vec![0u8];
            for (kind, a, b, args) in ops {
                let op = match kind {
                    0 => Op::Create { type_name: types[a as usize].into(), args: args.into() },
                    1 => Op::Call { object: a, method: methods[b as usize].into(), args: args.into() },
                    2 => Op::Lend { object: a, token: b },
                    3 => Op::Adopt { object: a, token: b },
                    4 => Op::Pin { object: a, refs: vec![b, b + 1] },
                    5 => Op::Hold { object: a },
                    _ => Op::Release { object: a },
                };
                let (frame, _) = crate::codec::encode(&Request { id: 1, op }).unwrap();
                out.extend_from_slice(&(frame.len() as u16).to_le_bytes());
                out.extend_from_slice(&frame);
            }
            out
        })
    }

    /// Encodes a value of any serde type behind one closure type.
    #[cfg(feature = "manager")]
    mod erased {
        pub(super) trait Encode {
            fn bytes(&self) -> Vec<u8>;
        }
        impl<T: serde::Serialize> Encode for T {
            fn bytes(&self) -> Vec<u8> {
                crate::codec::encode(self).unwrap().0
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[cfg(feature = "manager")]
        #[test]
        fn the_manager_server_survives_well_formed_requests(data in requests()) {
            super::manager_requests(&data);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn frame_reader_survives_any_bytes(data in prop_oneof![bytes(4096), near_frames()]) {
            super::frame_reader(&data);
        }

        #[test]
        fn handshakes_never_pass_without_the_key(data in bytes(600)) {
            super::handshake(&data);
        }

        #[cfg(feature = "manager")]
        #[test]
        fn the_manager_server_survives_any_requests(data in bytes(2048)) {
            super::manager_requests(&data);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

        #[test]
        fn shareable_list_layouts_that_lie_are_errors(data in bytes(600)) {
            super::shareable_list(&data);
        }

        #[test]
        fn shareable_list_layouts_with_a_flip_are_errors(
            items in proptest::collection::vec(any::<i64>(), 0..6),
            at in any::<u16>(),
            flip in any::<u8>(),
            setting in any::<u8>(),
        ) {
            // A real list's bytes with one byte changed.
            let list = crate::shared::ShareableList::create(None, items).unwrap();
            let mut image = vec![0u8; list.shm().size()];
            list.shm().read_at(0, &mut image).unwrap();
            list.shm().unlink().unwrap();
            let i = usize::from(at) % image.len();
            image[i] ^= flip;
            image.insert(0, setting);
            super::shareable_list(&image);
        }
    }

    #[test]
    fn near_valid_handshakes_still_fail() {
        // Well-formed frames with wrong MACs, in both generations.
        let mut data = vec![1u8];
        for frame in [&b"#CHALLENGE#{sha256}0123456789012345678901234567890123456789"[..], b"#WELCOME#", b"{sha256}x"] {
            data.push(frame.len() as u8);
            data.extend_from_slice(frame);
        }
        super::handshake(&data);
        super::handshake(&[0, 20, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    }
}

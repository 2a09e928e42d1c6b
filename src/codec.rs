//! Encoding of messages: serde + bincode 2, with handles' descriptors carried
//! out of band (see [`crate::handle`]).
//!
//! Decoding never trusts a length inside the payload: bincode is given an
//! allocation budget proportional to the payload actually received (64× its
//! size, at least 64 KiB), so a lying length prefix fails with an error
//! instead of allocating what the peer claims.

use std::os::fd::OwnedFd;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::handle;

mod bulk;

use bulk::{Bulk, Unbulk};

/// A value could not be encoded (for example a handle serialized outside a
/// transfer, or a `Serialize` impl that failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not encode value: {0}")]
pub struct EncodeError(pub(crate) String);

/// Bytes could not be decoded as the expected type (garbage, truncation,
/// trailing bytes, a length that claims more than was sent, or handle
/// descriptors missing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not decode message: {0}")]
pub struct DecodeError(pub(crate) String);

/// How integers are laid out in an encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ints {
    /// Variable length (bincode's standard): small numbers are small. Every
    /// message on a connection.
    Varint,
    /// Fixed width, little-endian: about twice as fast to encode and decode.
    /// Payloads that never leave our own processes and are dominated by many
    /// small values (a pool job's chunk of tasks).
    Fixed,
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes `value`, collecting the descriptors of any handles inside it.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<(Vec<u8>, Vec<OwnedFd>), EncodeError> {
    let (bytes, fds) = handle::with_encoding(|| bincode::serde::encode_to_vec(Bulk(value), config()));
    let bytes = bytes.map_err(|e| EncodeError(e.to_string()))?;
    Ok((bytes, fds))
}

/// Encodes `value` onto the end of `out` (for callers that reuse a buffer),
/// returning the descriptors of any handles inside it.
pub(crate) fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<Vec<OwnedFd>, EncodeError> {
    let (written, fds) = handle::with_encoding(|| encode_in_context(value, out, Ints::Varint));
    written?;
    Ok(fds)
}

/// Encodes `value` onto the end of `out` inside an encoding context the
/// caller installed ([`handle::with_encoding`]), for several values whose
/// handles travel in one message.
pub(crate) fn encode_in_context<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    ints: Ints,
) -> Result<(), EncodeError> {
    let written = match ints {
        Ints::Varint => bincode::serde::encode_into_std_write(Bulk(value), out, config()),
        Ints::Fixed => bincode::serde::encode_into_std_write(Bulk(value), out, config().with_fixed_int_encoding()),
    };
    written.map(drop).map_err(|e| EncodeError(e.to_string()))
}

/// Where [`encode_with`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sunk {
    /// The whole encoding went into the sink.
    All,
    /// The sink refused a piece (no room); what it took is garbage.
    Stopped,
}

/// Encodes `value` (standard varint layout, as [`encode`]) piece by piece
/// into `sink`, which returns `false` to refuse a piece, for callers that
/// write the encoding straight to its destination without knowing its
/// length first (a queue's ring). Handles inside `value` are refused: the
/// encoding goes nowhere that could carry their descriptors.
pub(crate) fn encode_with<T: Serialize + ?Sized>(
    value: &T,
    sink: impl FnMut(&[u8]) -> bool,
) -> Result<Sunk, EncodeError> {
    /// Adapts the sink to bincode, remembering a refusal (so that it is
    /// not taken for an encoding error).
    struct Sink<F> {
        sink: F,
        refused: bool,
    }
    impl<F: FnMut(&[u8]) -> bool> bincode::enc::write::Writer for Sink<F> {
        #[inline]
        fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
            if (self.sink)(bytes) {
                Ok(())
            } else {
                self.refused = true;
                Err(bincode::error::EncodeError::UnexpectedEnd)
            }
        }
    }
    let mut sink = Sink { sink, refused: false };
    let (written, fds) = handle::with_encoding(|| bincode::serde::encode_into_writer(Bulk(value), &mut sink, config()));
    if !fds.is_empty() {
        return Err(EncodeError("handles cannot travel inside queue items".into()));
    }
    match written {
        Ok(()) => Ok(Sunk::All),
        Err(_) if sink.refused => Ok(Sunk::Stopped),
        Err(e) => Err(EncodeError(e.to_string())),
    }
}

/// Decodes a whole message; handles inside it take their descriptors from `fds`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], fds: Vec<OwnedFd>) -> Result<T, DecodeError> {
    handle::with_decoding(fds, || decode_in_context(bytes, Ints::Varint))
}

/// Decodes a whole message that holds no handles, borrowing strings and
/// byte strings from `bytes` where the type asks to (`#[serde(borrow)]`).
pub(crate) fn decode_borrowed<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    let decoded = with_limit!(budget(bytes.len()), |config| bincode::serde::borrow_decode_from_slice::<Unbulk<T>, _>(
        bytes, config
    ))?;
    whole(decoded, bytes.len()).map(|Unbulk(value)| value)
}

/// A value decoded from the first `used` of `len` bytes, if that was all.
fn whole<T>((value, used): (T, usize), len: usize) -> Result<T, DecodeError> {
    if used != len {
        return Err(DecodeError(format!("{} trailing bytes after the value", len - used)));
    }
    Ok(value)
}

/// Decodes `bytes` as one whole value inside a decoding context the caller
/// installed ([`handle::with_decoding`]).
pub(crate) fn decode_in_context<T: DeserializeOwned>(bytes: &[u8], ints: Ints) -> Result<T, DecodeError> {
    let decoded = with_limit!(budget(bytes.len()), |config| match ints {
        // The borrowing decoder, though `T` owns all it holds: it hands byte
        // strings over as slices, copied once, not into a zeroed buffer.
        Ints::Varint => bincode::serde::borrow_decode_from_slice::<Unbulk<T>, _>(bytes, config),
        Ints::Fixed =>
            bincode::serde::borrow_decode_from_slice::<Unbulk<T>, _>(bytes, config.with_fixed_int_encoding()),
    })?;
    whole(decoded, bytes.len()).map(|Unbulk(value)| value)
}

/// Decodes one whole value of `len` bytes (standard varint layout, no
/// handles) that `read` hands over: `read(from, dst)` fills `dst` with the
/// value's bytes from offset `from`, or returns `false`. For callers that
/// decode straight out of memory they may not borrow (a queue's ring):
/// small pieces are read ahead through a buffer of 4 KiB, larger ones
/// straight into their destination. `read` is never asked for bytes past
/// `len`.
pub(crate) fn decode_with<T: DeserializeOwned>(
    len: usize,
    read: impl FnMut(usize, &mut [u8]) -> bool,
) -> Result<T, DecodeError> {
    let mut source = Source { read, len, next: 0, buf: [0; SOURCE_BUF], start: 0, end: 0 };
    let value = handle::with_decoding(Vec::new(), || {
        with_limit!(budget(len), |config| bincode::serde::decode_from_reader::<Unbulk<T>, _, _>(&mut source, config))
    })?;
    let left = len - source.next + (source.end - source.start);
    if left != 0 {
        return Err(DecodeError(format!("{left} trailing bytes after the value")));
    }
    Ok(value.0)
}

const SOURCE_BUF: usize = 4096;

/// [`decode_with`]'s reader: `buf[start..end]` holds the bytes before
/// offset `next`, read ahead.
struct Source<F> {
    read: F,
    len: usize,
    next: usize,
    buf: [u8; SOURCE_BUF],
    start: usize,
    end: usize,
}

impl<F: FnMut(usize, &mut [u8]) -> bool> bincode::de::read::Reader for Source<F> {
    #[inline]
    fn read(&mut self, bytes: &mut [u8]) -> Result<(), bincode::error::DecodeError> {
        let additional = bytes.len();
        let end = move || bincode::error::DecodeError::UnexpectedEnd { additional };
        let ahead = self.end - self.start;
        if bytes.len() <= ahead {
            bytes.copy_from_slice(&self.buf[self.start..self.start + bytes.len()]);
            self.start += bytes.len();
            return Ok(());
        }
        if bytes.len() - ahead > self.len - self.next {
            return Err(end());
        }
        let (head, rest) = bytes.split_at_mut(ahead);
        head.copy_from_slice(&self.buf[self.start..self.end]);
        (self.start, self.end) = (0, 0);
        if rest.len() >= SOURCE_BUF {
            if !(self.read)(self.next, rest) {
                return Err(end());
            }
            self.next += rest.len();
            return Ok(());
        }
        let fill = SOURCE_BUF.min(self.len - self.next);
        if !(self.read)(self.next, &mut self.buf[..fill]) {
            return Err(end());
        }
        self.next += fill;
        rest.copy_from_slice(&self.buf[..rest.len()]);
        (self.start, self.end) = (rest.len(), fill);
        Ok(())
    }
}

/// What a decode of `len` bytes may allocate: 64× what arrived, at least
/// 64 KiB, so that a lying length fails instead of allocating.
fn budget(len: usize) -> usize {
    len.saturating_mul(64).max(64 << 10)
}

/// Runs `$decode` with the standard configuration limited to the smallest
/// of a few fixed allocation limits (bincode's limit is a type parameter)
/// that covers `$budget`, mapping its error.
macro_rules! with_limit {
    ($budget:expr, |$config:ident| $decode:expr) => {{
        let budget = $budget;
        let decoded = if budget <= 0x1_0000 {
            let $config = config().with_limit::<0x1_0000>();
            $decode
        } else if budget <= 0x10_0000 {
            let $config = config().with_limit::<0x10_0000>();
            $decode
        } else if budget <= 0x100_0000 {
            let $config = config().with_limit::<0x100_0000>();
            $decode
        } else if budget <= 0x1000_0000 {
            let $config = config().with_limit::<0x1000_0000>();
            $decode
        } else if budget <= 0x1_0000_0000 {
            let $config = config().with_limit::<0x1_0000_0000>();
            $decode
        } else {
            let $config = config().with_limit::<0x10_0000_0000>();
            $decode
        };
        decoded.map_err(|e| DecodeError(e.to_string()))
    }};
}
use with_limit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (bytes, fds) = encode(&("hi".to_string(), 7u64, vec![1u8, 2, 3])).unwrap();
        assert!(fds.is_empty());
        let v: (String, u64, Vec<u8>) = decode(&bytes, fds).unwrap();
        assert_eq!(v, ("hi".to_string(), 7, vec![1, 2, 3]));
    }

    #[test]
    fn lying_length_is_an_error_not_an_allocation() {
        // A String whose varint length says u64::MAX-ish, followed by 3 bytes.
        let mut bytes = vec![253u8];
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bytes.extend_from_slice(b"abc");
        let err = decode::<String>(&bytes, Vec::new()).unwrap_err();
        assert!(err.0.contains("LimitExceeded"), "{err}");
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let (mut bytes, _) = encode(&5u32).unwrap();
        bytes.push(0);
        assert!(decode::<u32>(&bytes, Vec::new()).unwrap_err().0.contains("trailing"));
        let read = |from: usize, dst: &mut [u8]| {
            dst.copy_from_slice(&bytes[from..from + dst.len()]);
            true
        };
        assert!(decode_with::<u32>(bytes.len(), read).unwrap_err().0.contains("trailing"));
    }

    /// `decode_with` over a slice, counting the calls to `read`.
    fn decode_pieces<T: DeserializeOwned>(bytes: &[u8]) -> (Result<T, DecodeError>, usize) {
        let mut calls = 0;
        let read = |from: usize, dst: &mut [u8]| {
            calls += 1;
            assert!(from + dst.len() <= bytes.len(), "asked past the value");
            dst.copy_from_slice(&bytes[from..from + dst.len()]);
            true
        };
        (decode_with(bytes.len(), read), calls)
    }

    #[test]
    fn pieces_are_read_ahead_and_large_ones_straight() {
        // Many small fields: read through the 4 KiB buffer, not one by one.
        let many: Vec<u32> = (0..10_000).collect();
        let (bytes, _) = encode(&many).unwrap();
        let (back, calls) = decode_pieces::<Vec<u32>>(&bytes);
        assert_eq!(back.unwrap(), many);
        assert!(calls <= bytes.len() / SOURCE_BUF + 2, "{calls} reads for {} bytes", bytes.len());
        // One large block: its length through the buffer, the rest straight.
        let block = serde_bytes::ByteBuf::from(vec![7u8; 1 << 20]);
        let (bytes, _) = encode(&block).unwrap();
        let (back, calls) = decode_pieces::<serde_bytes::ByteBuf>(&bytes);
        assert_eq!(back.unwrap(), block);
        assert!(calls <= 3, "{calls} reads");
    }

    #[test]
    fn a_lying_length_read_in_pieces_is_an_error_not_an_allocation() {
        let mut bytes = vec![253u8];
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bytes.extend_from_slice(b"abc");
        let (err, _) = decode_pieces::<serde_bytes::ByteBuf>(&bytes);
        assert!(err.unwrap_err().0.contains("LimitExceeded"));
        // A length within the limit but past the value: an error, and
        // `read` is never asked past the end (asserted in decode_pieces).
        let (bytes, _) = encode(&serde_bytes::ByteBuf::from(vec![1u8; 100])).unwrap();
        let short = &bytes[..50];
        assert!(decode_pieces::<serde_bytes::ByteBuf>(short).0.is_err());
        // A source that fails is an error too.
        assert!(decode_with::<u64>(8, |_, _| false).is_err());
    }

    #[test]
    fn a_refusing_sink_stops_the_encoding_and_handles_are_refused() {
        let mut taken = Vec::new();
        let sunk = encode_with(&("hello", 1u64 << 40), |piece: &[u8]| {
            if taken.len() + piece.len() > 4 {
                return false;
            }
            taken.extend_from_slice(piece);
            true
        });
        assert_eq!(sunk, Ok(Sunk::Stopped));
        let mut all = Vec::new();
        let sunk = encode_with(&("hello", 1u64 << 40), |piece: &[u8]| {
            all.extend_from_slice(piece);
            true
        });
        assert_eq!(sunk, Ok(Sunk::All));
        assert_eq!(all, encode(&("hello", 1u64 << 40)).unwrap().0);
        let event = crate::sync::Event::new().unwrap();
        let err = encode_with(&event, |_: &[u8]| true).unwrap_err();
        assert!(err.0.contains("handles"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn values_read_in_pieces_come_back_whole(
            value in proptest::collection::vec(
                (proptest::prelude::any::<u64>(), ".{0,40}", proptest::collection::vec(proptest::prelude::any::<u8>(), 0..5000)),
                0..20,
            )
        ) {
            let value: Vec<(u64, String, serde_bytes::ByteBuf)> =
                value.into_iter().map(|(n, s, b)| (n, s, serde_bytes::ByteBuf::from(b))).collect();
            let mut bytes = Vec::new();
            proptest::prop_assert_eq!(encode_with(&value, |p: &[u8]| { bytes.extend_from_slice(p); true }), Ok(Sunk::All));
            let (back, _) = decode_pieces::<Vec<(u64, String, serde_bytes::ByteBuf)>>(&bytes);
            proptest::prop_assert_eq!(back.unwrap(), value);
        }
    }
}

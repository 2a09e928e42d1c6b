//! Encoding of messages: serde + bincode 2, with handles' descriptors carried
//! out of band (see [`crate::handle`]).
//!
//! Decoding never trusts a length inside the payload: bincode is given an
//! allocation budget proportional to the payload actually received (64× its
//! size, at least 64 KiB), so a lying length prefix fails with an error
//! instead of allocating what the peer claims.

use std::os::fd::OwnedFd;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::handle;

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
    let (bytes, fds) = handle::with_encoding(|| bincode::serde::encode_to_vec(value, config()));
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
        Ints::Varint => bincode::serde::encode_into_std_write(value, out, config()),
        Ints::Fixed => bincode::serde::encode_into_std_write(value, out, config().with_fixed_int_encoding()),
    };
    written.map(drop).map_err(|e| EncodeError(e.to_string()))
}

/// Decodes a whole message; handles inside it take their descriptors from `fds`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], fds: Vec<OwnedFd>) -> Result<T, DecodeError> {
    handle::with_decoding(fds, || decode_in_context(bytes, Ints::Varint))
}

/// Decodes `bytes` as one whole value inside a decoding context the caller
/// installed ([`handle::with_decoding`]).
pub(crate) fn decode_in_context<T: DeserializeOwned>(bytes: &[u8], ints: Ints) -> Result<T, DecodeError> {
    let budget = bytes.len().saturating_mul(64).max(64 << 10);
    let (value, used) = if budget <= 0x1_0000 {
        decode_limited::<T, 0x1_0000>(bytes, ints)
    } else if budget <= 0x10_0000 {
        decode_limited::<T, 0x10_0000>(bytes, ints)
    } else if budget <= 0x100_0000 {
        decode_limited::<T, 0x100_0000>(bytes, ints)
    } else if budget <= 0x1000_0000 {
        decode_limited::<T, 0x1000_0000>(bytes, ints)
    } else if budget <= 0x1_0000_0000 {
        decode_limited::<T, 0x1_0000_0000>(bytes, ints)
    } else {
        decode_limited::<T, 0x10_0000_0000>(bytes, ints)
    }?;
    if used != bytes.len() {
        return Err(DecodeError(format!("{} trailing bytes after the value", bytes.len() - used)));
    }
    Ok(value)
}

fn decode_limited<T: DeserializeOwned, const LIMIT: usize>(
    bytes: &[u8],
    ints: Ints,
) -> Result<(T, usize), DecodeError> {
    let decoded = match ints {
        Ints::Varint => bincode::serde::decode_from_slice(bytes, config().with_limit::<LIMIT>()),
        Ints::Fixed => {
            bincode::serde::decode_from_slice(bytes, config().with_fixed_int_encoding().with_limit::<LIMIT>())
        }
    };
    decoded.map_err(|e| DecodeError(e.to_string()))
}

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
    }
}

//! A chunk of tasks as one message: the arguments go to a worker as one
//! buffer of records and the outcomes come back as another.
//!
//! A record is `varint(payload length) payload`. Each side encodes (and
//! decodes) a whole chunk inside one handle context, so the descriptors of
//! the handles in a chunk travel with its message as one table, and a
//! task's context costs nothing of its own; records still decode one by
//! one, so a result that does not decode fails only its own task (the
//! descriptors it would have claimed are closed). Argument payloads are the
//! encoded arguments; outcome payloads a tag byte and the target's value,
//! its panic, or why it could not run. Lengths are checked against what
//! arrived before anything is sliced. Integers are fixed-width
//! ([`Ints::Fixed`]): twice as fast as varints, and chunks never leave the
//! pool's own processes.
//!
//! No context is installed while a target runs: the worker decodes a
//! chunk's arguments, then runs the tasks, then encodes their outcomes.
//!
//! One message per chunk is what makes default-chunked `map` cheap: a task
//! costs an encode and a decode on each side, not a message of its own.

use std::os::fd::OwnedFd;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::TaskError;
use super::worker::Blob;
use crate::codec::{self, DecodeError, EncodeError, Ints};
use crate::handle;
use crate::process::{Callee, Entry, Returns, TrampolineResult, catch_panic};

/// Room kept for a record's length before its payload is encoded: one
/// byte, for a payload under 128 bytes (a longer one moves up).
const HEADER_GUESS: usize = 1;

/// Writes `n` as an unsigned LEB128 varint at the front of `out` (room
/// for any u64); returns how many bytes it took.
fn varint_into(out: &mut [u8; 10], mut n: u64) -> usize {
    let mut i = 0;
    while n >= 0x80 {
        out[i] = (n as u8) | 0x80;
        n >>= 7;
        i += 1;
    }
    out[i] = n as u8;
    i + 1
}

/// Appends `n` to `out` as an unsigned LEB128 varint.
#[cfg(test)]
fn put_varint(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 10];
    let len = varint_into(&mut buf, n);
    out.extend_from_slice(&buf[..len]);
}

/// Reads an unsigned LEB128 varint from the front of `bytes`, advancing it.
fn take_varint(bytes: &mut &[u8]) -> Result<u64, DecodeError> {
    if let Some((&b, rest)) = bytes.split_first().filter(|&(&b, _)| b < 0x80) {
        *bytes = rest; // one byte: the usual case
        return Ok(u64::from(b));
    }
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) =
            bytes.split_first().ok_or_else(|| DecodeError("a chunk record ends inside its header".into()))?;
        *bytes = rest;
        let bits = u64::from(b & 0x7f);
        if shift == 63 && bits > 1 {
            break;
        }
        n |= bits << shift;
        if b & 0x80 == 0 {
            return Ok(n);
        }
    }
    Err(DecodeError("a chunk record's header overflows 64 bits".into()))
}

/// Builds the bytes of a chunk inside an encoding context the caller
/// installed (whose descriptors become the chunk's).
#[derive(Debug, Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// Appends `value` as a record (after `tag`, if given); on an error
    /// nothing is appended.
    fn push<T: Serialize + ?Sized>(&mut self, tag: Option<u8>, value: &T) -> Result<(), EncodeError> {
        let at = self.bytes.len();
        self.bytes.resize(at + HEADER_GUESS, 0);
        self.bytes.extend(tag);
        match codec::encode_in_context(value, &mut self.bytes, Ints::Fixed) {
            Ok(()) => {
                self.seal(at);
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(at);
                Err(e)
            }
        }
    }

    /// Writes the length of the record whose payload starts
    /// `HEADER_GUESS` bytes after `at`.
    fn seal(&mut self, at: usize) {
        let len = self.bytes.len() - at - HEADER_GUESS;
        if len < 0x80 {
            self.bytes[at] = len as u8;
            return;
        }
        let mut header = [0u8; 10];
        let n = varint_into(&mut header, len as u64);
        let extra = n - HEADER_GUESS;
        self.bytes.resize(self.bytes.len() + extra, 0);
        self.bytes.copy_within(at + HEADER_GUESS..at + HEADER_GUESS + len, at + n);
        self.bytes[at..at + n].copy_from_slice(&header[..n]);
    }
}

/// Encoded arguments for a job.
#[derive(Debug)]
pub(super) struct Chunk {
    pub(super) blob: Blob,
    /// How many tasks.
    pub(super) count: usize,
}

/// Encodes `values` as a chunk of records.
pub(super) fn encode<T: Serialize>(values: &[T]) -> Result<Chunk, EncodeError> {
    let mut out = Writer { bytes: Vec::with_capacity(values.len() * 9) };
    let (written, fds) = handle::with_encoding(|| values.iter().try_for_each(|v| out.push(None, v)));
    written?;
    Ok(Chunk { blob: Blob { bytes: out.bytes, fds }, count: values.len() })
}

/// Encodes `items` as chunks of `size` records (the last may be shorter),
/// lazily: each chunk's items are taken from `items` (outside any handle
/// context) when the chunk is wanted.
pub(super) fn encode_stream<T: Serialize>(
    mut items: impl Iterator<Item = T>,
    size: usize,
) -> impl Iterator<Item = Result<Chunk, EncodeError>> {
    let mut batch = Vec::new();
    std::iter::from_fn(move || {
        batch.clear();
        batch.extend(items.by_ref().take(size));
        (!batch.is_empty()).then(|| encode(&batch))
    })
}

/// The records of a received chunk; stops at the first malformed one.
struct Records<'a> {
    bytes: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<&'a [u8], DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.bytes.is_empty() {
            return None;
        }
        let mut rest = self.bytes;
        let record = take_varint(&mut rest).and_then(|len| {
            let len = usize::try_from(len)
                .ok()
                .filter(|&l| l <= rest.len())
                .ok_or_else(|| DecodeError(format!("a chunk record claims {len} bytes but {} are left", rest.len())))?;
            let (payload, after) = rest.split_at(len);
            rest = after;
            Ok(payload)
        });
        // Nothing after a malformed record can be trusted.
        self.bytes = if record.is_ok() { rest } else { &[] };
        Some(record)
    }
}

/// The first byte of an outcome record: what follows it.
const RETURNED: u8 = 0; // the target's value
const PANICKED: u8 = 1; // (message, location)
const FAILED: u8 = 2; // why the task could not run

/// The worker's side: decodes each argument record, runs the target on
/// it, and encodes its outcome as a record of the reply chunk. A panic, or
/// an argument or result that does not decode or encode, fails that task
/// only. The target runs outside the chunk's handle contexts.
///
/// Its type is a spawn's trampoline's, so a job names it and the target in
/// an [`Entry`] as a spawn does. It fails as a whole only if it cannot
/// write an outcome at all.
pub(super) fn run_chunk<A, T, R, M>(target: Callee<A, T>, args: Vec<u8>, fds: Vec<OwnedFd>) -> TrampolineResult
where
    T: Returns<R, M>,
    A: DeserializeOwned,
    R: Serialize,
{
    let target = target.get();
    let mut out = Writer { bytes: Vec::with_capacity(args.len() + 64) };
    let run_one = |out: &mut Writer, record: Result<&[u8], DecodeError>| -> Result<(), EncodeError> {
        let failed = match record {
            Err(e) => format!("the worker could not read its argument: {e}"),
            Ok(payload) => match catch_panic(|| codec::decode_in_context::<A>(payload, Ints::Fixed)) {
                Ok(Ok(arg)) => match handle::outside_transfer(|| catch_panic(move || target(arg).finish())) {
                    Ok(value) => match catch_panic(|| out.push(Some(RETURNED), &value)) {
                        Ok(Ok(())) => return Ok(()),
                        Ok(Err(e)) => format!("the worker could not encode the result: {e}"),
                        Err((message, _)) => format!("encoding the result panicked: {message}"),
                    },
                    Err(panicked) => return out.push(Some(PANICKED), &panicked),
                },
                Ok(Err(e)) => format!("the worker could not decode its argument: {e}"),
                Err((message, _)) => format!("decoding the argument panicked: {message}"),
            },
        };
        out.push(Some(FAILED), &failed)
    };
    let (written, fds) = handle::with_decoding(fds, || {
        handle::with_encoding(|| Records { bytes: &args }.try_for_each(|record| run_one(&mut out, record)))
    });
    written.map_err(|e| format!("the worker could not encode an outcome: {e}"))?;
    Ok((out.bytes, fds))
}

/// What a job runs: [`run_chunk`] for `target`'s types, on `target`.
pub(super) fn entry_of<A, T, R, M>(target: fn(A) -> T) -> Entry
where
    T: Returns<R, M>,
    A: DeserializeOwned,
    R: Serialize,
{
    Entry::new(run_chunk::<A, T, R, M>, target)
}

/// One outcome record's task result.
fn decode_outcome<R: DeserializeOwned>(payload: &[u8]) -> Result<R, TaskError> {
    match payload.split_first() {
        Some((&RETURNED, body)) => Ok(codec::decode_in_context(body, Ints::Fixed)?),
        Some((&PANICKED, body)) => {
            let (message, location) = codec::decode_in_context(body, Ints::Fixed)?;
            Err(TaskError::Panicked { message, location })
        }
        Some((&FAILED, body)) => Err(TaskError::Failed(codec::decode_in_context(body, Ints::Fixed)?)),
        Some((tag, _)) => Err(TaskError::Decode(DecodeError(format!("unknown outcome tag {tag}")))),
        None => Err(TaskError::Decode(DecodeError("an empty outcome record".into()))),
    }
}

/// The pool's side: the `count` outcomes of a reply chunk appended to
/// `out`, in order, until the first failure, which is returned. A record
/// that does not decode fails its own task; if the chunk ends early or is
/// malformed, the first task without a record fails with the reason.
pub(super) fn outcomes_into<R: DeserializeOwned>(reply: Blob, count: usize, out: &mut Vec<R>) -> Result<(), TaskError> {
    out.reserve(count);
    let Blob { bytes, fds } = reply;
    let mut records = Records { bytes: &bytes };
    handle::with_decoding(fds, || {
        for i in 0..count {
            let value = match records.next() {
                // The usual case first, without a detour through Result<R, TaskError>.
                Some(Ok([RETURNED, body @ ..])) => codec::decode_in_context(body, Ints::Fixed)?,
                Some(Ok(payload)) => decode_outcome(payload)?,
                Some(Err(e)) => return Err(TaskError::Decode(e)),
                None => {
                    let why = format!("the worker's reply holds {i} of {count} outcomes");
                    return Err(TaskError::Decode(DecodeError(why)));
                }
            };
            out.push(value);
        }
        Ok(())
    })
}

/// Every one of the `count` outcomes of a reply chunk, each on its own: a
/// task that failed, or whose record does not decode, is an `Err` in its
/// place; if the chunk ends early or is malformed, each task without a
/// record fails with the reason.
pub(super) fn each_outcome<R: DeserializeOwned>(reply: Blob, count: usize) -> Vec<Result<R, TaskError>> {
    let Blob { bytes, fds } = reply;
    let mut records = Records { bytes: &bytes };
    handle::with_decoding(fds, || {
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            out.push(match records.next() {
                Some(Ok(payload)) => decode_outcome(payload),
                Some(Err(e)) => Err(TaskError::Decode(e)),
                None => {
                    Err(TaskError::Decode(DecodeError(format!("the worker's reply holds {i} of {count} outcomes"))))
                }
            });
        }
        out
    })
}

/// The outcome of a reply chunk of one task.
pub(super) fn outcome<R: DeserializeOwned>(reply: Blob) -> Result<R, TaskError> {
    let mut one = Vec::with_capacity(1);
    outcomes_into(reply, 1, &mut one)?;
    one.pop().ok_or_else(|| TaskError::Decode(DecodeError("an empty reply".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `values` as records without any framing of our own.
    fn raw_records<T: Serialize>(values: &[T]) -> Vec<u8> {
        encode(values).unwrap().blob.bytes
    }

    /// Every outcome of a reply chunk of records, each decoded on its own
    /// (as a chunk of one), as a map's would be until its first failure.
    fn all<R: DeserializeOwned>(reply: Blob, count: usize) -> Vec<Result<R, TaskError>> {
        let records: Vec<Result<&[u8], DecodeError>> = Records { bytes: &reply.bytes }.collect();
        let mut got: Vec<Result<R, TaskError>> = records
            .into_iter()
            .map(|r| match r {
                Ok(payload) => {
                    let mut one = Vec::new();
                    put_varint(&mut one, payload.len() as u64);
                    one.extend_from_slice(payload);
                    outcome(Blob { bytes: one, fds: Vec::new() })
                }
                Err(e) => Err(TaskError::Decode(e)),
            })
            .collect();
        let mut whole = Vec::new();
        if let Err(e) = outcomes_into::<R>(reply, count, &mut whole) {
            got.resize_with(count, || Err(e.clone()));
        }
        got.truncate(count);
        got
    }

    /// The outcome record of a task that returned `value`.
    fn returned<T: Serialize>(value: &T) -> Vec<u8> {
        let mut w = Writer::default();
        w.push(Some(RETURNED), value).unwrap();
        w.bytes
    }

    #[test]
    fn varints_round_trip_and_refuse_garbage() {
        for n in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            let mut bytes = &out[..];
            assert_eq!(take_varint(&mut bytes).unwrap(), n);
            assert!(bytes.is_empty());
        }
        assert!(take_varint(&mut &[0x80u8, 0x80][..]).is_err(), "truncated");
        assert!(take_varint(&mut &[0xffu8; 11][..]).is_err(), "over 64 bits");
        assert!(take_varint(&mut &[0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..]).is_err());
    }

    #[test]
    fn records_round_trip_short_and_long() {
        let items = vec![String::new(), "x".repeat(126), "y".repeat(127), "z".repeat(70_000), "w".into()];
        let bytes = raw_records(&items);
        let back: Vec<String> =
            Records { bytes: &bytes }.map(|r| codec::decode_in_context(r.unwrap(), Ints::Fixed).unwrap()).collect();
        assert_eq!(back, items);
    }

    #[test]
    fn a_chunk_runs_each_task_on_its_own() {
        fn halve(x: i32) -> i32 {
            assert!(x % 2 == 0, "odd: {x}");
            x / 2
        }
        let entry = entry_of(halve);
        let blob = encode(&[4, 3, 10]).unwrap().blob;
        let (bytes, fds) = entry.run(blob.bytes, blob.fds).unwrap();
        let got: Vec<Result<i32, TaskError>> = all(Blob { bytes, fds }, 3);
        assert_eq!(got[0], Ok(2));
        assert!(matches!(&got[1], Err(TaskError::Panicked { message, .. }) if message == "odd: 3"), "{got:?}");
        assert_eq!(got[2], Ok(5));
        // An argument that is not an i32 fails its task only.
        let mut bytes = raw_records(&[8i32]);
        bytes.extend(raw_records(&["not a number"]));
        let (bytes, fds) = entry.run(bytes, Vec::new()).unwrap();
        let got: Vec<Result<i32, TaskError>> = all(Blob { bytes, fds }, 2);
        assert_eq!(got[0], Ok(4));
        assert!(matches!(&got[1], Err(TaskError::Failed(why)) if why.contains("decode its argument")), "{got:?}");
    }

    #[test]
    fn lying_and_short_replies_fail_the_missing_tasks() {
        // A record claiming more bytes than arrived.
        let mut bytes = Vec::new();
        put_varint(&mut bytes, 1000);
        bytes.extend_from_slice(b"abc");
        let got: Vec<Result<u8, TaskError>> = all(Blob { bytes, fds: Vec::new() }, 2);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|r| matches!(r, Err(TaskError::Decode(e)) if e.0.contains("claims 1000 bytes"))));
        // Fewer records than tasks.
        let got: Vec<Result<u8, TaskError>> = all(Blob { bytes: returned(&7u8), fds: Vec::new() }, 3);
        assert_eq!(got[0], Ok(7));
        assert!(matches!(&got[2], Err(TaskError::Decode(e)) if e.0.contains("1 of 3")));
        // The first failure ends a map's decoding.
        let mut out = vec![0u8];
        let mut bytes = returned(&1u8);
        bytes.extend(raw_records(&[99u32]));
        let err = outcomes_into::<u8>(Blob { bytes, fds: Vec::new() }, 2, &mut out).unwrap_err();
        assert!(matches!(err, TaskError::Decode(_)));
        assert_eq!(out, [0, 1]);
        assert!(matches!(outcome::<u8>(Blob::default()), Err(TaskError::Decode(_))));
        // A record that is not an outcome fails only its task.
        let mut bytes = returned(&1u8);
        bytes.extend(raw_records(&[99u32]));
        bytes.extend(returned(&3u8));
        let got: Vec<Result<u8, TaskError>> = all(Blob { bytes, fds: Vec::new() }, 3);
        assert_eq!((got[0].clone(), got[2].clone()), (Ok(1), Ok(3)));
        assert!(matches!(got[1], Err(TaskError::Decode(_))));
    }
}

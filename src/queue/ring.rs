//! The queue's byte ring in a shared region: variable-length records
//! written in place by one producer at a time (under the put lock) and read
//! by one consumer at a time (under the get lock), published by storing a
//! position word.
//!
//! # Implementation notes
//!
//! `HEAD` and `TAIL` are 64-bit words, each a position in bytes (low 40
//! bits, wrapping) and a count of records (high 24 bits, wrapping): the
//! producer writes a record into free space and only then stores `TAIL`, the
//! consumer copies a record out and only then stores `HEAD`. So a producer
//! killed mid-write has published nothing (the next producer overwrites
//! its bytes), and a consumer killed mid-read has taken nothing (the next
//! consumer reads the same record). The number of items is the difference
//! of the counts, exact at every moment.
//!
//! A record is an 8-byte header — length and tag, little-endian — and the
//! payload, padded to 8 bytes; a record never wraps: when it does not fit
//! before the end, a wrap marker fills the rest and the record starts at 0.
//! Everything read from the ring is checked (a lying header is
//! [`Front::Corrupt`], never a panic or an allocation beyond the ring).

use crate::loom::{self, AtomicU32, AtomicU64, Ordering};
use crate::shm::Region;
use crate::sync::raw::Sleeper;

// The header: three cache lines of 16 words, so producers and consumers do
// not write the same line on every item. Consumers' line: HEAD, and the
// consumers sleeping (written by consumers, read by producers after a put).
pub(super) const HEAD: usize = 0;
pub(super) const GET_SLEEPERS: usize = 2;
/// `JoinableQueue`: items marked done (wrapping, compared with TAIL's count).
pub(super) const DONE: usize = 3;
// Producers' line: TAIL, and the producers sleeping.
pub(super) const TAIL: usize = 16;
pub(super) const PUT_SLEEPERS: usize = 18;
/// The last out-of-line item's number (64-bit; see `Queue`'s notes).
pub(super) const OOL_SEQ: usize = 20;
// Read-mostly line.
pub(super) const MAXSIZE: usize = 32;
pub(super) const CLOSED: usize = 33;
pub(super) const CAPACITY: usize = 34;
/// `JoinableQueue`: joiners sleeping until every item is done.
pub(super) const JOIN_SLEEPERS: usize = 35;
/// Header words; the ring's bytes start after them.
pub(super) const HEADER_WORDS: usize = 48;
const RING_OFFSET: usize = HEADER_WORDS * 4;

const POS_BITS: u32 = 40;
const POS_MASK: u64 = (1 << POS_BITS) - 1;
const COUNT_MASK: u64 = (1 << 24) - 1;
/// The most items a bounded queue may hold (counts wrap at 2^24).
pub(super) const MAX_ITEMS: u32 = 1 << 23;
/// The largest ring (positions wrap at 2^40).
pub(super) const MAX_CAPACITY: usize = 1 << 30;

const HEADER: usize = 8;
const WRAP: u32 = 2;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    /// The encoded item itself.
    Inline = 1,
    /// The number and length of an item travelling out of line (in a memfd
    /// sent through the queue's socket).
    OutOfLine = 3,
}

fn pos(w: u64) -> u64 {
    w & POS_MASK
}

fn count(w: u64) -> u64 {
    w >> POS_BITS
}

fn pack(count: u64, pos: u64) -> u64 {
    ((count & COUNT_MASK) << POS_BITS) | (pos & POS_MASK)
}

fn padded(len: usize) -> usize {
    len.div_ceil(8) * 8
}

/// The bytes a record of `len` payload bytes takes.
pub(super) fn record_size(len: usize) -> usize {
    HEADER + padded(len)
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Push {
    /// Published; whether a sleeping consumer must be woken.
    Done { wake: bool },
    /// No room (by item count or bytes) right now.
    Full,
    /// The record can never fit this ring.
    TooLarge,
}

/// What the front of the ring holds.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Front {
    /// A record whose payload of `len` bytes is now at the front of the
    /// caller's buffer; [`Ring::advance`] to `next` consumes it.
    Record {
        tag: Tag,
        len: usize,
        next: u64,
    },
    Empty,
    /// The shared words or a header are impossible: a broken peer.
    Corrupt,
}

/// A view of a queue region.
pub(super) struct Ring<'a> {
    pub(super) region: &'a Region,
    pub(super) capacity: usize,
}

impl Ring<'_> {
    fn head(&self) -> &AtomicU64 {
        self.region.word64(HEAD)
    }

    fn tail(&self) -> &AtomicU64 {
        self.region.word64(TAIL)
    }

    fn word(&self, i: usize) -> &AtomicU32 {
        self.region.word(i)
    }

    /// The bound on items (0: unbounded).
    pub(super) fn maxsize(&self) -> u32 {
        // Relaxed: written once before the handle was shared.
        self.word(MAXSIZE).load(Ordering::Relaxed)
    }

    /// Items in the ring now.
    pub(super) fn len(&self) -> u32 {
        // The re-check loads of the Dekker pairs with `push` and `pop`.
        let (h, t) = (loom::seqcst_load64(self.head()), loom::seqcst_load64(self.tail()));
        (count(t).wrapping_sub(count(h)) & COUNT_MASK) as u32
    }

    /// Whether a record of `len` payload bytes would fit now.
    pub(super) fn fits(&self, len: usize) -> bool {
        self.room(len).is_some_and(|r| r.is_some())
    }

    /// `None` if it can never fit; `Some(None)` if not now; else the bytes
    /// to skip at the end (a wrap marker) before the record.
    fn room(&self, len: usize) -> Option<Option<usize>> {
        let rec = record_size(len);
        if rec > self.capacity {
            return None;
        }
        let h = loom::seqcst_load64(self.head());
        let t = loom::seqcst_load64(self.tail());
        let used = pos(t).wrapping_sub(pos(h)) & POS_MASK;
        let items = count(t).wrapping_sub(count(h)) & COUNT_MASK;
        let maxsize = u64::from(self.maxsize());
        if used > self.capacity as u64 || (maxsize != 0 && items >= maxsize) {
            return Some(None);
        }
        let off = (pos(t) % self.capacity as u64) as usize;
        let skip = if off + rec > self.capacity { self.capacity - off } else { 0 };
        Some(((self.capacity as u64 - used) as usize >= skip + rec).then_some(skip))
    }

    fn write_header(&self, at: usize, len: u32, tag: u32) {
        let mut h = [0u8; HEADER];
        h[..4].copy_from_slice(&len.to_le_bytes());
        h[4..].copy_from_slice(&tag.to_le_bytes());
        // In bounds: `at + 8 <= capacity` by the caller's arithmetic.
        let _ = self.region.copy_in(RING_OFFSET + at, &h);
    }

    fn read_header(&self, at: usize) -> Option<(u32, u32)> {
        let mut h = [0u8; HEADER];
        if at + HEADER > self.capacity || !self.region.copy_out(RING_OFFSET + at, &mut h) {
            return None;
        }
        Some((u32::from_le_bytes(h[..4].try_into().ok()?), u32::from_le_bytes(h[4..].try_into().ok()?)))
    }

    /// Writes and publishes one record (the caller holds the put lock).
    pub(super) fn push(&self, payload: &[u8], tag: Tag) -> Push {
        let Ok(len) = u32::try_from(payload.len()) else { return Push::TooLarge };
        let skip = match self.room(payload.len()) {
            None => return Push::TooLarge,
            Some(None) => return Push::Full,
            Some(Some(skip)) => skip,
        };
        // Relaxed: only put-lock holders store TAIL, and the lock orders them.
        let t = self.tail().load(Ordering::Relaxed);
        let off = (pos(t) % self.capacity as u64) as usize;
        if skip > 0 {
            self.write_header(off, 0, WRAP);
        }
        let at = (off + skip) % self.capacity;
        self.write_header(at, len, tag as u32);
        let _ = self.region.copy_in(RING_OFFSET + at + HEADER, payload);
        let next = pack(count(t) + 1, pos(t) + (skip + record_size(payload.len())) as u64);
        // SeqCst swap: publishes the bytes above (release, for the consumer's
        // acquiring load of TAIL), and the store half of the Dekker pair
        // with a sleeping consumer's registration.
        self.tail().swap(next, Ordering::SeqCst);
        Push::Done { wake: Sleeper::count(self.word(GET_SLEEPERS)) > 0 }
    }

    /// Copies the front record's payload to the front of `buf` (grown if
    /// need be, never shrunk, so a reused buffer costs no allocation),
    /// without consuming it (the caller holds the get lock).
    pub(super) fn front(&self, buf: &mut Vec<u8>) -> Front {
        // Relaxed: only get-lock holders store HEAD, and the lock orders them.
        let h = self.head().load(Ordering::Relaxed);
        // Acquire (via SeqCst): the producer's bytes are visible after it.
        let t = loom::seqcst_load64(self.tail());
        let mut avail = pos(t).wrapping_sub(pos(h)) & POS_MASK;
        if avail == 0 {
            return Front::Empty;
        }
        if avail > self.capacity as u64 {
            return Front::Corrupt;
        }
        let mut p = pos(h);
        let mut off = (p % self.capacity as u64) as usize;
        let Some(mut header) = self.read_header(off) else { return Front::Corrupt };
        if header.1 == WRAP {
            let skip = (self.capacity - off) as u64;
            if skip >= avail {
                return Front::Corrupt;
            }
            p += skip;
            avail -= skip;
            off = 0;
            let Some(next) = self.read_header(0) else { return Front::Corrupt };
            header = next;
        }
        let (len, tag) = header;
        let tag = match tag {
            1 => Tag::Inline,
            3 => Tag::OutOfLine,
            _ => return Front::Corrupt,
        };
        let rec = record_size(len as usize);
        if rec as u64 > avail || off + rec > self.capacity {
            return Front::Corrupt;
        }
        let len = len as usize;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        if !self.region.copy_out(RING_OFFSET + off + HEADER, &mut buf[..len]) {
            return Front::Corrupt;
        }
        Front::Record { tag, len, next: pack(count(h) + 1, p + rec as u64) }
    }

    /// Consumes the record [`front`](Ring::front) found (the caller still
    /// holds the get lock); whether a sleeping producer must be woken.
    pub(super) fn advance(&self, next: u64) -> bool {
        // SeqCst swap: frees the bytes for producers only after the copy
        // (release), and the store half of the Dekker pair with a sleeping
        // producer's registration.
        self.head().swap(next, Ordering::SeqCst);
        Sleeper::count(self.word(PUT_SLEEPERS)) > 0
    }

    /// Whether producers sleep waiting for room.
    pub(super) fn producers_asleep(&self) -> bool {
        Sleeper::count(self.word(PUT_SLEEPERS)) > 0
    }

    /// Numbers the next out-of-line item (the caller holds the put lock).
    pub(super) fn next_out_of_line(&self) -> u64 {
        // Relaxed: only put-lock holders touch the word, and the lock orders
        // them; consumers learn numbers from records and messages.
        self.region.word64(OOL_SEQ).fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Items put and not yet marked done (`JoinableQueue`): the puts are
    /// TAIL's count, published with the item itself, so a producer killed
    /// around its put leaves the count right.
    pub(super) fn unfinished(&self) -> u32 {
        let t = loom::seqcst_load64(self.tail());
        let done = u64::from(loom::seqcst_load(self.word(DONE)));
        (count(t).wrapping_sub(done) & COUNT_MASK) as u32
    }

    /// Marks one item done: `None` if none is unfinished, else whether
    /// joiners must be woken (the last one was done and some sleep).
    pub(super) fn task_done(&self) -> Option<bool> {
        let done = self.word(DONE);
        let mut d = done.load(Ordering::Relaxed);
        loop {
            let t = loom::seqcst_load64(self.tail());
            let unfinished = count(t).wrapping_sub(u64::from(d)) & COUNT_MASK;
            if unfinished == 0 {
                return None;
            }
            let next = ((u64::from(d) + 1) & COUNT_MASK) as u32;
            // SeqCst: the store half of the Dekker pair with a joiner's
            // registration (the sleeper count below is the load half).
            match done.compare_exchange_weak(d, next, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => return Some(unfinished == 1 && Sleeper::count(self.word(JOIN_SLEEPERS)) > 0),
                Err(seen) => d = seen,
            }
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        loom::seqcst_load(self.word(CLOSED)) != 0
    }

    /// Marks the queue closed (the caller holds the put lock); whether it
    /// was open.
    pub(super) fn close(&self) -> bool {
        // SeqCst: the store half of the Dekker pairs with sleepers on both
        // sides (who re-check `is_closed` after registering).
        self.word(CLOSED).swap(1, Ordering::SeqCst) == 0
    }

    /// The total byte size of a region for a ring of `capacity` bytes.
    pub(super) fn words_for(capacity: usize) -> usize {
        HEADER_WORDS + capacity / 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes the front record: its length, `Some(None)` when empty, `None`
    /// when corrupt.
    fn pop(r: &Ring<'_>, buf: &mut Vec<u8>) -> Option<Option<usize>> {
        match r.front(buf) {
            Front::Record { tag: Tag::Inline, len, next } => {
                r.advance(next);
                Some(Some(len))
            }
            Front::Record { .. } | Front::Corrupt => None,
            Front::Empty => Some(None),
        }
    }

    fn ring(region: &Region, capacity: usize, maxsize: u32) -> Ring<'_> {
        region.word(CAPACITY).store(capacity as u32, Ordering::Relaxed);
        region.word(MAXSIZE).store(maxsize, Ordering::Relaxed);
        Ring { region, capacity }
    }

    #[test]
    fn records_go_round_in_order_and_wrap_whole() {
        let region = Region::new(Ring::words_for(256)).unwrap();
        let r = ring(&region, 256, 0);
        let mut buf = Vec::new();
        assert_eq!(pop(&r, &mut buf), Some(None));
        // Sizes that do not divide the ring, so records meet its end.
        for round in 0..50u32 {
            let payload: Vec<u8> = (0..(round % 37) as u8 + 1).collect();
            assert_eq!(r.push(&payload, Tag::Inline), Push::Done { wake: false });
            if round % 3 == 0 {
                assert_eq!(r.push(b"x", Tag::Inline), Push::Done { wake: false });
            }
            assert_eq!(pop(&r, &mut buf), Some(Some(payload.len())));
            assert_eq!(buf[..payload.len()], payload[..]);
            if round % 3 == 0 {
                assert_eq!(pop(&r, &mut buf), Some(Some(1)));
                assert_eq!(buf[0], b'x');
            }
            assert_eq!(r.len(), 0);
        }
    }

    #[test]
    fn full_by_bytes_by_count_and_too_large() {
        let region = Region::new(Ring::words_for(128)).unwrap();
        let r = ring(&region, 128, 0);
        assert_eq!(r.push(&[0; 121], Tag::Inline), Push::TooLarge); // 8 + 128 > 128
        assert_eq!(r.push(&[1; 56], Tag::Inline), Push::Done { wake: false }); // 64 bytes
        assert_eq!(r.push(&[2; 56], Tag::Inline), Push::Done { wake: false }); // 128 bytes
        assert_eq!(r.push(&[3; 1], Tag::Inline), Push::Full);
        assert_eq!(r.len(), 2);
        let region = Region::new(Ring::words_for(128)).unwrap();
        let r = ring(&region, 128, 2);
        assert_eq!(r.push(b"a", Tag::Inline), Push::Done { wake: false });
        assert_eq!(r.push(b"b", Tag::Inline), Push::Done { wake: false });
        assert_eq!(r.push(b"c", Tag::Inline), Push::Full);
        assert!(!r.fits(1));
        assert!(matches!(pop(&r, &mut Vec::new()), Some(Some(_))));
        assert!(r.fits(1));
    }

    #[test]
    fn a_lying_header_is_corrupt_not_a_panic() {
        let region = Region::new(Ring::words_for(64)).unwrap();
        let r = ring(&region, 64, 0);
        assert_eq!(r.push(b"hello", Tag::Inline), Push::Done { wake: false });
        // A peer rewrites the header's length to claim more than was put.
        r.write_header(0, 1 << 30, Tag::Inline as u32);
        let mut buf = Vec::new();
        assert_eq!(pop(&r, &mut buf), None);
        assert!(buf.is_empty(), "nothing allocated for a lying length");
        // Or the tail to claim more than the ring holds.
        region.word64(TAIL).store(pack(1, 1 << 20), Ordering::Relaxed);
        assert_eq!(pop(&r, &mut buf), None);
    }
}

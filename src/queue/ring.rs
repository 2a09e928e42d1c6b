//! The queue's byte ring in a shared region: variable-length records
//! written in place by one producer at a time (under the put lock) and read
//! by one consumer at a time (under the get lock), published by storing a
//! position word.
//!
//! # Implementation notes
//!
//! `HEAD` and `TAIL` are 64-bit words, each a position in bytes (low 40
//! bits, wrapping) and a count of records (high 24 bits, wrapping): the
//! producer writes a record into free space (whole, or piece by piece into
//! a reservation before its length is known) and only then stores `TAIL`,
//! the consumer copies or decodes a record out and only then stores
//! `HEAD`. So a producer killed mid-write has published nothing (the next
//! producer overwrites its bytes), and a consumer killed mid-read has taken
//! nothing (the next consumer reads the same record). The number of items is the difference
//! of the counts, exact at every moment.
//!
//! A record is an 8-byte header — length and tag, little-endian — and the
//! payload, padded to 8 bytes; a record never wraps: when it does not fit
//! before the end, a wrap marker fills the rest and the record starts at 0.
//! Everything read from the ring is checked (a lying header is
//! [`Front::Corrupt`], never a panic or an allocation beyond the ring).
//!
//! The file is ~900 lines because the protocol keeps its tests and its
//! loom model (`model`, under `--cfg ipc_loom`) beside it.

// Under the model checker only the model uses the ring, and not all of it.
#![cfg_attr(ipc_loom, allow(dead_code))]

use crate::loom::{self, AtomicU32, AtomicU64, Ordering};
#[cfg(not(ipc_loom))]
use crate::shm::Region;
use crate::wake::Sleeper;

use super::flavor::{Flavor, Front, Push, Sleepers, Tag};

/// What a ring lives in: a queue's shared region, or (under the model
/// checker) words and byte cells that loom watches.
pub(crate) trait Memory {
    fn word(&self, index: usize) -> &AtomicU32;
    fn word64(&self, index: usize) -> &AtomicU64;
    /// Copies `src` in at byte `offset`; `false` if out of bounds.
    fn copy_in(&self, offset: usize, src: &[u8]) -> bool;
    /// Copies bytes at `offset` out into `dst`; `false` if out of bounds.
    fn copy_out(&self, offset: usize, dst: &mut [u8]) -> bool;
}

#[cfg(not(ipc_loom))]
impl Memory for Region {
    fn word(&self, index: usize) -> &AtomicU32 {
        Region::word(self, index)
    }
    fn word64(&self, index: usize) -> &AtomicU64 {
        Region::word64(self, index)
    }
    fn copy_in(&self, offset: usize, src: &[u8]) -> bool {
        Region::copy_in(self, offset, src)
    }
    fn copy_out(&self, offset: usize, dst: &mut [u8]) -> bool {
        Region::copy_out(self, offset, dst)
    }
}

// The header: three cache lines of 16 words, so that an item moves as few
// lines between CPUs as it can. Consumers' line: HEAD, written by every get
// (producers read it only when the ring looks full: see `Ring::reserve`).
pub(super) const HEAD: usize = 0;
/// `JoinableQueue`: items marked done (wrapping, compared with TAIL's count).
pub(super) const DONE: usize = 3;
// Producers' line: TAIL, written by every put and read by every get.
pub(super) const TAIL: usize = 16;
/// The last out-of-line item's number (64-bit; see `Queue`'s notes).
pub(super) const OOL_SEQ: usize = 20;
// Read-mostly line: the settings, and the sleepers, which every put and get
// reads (the Dekker check after publishing) but only a wait writes — on
// HEAD's or TAIL's line they would pull that line across on every item.
pub(super) const MAXSIZE: usize = 32;
pub(super) const CLOSED: usize = 33;
pub(super) const CAPACITY: usize = 34;
/// `JoinableQueue`: joiners sleeping until every item is done.
pub(super) const JOIN_SLEEPERS: usize = 35;
/// Consumers sleeping until an item comes.
pub(super) const GET_SLEEPERS: usize = 36;
/// Producers sleeping until room comes.
pub(super) const PUT_SLEEPERS: usize = 37;
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

/// Free space reserved by [`Flavor::reserve`] for a record being written.
#[derive(Debug)]
pub(super) struct Space {
    /// TAIL when reserved (the put lock keeps it).
    tail: u64,
    /// Bytes left before the ring's end for a wrap marker, or 0.
    skip: usize,
    /// The record's offset in the ring.
    at: usize,
    /// The most payload bytes the space holds.
    room: usize,
    /// Payload bytes written so far.
    len: usize,
}

/// One process's last readings of HEAD and TAIL (see [`Flavor::reserve`] and
/// [`Flavor::front`]).
#[derive(Debug, Default)]
pub(super) struct Seen {
    head: AtomicU64,
    tail: AtomicU64,
}

/// A view of a queue region (or of the model's memory).
pub(super) struct Ring<'a, M> {
    pub(super) region: &'a M,
    pub(super) capacity: usize,
}

impl<M: Memory> Ring<'_, M> {
    fn head(&self) -> &AtomicU64 {
        self.region.word64(HEAD)
    }

    fn tail(&self) -> &AtomicU64 {
        self.region.word64(TAIL)
    }

    fn word(&self, i: usize) -> &AtomicU32 {
        self.region.word(i)
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

    /// [`reserve`](Flavor::reserve) with HEAD taken to be `h`.
    fn reserve_after(&self, h: u64, hint: usize, max: usize) -> Option<Space> {
        // Relaxed: only put-lock holders store TAIL, and the lock orders them.
        let t = self.tail().load(Ordering::Relaxed);
        let used = pos(t).wrapping_sub(pos(h)) & POS_MASK;
        let items = count(t).wrapping_sub(count(h)) & COUNT_MASK;
        let maxsize = u64::from(self.maxsize());
        if used > self.capacity as u64 || (maxsize != 0 && items >= maxsize) {
            return None;
        }
        let free = self.capacity - used as usize;
        let off = (pos(t) % self.capacity as u64) as usize;
        let to_end = self.capacity - off;
        // A run of `n` bytes holds a header and a payload padded to 8 (runs
        // are multiples of 8 unless a peer broke the words: round down, so
        // a record never reaches past its run).
        let room = |n: usize| n.checked_sub(HEADER).map(|p| (p & !7).min(max).min(u32::MAX as usize));
        let (skip, room) = match (room(free.min(to_end)), room(free.saturating_sub(to_end))) {
            (Some(here), _) if here >= hint => (0, here),
            (_, Some(wrapped)) if wrapped >= hint => (to_end, wrapped),
            _ => return None,
        };
        Some(Space { tail: t, skip, at: (off + skip) % self.capacity, room, len: 0 })
    }

    /// Writes the wrap marker and the header of a record of `len` payload
    /// bytes (already written) after tail `t`, and publishes it.
    fn publish(&self, t: u64, skip: usize, len: usize, tag: Tag) -> bool {
        let off = (pos(t) % self.capacity as u64) as usize;
        if skip > 0 {
            self.write_header(off, 0, WRAP);
        }
        // `len` fits: `room` and `reserve` bound it by the ring's size.
        self.write_header((off + skip) % self.capacity, len as u32, tag as u32);
        let next = pack(count(t) + 1, pos(t) + (skip + record_size(len)) as u64);
        // SeqCst swap: publishes the bytes above (release, for the consumer's
        // acquiring load of TAIL), and the store half of the Dekker pair
        // with a sleeping consumer's registration.
        self.tail().swap(next, Ordering::SeqCst);
        // A token for a sleeping consumer not woken yet (a claim, see
        // `Sleeper::claim`): it fell asleep after finding the ring empty,
        // so this record may be its to take. One that wakes and leaves
        // items behind wakes another if any sleeps (`Queue::pass_wake_on`),
        // so while producers outrun consumers that sleep, puts make no
        // system call: one wake-up per sleeper, not one per item.
        Sleeper::claim(self.word(GET_SLEEPERS), 1) > 0
    }
}

impl<M: Memory> Flavor for Ring<'_, M> {
    type Space = Space;
    type Seen = Seen;

    fn written(&self, space: &Space) -> usize {
        space.len
    }

    fn sleepers(&self, who: Sleepers) -> &AtomicU32 {
        self.word(match who {
            Sleepers::Put => PUT_SLEEPERS,
            Sleepers::Get => GET_SLEEPERS,
            Sleepers::Join => JOIN_SLEEPERS,
        })
    }

    /// The bound on items (0: unbounded).
    fn maxsize(&self) -> u32 {
        // Relaxed: written once before the handle was shared.
        self.word(MAXSIZE).load(Ordering::Relaxed)
    }

    /// Items in the ring now.
    fn len(&self) -> u32 {
        // The re-check loads of the Dekker pairs with `push` and `pop`.
        let (h, t) = (loom::seqcst_load64(self.head()), loom::seqcst_load64(self.tail()));
        (count(t).wrapping_sub(count(h)) & COUNT_MASK) as u32
    }

    /// Whether a record of `len` payload bytes would fit now.
    fn fits(&self, len: usize) -> bool {
        self.room(len).is_some_and(|r| r.is_some())
    }

    /// Writes and publishes one record (the caller holds the put lock).
    /// A record of at most half the capacity always fits an empty ring;
    /// a larger one may not, whatever the consumers do (`Queue` sends those
    /// out of line).
    fn push(&self, payload: &[u8], tag: Tag) -> Push {
        let skip = match self.room(payload.len()) {
            None => return Push::TooLarge,
            Some(None) => return Push::Full,
            Some(Some(skip)) => skip,
        };
        // Relaxed: only put-lock holders store TAIL, and the lock orders them.
        let t = self.tail().load(Ordering::Relaxed);
        let at = (pos(t) as usize + skip) % self.capacity;
        let _ = self.region.copy_in(RING_OFFSET + at + HEADER, payload);
        Push::Done { wake: self.publish(t, skip, payload.len(), tag) }
    }

    /// Free space for one record whose length is not known yet, to be
    /// written in place (the caller holds the put lock): the contiguous run
    /// after the tail, or after a wrap marker at the ring's start when the
    /// run after the tail holds fewer than `hint` bytes and the other more.
    /// At most `max` payload bytes. `None` when the queue is full, by items
    /// or bytes, or neither run holds `hint` bytes.
    ///
    /// HEAD is read from `seen` first, and from the shared word only when
    /// that leaves too little room: HEAD only grows, so an old value only
    /// understates the room, and the consumers' line stays put.
    fn reserve(&self, hint: usize, max: usize, seen: &Seen) -> Option<Space> {
        // Relaxed (the cache): a value this process acquired from HEAD
        // before, under the put lock, which orders its holders.
        let cached = seen.head.load(Ordering::Relaxed);
        if let Some(space) = self.reserve_after(cached, hint, max) {
            return Some(space);
        }
        // Acquire (via SeqCst): consumers copied the freed bytes out before
        // storing HEAD, so they are ours to overwrite.
        let h = loom::seqcst_load64(self.head());
        seen.head.store(h, Ordering::Relaxed);
        (h != cached).then(|| self.reserve_after(h, hint, max)).flatten()
    }

    /// Appends `bytes` to the record being written in `space`; `false`
    /// (nothing written) if they do not fit.
    fn write_in(&self, space: &mut Space, bytes: &[u8]) -> bool {
        if bytes.len() > space.room - space.len {
            return false;
        }
        // In bounds: `at + HEADER + room` lies inside the ring by `reserve`.
        let _ = self.region.copy_in(RING_OFFSET + space.at + HEADER + space.len, bytes);
        space.len += bytes.len();
        true
    }

    /// Publishes the record written in `space` (the caller still holds the
    /// put lock); whether a sleeping consumer must be woken.
    fn commit(&self, space: Space, tag: Tag) -> bool {
        self.publish(space.tail, space.skip, space.len, tag)
    }

    /// Finds the front record without consuming it (the caller holds the
    /// get lock, which keeps its bytes in place until [`advance`](Flavor::advance)).
    ///
    /// TAIL is read from `seen` first, and from the shared word only when
    /// that shows nothing to take (or a value behind HEAD, which another
    /// process's consumers moved past it), so a consumer that is behind
    /// takes many items per read of the producers' line.
    fn front(&self, seen: &Seen) -> Front {
        // Relaxed: only get-lock holders store HEAD, and the lock orders them.
        let h = self.head().load(Ordering::Relaxed);
        // Relaxed (the cache): a value this process acquired from TAIL
        // before, under the get lock, which orders its holders; the bytes of
        // the records up to it were visible then.
        let mut t = seen.tail.load(Ordering::Relaxed);
        let mut avail = pos(t).wrapping_sub(pos(h)) & POS_MASK;
        if avail == 0 || avail > self.capacity as u64 {
            // Acquire (via SeqCst): the producer's bytes are visible after it.
            t = loom::seqcst_load64(self.tail());
            seen.tail.store(t, Ordering::Relaxed);
            avail = pos(t).wrapping_sub(pos(h)) & POS_MASK;
        }
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
        Front::Record { tag, at: off + HEADER, len: len as usize, next: pack(count(h) + 1, p + rec as u64) }
    }

    /// Copies `dst.len()` bytes of the payload at ring offset `at` (from
    /// [`front`](Flavor::front)), starting `from` bytes in, into `dst`;
    /// `false` if that reaches past the ring.
    fn read_payload(&self, at: usize, from: usize, dst: &mut [u8]) -> bool {
        match at.checked_add(from).and_then(|start| start.checked_add(dst.len())) {
            Some(end) if end <= self.capacity => self.region.copy_out(RING_OFFSET + at + from, dst),
            _ => false,
        }
    }

    /// Consumes the record [`front`](Flavor::front) found (the caller still
    /// holds the get lock); whether a sleeping producer must be woken.
    fn advance(&self, next: u64) -> bool {
        // SeqCst swap: frees the bytes for producers only after the copy
        // (release), and the store half of the Dekker pair with a sleeping
        // producer's registration.
        self.head().swap(next, Ordering::SeqCst);
        // A producer sleeping for room, claimed for the token the caller
        // posts (see `Sleeper::claim`).
        Sleeper::claim(self.word(PUT_SLEEPERS), 1) > 0
    }

    /// Numbers the next out-of-line item (the caller holds the put lock).
    fn next_out_of_line(&self) -> u64 {
        // Relaxed: only put-lock holders touch the word, and the lock orders
        // them; consumers learn numbers from records and messages.
        self.region.word64(OOL_SEQ).fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Items put and not yet marked done (`JoinableQueue`): the puts are
    /// TAIL's count, published with the item itself, so a producer killed
    /// around its put leaves the count right.
    fn unfinished(&self) -> u32 {
        let t = loom::seqcst_load64(self.tail());
        let done = u64::from(loom::seqcst_load(self.word(DONE)));
        (count(t).wrapping_sub(done) & COUNT_MASK) as u32
    }

    /// Marks one item done: `None` if none is unfinished, else whether
    /// joiners must be woken (the last one was done and some sleep).
    fn task_done(&self) -> Option<bool> {
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

    fn is_closed(&self) -> bool {
        loom::seqcst_load(self.word(CLOSED)) != 0
    }

    /// Marks the queue closed (the caller holds the put lock); whether it
    /// was open.
    fn close(&self) -> bool {
        // SeqCst: the store half of the Dekker pairs with sleepers on both
        // sides (who re-check `is_closed` after registering).
        self.word(CLOSED).swap(1, Ordering::SeqCst) == 0
    }
}

/// The words of a region for a ring of `capacity` bytes.
pub(super) fn words_for(capacity: usize) -> usize {
    HEADER_WORDS + capacity / 4
}

#[cfg(all(test, not(ipc_loom)))]
mod tests {
    use super::*;
    use crate::shm::Kind;

    /// Takes the front record: its length, `Some(None)` when empty, `None`
    /// when corrupt.
    fn pop(r: &Ring<'_, Region>, buf: &mut Vec<u8>) -> Option<Option<usize>> {
        match r.front(&Seen::default()) {
            Front::Record { tag: Tag::Inline, at, len, next } => {
                buf.resize(len, 0);
                assert!(r.read_payload(at, 0, buf));
                r.advance(next);
                Some(Some(len))
            }
            Front::Record { .. } | Front::Corrupt => None,
            Front::Empty => Some(None),
        }
    }

    fn ring(region: &Region, capacity: usize, maxsize: u32) -> Ring<'_, Region> {
        region.word(CAPACITY).store(capacity as u32, Ordering::Relaxed);
        region.word(MAXSIZE).store(maxsize, Ordering::Relaxed);
        Ring { region, capacity }
    }

    #[test]
    fn records_go_round_in_order_and_wrap_whole() {
        let region = Region::new(Kind::Queue, words_for(256)).unwrap();
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
        let region = Region::new(Kind::Queue, words_for(128)).unwrap();
        let r = ring(&region, 128, 0);
        assert_eq!(r.push(&[0; 121], Tag::Inline), Push::TooLarge); // 8 + 128 > 128
        assert_eq!(r.push(&[1; 56], Tag::Inline), Push::Done { wake: false }); // 64 bytes
        assert_eq!(r.push(&[2; 56], Tag::Inline), Push::Done { wake: false }); // 128 bytes
        assert_eq!(r.push(&[3; 1], Tag::Inline), Push::Full);
        assert_eq!(r.len(), 2);
        let region = Region::new(Kind::Queue, words_for(128)).unwrap();
        let r = ring(&region, 128, 2);
        assert_eq!(r.push(b"a", Tag::Inline), Push::Done { wake: false });
        assert_eq!(r.push(b"b", Tag::Inline), Push::Done { wake: false });
        assert_eq!(r.push(b"c", Tag::Inline), Push::Full);
        assert!(!r.fits(1));
        assert!(matches!(pop(&r, &mut Vec::new()), Some(Some(_))));
        assert!(r.fits(1));
    }

    /// Writes `payload` in place through a reservation; `None` if none.
    fn put_in_place(r: &Ring<'_, Region>, seen: &Seen, hint: usize, payload: &[u8]) -> Option<bool> {
        let mut space = r.reserve(hint, usize::MAX, seen)?;
        if !r.write_in(&mut space, payload) {
            return Some(false);
        }
        r.commit(space, Tag::Inline);
        Some(true)
    }

    #[test]
    fn records_written_in_place_wrap_by_the_hint() {
        let region = Region::new(Kind::Queue, words_for(256)).unwrap();
        let r = ring(&region, 256, 0);
        let producer = Seen::default();
        let mut buf = Vec::new();
        // 3 records of 8 + 72 bytes: the tail at 240, 16 bytes before the end.
        for i in 0..3 {
            assert_eq!(put_in_place(&r, &producer, 0, &[i; 72]), Some(true));
        }
        assert_eq!(pop(&r, &mut buf), Some(Some(72)));
        assert_eq!(pop(&r, &mut buf), Some(Some(72)));
        // A hint of 72 does not fit the 8 payload bytes left at the end: the
        // record goes to the start, after a wrap marker, and reads back whole.
        assert_eq!(put_in_place(&r, &producer, 72, &[9; 72]), Some(true));
        assert_eq!(pop(&r, &mut buf), Some(Some(72)));
        assert_eq!(buf[..72], [2; 72]);
        assert_eq!(pop(&r, &mut buf), Some(Some(72)));
        assert_eq!(buf[..72], [9; 72]);
        // With no hint the run after the tail is taken, and a payload that
        // does not fit it is refused, nothing published.
        assert_eq!(put_in_place(&r, &producer, 0, &[1; 200]), Some(false));
        assert_eq!(r.len(), 0);
        // A hint no run can hold: no reservation at all.
        assert_eq!(put_in_place(&r, &producer, 300, b"x"), None);
        // Write in several pieces, as an encoder does.
        let mut space = r.reserve(0, 64, &producer).unwrap();
        assert!(r.write_in(&mut space, b"abc") && r.write_in(&mut space, b"def"));
        assert!(!r.write_in(&mut space, &[0; 59]), "beyond the limit of 64");
        assert_eq!(r.written(&space), 6);
        r.commit(space, Tag::Inline);
        assert_eq!(pop(&r, &mut buf), Some(Some(6)));
        assert_eq!(&buf[..6], b"abcdef");
    }

    #[test]
    fn old_readings_of_head_and_tail_are_refreshed_not_taken_for_corruption() {
        let region = Region::new(Kind::Queue, words_for(256)).unwrap();
        let r = ring(&region, 256, 0);
        let producer = Seen::default();
        let (a, b) = (Seen::default(), Seen::default());
        let take = |seen: &Seen| match r.front(seen) {
            Front::Record { next, len, .. } => {
                r.advance(next);
                Some(len)
            }
            other => panic!("{other:?}"),
        };
        // Consumer A reads TAIL after two puts; consumer B (another process)
        // then takes items past it, so A's reading is behind HEAD.
        for n in 1..=2 {
            assert_eq!(put_in_place(&r, &producer, 0, &vec![0; n]), Some(true));
        }
        assert_eq!(take(&a), Some(1));
        for n in 3..=4 {
            assert_eq!(put_in_place(&r, &producer, 0, &vec![0; n]), Some(true));
        }
        assert_eq!(take(&b), Some(2));
        assert_eq!(take(&b), Some(3));
        assert_eq!(take(&b), Some(4));
        assert_eq!(r.front(&a), Front::Empty);
        assert_eq!(put_in_place(&r, &producer, 0, &[0; 5]), Some(true));
        assert_eq!(take(&a), Some(5));
        // The producer's reading of HEAD says full; the ring is empty.
        let region = Region::new(Kind::Queue, words_for(64)).unwrap();
        let r = ring(&region, 64, 0);
        let producer = Seen::default();
        for _ in 0..4 {
            assert_eq!(put_in_place(&r, &producer, 0, &[1; 8]), Some(true));
        }
        assert_eq!(put_in_place(&r, &producer, 0, &[1; 8]), None, "full");
        let consumer = Seen::default();
        while let Front::Record { next, .. } = r.front(&consumer) {
            r.advance(next);
        }
        assert_eq!(put_in_place(&r, &producer, 0, &[1; 8]), Some(true));
    }

    #[test]
    fn a_lying_header_is_corrupt_not_a_panic() {
        let region = Region::new(Kind::Queue, words_for(64)).unwrap();
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

/// Model checks of the ring's HEAD/TAIL protocol under loom
/// (`RUSTFLAGS="--cfg ipc_loom" cargo test --release --lib ring`): a
/// producer and a consumer on a ring too small for all their records, so
/// records wrap and the producer waits for room. The ring's bytes are loom
/// cells of 8 bytes (records are 8-byte aligned), so loom reports any read
/// of a record's bytes that does not happen after their writing, and any
/// write over bytes a consumer has not finished reading.
#[cfg(all(test, ipc_loom))]
#[allow(unsafe_code)]
mod model {
    use super::*;
    use ::loom::cell::UnsafeCell;

    use crate::sync::raw::tests::Tokens;

    /// The model's stand-in for a region: header words, and the ring's
    /// bytes as cells of 8.
    struct Cells {
        words: Vec<AtomicU32>,
        words64: Vec<AtomicU64>,
        slots: Vec<UnsafeCell<[u8; 8]>>,
    }

    impl Cells {
        fn new(capacity: usize) -> Cells {
            Cells {
                words: (0..HEADER_WORDS).map(|_| AtomicU32::new(0)).collect(),
                words64: (0..HEADER_WORDS / 2).map(|_| AtomicU64::new(0)).collect(),
                slots: (0..capacity / 8).map(|_| UnsafeCell::new([0; 8])).collect(),
            }
        }

        /// Calls `f(slot, range in the slot, range in the buffer)` for each
        /// slot the bytes `offset..offset + len` of the region touch.
        fn each(
            &self,
            offset: usize,
            len: usize,
            mut f: impl FnMut(usize, std::ops::Range<usize>, std::ops::Range<usize>),
        ) -> bool {
            let Some(start) = offset.checked_sub(RING_OFFSET) else { return false };
            if start + len > self.slots.len() * 8 {
                return false;
            }
            let mut done = 0;
            while done < len {
                let at = start + done;
                let n = (8 - at % 8).min(len - done);
                f(at / 8, at % 8..at % 8 + n, done..done + n);
                done += n;
            }
            true
        }
    }

    impl Memory for Cells {
        fn word(&self, index: usize) -> &AtomicU32 {
            // The 64-bit words are kept apart: the ring never reads one as
            // two 32-bit words or the other way round.
            &self.words[index]
        }
        fn word64(&self, index: usize) -> &AtomicU64 {
            &self.words64[index / 2]
        }
        fn copy_in(&self, offset: usize, src: &[u8]) -> bool {
            self.each(offset, src.len(), |slot, inside, from| {
                // SAFETY: the pointer is the cell's own, valid and aligned,
                // and loom checks that no other access to the slot races
                // with this write (which is what the model is for).
                self.slots[slot].with_mut(|p| unsafe { (&mut *p)[inside].copy_from_slice(&src[from]) })
            })
        }
        fn copy_out(&self, offset: usize, dst: &mut [u8]) -> bool {
            self.each(offset, dst.len(), |slot, inside, to| {
                // SAFETY: as in `copy_in`, for a read.
                self.slots[slot].with(|p| dst[to].copy_from_slice(unsafe { &(&*p)[inside] }))
            })
        }
    }

    /// A queue's two wake-ups.
    #[derive(Default)]
    struct Wakeups {
        not_empty: Tokens,
        not_full: Tokens,
    }

    fn payload(i: usize) -> Vec<u8> {
        // 3, 9 and 5 bytes: records of 16, 24 and 16 bytes in a 48-byte
        // ring, so the third wraps. (None is larger than half the ring, as
        // the queue ensures: a larger one may never fit, even in an empty
        // ring, when the tail sits mid-ring; a first model with a 32-byte
        // ring deadlocked just so.)
        vec![i as u8 + 1; [3, 9, 5][i]]
    }

    /// A get's loop as the queue runs it: look; if empty, register as a
    /// sleeper, look again, sleep on a token. Consuming wakes a sleeping
    /// producer.
    fn take(ring: &Ring<'_, Cells>, seen: &Seen, wake: &Wakeups) -> Vec<u8> {
        loop {
            match ring.front(seen) {
                Front::Record { tag: Tag::Inline, at, len, next } => {
                    let mut buf = vec![0; len];
                    assert!(ring.read_payload(at, 0, &mut buf));
                    if ring.advance(next) {
                        wake.not_full.post(1);
                    }
                    return buf;
                }
                Front::Empty => {
                    let sleeper = Sleeper::register(ring.region.word(GET_SLEEPERS));
                    if ring.len() == 0 {
                        wake.not_empty.take();
                        sleeper.took_token();
                    }
                }
                other => panic!("the ring is {other:?}"),
            }
        }
    }

    /// A put's wait for room: register as a sleeper, look again, sleep on a
    /// token.
    fn wait_for_room(ring: &Ring<'_, Cells>, len: usize, wake: &Wakeups) {
        let sleeper = Sleeper::register(ring.region.word(PUT_SLEEPERS));
        if !ring.fits(len) {
            wake.not_full.take();
            sleeper.took_token();
        }
    }

    /// One model run: `produce` puts the three payloads from a thread of
    /// its own, while this thread takes them and checks them.
    fn run(produce: fn(&Ring<'_, Cells>, &Wakeups)) {
        ::loom::model(move || {
            let shared = ::loom::sync::Arc::new((Cells::new(48), Wakeups::default()));
            let producer = ::loom::thread::spawn({
                let shared = shared.clone();
                move || {
                    let (memory, wake) = &*shared;
                    produce(&Ring { region: memory, capacity: 48 }, wake);
                }
            });
            let (memory, wake) = &*shared;
            let ring = Ring { region: memory, capacity: 48 };
            let seen = Seen::default();
            for i in 0..3 {
                assert_eq!(take(&ring, &seen, wake), payload(i));
            }
            producer.join().unwrap();
            assert!(matches!(ring.front(&seen), Front::Empty));
        });
    }

    #[test]
    fn records_pushed_whole_arrive_whole_in_order_as_the_ring_wraps() {
        run(|ring, wake| {
            for i in 0..3 {
                loop {
                    match ring.push(&payload(i), Tag::Inline) {
                        Push::Done { wake: true } => wake.not_empty.post(1),
                        Push::Done { wake: false } => {}
                        Push::Full => {
                            wait_for_room(ring, payload(i).len(), wake);
                            continue;
                        }
                        Push::TooLarge => panic!("fits"),
                    }
                    break;
                }
            }
        });
    }

    #[test]
    fn records_written_in_place_arrive_whole_in_order_as_the_ring_wraps() {
        run(|ring, wake| {
            let seen = Seen::default();
            for i in 0..3 {
                let bytes = payload(i);
                let mut space = loop {
                    match ring.reserve(bytes.len(), 24, &seen) {
                        Some(space) => break space,
                        None => wait_for_room(ring, bytes.len(), wake),
                    }
                };
                // Written in two pieces, as an encoder does.
                let (a, b) = bytes.split_at(bytes.len() / 2);
                assert!(ring.write_in(&mut space, a) && ring.write_in(&mut space, b));
                if ring.commit(space, Tag::Inline) {
                    wake.not_empty.post(1);
                }
            }
        });
    }
}

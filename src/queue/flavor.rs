//! The seam between a queue's put and get and where its items live.
//!
//! `put.rs`, `get.rs` and `joinable.rs` hold everything a queue does around
//! its items — encoding (in place or aside), out-of-line items, the put and
//! get locks, waiting in the wait engine, passing wake-ups on, closing,
//! `task_done` — and reach the items only through [`Flavor`]: records of
//! bytes, each an inline item or an out-of-line item's number, published by
//! a producer under the put lock and consumed by a consumer under the get
//! lock. `Queue::flavor` hands them the flavor as `impl Flavor`, so they
//! cannot use anything else of it.
//!
//! The byte ring (`ring.rs`) is the one flavor: FIFO, bounded by bytes and
//! by `maxsize`, in a sealed shared region, model-checked with loom. A new
//! flavor (a LIFO stack, a priority heap in shared memory) is a file that
//! implements `Flavor` over a region of its own `shm::Kind`, with its loom
//! model, and the constructor that picks it; `put.rs` and `get.rs` do not
//! change.
//!
//! A flavor keeps these rules, which the queue's crash safety rests on:
//!
//! - A record is published whole by one store (or nothing is): a producer
//!   killed while writing has published nothing; a consumer killed while
//!   reading has consumed nothing (the next consumer reads the same record).
//! - Everything read from shared memory is checked: a lying header or
//!   position is [`Front::Corrupt`], never a panic, an out-of-bounds access
//!   or an allocation larger than the flavor's memory.
//! - Every publish and consume is the store half of a Dekker pair with the
//!   other side's sleeper count ([`Flavor::sleepers`]): it answers whether a
//!   sleeper must be woken, and a waiter that registered before rechecking
//!   never misses it.

// Under the model checker only the ring's model uses the seam, and not all of it.
#![cfg_attr(ipc_loom, allow(dead_code))]

use crate::loom::AtomicU32;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// The encoded item itself.
    Inline = 1,
    /// The number and length of an item travelling out of line (in a memfd
    /// sent through the queue's socket).
    OutOfLine = 3,
}

/// What a push did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// Published; whether a sleeping consumer must be woken (it is
    /// claimed: the caller must post its token).
    Done { wake: bool },
    /// No room (by item count or bytes) right now.
    Full,
    /// The record can never fit this flavor's memory.
    TooLarge,
}

/// What the front of the queue holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Front {
    /// A record whose payload of `len` bytes lies at offset `at`
    /// ([`Flavor::read_payload`]); [`Flavor::advance`] to `next` consumes it.
    Record {
        tag: Tag,
        at: usize,
        len: usize,
        next: u64,
    },
    Empty,
    /// The shared words or a header are impossible: a broken peer.
    Corrupt,
}

/// Who sleeps on a queue: the sleeper counts of the wait engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sleepers {
    /// Producers waiting for room.
    Put,
    /// Consumers waiting for an item.
    Get,
    /// `JoinableQueue` joiners waiting for every item to be done.
    Join,
}

/// Where a queue's items live: what put and get need of it (see the module
/// docs for the rules every flavor keeps).
pub(crate) trait Flavor {
    /// Free space reserved for a record being written in place.
    type Space;
    /// One handle's cache of the flavor's shared positions, so that a busy
    /// side reads the other side's words rarely.
    type Seen;

    /// The bound on items (0: unbounded).
    fn maxsize(&self) -> u32;
    /// Items in the queue now.
    fn len(&self) -> u32;
    /// Whether a record of `len` payload bytes would fit now.
    fn fits(&self, len: usize) -> bool;
    /// Writes and publishes one record (the caller holds the put lock).
    fn push(&self, payload: &[u8], tag: Tag) -> Push;
    /// Free space for one record whose length is not known yet, at least
    /// `hint` and at most `max` payload bytes (the caller holds the put
    /// lock); `None` when there is none now.
    fn reserve(&self, hint: usize, max: usize, seen: &Self::Seen) -> Option<Self::Space>;
    /// Appends `bytes` to the record being written in `space`; `false`
    /// (nothing written) if they do not fit.
    fn write_in(&self, space: &mut Self::Space, bytes: &[u8]) -> bool;
    /// Payload bytes written into `space` so far.
    fn written(&self, space: &Self::Space) -> usize;
    /// Publishes the record written in `space` (the caller still holds the
    /// put lock); whether a sleeping consumer must be woken (as for
    /// [`Push::Done`]).
    fn commit(&self, space: Self::Space, tag: Tag) -> bool;
    /// The front record, not consumed (the caller holds the get lock, which
    /// keeps it in place until [`advance`](Flavor::advance)).
    fn front(&self, seen: &Self::Seen) -> Front;
    /// Copies `dst.len()` bytes of the payload at `at` (from
    /// [`front`](Flavor::front)), starting `from` bytes in; `false` if that
    /// reaches outside the record's memory.
    fn read_payload(&self, at: usize, from: usize, dst: &mut [u8]) -> bool;
    /// Consumes the record [`front`](Flavor::front) found (the caller still
    /// holds the get lock); whether a sleeping producer must be woken (it
    /// is claimed: the caller must post its token).
    fn advance(&self, next: u64) -> bool;
    /// Numbers the next out-of-line item (the caller holds the put lock).
    fn next_out_of_line(&self) -> u64;
    /// Items put and not yet marked done (`JoinableQueue`), exact even when
    /// a producer was killed around its put.
    fn unfinished(&self) -> u32;
    /// Marks one item done: `None` if none is unfinished, else whether
    /// joiners must be woken.
    fn task_done(&self) -> Option<bool>;
    /// Whether the queue was closed.
    fn is_closed(&self) -> bool;
    /// Marks the queue closed (the caller holds the put lock); whether it
    /// was open.
    fn close(&self) -> bool;
    /// The sleeper count of `who`, for the wait engine.
    fn sleepers(&self, who: Sleepers) -> &AtomicU32;
}

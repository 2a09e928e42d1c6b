//! A queue as a handle: its region, locks, eventfds and out-of-line socket.

use std::os::fd::{AsFd, OwnedFd};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Queue;
use super::ring;
use crate::handle::{DeFd, SerFd};
use crate::loom::Ordering;
use crate::shm::{Kind, Region};
use crate::sync::Lock;
use crate::sys::{self, SocketKind};
use crate::wake::Tokens;

#[derive(Serialize)]
struct WireRef<'a> {
    put_lock: &'a Lock,
    get_lock: &'a Lock,
    capacity: u32,
    region: SerFd<'a>,
    not_empty: SerFd<'a>,
    not_full: SerFd<'a>,
    ool_tx: SerFd<'a>,
    ool_rx: SerFd<'a>,
}

#[derive(Deserialize)]
struct Wire {
    put_lock: Lock,
    get_lock: Lock,
    capacity: u32,
    region: DeFd,
    not_empty: DeFd,
    not_full: DeFd,
    ool_tx: DeFd,
    ool_rx: DeFd,
}

/// What a queue is made of besides its region.
pub(super) struct Parts {
    pub(super) put_lock: Lock,
    pub(super) get_lock: Lock,
    /// Items arrived (consumers sleep here).
    pub(super) not_empty: Tokens,
    /// Room freed (producers sleep here).
    pub(super) not_full: Tokens,
    /// Out-of-line items' memfds travel from `ool_tx` to `ool_rx` (the two
    /// ends of one socket pair, which every handle holds).
    pub(super) ool_tx: OwnedFd,
    pub(super) ool_rx: OwnedFd,
}

pub(super) fn le64(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(b)
}

/// A queue serializes as a handle: its region, locks and eventfds travel
/// out of band.
impl<T> Serialize for Queue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let inner = &*self.inner;
        WireRef {
            put_lock: &inner.parts.put_lock,
            get_lock: &inner.parts.get_lock,
            capacity: inner.capacity as u32,
            region: SerFd(inner.region.fd()),
            not_empty: SerFd(inner.parts.not_empty.fd()),
            not_full: SerFd(inner.parts.not_full.fd()),
            ool_tx: SerFd(inner.parts.ool_tx.as_fd()),
            ool_rx: SerFd(inner.parts.ool_rx.as_fd()),
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let capacity = wire.capacity as usize;
        if capacity % 8 != 0 || !(64..=ring::MAX_CAPACITY).contains(&capacity) {
            return Err(D::Error::custom("a queue handle with an invalid ring size"));
        }
        let region =
            Region::from_fd(wire.region.0, Kind::Queue, ring::words_for(capacity)).map_err(D::Error::custom)?;
        // Relaxed: written before the handle was shared.
        if region.word(ring::CAPACITY).load(Ordering::Relaxed) != wire.capacity {
            return Err(D::Error::custom("a queue handle whose ring size disagrees with its region"));
        }
        if sys::socket_kind(wire.ool_tx.0.as_fd()) != SocketKind::SeqPacket
            || sys::socket_kind(wire.ool_rx.0.as_fd()) != SocketKind::SeqPacket
        {
            return Err(D::Error::custom("a queue handle whose out-of-line sockets are not packet sockets"));
        }
        let parts = Parts {
            put_lock: wire.put_lock,
            get_lock: wire.get_lock,
            not_empty: Tokens::from_fd(wire.not_empty.0),
            not_full: Tokens::from_fd(wire.not_full.0),
            ool_tx: wire.ool_tx.0,
            ool_rx: wire.ool_rx.0,
        };
        Ok(Queue::from_parts(region, capacity, parts))
    }
}

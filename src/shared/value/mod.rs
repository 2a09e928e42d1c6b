//! `Value<T>` and `Array<T>` (Python's `multiprocessing.Value` / `Array`),
//! and their lock-free forms `RawValue<T>` / `RawArray<T>`.
//!
//! # Implementation notes
//!
//! The elements live in an anonymous shared `memfd` region (it vanishes with
//! the last process holding it). `Array<T>` keeps a robust lock's words at
//! the start of the same region, before the elements; its guard hands out
//! `&mut [T]` while the lock is held. That is sound because:
//!
//! - the lock cannot be separated from its elements: a handle carries one
//!   region, and the lock it uses is the one in that region;
//! - a region is mapped only as the kind it was made for (see
//!   [`crate::shm::Kind`]), so no other handle — a lock-free array, a
//!   [`Lock`], a garbled or lying message — reaches these bytes;
//! - the lock is released only by dropping the guard that took it: the
//!   array hands out a [`DataLock`], which has no unguarded `release`.
//!
//! What no library can rule out is a process that writes the shared pages
//! without going through `ipc` (a broken or hostile peer that holds the
//! descriptor): it can garble the elements, never make them an invalid `T`
//! (see below). The raw forms copy elements in and out with volatile
//! accesses and never make a reference to shared bytes, so racing writers
//! may tear an element (as in Python) but break no aliasing rule. A `T` is
//! [`ShmSafe`]: any bit pattern is a valid `T`, so a torn or peer-written
//! element is still a `T`.
#![allow(unsafe_code)]

mod array;
mod raw;
mod scalar;

use array::Locked;
pub use array::{Array, ArrayGuard, ArrayResult, DataLock};
pub use raw::{RawArray, RawValue};
pub use scalar::{Value, ValueGuard};

use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{AccessError, ShmSafe};
use crate::handle::{DeFd, SerFd};
use crate::shm::{Cells, Kind};

/// Index and length checks of an array's elements.
trait Checked {
    fn check(&self, i: usize) -> Result<(), AccessError>;
    fn check_len(&self, got: usize) -> Result<(), AccessError>;
}

impl<T: ShmSafe> Checked for Cells<T> {
    fn check(&self, i: usize) -> Result<(), AccessError> {
        if i < self.len() { Ok(()) } else { Err(AccessError::OutOfRange { index: i, len: self.len() }) }
    }

    fn check_len(&self, got: usize) -> Result<(), AccessError> {
        if got == self.len() { Ok(()) } else { Err(AccessError::WrongLength { len: self.len(), got }) }
    }
}

// ----- as handles ----------------------------------------------------------

/// An array as a handle: its region and (for an [`Array`]) its lock's
/// eventfd, out of band. The lock's words are in the region.
#[derive(Serialize)]
struct WireRef<'a> {
    region: SerFd<'a>,
    len: u64,
    elem_size: u32,
    wake: Option<SerFd<'a>>,
}

#[derive(Deserialize)]
struct Wire {
    region: DeFd,
    len: u64,
    elem_size: u32,
    wake: Option<DeFd>,
}

fn ser<T, S: Serializer>(cells: &Cells<T>, wake: Option<BorrowedFd<'_>>, s: S) -> Result<S::Ok, S::Error> {
    let wire = WireRef {
        region: SerFd(cells.region().fd()),
        len: cells.len() as u64,
        elem_size: size_of::<T>() as u32,
        wake: wake.map(SerFd),
    };
    wire.serialize(s)
}

/// An array's elements as received (a region of `kind`), and its lock's
/// eventfd if it has a lock.
fn de<'de, T: ShmSafe, D: Deserializer<'de>>(d: D, kind: Kind) -> Result<(Cells<T>, Option<OwnedFd>), D::Error> {
    let wire = Wire::deserialize(d)?;
    if wire.elem_size as usize != size_of::<T>() {
        return Err(D::Error::custom("a shared array handle of a different element size"));
    }
    if wire.wake.is_some() != (kind == Kind::Array) {
        return Err(D::Error::custom("a locked and a lock-free shared array mixed up"));
    }
    let len = usize::try_from(wire.len).map_err(D::Error::custom)?;
    let cells = Cells::from_fd(wire.region.0, kind, len).map_err(D::Error::custom)?;
    Ok((cells, wire.wake.map(|w| w.0)))
}

/// Serializes as a handle: the region and the lock's eventfd travel out of
/// band.
impl<T: ShmSafe> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser(&self.inner.cells, Some(self.inner.lock.lock.raw().tokens_fd()), s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (cells, wake) = de::<T, D>(d, Kind::Array)?;
        let wake = wake.ok_or_else(|| D::Error::custom("a shared array handle without its lock"))?;
        Ok(Array { inner: Arc::new(Locked::new(cells, Some(wake)).map_err(D::Error::custom)?) })
    }
}

/// Serializes as a handle (see [`Array`]).
impl<T: ShmSafe> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.array.serialize(s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let array = Array::<T>::deserialize(d)?;
        if array.len() != 1 {
            return Err(D::Error::custom("a shared value handle holding an array"));
        }
        Ok(Value { array })
    }
}

/// Serializes as a handle: the region travels out of band.
impl<T: ShmSafe> Serialize for RawArray<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser(&self.cells, None, s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for RawArray<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (cells, _) = de::<T, D>(d, Kind::RawArray)?;
        Ok(RawArray { cells: Arc::new(cells) })
    }
}

/// Serializes as a handle (see [`RawArray`]).
impl<T: ShmSafe> Serialize for RawValue<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.array.serialize(s)
    }
}

impl<'de, T: ShmSafe> Deserialize<'de> for RawValue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let array = RawArray::<T>::deserialize(d)?;
        if array.len() != 1 {
            return Err(D::Error::custom("a shared value handle holding an array"));
        }
        Ok(RawValue { array })
    }
}

//! How every primitive travels: its shared region and its eventfd, both out
//! of band (see the crate's `handle` module), checked on arrival.

use std::os::fd::{BorrowedFd, OwnedFd};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::handle::{DeFd, SerFd};
use crate::shm::{Kind, Region};

#[derive(Serialize)]
struct WireRef<'a> {
    region: SerFd<'a>,
    wake: SerFd<'a>,
}

#[derive(Deserialize)]
struct Wire {
    region: DeFd,
    wake: DeFd,
}

/// Serializes a primitive's region and wake-up eventfd.
pub(super) fn serialize<S: Serializer>(
    region: &Region,
    wake: BorrowedFd<'_>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    WireRef { region: SerFd(region.fd()), wake: SerFd(wake) }.serialize(serializer)
}

/// Receives a primitive's region (mapped only if it was made for `kind`,
/// holds at least `words` words and is sealed) and its wake-up eventfd.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
    kind: Kind,
    words: usize,
) -> Result<(Region, OwnedFd), D::Error> {
    let wire = Wire::deserialize(deserializer)?;
    let region = Region::from_fd(wire.region.0, kind, words).map_err(D::Error::custom)?;
    Ok((region, wire.wake.0))
}

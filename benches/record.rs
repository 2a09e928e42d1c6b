//! The ~100-byte struct the queue bench and the instruction-count guard
//! both move (one definition, so their rows measure the same item).

use serde::{Deserialize, Serialize};

/// A ~100-byte record, once encoded.
#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct Record {
    id: u64,
    name: String,
    values: [u32; 8],
}

pub(crate) fn record() -> Record {
    Record { id: 7, name: "a record of about one hundred bytes, once encoded".into(), values: [1, 2, 3, 4, 5, 6, 7, 8] }
}

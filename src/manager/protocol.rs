//! The messages between proxies and the manager server.
//!
//! Every frame on a manager connection is one bincode-encoded message:
//! [`Request`]s from a process to the server, [`Reply`]s back. Requests
//! with a non-zero id get exactly one reply with that id (unless cancelled
//! first); id 0 is for messages nobody waits on (reference counting,
//! cancellation). Replies may come in any order: a call that waits (a
//! queue's `get`, a lock's `acquire`) does not hold up the calls behind it.
//!
//! Names and argument bytes are `Cow`s: a caller encodes a request from
//! what it borrows, and the server decodes one borrowing from the frame.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::error::RemoteError;

/// The largest frame either side accepts: a reply a process takes from its
/// manager, a request the server takes from a client.
pub(crate) const MAX_FRAME: usize = 1 << 30;

/// An object's number in its server (never reused while the server runs).
pub(crate) type ObjectId = u64;

/// A process → server message.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request<'a> {
    /// 0: no reply wanted.
    pub(crate) id: u64,
    #[serde(borrow)]
    pub(crate) op: Op<'a>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Op<'a> {
    /// Make an object of a registered type from encoded arguments; the
    /// caller's connection holds the first reference. Replies with its id.
    Create {
        #[serde(borrow)]
        type_name: Cow<'a, str>,
        #[serde(borrow)]
        args: Cow<'a, [u8]>,
    },
    /// Call `method` with encoded arguments; replies with the encoded result.
    Call {
        object: ObjectId,
        #[serde(borrow)]
        method: Cow<'a, str>,
        #[serde(borrow)]
        args: Cow<'a, [u8]>,
    },
    /// Abandon the call with this id if it is still waiting (its future was
    /// dropped). A call that already finished is not undone here.
    Cancel { call: u64 },
    /// A proxy is being sent to another process: hold one more reference,
    /// in transit under `token`, until some process adopts it.
    Lend { object: ObjectId, token: u64 },
    /// A proxy arrived here: take over the reference lent under `token`.
    /// A token nobody lent is refused (its lend may still be on its way
    /// over the lender's connection: it is waited for, holding nothing,
    /// for a while and in a bounded number per connection).
    Adopt { object: ObjectId, token: u64 },
    /// The arguments of the call that follows (or of the object just made,
    /// `object`) name these objects of this server: proxies being stored in
    /// `object`. It holds a reference to each for as long as it lives.
    Pin { object: ObjectId, refs: Vec<ObjectId> },
    /// A proxy that was stored in an object of this server arrived here
    /// (read back from it): one more reference, for this connection.
    Hold { object: ObjectId },
    /// A proxy (the last copy of it in this process) was dropped.
    Release { object: ObjectId },
    /// The type name an object was made as (for checking a proxy's type).
    TypeOf { object: ObjectId },
    /// The object the server serves under `name` (made at its start): a
    /// reference for this connection, and `(id, type name)` in reply.
    Lookup {
        #[serde(borrow)]
        name: Cow<'a, str>,
    },
    /// How many objects the server holds (a diagnostic).
    Count,
    /// Stop the server (its objects die with it). Replies first.
    Shutdown,
    /// More requests follow at once (a burst of calls is being written in
    /// parts): the server spins for them rather than parking.
    More,
}

/// A server → process message.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Reply {
    pub(crate) id: u64,
    pub(crate) result: Result<Vec<u8>, RemoteError>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    #[test]
    fn requests_decode_borrowing_from_the_frame() {
        let args = [1u8, 2, 3];
        let request = Request { id: 7, op: Op::Call { object: 3, method: "add".into(), args: args[..].into() } };
        let (bytes, _) = codec::encode(&request).unwrap();
        let back: Request<'_> = codec::decode_borrowed(&bytes).unwrap();
        assert_eq!(back.id, 7);
        match back.op {
            Op::Call { object: 3, method: Cow::Borrowed("add"), args: Cow::Borrowed(a) } => assert_eq!(a, args),
            other => panic!("{other:?}"),
        }
        // A short frame, a trailing byte: errors, never a panic.
        assert!(codec::decode_borrowed::<Request<'_>>(&bytes[..bytes.len() - 1]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(codec::decode_borrowed::<Request<'_>>(&long).is_err());
    }
}

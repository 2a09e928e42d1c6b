//! Handles travel as file descriptors.
//!
//! Every `ipc` handle (a [`Connection`](crate::Connection) today; locks,
//! queues and shared memory as they arrive) is a few file descriptors plus
//! plain data. When a value containing handles is encoded for a transfer
//! (a spawn argument, a child's return value, [`Connection::send`]), the
//! transfer installs an *encoding context*: each handle's `Serialize`
//! duplicates its descriptors into the context's out-of-band list and writes
//! only their indices. The transport then sends the bytes and the descriptors
//! together (`sendmsg` + `SCM_RIGHTS`). On the other side the received
//! descriptors are installed in a *decoding context* from which handle
//! `Deserialize` impls take them back by index, each exactly once.
//!
//! Outside such a context (for example `serde_json::to_string(&connection)`)
//! serializing a handle fails with an error that says where handles may go;
//! it never silently produces a value that cannot be used.
//!
//! [`Connection::send`]: crate::Connection::send

use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sys;

/// The message a serializer gets when a handle is serialized outside a transfer.
pub(crate) const OUTSIDE_CONTEXT: &str = "an ipc handle can only be serialized by an ipc transfer \
     (a spawn argument or return value, or Connection::send), which carries its file descriptors";

thread_local! {
    static ENCODING: RefCell<Option<Vec<OwnedFd>>> = const { RefCell::new(None) };
    static DECODING: RefCell<Option<Vec<Option<OwnedFd>>>> = const { RefCell::new(None) };
}

/// Runs `f` with an encoding context installed; returns its result and the
/// descriptors that handles pushed, in index order.
///
/// Contexts nest: an inner transfer (rare, but a `Serialize` impl may encode a
/// nested message) gets its own list and the outer one is restored after.
pub(crate) fn with_encoding<R>(f: impl FnOnce() -> R) -> (R, Vec<OwnedFd>) {
    /// Puts the outer context back, also when `f` panics.
    struct Restore(Option<Vec<OwnedFd>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            ENCODING.with(|c| *c.borrow_mut() = outer);
        }
    }
    let restore = Restore(ENCODING.with(|c| c.borrow_mut().replace(Vec::new())));
    let value = f();
    let mine = ENCODING.with(|c| c.borrow_mut().take()).unwrap_or_default();
    drop(restore);
    (value, mine)
}

/// Runs `f` with a decoding context holding `fds`; descriptors that no handle
/// claimed are closed when the context ends.
pub(crate) fn with_decoding<R>(fds: Vec<OwnedFd>, f: impl FnOnce() -> R) -> R {
    let table = fds.into_iter().map(Some).collect();
    let outer = DECODING.with(|c| c.borrow_mut().replace(table));
    /// Puts the outer context back (closing unclaimed descriptors), also on panic.
    struct Restore(Option<Vec<Option<OwnedFd>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            DECODING.with(|c| *c.borrow_mut() = outer);
        }
    }
    let _restore = Restore(outer);
    f()
}

/// Serializes one descriptor of a handle: duplicates it into the current
/// encoding context and writes its index.
///
/// # Errors
///
/// Fails outside a transfer, or when the descriptor cannot be duplicated.
pub(crate) fn serialize_fd<S: Serializer>(fd: &impl AsFd, serializer: S) -> Result<S::Ok, S::Error> {
    let index = ENCODING.with(|c| -> Result<u32, S::Error> {
        let mut slot = c.borrow_mut();
        let list = slot.as_mut().ok_or_else(|| S::Error::custom(OUTSIDE_CONTEXT))?;
        let dup = sys::dup_cloexec(fd.as_fd()).map_err(S::Error::custom)?;
        let index = u32::try_from(list.len()).map_err(S::Error::custom)?;
        list.push(dup);
        Ok(index)
    })?;
    index.serialize(serializer)
}

/// Deserializes one descriptor of a handle by taking it from the current
/// decoding context.
///
/// # Errors
///
/// Fails outside a transfer, on an index the message did not carry, or on an
/// index already taken (a malformed or hostile message).
pub(crate) fn deserialize_fd<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OwnedFd, D::Error> {
    let index = u32::deserialize(deserializer)? as usize;
    DECODING.with(|c| {
        let mut slot = c.borrow_mut();
        let table = slot.as_mut().ok_or_else(|| D::Error::custom(OUTSIDE_CONTEXT))?;
        match table.get_mut(index) {
            None => Err(D::Error::custom(format_args!(
                "handle refers to descriptor {index} but the message carried {}",
                table.len()
            ))),
            Some(fd) => fd.take().ok_or_else(|| D::Error::custom(format_args!("descriptor {index} claimed twice"))),
        }
    })
}

/// A borrowed descriptor that serializes through the encoding context; the
/// building block of every handle's `Serialize`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SerFd<'a>(pub(crate) std::os::fd::BorrowedFd<'a>);

impl Serialize for SerFd<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_fd(&self.0, serializer)
    }
}

/// A descriptor taken from the decoding context; the building block of every
/// handle's `Deserialize`.
#[derive(Debug)]
pub(crate) struct DeFd(pub(crate) OwnedFd);

impl<'de> Deserialize<'de> for DeFd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_fd(deserializer).map(DeFd)
    }
}

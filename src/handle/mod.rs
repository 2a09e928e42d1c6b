//! Handles travel as file descriptors.
//!
//! Every `ipc` handle (a [`Connection`](crate::pipe::Connection), a lock or
//! another primitive, a queue, a shared value or block, a manager proxy) is
//! a few file descriptors plus plain data. When a value containing handles is encoded for a transfer
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
//! [`Connection::send`]: crate::pipe::Connection::send
//!
//! # What this room holds and may use
//!
//! Handles' descriptor transport, and nothing else: it uses only `sys`.
//! `codec` installs its contexts; every module with a handle type uses its
//! `SerFd`/`DeFd`.

use std::cell::{Cell, RefCell};
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
    /// Set while user code runs in the middle of a transfer: the contexts
    /// above are hidden from it. A plain flag (no destructor), so setting
    /// it around every pool task costs next to nothing.
    static OUTSIDE: Cell<bool> = const { Cell::new(false) };
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
    let inside = Outside::set(false);
    let value = f();
    drop(inside);
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
    let _inside = Outside::set(false);
    f()
}

/// Runs `f` as if no transfer were under way, restoring the current one
/// after (also when `f` panics): user code called in the middle of a
/// transfer (a pool task between its argument's decode and its result's
/// encode) serializes handles as it would anywhere else. A transfer `f`
/// starts itself works as usual.
pub(crate) fn outside_transfer<R>(f: impl FnOnce() -> R) -> R {
    let _restore = Outside::set(true);
    f()
}

/// Puts [`OUTSIDE`] back as it was.
struct Outside(bool);

impl Outside {
    fn set(outside: bool) -> Outside {
        Outside(OUTSIDE.with(|o| o.replace(outside)))
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        OUTSIDE.with(|o| o.set(self.0));
    }
}

/// The contexts installed are not for the code running now (see
/// [`outside_transfer`]).
fn outside() -> bool {
    OUTSIDE.with(Cell::get)
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
        let list = slot.as_mut().filter(|_| !outside()).ok_or_else(|| S::Error::custom(OUTSIDE_CONTEXT))?;
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
        let table = slot.as_mut().filter(|_| !outside()).ok_or_else(|| D::Error::custom(OUTSIDE_CONTEXT))?;
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

#[cfg(test)]
mod tests {
    use std::os::fd::BorrowedFd;

    use super::*;

    fn encode_fd(fd: BorrowedFd<'_>) -> Result<Vec<u8>, String> {
        bincode::serde::encode_to_vec(SerFd(fd), bincode::config::standard()).map_err(|e| e.to_string())
    }

    #[test]
    fn code_outside_a_transfer_does_not_see_its_context() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (results, fds) = with_encoding(|| {
            let first = encode_fd(a.as_fd());
            // User code in the middle of the transfer: as if none were under way...
            let hidden = outside_transfer(|| encode_fd(a.as_fd()));
            // ...unless it starts one of its own.
            let (nested, nested_fds) = outside_transfer(|| with_encoding(|| encode_fd(a.as_fd())));
            let last = encode_fd(a.as_fd());
            (first, hidden, nested, nested_fds.len(), last)
        });
        let (first, hidden, nested, nested_fds, last) = results;
        assert!(first.is_ok() && last.is_ok());
        assert!(hidden.unwrap_err().contains("can only be serialized by an ipc transfer"));
        assert!(nested.is_ok());
        assert_eq!((nested_fds, fds.len()), (1, 2), "the nested transfer's descriptor stayed its own");
    }
}

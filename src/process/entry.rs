//! Turning a target into relative addresses and back.
//!
//! What a child runs travels as an [`Entry`]: the address of a trampoline
//! monomorphised for the target's argument and result types, and the
//! address of the target function itself, both relative to a fixed anchor
//! function, which is stable under ASLR because parent and child run the
//! very same file (`/proc/self/exe`, checked by [`binary_check`]).
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::os::fd::OwnedFd;

use serde::{Deserialize, Serialize};

use super::target::TrampolineResult;

/// The fixed point addresses are measured from.
#[inline(never)]
fn anchor() -> u8 {
    std::hint::black_box(1)
}

/// A second fixed point: its distance from [`anchor`] identifies the binary.
#[inline(never)]
fn witness() -> u8 {
    std::hint::black_box(2)
}

fn anchor_address() -> usize {
    anchor as fn() -> u8 as usize
}

/// The distance of the witness from the anchor (equal in parent and child
/// exactly when they run the same executable).
pub(crate) fn binary_check() -> isize {
    (witness as fn() -> u8 as usize).wrapping_sub(anchor_address()) as isize
}

/// The target a trampoline calls: the address of a `fn(A) -> T`.
///
/// Made only by [`Entry::run`], from an entry that [`Entry::new`] paired
/// with a trampoline of these very types, so [`Callee::get`] is safe.
#[repr(transparent)]
pub(crate) struct Callee<A, T> {
    address: usize,
    _types: PhantomData<fn(A) -> T>,
}

impl<A, T> Callee<A, T> {
    /// The target function.
    pub(crate) fn get(&self) -> fn(A) -> T {
        // SAFETY: a `Callee<A, T>` reaches only the trampoline that
        // `Entry::new` paired with a `fn(A) -> T` (its parameter type says
        // so), and `Entry::run` made it from that function's offset resolved
        // in the same executable image (see `Entry::run`), so `address` is
        // that function in this process, of exactly this type.
        unsafe { std::mem::transmute::<usize, fn(A) -> T>(self.address) }
    }
}

/// The type of every trampoline: the target, its encoded argument and the
/// argument's descriptors in; the encoded result and its descriptors out.
pub(crate) type Trampoline<A, T> = fn(Callee<A, T>, Vec<u8>, Vec<OwnedFd>) -> TrampolineResult;

/// A trampoline with its types erased, as [`Entry::run`] calls it.
type Erased = fn(usize, Vec<u8>, Vec<OwnedFd>) -> TrampolineResult;

/// What a spawn or a pool job runs, as it travels: a trampoline and the
/// target it calls, each an offset from the anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    trampoline: isize,
    target: isize,
}

impl Entry {
    /// `target`, to be run by `trampoline` (which takes its types).
    pub(crate) fn new<A, T>(trampoline: Trampoline<A, T>, target: fn(A) -> T) -> Entry {
        let offset = |address: usize| address.wrapping_sub(anchor_address()) as isize;
        Entry { trampoline: offset(trampoline as usize), target: offset(target as usize) }
    }

    /// Runs the trampoline on the target, in this process.
    ///
    /// Only for an entry that [`Entry::new`] made in a process running the
    /// same executable (verified by [`binary_check`] at the child's start):
    /// the parent of a child, the pool of a worker.
    pub(crate) fn run(self, arg: Vec<u8>, fds: Vec<OwnedFd>) -> TrampolineResult {
        let at = |offset: isize| anchor_address().wrapping_add(offset as usize);
        // SAFETY: the parent computed the offset from a real
        // `Trampoline<A, T>` in the same executable image (the child checked
        // `binary_check` and was exec'd from, or forked off, the parent's
        // /proc/self/exe) and code is position-independent relative to the
        // anchor, so the address is that function here. Calling it as
        // `Erased` is sound: its first parameter, `Callee<A, T>`, is a
        // `repr(transparent)` wrapper of a `usize` (ABI-compatible with it),
        // and the rest of the signature is the same.
        let trampoline = unsafe { std::mem::transmute::<usize, Erased>(at(self.trampoline)) };
        trampoline(at(self.target), arg, fds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(arg: Vec<u8>) -> Vec<u8> {
        arg.iter().map(|b| b * 2).collect()
    }

    fn call(target: Callee<Vec<u8>, Vec<u8>>, arg: Vec<u8>, fds: Vec<OwnedFd>) -> TrampolineResult {
        Ok((target.get()(arg), fds))
    }

    #[test]
    fn an_entry_runs_its_target_through_its_trampoline() {
        let entry = Entry::new(call, double);
        let (bytes, _) = entry.run(vec![1, 2, 3], Vec::new()).unwrap();
        assert_eq!(bytes, [2, 4, 6]);
        // A closure that captures nothing is a function too.
        let entry = Entry::new(call, |arg: Vec<u8>| arg.into_iter().rev().collect());
        assert_eq!(entry.run(vec![1, 2, 3], Vec::new()).unwrap().0, [3, 2, 1]);
    }
}

//! Turning a target's type into a relative address and back.
#![allow(unsafe_code)]

use super::target::Trampoline;

/// The fixed point trampoline addresses are measured from.
#[inline(never)]
fn anchor() -> u8 {
    std::hint::black_box(1)
}

/// A second fixed point: its distance from [`anchor`] identifies the binary.
#[inline(never)]
fn witness() -> u8 {
    std::hint::black_box(2)
}

/// The distance of `f` from the anchor.
pub(crate) fn offset_of(f: Trampoline) -> isize {
    (f as usize).wrapping_sub(anchor as fn() -> u8 as usize) as isize
}

/// The distance of the witness from the anchor (equal in parent and child
/// exactly when they run the same executable).
pub(crate) fn binary_check() -> isize {
    (witness as fn() -> u8 as usize).wrapping_sub(anchor as fn() -> u8 as usize) as isize
}

/// Recovers a trampoline from its offset.
///
/// Only call this with an offset that [`offset_of`] computed in a process
/// running the same executable, verified by [`binary_check`].
pub(crate) fn trampoline_at(offset: isize) -> Trampoline {
    let addr = (anchor as fn() -> u8 as usize).wrapping_add(offset as usize);
    // SAFETY: the parent computed `offset` from a real `Trampoline` in the same
    // executable image (the bootstrap verified `binary_check`, and the child was
    // exec'd from the parent's /proc/self/exe), and code is position-independent
    // relative to the anchor, so `addr` is that very function in this process.
    unsafe { std::mem::transmute::<usize, Trampoline>(addr) }
}

/// Makes the value of a zero-sized target type.
pub(crate) fn conjure<F: Copy>() -> F {
    const { assert!(std::mem::size_of::<F>() == 0, "an ipc target must be a fn item or a non-capturing closure") };
    // SAFETY: F is zero-sized (asserted at compile time), so reading it from a
    // dangling, well-aligned pointer reads no memory; it is Copy and implements `Fn` (stable Rust only lets fn items
    // and closures do that), and such types carry no invariant beyond their
    // type, so a value made from nothing is the value the parent had.
    unsafe { std::ptr::NonNull::<F>::dangling().as_ptr().read() }
}

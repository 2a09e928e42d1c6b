//! Typed elements in a region: [`ShmSafe`] (what may live in shared memory)
//! and `Cells<T>`, the elements of an `Array` or `RawArray`, read and
//! written by copies that make no reference to the shared bytes. Every
//! pointer into a region's elements is made here.

use std::io;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::os::fd::OwnedFd;

use super::{Kind, Region};

/// A type that may live in memory other processes read and write.
///
/// Derive it for your own `#[repr(C)]` structs with
/// [`#[derive(ipc::ShmSafe)]`](macro@crate::ShmSafe); the derive checks the
/// `repr` and requires every field to be `ShmSafe` (each failure is a
/// compile error at its culprit).
///
/// # Safety
///
/// Implement it (or derive it) only for a type that:
///
/// - has a layout every process agrees on: a primitive, an array of
///   `ShmSafe`, or a `#[repr(C)]` / `#[repr(transparent)]` struct of
///   `ShmSafe` fields;
/// - is valid for **every** bit pattern, since another process (or a
///   process killed mid-write) may leave any bytes there: no `bool`,
///   `char`, enum, `NonZero*` or reference;
/// - holds no pointer, reference or file descriptor: addresses and
///   descriptor numbers mean nothing in another process (store offsets and
///   indices instead).
///
/// # Examples
///
/// ```
/// #[derive(Clone, Copy, Debug, PartialEq, ipc::ShmSafe)]
/// #[repr(C)]
/// struct Point {
///     x: f64,
///     y: f64,
/// }
///
/// # fn main() -> ipc::Result<()> {
/// let p = ipc::Value::new(Point { x: 1.0, y: 2.0 })?;
/// p.blocking_get_lock()?.y = 3.0;
/// assert_eq!(p.blocking_load()?, Point { x: 1.0, y: 3.0 });
/// # Ok(()) }
/// ```
pub unsafe trait ShmSafe: Copy + Send + Sync + 'static {}

macro_rules! shm_safe {
    ($($t:ty),*) => {
        $(
            // SAFETY: a primitive number: every bit pattern is a value, and
            // it holds no pointer or descriptor.
            unsafe impl ShmSafe for $t {}
        )*
    };
}

shm_safe!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

// SAFETY: an array of ShmSafe elements has their layout repeated, with no
// padding between elements and nothing else in it.
unsafe impl<T: ShmSafe, const N: usize> ShmSafe for [T; N] {}

/// `len` elements of `T` in a shared region, from byte `start` on.
pub(crate) struct Cells<T> {
    region: Region,
    start: usize,
    len: usize,
    _t: PhantomData<T>,
}

impl<T> Cells<T> {
    /// How many elements there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The region the elements live in (its descriptor travels as a handle).
    pub(crate) fn region(&self) -> &Region {
        &self.region
    }
}

impl<T: ShmSafe> Cells<T> {
    /// Where the elements start: after the lock's words (on a cache line of
    /// their own) in an [`Array`]'s region, at 0 in a [`RawArray`]'s.
    pub(crate) fn start(kind: Kind) -> usize {
        match kind {
            // A multiple of T's alignment (both are powers of two).
            Kind::Array => 64.max(align_of::<T>()),
            _ => 0,
        }
    }

    pub(crate) fn words_for(kind: Kind, len: usize) -> io::Result<usize> {
        len.checked_mul(size_of::<T>())
            .and_then(|b| b.checked_add(Cells::<T>::start(kind)))
            .filter(|&b| b <= isize::MAX as usize / 2)
            .map(|b| b.div_ceil(4).max(1))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the array is too large"))
    }

    /// `len` zeroed elements (all-zero bytes are a valid T) in a new region.
    pub(crate) fn zeroed(kind: Kind, len: usize) -> io::Result<Cells<T>> {
        let region = Region::new(kind, Cells::<T>::words_for(kind, len)?)?;
        Ok(Cells { region, start: Cells::<T>::start(kind), len, _t: PhantomData })
    }

    pub(crate) fn new(kind: Kind, values: &[T]) -> io::Result<Cells<T>> {
        let cells = Cells::zeroed(kind, values.len())?;
        for (i, v) in values.iter().enumerate() {
            cells.store(i, *v);
        }
        Ok(cells)
    }

    pub(crate) fn from_fd(fd: OwnedFd, kind: Kind, len: usize) -> io::Result<Cells<T>> {
        let region = Region::from_fd(fd, kind, Cells::<T>::words_for(kind, len)?)?;
        Ok(Cells { region, start: Cells::<T>::start(kind), len, _t: PhantomData })
    }

    fn ptr(&self) -> *mut T {
        // SAFETY: `start` is within the mapping, which `words_for` sized
        // for `start` plus `len` elements (checked at creation or receipt).
        unsafe { self.region.as_ptr().add(self.start) }.cast()
    }

    /// Element `i` (in range), copied out.
    pub(crate) fn load(&self, i: usize) -> T {
        debug_assert!(i < self.len);
        // SAFETY: `i < len` keeps the element inside the mapping (sized for
        // `start` plus `len` elements at creation or receipt, sealed against
        // shrinking); the mapping is page-aligned, `start` is a multiple of
        // T's alignment and T's size is a multiple of it, so the pointer is
        // aligned. Any bit pattern is a valid T (ShmSafe), so whatever a
        // peer wrote is one; the volatile read makes no reference to the
        // shared bytes.
        unsafe { self.ptr().add(i).read_volatile() }
    }

    /// Stores `v` as element `i` (in range).
    pub(crate) fn store(&self, i: usize, v: T) {
        debug_assert!(i < self.len);
        // SAFETY: as in `load`: in bounds and aligned; a volatile write makes
        // no reference to the shared bytes.
        unsafe { self.ptr().add(i).write_volatile(v) }
    }

    /// The elements as a slice.
    ///
    /// # Safety
    ///
    /// Nothing may write them while the borrow lives: the caller holds the
    /// lock every writer of these elements takes (an `Array`'s).
    pub(crate) unsafe fn as_slice(&self) -> &[T] {
        // SAFETY: in bounds and aligned as in `load`, for all `len`
        // elements; any bit pattern is a valid T; the caller guarantees no
        // writer while the borrow lives.
        unsafe { std::slice::from_raw_parts(self.ptr(), self.len) }
    }

    /// The elements as a mutable slice.
    ///
    /// # Safety
    ///
    /// As [`as_slice`](Cells::as_slice), and no other borrow of them may
    /// live at the same time, in this process or another: the caller holds
    /// the lock, and is the only holder of a borrow through it.
    #[allow(clippy::mut_from_ref)] // the exclusivity is the lock's, across processes
    pub(crate) unsafe fn as_mut_slice(&self) -> &mut [T] {
        // SAFETY: as in `as_slice`; the caller guarantees exclusivity.
        unsafe { std::slice::from_raw_parts_mut(self.ptr(), self.len) }
    }
}

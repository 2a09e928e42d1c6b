//! Shared-memory regions: anonymous `memfd` files mapped shared, handing out
//! atomic words that every process holding the region sees.
//!
//! A region vanishes when the last process holding it exits, so a crash
//! leaks nothing (only named `SharedMemory` will need a resource tracker).
//! Regions are sealed against resizing at creation, and a region received
//! from a peer is mapped only if it carries that seal and is as large as the
//! receiver needs, so no peer can make us fault (SIGBUS) on a word.
//!
//! Every region is made for one [`Kind`] of object, which is its memfd's
//! name (fixed at creation; the kernel reports it). A region received as a
//! handle is mapped only as the kind it was made for, so no mix-up of
//! handles — a lying or garbled message, or one decoded as the wrong type —
//! can make one object's words another's: an array's elements can never be
//! taken for a lock's words, nor a locked array for a lock-free one.
//!
//! # What this room holds and may use
//!
//! Anonymous shared regions, their words and their typed elements
//! (`cells.rs`: [`ShmSafe`] and the copies in and out of an array's
//! elements): it uses only `sys` and `loom`; `sync`, `queue`, `shared` and
//! `process` (the tracker's table) build on it. Every pointer into a
//! region is made in this room.
#![allow(unsafe_code)]

use crate::loom::{AtomicU32, AtomicU64};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use memmap2::MmapRaw;

use crate::sys;

mod cells;

pub(crate) use cells::Cells;
pub use cells::ShmSafe;

/// What a region was made for: its memfd's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Lock,
    RLock,
    Semaphore,
    Event,
    Condition,
    Barrier,
    /// A queue's ring.
    Queue,
    /// An `Array`'s (or `Value`'s) lock words and elements.
    Array,
    /// A `RawArray`'s (or `RawValue`'s) elements.
    RawArray,
    /// The resource tracker's table.
    Tracker,
}

impl Kind {
    fn name(self) -> &'static std::ffi::CStr {
        match self {
            Kind::Lock => c"ipc-lock",
            Kind::RLock => c"ipc-rlock",
            Kind::Semaphore => c"ipc-semaphore",
            Kind::Event => c"ipc-event",
            Kind::Condition => c"ipc-condition",
            Kind::Barrier => c"ipc-barrier",
            Kind::Queue => c"ipc-queue",
            Kind::Array => c"ipc-array",
            Kind::RawArray => c"ipc-raw-array",
            Kind::Tracker => c"ipc-tracker",
        }
    }
}

/// A mapped, sealed memfd region of 32-bit atomic words.
#[derive(Debug)]
pub(crate) struct Region {
    fd: OwnedFd,
    map: MmapRaw,
    words: usize,
}

impl Region {
    /// A new zero-filled region of `words` atomic words, for `kind`.
    pub(crate) fn new(kind: Kind, words: usize) -> io::Result<Region> {
        let len = words.checked_mul(4).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let fd = sys::memfd_sealed(kind.name(), len)?;
        Region::map(fd, words)
    }

    /// Maps a region received from a peer; it must have been made for
    /// `kind`, hold at least `words` words and be sealed against shrinking.
    pub(crate) fn from_fd(fd: OwnedFd, kind: Kind, words: usize) -> io::Result<Region> {
        match sys::memfd_name(fd.as_fd())? {
            Some(name) if name == kind.name().to_bytes() => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a handle's shared region is not one made for {kind:?}"),
                ));
            }
        }
        let size = sys::sealed_size(fd.as_fd())?;
        if words.checked_mul(4).is_none_or(|need| size < need) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "shared region is smaller than its type needs"));
        }
        Region::map(fd, words)
    }

    fn map(fd: OwnedFd, words: usize) -> io::Result<Region> {
        let map = memmap2::MmapOptions::new().len(words * 4).map_raw(&fd)?;
        Ok(Region { fd, map, words })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Word `index` of the region.
    ///
    /// # Panics
    ///
    /// If `index` is out of range: callers index with constants of their own
    /// layout, checked against the size at creation or receipt.
    #[inline]
    pub(crate) fn word(&self, index: usize) -> &AtomicU32 {
        if index >= self.words {
            out_of_range(index, self.words);
        }
        // SAFETY: the mapping is page-aligned and `index < words` keeps the
        // 4-byte word inside it, so the pointer is aligned and in bounds. It
        // stays mapped while `self` lives, which bounds the returned lifetime.
        // Every process touches these words only through atomics, AtomicU32
        // has u32's layout, and every bit pattern is a valid u32; the memfd is
        // sealed against shrinking, so the page cannot disappear under us.
        unsafe { &*self.map.as_mut_ptr().cast::<AtomicU32>().add(index) }
    }

    /// The 64-bit word made of words `index` and `index + 1`.
    ///
    /// # Panics
    ///
    /// If `index` is odd or out of range (as for [`word`](Region::word)).
    #[inline]
    pub(crate) fn word64(&self, index: usize) -> &AtomicU64 {
        if index % 2 != 0 || index + 1 >= self.words {
            out_of_range(index, self.words);
        }
        // SAFETY: as in `word`: the mapping is page-aligned, so an even word
        // index is 8-byte aligned, and `index + 1 < words` keeps all 8 bytes
        // inside the mapping for as long as `self` lives. Words are only ever
        // accessed atomically, and every bit pattern is a valid u64.
        unsafe { &*self.map.as_mut_ptr().cast::<AtomicU32>().add(index).cast::<AtomicU64>() }
    }

    /// The first byte of the mapping (page-aligned, `len()` bytes, mapped
    /// for as long as `self` lives).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// The region's size in bytes.
    pub(crate) fn len(&self) -> usize {
        self.words * 4
    }

    /// Copies `src` into the region at byte `offset`; `false` (and nothing
    /// copied) if that would reach past the end.
    ///
    /// The bytes are plain memory shared with other processes: callers write
    /// only ranges their protocol gives them (a queue's free space, under
    /// its producer lock) and publish them with a release store.
    pub(crate) fn copy_in(&self, offset: usize, src: &[u8]) -> bool {
        if !matches!(offset.checked_add(src.len()), Some(end) if end <= self.len()) {
            return false;
        }
        // SAFETY: the range was checked to lie inside the mapping, which
        // lives as long as `self` and cannot shrink (sealed). We copy through
        // raw pointers and never make a Rust reference to shared bytes, so a
        // peer writing the same bytes at the same time (which only a broken
        // or hostile peer does) garbles data but breaks no aliasing rule of
        // ours; `src` is our own memory and cannot overlap the mapping.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.map.as_mut_ptr().add(offset), src.len()) };
        true
    }

    /// Copies bytes of the region from byte `offset` into `dst`; `false`
    /// (and nothing copied) if that would reach past the end.
    ///
    /// As for [`copy_in`](Region::copy_in), the protocol decides which
    /// ranges are stable (committed with a release store the caller
    /// acquired); a copy of a range a peer is changing is garbage, which the
    /// caller's checks and decoder reject.
    pub(crate) fn copy_out(&self, offset: usize, dst: &mut [u8]) -> bool {
        if !matches!(offset.checked_add(dst.len()), Some(end) if end <= self.len()) {
            return false;
        }
        // SAFETY: as in `copy_in`: in bounds of a live, sealed mapping;
        // raw-pointer copy into our own buffer, which cannot overlap it.
        unsafe { std::ptr::copy_nonoverlapping(self.map.as_ptr().add(offset), dst.as_mut_ptr(), dst.len()) };
        true
    }
}

/// The bytes of a memfd sealed against writes and shrinking, mapped
/// read-only: no process can change them, so they may be read as a slice.
#[derive(Debug)]
pub(crate) struct Frozen {
    map: memmap2::Mmap,
    len: usize,
}

impl Frozen {
    /// A new frozen memfd holding `bytes`.
    pub(crate) fn create(bytes: &[u8]) -> io::Result<OwnedFd> {
        sys::memfd_frozen(c"ipc-item", bytes)
    }

    /// Maps the first `len` bytes of a frozen memfd received from a peer; it
    /// must carry the seals and hold at least `len` (non-zero) bytes.
    pub(crate) fn map(fd: &OwnedFd, len: usize) -> io::Result<Frozen> {
        let size = sys::frozen_size(fd.as_fd())?;
        if len == 0 || size < len {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "frozen memfd is smaller than its record says"));
        }
        // SAFETY: the memfd is sealed against writes and shrinking (checked
        // above, and seals cannot be removed), so no process can change or
        // truncate the mapped bytes while the mapping lives: reading them as
        // a slice is sound and cannot fault. Populated up front: one call
        // instead of a page fault per page.
        let map = unsafe { memmap2::MmapOptions::new().len(len).populate().map(fd) }?;
        Ok(Frozen { map, len })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

/// The panic of a word index out of a region's range: out of line and cold,
/// so that the word accessors inlined into every fast path carry one compare
/// and a call they never make, not the formatting of a message.
#[cold]
#[inline(never)]
#[track_caller]
fn out_of_range(index: usize, words: usize) -> ! {
    panic!("word {index} of a {words}-word region")
}

#[cfg(all(test, not(ipc_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_word_out_of_range_panics_naming_it() {
        let region = Region::new(Kind::Event, 4).unwrap();
        region.word(3).store(7, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(region.word64(2).load(std::sync::atomic::Ordering::Relaxed) & 0xffff_ffff_0000_0000, 7 << 32);
        for (index, wide) in [(4, false), (3, true), (1, true)] {
            let panic = std::panic::catch_unwind(|| {
                if wide {
                    let _ = region.word64(index);
                } else {
                    let _ = region.word(index);
                }
            })
            .unwrap_err();
            let message = panic.downcast_ref::<String>().unwrap();
            assert_eq!(message, &format!("word {index} of a 4-word region"));
        }
    }
}

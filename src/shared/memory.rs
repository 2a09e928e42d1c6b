//! `SharedMemory`: named blocks of shared memory (Python's
//! `multiprocessing.shared_memory.SharedMemory`), by the same names.
//!
//! # Implementation notes
//!
//! A block is a POSIX shared-memory object (`shm_open`, a file in
//! `/dev/shm`), named as Python names them (`psm_` and eight hex digits
//! when no name is given), so either language attaches by name to what the
//! other created. Creation reserves the space (`fallocate`), so a full
//! `/dev/shm` is an error from `create`, not a SIGBUS later. Blocks created
//! by this process tree are recorded with the resource tracker (see
//! `tracker`) until they are unlinked or made persistent.
//!
//! A block's file can be shrunk by any process that opens it (`ftruncate`;
//! POSIX shared memory cannot be sealed as a memfd can), and touching a
//! mapped page past the new end raises SIGBUS. So the safe accessors copy
//! through the descriptor (`pread`/`pwrite`), where a shrunk block is a
//! short count, and the mapping is only lent out by the `unsafe` views,
//! whose callers take that on.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;

use memmap2::MmapRaw;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::AccessError;
use crate::handle::{DeFd, SerFd};
use crate::process::tracker;
use crate::sys;

/// A named block of shared memory (Python's `SharedMemory`).
///
/// [`create`](SharedMemory::create) makes a block (named at random unless
/// you name it); [`open`](SharedMemory::open) attaches to one by name, from
/// any process, Python's included. Dropping a handle (or
/// [`close`](SharedMemory::close)) detaches; [`unlink`](SharedMemory::unlink)
/// removes the name, once, from any process. A block this process tree
/// created and never unlinked is unlinked when the tree ends, even if its
/// processes are killed, unless it was made [`persistent`](SharedMemory::persist).
///
/// # Byte access
///
/// Other processes may write the block at any moment, so safe access copies
/// ([`read_at`](SharedMemory::read_at), [`write_at`](SharedMemory::write_at));
/// [`as_slice`](SharedMemory::as_slice) and
/// [`as_mut_slice`](SharedMemory::as_mut_slice) lend the bytes directly
/// and are `unsafe`: the caller promises that no other process (nor handle)
/// writes them while the slice lives, for example by holding a [`Lock`](crate::Lock)
/// every writer takes.
///
/// A block's file can be shrunk by any process that can open it
/// (`ftruncate`, which neither ipc nor Python does on its own; a Python
/// `os.ftruncate(shm._fd, n)` does). The safe accessors copy through the
/// descriptor, so a shrunk block is [`AccessError::Shrunk`], never a
/// SIGBUS; the `unsafe` views and [`as_ptr`](SharedMemory::as_ptr) touch
/// the mapping, and their caller must also rule that out.
///
/// # Examples
///
/// ```
/// # fn main() -> ipc::Result<()> {
/// let a = ipc::SharedMemory::create(None, 10)?;
/// a.write_at(0, &[22, 33, 44, 55, 100])?;
/// let b = ipc::SharedMemory::open(a.name())?;
/// let mut buf = [0u8; 5];
/// b.read_at(0, &mut buf)?;
/// assert_eq!(buf, [22, 33, 44, 55, 100]);
/// b.write_at(0, b"howdy")?;
/// a.read_at(0, &mut buf)?;
/// assert_eq!(&buf, b"howdy");
/// b.close();
/// a.unlink()?;
/// # Ok(()) }
/// ```
pub struct SharedMemory {
    name: String,
    fd: OwnedFd,
    map: MmapRaw,
    size: usize,
    /// The tracker's slot, for a block this handle created and still tracks.
    slot: Mutex<Option<usize>>,
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory").field("name", &self.name).field("size", &self.size).finish()
    }
}

/// `name` without a leading `/`, checked; and `/name` for the system calls.
fn paths(name: &str) -> io::Result<(String, CString)> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let invalid =
        |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("shared memory name {name:?}: {why}"));
    if bare.is_empty() {
        return Err(invalid("empty"));
    }
    if bare.contains('/') || bare.contains('\0') {
        return Err(invalid("contains '/' or NUL"));
    }
    if bare.len() > tracker::NAME_MAX {
        return Err(invalid("too long"));
    }
    let path = CString::new(format!("/{bare}")).map_err(|_| invalid("contains NUL"))?;
    Ok((bare.to_owned(), path))
}

/// A fresh name as Python makes them: `psm_` and eight hex digits.
fn random_name() -> io::Result<String> {
    let mut bytes = [0u8; 4];
    sys::random_bytes(&mut bytes)?;
    Ok(format!("psm_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

impl SharedMemory {
    /// Creates a block of `size` bytes (zero-filled) named `name`, or a
    /// fresh random name if `None` (Python's
    /// `SharedMemory(name, create=True, size=size)`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a size of 0 or a bad name (empty, containing `/`,
    /// longer than 248 bytes); `AlreadyExists` if the name is taken; the
    /// system's error if the space cannot be reserved (a full `/dev/shm`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 4096)?;
    /// assert!(shm.name().starts_with("psm_"));
    /// assert_eq!(shm.size(), 4096);
    /// let taken = ipc::SharedMemory::create(Some(shm.name()), 1).unwrap_err();
    /// assert_eq!(taken.kind(), std::io::ErrorKind::AlreadyExists);
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn create(name: Option<&str>, size: usize) -> io::Result<SharedMemory> {
        if size == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a shared memory block needs a size above 0"));
        }
        let (bare, path, fd) = loop {
            let candidate = match name {
                Some(n) => n.to_owned(),
                None => random_name()?,
            };
            let (bare, path) = paths(&candidate)?;
            match sys::shm_open(&path, true) {
                Ok(fd) => break (bare, path, fd),
                // A random name that happened to be taken: draw again.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && name.is_none() => {}
                Err(e) => return Err(e),
            }
        };
        let ready = sys::reserve(fd.as_fd(), size).and_then(|()| map(&fd, size, true));
        let map = match ready {
            Ok(map) => map,
            Err(e) => {
                let _ = sys::shm_unlink(&path);
                return Err(e);
            }
        };
        let slot = tracker::get().and_then(|t| t.register(&bare));
        Ok(SharedMemory { name: bare, fd, map, size, slot: Mutex::new(slot) })
    }

    /// Attaches to the block named `name` (Python's `SharedMemory(name)`),
    /// created by any process; its size is the block's.
    ///
    /// # Errors
    ///
    /// `NotFound` if there is no such block; `InvalidInput` for a bad name;
    /// `InvalidData` for an empty block.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let missing = ipc::SharedMemory::open("psm_no_such_block").unwrap_err();
    /// assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub fn open(name: &str) -> io::Result<SharedMemory> {
        let (name, path) = paths(name)?;
        let fd = sys::shm_open(&path, false)?;
        let size = sys::file_size(fd.as_fd())?;
        if size == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the shared memory block is empty"));
        }
        let map = map(&fd, size, false)?;
        Ok(SharedMemory { name, fd, map, size, slot: Mutex::new(None) })
    }

    /// The block's name, without a leading `/` (as Python reports it).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let name = format!("ipc_doc_name_{}", std::process::id());
    /// let shm = ipc::SharedMemory::create(Some(&name), 1)?;
    /// assert_eq!(shm.name(), name);
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The block's size in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 10)?;
    /// assert_eq!(shm.size(), 10);
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// The first byte of the block (mapped for as long as `self` lives).
    /// Reading or writing through it is the caller's risk, as with
    /// [`as_slice`](SharedMemory::as_slice).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 8)?;
    /// assert!(!shm.as_ptr().is_null());
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn as_ptr(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), AccessError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(AccessError::OutOfBounds { offset, len, size: self.size }),
        }
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfBounds`] if the range reaches past the end
    /// (nothing is copied).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 4)?;
    /// let mut buf = [9u8; 4];
    /// shm.read_at(0, &mut buf)?;
    /// assert_eq!(buf, [0; 4]);
    /// assert!(shm.read_at(2, &mut buf).is_err());
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "buf")]
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<(), AccessError> {
        self.check(offset, buf.len())?;
        // Through the descriptor: a block another process shrank is a short
        // read here, where a copy out of the mapping would fault.
        if sys::read_at(self.fd.as_fd(), buf, offset)? < buf.len() {
            return Err(AccessError::Shrunk { size: sys::file_size(self.fd.as_fd())? });
        }
        Ok(())
    }

    /// Copies `bytes` into the block at `offset`.
    ///
    /// # Errors
    ///
    /// [`AccessError::OutOfBounds`] if the range reaches past the end
    /// (nothing is written).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 4)?;
    /// shm.write_at(1, &[1, 2, 3])?;
    /// assert!(shm.write_at(1, &[1, 2, 3, 4]).is_err());
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "buf")]
    pub fn write_at(&self, offset: usize, bytes: &[u8]) -> Result<(), AccessError> {
        self.check(offset, bytes.len())?;
        // Through the descriptor, as in `read_at`; a write past the end
        // would grow a shrunk block again instead, so the size is checked
        // first (a shrink racing this write can only leave the block grown
        // back, with holes reading as zeros: never a fault).
        let size = sys::file_size(self.fd.as_fd())?;
        if size < offset + bytes.len() {
            return Err(AccessError::Shrunk { size });
        }
        sys::write_at(self.fd.as_fd(), bytes, offset)?;
        Ok(())
    }

    /// The block's bytes, lent directly.
    ///
    /// # Safety
    ///
    /// While the slice lives, no process (this one through another handle
    /// included) may write the block, nor shrink it (touching a page past a
    /// shrunk end raises SIGBUS).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 3)?;
    /// shm.write_at(0, b"abc")?;
    /// // SAFETY: nobody else has this block.
    /// assert_eq!(unsafe { shm.as_slice() }, b"abc");
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    pub unsafe fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping holds `size` bytes for as long as `self`
        // lives; the caller promises no writes and no shrinking while the
        // slice lives.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.size) }
    }

    /// The block's bytes, lent directly for writing.
    ///
    /// # Safety
    ///
    /// While the slice lives, no process (this one through another handle
    /// included) may read or write the block, nor shrink it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> ipc::Result<()> {
    /// let mut shm = ipc::SharedMemory::create(None, 3)?;
    /// // SAFETY: nobody else has this block.
    /// unsafe { shm.as_mut_slice() }.copy_from_slice(b"xyz");
    /// let mut buf = [0u8; 3];
    /// shm.read_at(0, &mut buf)?;
    /// assert_eq!(&buf, b"xyz");
    /// shm.unlink()?;
    /// # Ok(()) }
    /// ```
    pub unsafe fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` rules out other borrows
        // through this handle, the caller promises the rest.
        unsafe { std::slice::from_raw_parts_mut(self.as_ptr(), self.size) }
    }

    /// Detaches from the block (the same as dropping the handle); the block
    /// lives on until unlinked.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let a = ipc::SharedMemory::create(None, 1)?;
    /// ipc::SharedMemory::open(a.name())?.close();
    /// a.unlink()?;
    /// # Ok(()) }
    /// ```
    pub fn close(self) {}

    /// Removes the block's name: no process can attach any more, and the
    /// memory goes when the last handle to it closes. Call it once, from
    /// any process.
    ///
    /// # Errors
    ///
    /// `NotFound` if the name is already gone (a second unlink).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 1)?;
    /// shm.unlink()?;
    /// assert_eq!(shm.unlink().unwrap_err().kind(), std::io::ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub fn unlink(&self) -> io::Result<()> {
        let (_, path) = paths(&self.name)?;
        sys::shm_unlink(&path)?;
        self.untrack();
        Ok(())
    }

    /// Keeps the block after this process tree ends: the resource tracker
    /// forgets it (Python 3.13's `track=False`). Unlink it yourself when it
    /// is no longer needed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let shm = ipc::SharedMemory::create(None, 1)?;
    /// shm.persist();
    /// shm.unlink()?; // still ours to remove
    /// # Ok(()) }
    /// ```
    pub fn persist(&self) {
        self.untrack();
    }

    fn untrack(&self) {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = tracker::get() {
            t.unregister(&self.name, slot);
        }
    }
}

/// Maps a block; `populate` (for its creator, whose pages were just
/// reserved) maps every page in one call instead of a fault per page.
fn map(fd: &OwnedFd, size: usize, populate: bool) -> io::Result<MmapRaw> {
    let mut options = memmap2::MmapOptions::new();
    options.len(size);
    if populate {
        options.populate();
    }
    options.map_raw(fd)
}

#[derive(Serialize)]
struct WireRef<'a> {
    name: &'a str,
    size: u64,
    fd: SerFd<'a>,
}

#[derive(Deserialize)]
struct Wire {
    name: String,
    size: u64,
    fd: DeFd,
}

/// Serializes as a handle: the block's descriptor travels out of band, so
/// the receiver attaches even if the name was unlinked meanwhile. A
/// received handle is an attacher: it never unlinks on its own.
impl Serialize for SharedMemory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WireRef { name: &self.name, size: self.size as u64, fd: SerFd(self.fd.as_fd()) }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(d)?;
        let size = usize::try_from(wire.size).map_err(D::Error::custom)?;
        let (name, _) = paths(&wire.name).map_err(D::Error::custom)?;
        let actual = sys::file_size(wire.fd.0.as_fd()).map_err(D::Error::custom)?;
        if size == 0 || actual < size {
            return Err(D::Error::custom("a shared memory handle larger than its block"));
        }
        let map = map(&wire.fd.0, size, false).map_err(D::Error::custom)?;
        Ok(SharedMemory { name, fd: wire.fd.0, map, size, slot: Mutex::new(None) })
    }
}

//! The resource tracker: named shared-memory blocks created by this process
//! tree and never unlinked are unlinked when the tree ends, however it ends.
//!
//! # Implementation notes
//!
//! The tracker is a child process (a re-executed copy of the program, like
//! every child, but one that does not die with its parent) started by the
//! first spawn or the first named block, whichever comes first, and handed
//! to every child spawned after that. Its state is a table in a shared
//! region: creators write a block's name into a free slot themselves (no
//! messages, no round trip) and free the slot when they unlink it. Every
//! process of the tree holds the write end of a pipe whose read end only
//! the tracker holds; when the last process of the tree exits (SIGKILL
//! included) the kernel closes the last write end, the tracker reads
//! end-of-file, unlinks every name still in the table, and exits. It ignores
//! SIGINT, SIGTERM and SIGHUP (as Python's does), so a Ctrl-C that ends the
//! program does not end the tracker before it has cleaned up.
//!
//! A program without the dispatch (`#[ipc::main]`, `#[ipc::test]`,
//! `ipc::init()`) cannot start the tracker; its blocks are not tracked.
//!
//! It lives in `process`, beside the spawn that starts it and hands it to
//! every child; `shared` registers its blocks with it.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::handle::{DeFd, SerFd};
use crate::loom::Ordering;
use crate::shm::{Kind, Region};
use crate::sys;

/// The longest name a slot holds (Linux allows 255; Python's are 14).
pub(crate) const NAME_MAX: usize = SLOT_WORDS * 4 - 8;
const SLOTS: usize = 4096;
const SLOT_WORDS: usize = 64;
const HEADER_WORDS: usize = 16;
/// Header word: one past the highest slot ever claimed.
const HIGH: usize = 0;
// A slot's state word, then its name's length, then the name.
const FREE: u32 = 0;
const CLAIMED: u32 = 1;
const LIVE: u32 = 2;

/// This tree's tracker: its table, and our write end of its pipe.
#[derive(Debug)]
pub(crate) struct Tracker {
    table: Region,
    alive: OwnedFd,
}

static TRACKER: OnceLock<Option<Tracker>> = OnceLock::new();

/// The tree's tracker, started now if there is none yet (`None` if it
/// cannot be: no dispatch installed).
pub(crate) fn get() -> Option<&'static Tracker> {
    TRACKER.get_or_init(|| start().ok()).as_ref()
}

/// In a child: the tracker its parent handed down (before anything else).
pub(crate) fn adopt(table: OwnedFd, alive: OwnedFd) {
    if let Ok(table) = Region::from_fd(table, Kind::Tracker, table_words()) {
        let _ = TRACKER.set(Some(Tracker { table, alive }));
    }
}

/// Copies of the tracker's descriptors for a child (table, write end),
/// starting the tracker if need be.
pub(crate) fn for_child() -> Option<(OwnedFd, OwnedFd)> {
    let t = get()?;
    Some((sys::dup_cloexec(t.table.fd()).ok()?, sys::dup_cloexec(t.alive.as_fd()).ok()?))
}

fn table_words() -> usize {
    HEADER_WORDS + SLOTS * SLOT_WORDS
}

fn start() -> Result<Tracker, super::SpawnError> {
    let table = Region::new(Kind::Tracker, table_words())?;
    let (ended, alive) = sys::pipe()?;
    let arg = Arg { table: sys::dup_cloexec(table.fd())?, ended };
    super::spawn_detached(run, arg)?;
    Ok(Tracker { table, alive })
}

/// The tracker process: waits for the tree to end, then cleans up.
fn run(arg: Arg) {
    sys::ignore_termination_signals();
    let Ok(table) = Region::from_fd(arg.table, Kind::Tracker, table_words()) else { return };
    let _ = sys::wait_for_eof(arg.ended.as_fd());
    let t = Tracker { table, alive: arg.ended };
    for slot in 0..t.high() {
        if let Some(name) = t.live_name(slot) {
            let _ = sys::shm_unlink(&name);
        }
    }
}

impl Tracker {
    fn state(&self, slot: usize) -> &crate::loom::AtomicU32 {
        self.table.word(HEADER_WORDS + slot * SLOT_WORDS)
    }

    fn high(&self) -> usize {
        // Acquire: slots below it were claimed before it was raised.
        (self.table.word(HIGH).load(Ordering::Acquire) as usize).min(SLOTS)
    }

    fn name_at(&self, slot: usize) -> Option<Vec<u8>> {
        let base = HEADER_WORDS + slot * SLOT_WORDS;
        // Relaxed: read after the Acquire load of the slot's LIVE state.
        let len = self.table.word(base + 1).load(Ordering::Relaxed) as usize;
        if len == 0 || len > NAME_MAX {
            return None;
        }
        let mut name = vec![0u8; len];
        self.table.copy_out((base + 2) * 4, &mut name).then_some(name)
    }

    /// `/name` of a live slot, for `shm_unlink`.
    fn live_name(&self, slot: usize) -> Option<CString> {
        // Acquire: pairs with the Release that made the slot LIVE.
        if self.state(slot).load(Ordering::Acquire) != LIVE {
            return None;
        }
        let mut path = b"/".to_vec();
        path.extend(self.name_at(slot)?);
        CString::new(path).ok()
    }

    /// Records a block this tree created; its slot (`None`: the table is
    /// full or the name too long, and the block is not tracked).
    pub(crate) fn register(&self, name: &str) -> Option<usize> {
        if name.is_empty() || name.len() > NAME_MAX {
            return None;
        }
        for slot in 0..SLOTS {
            // Acquire on success: nothing of the slot's last owner's is read
            // here, but keeps the claim ordered before our writes below.
            if self.state(slot).compare_exchange(FREE, CLAIMED, Ordering::Acquire, Ordering::Relaxed).is_err() {
                continue;
            }
            let base = HEADER_WORDS + slot * SLOT_WORDS;
            // Relaxed: published by the Release store of LIVE below.
            self.table.word(base + 1).store(name.len() as u32, Ordering::Relaxed);
            self.table.copy_in((base + 2) * 4, name.as_bytes());
            // AcqRel: the high-water mark covers this slot before it is LIVE.
            self.table.word(HIGH).fetch_max(slot as u32 + 1, Ordering::AcqRel);
            // Release: the name and length above are visible to whoever sees LIVE.
            self.state(slot).store(LIVE, Ordering::Release);
            return Some(slot);
        }
        None
    }

    /// Forgets `name` (unlinked, or made persistent): its slot if known,
    /// otherwise every live slot holding it.
    pub(crate) fn unregister(&self, name: &str, slot: Option<usize>) {
        let slots = match slot {
            Some(s) => s..s + 1,
            None => 0..self.high(),
        };
        for s in slots {
            let holds =
                self.state(s).load(Ordering::Acquire) == LIVE && self.name_at(s).as_deref() == Some(name.as_bytes());
            if holds {
                // AcqRel: a slot is freed once, by whoever wins.
                let _ = self.state(s).compare_exchange(LIVE, FREE, Ordering::AcqRel, Ordering::Relaxed);
            }
        }
    }
}

/// The tracker process's argument: the table and the pipe's read end.
#[derive(Debug)]
struct Arg {
    table: OwnedFd,
    ended: OwnedFd,
}

impl Serialize for Arg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (SerFd(self.table.as_fd()), SerFd(self.ended.as_fd())).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Arg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (table, ended) = <(DeFd, DeFd)>::deserialize(d)?;
        Ok(Arg { table: table.0, ended: ended.0 })
    }
}

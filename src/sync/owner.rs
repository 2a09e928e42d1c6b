//! Who holds a lock: process identities that survive pid reuse, and
//! watching a holder so that its death wakes the waiters.
//!
//! An identity is a pid and the process's start time (from
//! `/proc/<pid>/stat`, in clock ticks after boot) packed into 64 bits: a
//! later process given the same pid has a later start time, so a lock word
//! naming a dead holder never comes to name a live one.

use std::hash::{Hash, Hasher};
use std::io;
use std::sync::OnceLock;

use crate::sys;
use crate::wake::LazyAsyncFd;

/// Bits of the start time kept; a pid (at most 2^22 on Linux) takes the rest.
const START_BITS: u32 = 42;
const START_MASK: u64 = (1 << START_BITS) - 1;

/// This process's identity (never 0).
#[inline]
pub(crate) fn me() -> u64 {
    static ME: OnceLock<u64> = OnceLock::new();
    *ME.get_or_init(|| {
        let pid = sys::getpid();
        // Without /proc we fall back to the pid alone (start 0); liveness
        // checks then cannot tell a reused pid, and say so by never calling
        // a process with a different start time the same one.
        let start = sys::process_start(pid).ok().flatten().unwrap_or(0);
        pack(pid, start)
    })
}

fn pack(pid: i32, start: u64) -> u64 {
    ((pid as u32 as u64) << START_BITS) | (start & START_MASK)
}

/// The pid in an identity.
pub(crate) fn pid(id: u64) -> i32 {
    (id >> START_BITS) as i32
}

/// Whether the process `id` names is gone: exited (a zombie counts), or its
/// pid now belongs to a later process. When `/proc` cannot be read, the
/// holder is presumed alive: a lock is never taken from a live holder.
pub(crate) fn is_dead(id: u64) -> bool {
    match sys::process_start(pid(id)) {
        Ok(None) => true,
        Ok(Some(start)) => start & START_MASK != id & START_MASK,
        Err(_) => false,
    }
}

/// The identity of the calling task (inside a tokio task) or thread, for a
/// re-entrant lock's owner within its process. Never 0.
pub(crate) fn local() -> u64 {
    if let Some(id) = tokio::task::try_id() {
        // `Id` hides its number but hashes it with one `write_u64`; catch it.
        let mut catch = Catch(0);
        id.hash(&mut catch);
        return catch.0 | 1 << 63;
    }
    thread_local! {
        static THREAD: u64 = {
            static NEXT: crate::loom::AtomicU64 = crate::loom::AtomicU64::new(1);
            // Relaxed: only uniqueness matters.
            NEXT.fetch_add(1, crate::loom::Ordering::Relaxed)
        };
    }
    THREAD.with(|t| *t)
}

/// A hasher that keeps the last `u64` written to it.
struct Catch(u64);

impl Hasher for Catch {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A pidfd on a lock's holder: readable once the holder has exited.
#[derive(Debug)]
pub(crate) struct Watch {
    id: u64,
    pidfd: LazyAsyncFd,
}

impl Watch {
    /// Watches the holder `id`; `None` if it is already gone.
    pub(crate) fn open(id: u64) -> io::Result<Option<Watch>> {
        let pidfd = match sys::pidfd_open(pid(id)) {
            Ok(fd) => fd,
            Err(e) if sys::is_no_such_process(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        // The pidfd names whichever process had the pid when it was opened.
        // If the holder is alive *after* that, it had the pid all along (a
        // pid names one process for that process's whole life), so the pidfd
        // is the holder's.
        if is_dead(id) {
            return Ok(None);
        }
        Ok(Some(Watch { id, pidfd: LazyAsyncFd::new(pidfd) }))
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.pidfd.fd()
    }

    /// The pidfd, for the wait engine's [`Also::Exit`](crate::wake::Also).
    pub(crate) fn pidfd(&self) -> &LazyAsyncFd {
        &self.pidfd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_name_this_process_and_see_the_dead() {
        let me = me();
        assert_eq!(pid(me), std::process::id() as i32);
        assert!(!is_dead(me));
        // Same pid, another start time: a reused pid.
        assert!(is_dead(me ^ 1));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let start = sys::process_start(child.id() as i32).unwrap();
        child.wait().unwrap();
        if let Some(start) = start {
            assert!(is_dead(pack(child.id() as i32, start)));
        }
    }

    #[test]
    fn local_identities_differ_between_threads_and_tasks() {
        let here = local();
        assert_eq!(here, local());
        let there = std::thread::spawn(local).join().unwrap();
        assert_ne!(here, there);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (a, b) = rt.block_on(async {
            let a = tokio::spawn(async { local() }).await.unwrap();
            let b = tokio::spawn(async { local() }).await.unwrap();
            (a, b)
        });
        assert_ne!(a, b);
        assert_ne!(a & 1 << 63, 0);
    }
}

//! How waits wait: descriptors registered lazily with the tokio reactor,
//! eventfd wake-up tokens, and the learned spin before parking.
//!
//! # Implementation notes
//!
//! Every cross-process wait is the same thing with a different condition: a
//! state word in shared memory ([`crate::shm::Region`]), a count of sleepers
//! beside it, and an eventfd in semaphore mode carrying wake-up *tokens*
//! ([`Tokens`]). A waiter checks the condition, registers as a sleeper,
//! checks again, and only then awaits a token; a waker changes the state,
//! then reads the sleeper count and posts tokens for the sleepers it wakes.
//! Each side's store-then-load pair is `SeqCst` (Dekker's pattern), so at
//! least one of them sees the other: no wake-up is lost. Tokens persist in
//! the eventfd, so a wake-up posted before the waiter sleeps is not lost
//! either, and a waiter that is cancelled after a token was posted for it
//! leaves the token for the next one (who re-checks the condition, and
//! sleeps again if it is a spurious one). A wake-one waker *claims* the
//! sleepers it posts for, taking them off the count ([`Sleeper::claim`]),
//! so a sleeper is woken once, however many releases or puts come before
//! it runs: under load (more processes than CPUs) a woken process may wait
//! milliseconds for a CPU, and a count that still showed it would have
//! cost a system call on each side for every one of them.
//!
//! Before registering, a waiter may spin on the state word for a learned
//! budget ([`Spinner`]): a cross-CPU wake-up through the kernel costs tens
//! of microseconds on these machines, a spin a fraction of one. Waits on
//! what is held or comes only briefly (a queue's locks, items and room)
//! then yield the CPU for a learned while ([`Spinner::yielding`]), which
//! lets a holder that is not running run, where sleeping would hand every
//! item over through the kernel.
//!
//! Wakers come in two kinds, like a futex's wake-one and wake-all:
//!
//! - [`Tokens`] (wake one): a semaphore-mode eventfd whose tokens are taken
//!   by the sleepers they wake. For locks and semaphores, where any one
//!   sleeper may take what was released and the others should stay asleep.
//! - [`Doorbell`] (wake all): an eventfd that is rung (written) but never
//!   read, watched edge-triggered, so every sleeper in every process sees
//!   each ring and re-checks its own condition. For events, conditions and
//!   barriers, where a wake-up is meant for particular sleepers (those of a
//!   round, those notified) and an anonymous token could be taken by the
//!   wrong one. A sleeper never consumes anything, so no sleeper can steal
//!   another's wake-up.
//!
//! Both kinds use the same register-then-recheck protocol with a count of
//! sleepers ([`Sleeper`]), so a waker makes no system call when nobody
//! sleeps.
//!
//! # One wait, two drivers
//!
//! The loop above is written once, in [`engine`]: [`wait`] takes a
//! primitive's [`Step`] — the cheap attempt its fast path and spin repeat,
//! and the full recheck after registering and after every wake-up, which
//! says what else to watch while asleep (a holder's pidfd, a recovery
//! tick) — and a [`Park`], which does the sleeping. [`Async`] parks on the
//! tokio reactor; [`Blocking`] parks the thread in poll(2) or epoll, and
//! the blocking form of an operation is its async form driven by
//! [`blocking`], which polls it once: a [`Blocking`] park never returns
//! `Pending`. So every operation is written once, generic over its park,
//! and a deadline is the park's, not the operation's.
//!
//! # What this room holds and may use
//!
//! The waiting, and nothing about any one primitive: `sync`, `queue` and
//! `pipe` use it; it uses only `sys`, `deadline` and `loom` (the sleeper
//! count is pure atomics, built under the model checker too).

#[cfg(not(ipc_loom))]
mod engine;
#[cfg(not(ipc_loom))]
mod fd;
mod sleeper;
#[cfg(not(ipc_loom))]
mod spin;

#[cfg(not(ipc_loom))]
pub(crate) use engine::{
    Also, Async, Blocking, Park, Recheck, Step, Wait, Wakeup, Woke, block_on, blocking, forever, wait,
};
#[cfg(not(ipc_loom))]
pub(crate) use fd::{Doorbell, LazyAsyncFd, Tokens, require_runtime};
pub(crate) use sleeper::Sleeper;
#[cfg(not(ipc_loom))]
pub(crate) use spin::Spinner;

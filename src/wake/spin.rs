//! Adaptive spinning before parking.
//!
//! # Implementation notes
//!
//! A blocking wake-up across CPUs costs tens of microseconds (the peer's
//! `sendmsg` has to wake a sleeping thread). When messages come back quickly —
//! a request/response exchange — it is far cheaper to keep retrying the
//! non-blocking receive for a few microseconds. ARCHITECTURE.md's rule, which
//! a prototype found best on these machines:
//!
//! - never spin with one CPU online (the peer cannot run while we spin),
//!   whatever this process's own affinity (a pinned process's peers run on
//!   other CPUs);
//! - spin for four times the recent average of the waits a spin caught,
//!   clamped to [`MIN_SPIN`]..[`MAX_SPIN`] (the headroom absorbs the tail of
//!   a virtual machine's scheduling noise);
//! - learn from whether spins *work*, not from how long waits are: a spin
//!   that catches the message raises a confidence score (up to
//!   [`MAX_SCORE`]), a spin that runs out lowers it, so spinning goes on
//!   while at least half the spins pay; at zero we park at once and probe with
//!   a short spin only on exponentially rarer occasions (every 2nd, 4th, …
//!   256th wait). So an idle connection costs no CPU, and a peer on *our* CPU —
//!   which cannot run while we spin, so every spin misses — costs no more
//!   than parking. (ARCHITECTURE.md proposes publishing each side's CPU in a
//!   shared word for that case; this needs no shared memory and finds the
//!   same answer after two waits.)
//!
//! A spin retries a cheap check — a non-blocking `recvmsg` (an `EAGAIN` costs
//! well under a microsecond) or a load of a shared-memory word — with a few
//! `spin_loop` hints between.

use std::time::{Duration, Instant};

/// The shortest spin worth trying.
const MIN_SPIN: Duration = Duration::from_micros(10);
/// The longest spin.
const MAX_SPIN: Duration = Duration::from_micros(50);
/// At most one probing spin in this many waits while parking.
const MAX_PROBE_INTERVAL: u32 = 256;
/// A probe's spin: long enough to catch a fast peer (whose waits are a few
/// microseconds), short enough to cost little when it misses.
const PROBE_SPIN: Duration = Duration::from_micros(20);
/// Confidence saturates here: a fast peer that pauses for a few waits does
/// not lose its spin at once, and a peer that moved to our CPU costs at most
/// this many missed spins before we park.
const MAX_SCORE: u32 = 8;

/// Per-connection spin state.
#[derive(Debug, Clone)]
pub(crate) struct Spinner {
    /// Exponentially weighted average of the waits spins caught, in ns.
    avg_caught_ns: u64,
    /// Confidence that spinning pays; zero means park (and probe rarely).
    score: u32,
    /// Waits to skip before the next probing spin (while parking).
    skip: u32,
    /// Current distance between probes.
    interval: u32,
}

impl Default for Spinner {
    fn default() -> Self {
        // Start optimistic: the first waits spin, and learn.
        Spinner { avg_caught_ns: MIN_SPIN.as_nanos() as u64, score: 2, skip: 0, interval: 1 }
    }
}

/// Whether the system has more than one CPU online (checked once): if not,
/// a spinning waiter only keeps its peer from running. Not this process's
/// own affinity: a process pinned to one CPU (say by `taskset`, one worker
/// per CPU) waits for peers that run on others, which is when spinning pays
/// most; a peer pinned to our own CPU makes every spin miss, and the
/// learned budget then parks after a few misses.
fn multi_cpu() -> bool {
    static MULTI: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MULTI.get_or_init(may_spin)
}

/// The decision [`multi_cpu`] caches. A process that may run on several
/// CPUs knows without reading how many are online (the one system call a
/// fresh child's first wait pays); only a pinned one asks the system.
fn may_spin() -> bool {
    crate::sys::cpus_allowed() > 1 || crate::sys::cpus_online() > 1
}

/// One wait's spin, planned by [`Spinner::plan`] and reported back with
/// [`Spinner::settle`].
#[derive(Debug)]
pub(crate) struct Plan {
    budget: Duration,
    began: Instant,
}

impl Plan {
    /// Retries `attempt` (which returns `None` for "nothing yet") until it
    /// yields something or the budget runs out.
    pub(crate) fn run<T>(&self, attempt: impl FnMut() -> Option<T>) -> Option<T> {
        Spinner::spin(self.budget, attempt)
    }
}

impl Spinner {
    /// Plans this wait's spin: the learned budget, at most `limit`.
    pub(crate) fn plan(&mut self, limit: Option<Duration>) -> Plan {
        let learned = self.budget();
        Plan { budget: limit.map_or(learned, |l| learned.min(l)), began: Instant::now() }
    }

    /// Learns from how a planned spin went.
    pub(crate) fn settle(&mut self, plan: &Plan, caught: bool) {
        if caught {
            self.caught(plan.began.elapsed());
        } else if !plan.budget.is_zero() {
            self.missed();
        }
    }

    /// How long to spin before parking on this wait (zero: park at once).
    fn budget(&mut self) -> Duration {
        if !multi_cpu() {
            return Duration::ZERO;
        }
        if self.score > 0 {
            return (Duration::from_nanos(self.avg_caught_ns) * 4).clamp(MIN_SPIN, MAX_SPIN);
        }
        // Parking regime: probe now and then in case spinning pays again.
        if self.skip > 0 {
            self.skip -= 1;
            return Duration::ZERO;
        }
        self.interval = (self.interval * 2).min(MAX_PROBE_INTERVAL);
        self.skip = self.interval;
        PROBE_SPIN
    }

    /// A spin caught the message after `waited`.
    fn caught(&mut self, waited: Duration) {
        let w = waited.as_nanos().min(u64::MAX as u128) as u64;
        // avg += (w - avg) / 4: quick to follow a change in the peer's pace.
        self.avg_caught_ns = self.avg_caught_ns - self.avg_caught_ns / 4 + w / 4;
        self.score = (self.score + 1).min(MAX_SCORE);
        self.interval = 1;
        self.skip = 0;
    }

    /// A spin ran out of budget and the wait parked after all.
    fn missed(&mut self) {
        self.score = self.score.saturating_sub(1);
    }

    /// Retries `attempt` until it yields something or `budget` runs out
    /// (at once with one CPU). `attempt` returns `None` for "nothing yet".
    /// For a wait the caller has been told is short, outside what the
    /// spinner learns.
    pub(crate) fn spin_for<T>(budget: Duration, attempt: impl FnMut() -> Option<T>) -> Option<T> {
        Spinner::spin(if multi_cpu() { budget } else { Duration::ZERO }, attempt)
    }

    /// Retries `attempt` until it yields something or `budget` runs out.
    /// `attempt` returns `None` for "nothing yet".
    fn spin<T>(budget: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
        if budget.is_zero() {
            return None;
        }
        // Budgets are ours (microseconds), but a deadline is computed in one
        // place all the same.
        let deadline = crate::deadline::after(budget);
        loop {
            // A few pause hints between retries: each retry is a system call
            // already (well under a microsecond), and a `pause` costs up to
            // ~140 cycles on recent x86, so more would only add latency.
            for _ in 0..4 {
                std::hint::spin_loop();
            }
            if let Some(v) = attempt() {
                return Some(v);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
        }
    }
}

/// Spins on `check` for `spinner`'s learned budget (at most `limit`). The
/// spinner's lock is held only to plan and to learn, never while spinning.
pub(crate) fn spin<T>(
    spinner: &std::sync::Mutex<Spinner>,
    limit: Option<Duration>,
    check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let lock = || spinner.lock().unwrap_or_else(|p| p.into_inner());
    let plan = lock().plan(limit);
    let caught = plan.run(check);
    lock().settle(&plan, caught.is_some());
    caught
}

#[cfg(test)]
mod tests {
    use super::*;

    // A waiter pinned to one CPU (an HPC job's `taskset` per worker) still
    // spins where its peer can run on another: whether spinning can pay is
    // the machine's question, and a peer pinned to our own CPU is what the
    // learned budget finds out (every spin misses, so it parks).
    #[test]
    fn a_waiter_pinned_to_one_cpu_still_spins_when_its_peer_can_run_elsewhere() {
        // On a thread of its own: pinning applies to the calling thread.
        std::thread::spawn(|| {
            crate::sys::pin_this_thread().unwrap();
            assert_eq!(crate::sys::cpus_allowed(), 1);
            assert_eq!(may_spin(), crate::sys::cpus_online() > 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn spins_that_work_continue_and_spins_that_miss_stop() {
        if !multi_cpu() {
            return; // on one CPU the budget is always zero, as it must be
        }
        let mut s = Spinner::default();
        for _ in 0..10 {
            assert!(!s.budget().is_zero());
            s.caught(Duration::from_micros(3));
        }
        let b = s.budget();
        assert!((MIN_SPIN..=Duration::from_micros(20)).contains(&b), "4 × ~3.4 µs caught, got {b:?}");
        // The peer moved to our CPU (or went idle): every spin misses.
        for _ in 0..MAX_SCORE {
            if !s.budget().is_zero() {
                s.missed();
            }
        }
        let spins = (0..200)
            .filter(|_| {
                let spun = !s.budget().is_zero();
                if spun {
                    s.missed();
                }
                spun
            })
            .count();
        assert!(spins > 0 && spins < 10, "missing spins should become rare probes, got {spins} of 200");
        // A probe that catches the message brings spinning back.
        while s.budget().is_zero() {}
        s.caught(Duration::from_micros(4));
        assert!(!s.budget().is_zero(), "a peer that is fast again is spun for again");
    }
}

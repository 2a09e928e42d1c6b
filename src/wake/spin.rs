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
//! - spin for eight times the recent average of the waits a spin caught,
//!   clamped to [`MIN_SPIN`]..[`MAX_SPIN`] (the headroom absorbs the tail of
//!   a virtual machine's scheduling noise: with four times, one 1-byte pipe
//!   round trip in twenty outran its spin on this project's VM and parked,
//!   and those few took half the time — mean 7.0 µs, median 3.5, p99 88;
//!   with eight times, mean 4.0–4.3 µs, p99 9.4);
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
//!
//! A second kind, [`Spinner::yielding`], retries after each `sched_yield`
//! instead, for 20–200 µs, learned the same way: the phase after the spin
//! for waits on what is held or comes only briefly. It is what keeps a
//! queue from collapsing when processes outnumber CPUs (4 producers and 4
//! consumers on 2 CPUs): there, the holder of the put lock, or the
//! producer of the next item, is often the process *not* running, and a
//! yield hands it the CPU where a sleep would cost a wake-up through the
//! kernel on each side for every item.

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

/// A spin lasts this many times the average wait spins caught.
const SPIN_HEADROOM: u32 = 8;
/// A yielding lasts this many times the average wait it caught.
const YIELD_HEADROOM: u32 = 4;

/// The shortest yielding worth trying (see [`Spinner::yielding`]).
const MIN_YIELD: Duration = Duration::from_micros(20);
/// The longest yielding.
const MAX_YIELD: Duration = Duration::from_micros(200);

/// Per-connection spin state.
#[derive(Debug, Clone)]
pub(crate) struct Spinner {
    /// Whether each retry first yields the CPU (`sched_yield`) rather than
    /// pausing on it.
    yields: bool,
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
        Spinner { yields: false, avg_caught_ns: MIN_SPIN.as_nanos() as u64, score: 2, skip: 0, interval: 1 }
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
    yields: bool,
}

impl Plan {
    /// Retries `attempt` (which returns `None` for "nothing yet") until it
    /// yields something or the budget runs out.
    pub(crate) fn run<T>(&self, attempt: impl FnMut() -> Option<T>) -> Option<T> {
        if self.yields { Spinner::yield_retrying(self.budget, attempt) } else { Spinner::spin(self.budget, attempt) }
    }
}

impl Spinner {
    /// A spinner whose retries yield the CPU first, for the phase between
    /// a wait's spin and its sleep, on things each holder keeps only
    /// briefly (a queue's put and get locks, held for a copy) or that
    /// come quickly while processes are busy (a queue's items and room).
    /// When more processes want to run than there are CPUs, the one that
    /// would end the wait may be the one not running: a yield lets it run,
    /// where a sleep would cost a wake-up through the kernel on each side
    /// — for a queue, one for every item. With the CPU to itself a yield
    /// returns at once, and this is a slower spin. It learns as a spin
    /// does (four times the waits it caught, within 20–200 µs; after
    /// misses, only rare probes), so a queue whose items come slowly costs
    /// a few probes' CPU, not 200 µs a get; and it yields on one CPU too,
    /// where spinning never pays but yielding lets the peer run.
    pub(crate) fn yielding() -> Spinner {
        Spinner { yields: true, avg_caught_ns: MIN_YIELD.as_nanos() as u64, ..Spinner::default() }
    }

    /// Plans this wait's spin: the learned budget, at most `limit`.
    pub(crate) fn plan(&mut self, limit: Option<Duration>) -> Plan {
        let learned = self.budget();
        Plan { budget: limit.map_or(learned, |l| learned.min(l)), began: Instant::now(), yields: self.yields }
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
        if !self.yields && !multi_cpu() {
            return Duration::ZERO;
        }
        let (min, max, probe) =
            if self.yields { (MIN_YIELD, MAX_YIELD, MIN_YIELD) } else { (MIN_SPIN, MAX_SPIN, PROBE_SPIN) };
        if self.score > 0 {
            let headroom = if self.yields { YIELD_HEADROOM } else { SPIN_HEADROOM };
            return (Duration::from_nanos(self.avg_caught_ns) * headroom).clamp(min, max);
        }
        // Parking regime: probe now and then in case spinning pays again.
        if self.skip > 0 {
            self.skip -= 1;
            return Duration::ZERO;
        }
        self.interval = (self.interval * 2).min(MAX_PROBE_INTERVAL);
        self.skip = self.interval;
        probe
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

    /// Retries `attempt` after each yield of the CPU until it yields
    /// something or `budget` runs out.
    fn yield_retrying<T>(budget: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
        if budget.is_zero() {
            return None;
        }
        let deadline = crate::deadline::after(budget);
        loop {
            std::thread::yield_now();
            if let Some(v) = attempt() {
                return Some(v);
            }
            if deadline.is_none_or(|d| Instant::now() >= d) {
                return None;
            }
        }
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
    fn yielding_learns_as_spinning_does_within_its_own_range() {
        let mut y = Spinner::yielding();
        let b = y.budget();
        assert!((MIN_YIELD..=MAX_YIELD).contains(&b), "{b:?}");
        for _ in 0..10 {
            y.caught(Duration::from_micros(100));
        }
        assert_eq!(y.budget(), MAX_YIELD, "4 × ~100 µs caught, clamped");
        for _ in 0..MAX_SCORE {
            y.missed();
        }
        let probes = (0..200).filter(|_| !y.budget().is_zero()).count();
        assert!(probes > 0 && probes < 10, "missed yielding becomes rare probes, got {probes} of 200");
        // And it retries after yielding until the attempt succeeds.
        let mut tries = 0;
        let got = Spinner::yield_retrying(Duration::from_secs(5), || {
            tries += 1;
            (tries == 3).then_some(tries)
        });
        assert_eq!(got, Some(3));
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
        assert!((Duration::from_micros(20)..=Duration::from_micros(40)).contains(&b), "8 × ~3.4 µs caught, got {b:?}");
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

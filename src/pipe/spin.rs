//! Adaptive spinning before parking, for receives.
//!
//! # Implementation notes
//!
//! A blocking wake-up across CPUs costs tens of microseconds (the peer's
//! `sendmsg` has to wake a sleeping thread). When messages come back quickly —
//! a request/response exchange — it is far cheaper to keep retrying the
//! non-blocking receive for a few microseconds. ARCHITECTURE.md's rule, which
//! a prototype found best on these machines:
//!
//! - never spin with one CPU online (the peer cannot run while we spin);
//! - otherwise spin for twice the recent average wait, clamped to
//!   [`MIN_SPIN`]..[`MAX_SPIN`];
//! - once waits are typically longer than [`MAX_SPIN`] (an idle or slow
//!   peer), park at once, and probe with a spin only on exponentially rarer
//!   occasions, so an idle connection costs no CPU.
//!
//! The average is kept per connection end, from the waits this end observes
//! (spun or parked). Spinning retries the system call (a `recvmsg` returning
//! `EAGAIN` costs well under a microsecond) with `spin_loop` hints between.
//! We do not know which CPU the peer is on, so the same-CPU case is handled
//! by learning: spins there fail, waits look long, and spinning stops.

use std::time::{Duration, Instant};

/// The shortest spin worth trying.
const MIN_SPIN: Duration = Duration::from_micros(10);
/// The longest spin; waits above it mean "park".
const MAX_SPIN: Duration = Duration::from_micros(50);
/// At most one probing spin in this many waits while parking.
const MAX_PROBE_INTERVAL: u32 = 64;

/// Per-connection spin state.
#[derive(Debug, Clone)]
pub(crate) struct Spinner {
    /// Exponentially weighted average of recent waits, in nanoseconds.
    avg_wait_ns: u64,
    /// Waits to skip before the next probing spin (while parking).
    skip: u32,
    /// Current distance between probes.
    interval: u32,
}

impl Default for Spinner {
    fn default() -> Self {
        // Start optimistic: the first waits spin, and learn.
        Spinner { avg_wait_ns: MIN_SPIN.as_nanos() as u64, skip: 0, interval: 1 }
    }
}

/// Whether more than one CPU is online (checked once).
fn multi_cpu() -> bool {
    static MULTI: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MULTI.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

impl Spinner {
    /// How long to spin before parking on this wait (zero: park at once).
    pub(crate) fn budget(&mut self) -> Duration {
        if !multi_cpu() {
            return Duration::ZERO;
        }
        let avg = Duration::from_nanos(self.avg_wait_ns);
        if avg <= MAX_SPIN {
            return (avg * 2).clamp(MIN_SPIN, MAX_SPIN);
        }
        // Parking regime: probe now and then in case the peer sped up.
        if self.skip > 0 {
            self.skip -= 1;
            return Duration::ZERO;
        }
        self.interval = (self.interval * 2).min(MAX_PROBE_INTERVAL);
        self.skip = self.interval;
        MAX_SPIN
    }

    /// Records how long a wait took (from the first empty read to data).
    pub(crate) fn record(&mut self, waited: Duration) {
        let w = waited.as_nanos().min(u64::MAX as u128) as u64;
        // avg += (w - avg) / 4: quick to follow a change in the peer's pace.
        self.avg_wait_ns = self.avg_wait_ns - self.avg_wait_ns / 4 + w / 4;
        if waited <= MAX_SPIN {
            self.interval = 1;
            self.skip = 0;
        }
    }

    /// Retries `attempt` until it yields something or `budget` runs out.
    /// `attempt` returns `None` for "nothing yet".
    pub(crate) fn spin<T>(budget: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
        if budget.is_zero() {
            return None;
        }
        let deadline = Instant::now() + budget;
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
            if Instant::now() >= deadline {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_peers_spin_and_slow_peers_park_with_rare_probes() {
        if !multi_cpu() {
            return; // on one CPU the budget is always zero, as it must be
        }
        let mut s = Spinner::default();
        for _ in 0..10 {
            s.record(Duration::from_micros(3));
        }
        assert_eq!(s.budget(), MIN_SPIN);
        for _ in 0..20 {
            s.record(Duration::from_millis(5));
        }
        let spins = (0..200).filter(|_| !s.budget().is_zero()).count();
        assert!(spins > 0 && spins < 12, "idle peers should be probed rarely, got {spins} of 200");
        for _ in 0..20 {
            s.record(Duration::from_micros(4));
        }
        let b = s.budget();
        assert!(!b.is_zero() && b <= MAX_SPIN, "a peer that speeds up is spun for again, got {b:?}");
        for _ in 0..40 {
            s.record(Duration::from_micros(4));
        }
        assert_eq!(s.budget(), MIN_SPIN);
    }
}

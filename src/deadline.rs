//! The one place where a timeout becomes a deadline.
//!
//! A timeout is a `Duration` from now; the clock cannot hold every one
//! (`Instant + Duration::MAX` overflows). A timeout too large to add is a
//! wait without end, which is what a caller who passes `Duration::MAX`
//! means: every timed wait in the crate computes its deadline here, and
//! `None` is "never".

use std::time::{Duration, Instant};

/// The instant `timeout` from now, or `None` (never) if the clock cannot
/// hold it.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// As [`after`], for an optional timeout (`None`: never).
pub(crate) fn within(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(after)
}

/// What is left until `deadline` (zero once it has passed; `None`: never).
pub(crate) fn left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// As [`within`], on tokio's clock (which a paused test clock moves).
pub(crate) fn tokio_within(timeout: Option<Duration>) -> Option<tokio::time::Instant> {
    timeout.and_then(|t| tokio::time::Instant::now().checked_add(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_the_clock_cannot_hold_never_end() {
        assert_eq!(after(Duration::MAX), None);
        assert_eq!(within(Some(Duration::MAX)), None);
        assert_eq!(within(None), None);
        assert_eq!(tokio_within(Some(Duration::MAX)), None);
        assert_eq!(left(None), None);
        let soon = after(Duration::from_secs(1)).unwrap();
        assert!(left(Some(soon)).unwrap() <= Duration::from_secs(1));
        assert_eq!(left(Some(Instant::now() - Duration::from_millis(1))), Some(Duration::ZERO));
    }
}

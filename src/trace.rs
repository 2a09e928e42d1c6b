//! Diagnostics through the `tracing` crate (the `tracing` feature, on by
//! default): events for what happens between processes — a child spawned
//! or reaped, a pool worker dying and being replaced, the fork server
//! starting, a lock's dead owner recovered from, a handshake refused, a
//! manager object made or freed, a manager client gone — and spans around
//! pool tasks and manager calls. Nothing on a fast path (an uncontended
//! lock, a queue's put or get, a pipe's send): those have no event at all.
//!
//! Without the feature the macros expand to nothing and their arguments
//! are not evaluated.
//!
//! # What this room holds and may use
//!
//! Two macros, usable by every room; it uses nothing of the crate.

/// `event!(level, fields…, "message")`: a `tracing` event at `level`
/// (`trace`, `debug`, `info`, `warn`, `error`), in the caller's module as
/// its target.
macro_rules! event {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "tracing")]
        {
            ::tracing::$level!($($arg)+);
        }
    }};
}

/// `instrumented!(future, name, fields…)`: `future` inside a debug span
/// called `name` (the future itself without the feature).
macro_rules! instrumented {
    ($future:expr, $($span:tt)+) => {{
        #[cfg(feature = "tracing")]
        {
            ::tracing::Instrument::instrument($future, ::tracing::debug_span!($($span)+))
        }
        #[cfg(not(feature = "tracing"))]
        {
            $future
        }
    }};
}

/// `in_span!([name, fields…], expression)`: `expression` evaluated inside
/// a debug span called `name` (just evaluated without the feature).
macro_rules! in_span {
    ([$($span:tt)+], $body:expr) => {{
        #[cfg(feature = "tracing")]
        {
            ::tracing::debug_span!($($span)+).in_scope(|| $body)
        }
        #[cfg(not(feature = "tracing"))]
        {
            $body
        }
    }};
}

pub(crate) use {event, in_span, instrumented};

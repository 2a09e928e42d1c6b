//! The one wait loop ([`wait`]) and the two parks that sleep for it
//! ([`Async`] on the tokio reactor, [`Blocking`] in the kernel).
//!
//! A primitive describes its wait as a [`Step`] and a [`Wait`]; the loop
//! tries, spins, registers, re-checks and sleeps, the same for every
//! primitive and for both parks. Each operation is then one `async fn`
//! generic over its [`Park`], and its blocking form is that function with a
//! [`Blocking`] park, run by [`blocking`].

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::fd::{Doorbell, LazyAsyncFd, Tokens};
use super::sleeper::Sleeper;
use super::spin::{Spinner, spin};
use crate::loom::AtomicU32;
use crate::sys;

/// What ended a sleep, as the step's [`recheck`](Step::recheck) is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woke {
    /// No sleep yet: the first recheck, just after registering.
    Registered,
    /// A wake-one token, taken by this waiter.
    Token,
    /// The doorbell rang (for someone: look again).
    Rang,
    /// A token was there and another waiter took it first: look again.
    Missed,
    /// The process watched with [`Also::Exit`] has exited.
    Exited,
    /// The [`Also::Every`] period passed.
    Tick,
}

/// What a sleep watches besides the wait's own wake-up.
#[derive(Debug)]
pub(crate) enum Also<'a> {
    Nothing,
    /// A pidfd, readable once its process has exited.
    Exit(&'a LazyAsyncFd),
    /// A period after which the step looks again anyway (for recovery that
    /// nobody posts a wake-up for).
    Every(Duration),
}

/// A recheck's verdict.
#[derive(Debug)]
pub(crate) enum Recheck<'a, T> {
    Done(T),
    /// Sleep on the wait's wake-up, watching `Also` too.
    Sleep(Also<'a>),
}

/// How a sleeping wait is woken.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wakeup<'a> {
    /// Wake one: a sleep ends by taking a token.
    Tokens(&'a Tokens),
    /// Wake all: a sleep ends at a ring, and takes nothing.
    Bell(&'a Doorbell),
}

/// The shape of one wait: the sleeper count its wakers read, its learned
/// spin (none for waits that are long by nature), its learned yielding
/// between the spin and the sleep (see [`Spinner::yielding`]), its wake-up.
#[derive(Debug)]
pub(crate) struct Wait<'a> {
    pub(crate) sleepers: &'a AtomicU32,
    pub(crate) spinner: Option<&'a Mutex<Spinner>>,
    pub(crate) yielder: Option<&'a Mutex<Spinner>>,
    pub(crate) wakeup: Wakeup<'a>,
}

/// A primitive's part of a wait: its protocol, without the waiting.
pub(crate) trait Step {
    type Output;

    /// The attempt that makes no system call: the fast path, what the spin
    /// repeats, and the last look when the deadline passes.
    fn attempt(&mut self) -> Option<Self::Output>;

    /// The full attempt, made after registering as a sleeper and after
    /// every wake-up (`woke` says which): done, or sleep (watching what it
    /// says besides).
    fn recheck(&mut self, woke: Woke) -> io::Result<Recheck<'_, Self::Output>>;
}

/// How a wait sleeps, and until when.
pub(crate) trait Park {
    /// What a wake-up made ready to sleep on holds (see [`arm`](Park::arm)).
    type Armed;

    /// Time left before the deadline (`None`: no deadline).
    fn left(&self) -> Option<Duration>;

    /// The same kind of park with no deadline, for a wait that must finish
    /// whatever the caller's deadline (a condition retaking its lock, a
    /// queue taking its put or get lock).
    fn unbounded(&self) -> Self;

    /// Makes `wakeup` ready to sleep on, before the first recheck (so a
    /// ring between the recheck and the sleep is not missed).
    fn arm(&mut self, wakeup: Wakeup<'_>) -> io::Result<Self::Armed>;

    /// Gives back what [`arm`](Park::arm) took, when the wait ends.
    fn disarm(wakeup: Wakeup<'_>, armed: Self::Armed);

    /// Sleeps once on the armed `wakeup`: what ended it, `None` if the
    /// deadline passed first.
    ///
    /// Cancel safe (for the async park): a token is taken only in the step
    /// that returns it.
    async fn sleep(&mut self, wakeup: Wakeup<'_>, armed: &mut Self::Armed, also: Also<'_>) -> io::Result<Option<Woke>>;
}

/// The wait: `step`'s attempt; a spin on it for the learned budget; then
/// registered as a sleeper, its recheck after every wake-up, until it is
/// done (`Some`) or the park's deadline passes (`None`, after a last
/// attempt).
///
/// Cancel safe when `step` is: the sleeper registration is dropped with
/// the future, and the park takes nothing it does not hand back.
pub(crate) async fn wait<P: Park, S: Step>(
    park: &mut P,
    wait: &Wait<'_>,
    step: &mut S,
) -> io::Result<Option<S::Output>> {
    if let Some(v) = step.attempt() {
        return Ok(Some(v));
    }
    if park.left() == Some(Duration::ZERO) {
        return Ok(None);
    }
    if let Some(spinner) = wait.spinner {
        if let Some(v) = spin(spinner, park.left(), || step.attempt()) {
            return Ok(Some(v));
        }
    }
    if let Some(yielder) = wait.yielder {
        if let Some(v) = spin(yielder, park.left(), || step.attempt()) {
            return Ok(Some(v));
        }
    }
    let sleeper = Sleeper::register(wait.sleepers);
    let mut armed = Armed::<P> { wakeup: wait.wakeup, armed: Some(park.arm(wait.wakeup)?) };
    let mut woke = Woke::Registered;
    loop {
        let also = match step.recheck(woke)? {
            Recheck::Done(v) => return Ok(Some(v)),
            Recheck::Sleep(also) => also,
        };
        let armed = armed.armed.as_mut().expect("armed until dropped");
        match park.sleep(wait.wakeup, armed, also).await? {
            Some(w) => {
                if w == Woke::Token {
                    sleeper.took_token();
                }
                woke = w;
            }
            None => return Ok(step.attempt()),
        }
    }
}

/// An armed wake-up, disarmed when the wait ends (however it ends).
struct Armed<'w, P: Park> {
    wakeup: Wakeup<'w>,
    armed: Option<P::Armed>,
}

impl<P: Park> Drop for Armed<'_, P> {
    fn drop(&mut self) {
        if let Some(a) = self.armed.take() {
            P::disarm(self.wakeup, a);
        }
    }
}

/// For waits without a deadline: their `Option` is always `Some`.
pub(crate) fn forever<T>(waited: Option<T>) -> T {
    waited.expect("a wait without a deadline ends only when it is done")
}

/// The async park: sleeps on the tokio reactor, until a deadline on
/// tokio's clock (so a paused test clock moves it).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Async {
    deadline: Option<tokio::time::Instant>,
}

impl Async {
    /// No deadline.
    pub(crate) fn new() -> Async {
        Async { deadline: None }
    }

    /// A deadline `timeout` from now (none if it is too far to represent).
    pub(crate) fn timeout(timeout: Duration) -> Async {
        Async { deadline: crate::deadline::tokio_within(Some(timeout)) }
    }

    async fn deadline(&self) {
        match self.deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    }
}

impl Park for Async {
    /// Nothing: the registration is kept by the descriptor.
    type Armed = ();

    fn left(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()))
    }

    fn unbounded(&self) -> Async {
        Async::new()
    }

    fn arm(&mut self, wakeup: Wakeup<'_>) -> io::Result<()> {
        // Registered before the first recheck: a ring after this point
        // produces an edge that the reactor reports.
        match wakeup {
            Wakeup::Tokens(tokens) => tokens.lazy().registered()?,
            Wakeup::Bell(bell) => bell.lazy().registered()?,
        };
        Ok(())
    }

    fn disarm(_: Wakeup<'_>, (): ()) {}

    async fn sleep(&mut self, wakeup: Wakeup<'_>, (): &mut (), also: Also<'_>) -> io::Result<Option<Woke>> {
        let woken = async {
            match wakeup {
                Wakeup::Tokens(tokens) => take(tokens).await.map(|()| Woke::Token),
                Wakeup::Bell(bell) => {
                    let afd = bell.lazy().registered()?;
                    // Clears only the readiness this guard saw: a ring the
                    // reactor reported since keeps it set. The recheck that
                    // follows sees every ring before it.
                    afd.readable().await?.clear_ready();
                    Ok(Woke::Rang)
                }
            }
        };
        let also = async {
            match also {
                Also::Nothing => std::future::pending::<io::Result<Woke>>().await,
                Also::Exit(pidfd) => {
                    // A pidfd stays readable once its process has exited;
                    // the readiness is never cleared.
                    pidfd.registered()?.readable().await?.retain_ready();
                    Ok(Woke::Exited)
                }
                Also::Every(period) => {
                    tokio::time::sleep(period).await;
                    Ok(Woke::Tick)
                }
            }
        };
        tokio::select! {
            biased;
            w = woken => w.map(Some),
            w = also => w.map(Some),
            () = self.deadline() => Ok(None),
        }
    }
}

/// Awaits and takes one token.
///
/// Cancel safe: a token is taken only in the synchronous step that
/// returns, so a dropped future takes nothing.
async fn take(tokens: &Tokens) -> io::Result<()> {
    let afd = tokens.lazy().registered()?;
    loop {
        let mut guard = afd.readable().await?;
        if tokens.try_take()? {
            return Ok(());
        }
        guard.clear_ready();
    }
}

/// The blocking park: sleeps in poll(2) or epoll, until a deadline on the
/// system's monotonic clock. Its sleep never returns `Pending`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Blocking {
    deadline: Option<Instant>,
}

impl Blocking {
    /// No deadline.
    pub(crate) fn new() -> Blocking {
        Blocking { deadline: None }
    }

    /// Until `deadline` (`None`: no deadline).
    pub(crate) fn until(deadline: Option<Instant>) -> Blocking {
        Blocking { deadline }
    }

    /// A deadline `timeout` from now (none if it is too far to represent).
    pub(crate) fn timeout(timeout: Duration) -> Blocking {
        Blocking { deadline: crate::deadline::after(timeout) }
    }
}

impl Park for Blocking {
    /// A doorbell's edge watch, given back to the bell when the wait ends.
    type Armed = Option<OwnedFd>;

    fn left(&self) -> Option<Duration> {
        crate::deadline::left(self.deadline)
    }

    fn unbounded(&self) -> Blocking {
        Blocking::new()
    }

    fn arm(&mut self, wakeup: Wakeup<'_>) -> io::Result<Option<OwnedFd>> {
        Ok(match wakeup {
            Wakeup::Tokens(_) => None,
            Wakeup::Bell(bell) => Some(bell.edge_watch()?),
        })
    }

    fn disarm(wakeup: Wakeup<'_>, watch: Option<OwnedFd>) {
        if let (Wakeup::Bell(bell), Some(w)) = (wakeup, watch) {
            bell.return_watch(w);
        }
    }

    async fn sleep(
        &mut self,
        wakeup: Wakeup<'_>,
        watch: &mut Option<OwnedFd>,
        also: Also<'_>,
    ) -> io::Result<Option<Woke>> {
        let left = self.left();
        if left == Some(Duration::ZERO) {
            return Ok(None);
        }
        match (wakeup, also) {
            (Wakeup::Bell(_), also) => {
                // The bell's sleepers watch nothing else (no primitive on a
                // doorbell needs to).
                debug_assert!(matches!(also, Also::Nothing));
                let watch = watch.as_ref().expect("held until the wait ends");
                Ok(sys::edge_wait(watch.as_fd(), self.deadline)?.then_some(Woke::Rang))
            }
            (Wakeup::Tokens(tokens), Also::Nothing) => Ok(take_within(tokens, left)?.then_some(Woke::Token)),
            (Wakeup::Tokens(tokens), Also::Exit(pidfd)) => {
                if !sys::poll_any(&[tokens.fd(), pidfd.fd()], left)? {
                    return Ok(None);
                }
                // A token that is there is taken (it may have been posted
                // for us); one taken by another waiter first makes this a
                // spurious wake-up, rechecked like any other. A token taken
                // is reported before an exit (the sleeper counts itself
                // again for it; its recheck finds the exit on the next look).
                if tokens.try_take()? {
                    return Ok(Some(Woke::Token));
                }
                let exited = sys::poll_fd(pidfd.fd(), sys::Interest::Read, Some(Duration::ZERO))?;
                Ok(Some(if exited { Woke::Exited } else { Woke::Missed }))
            }
            (Wakeup::Tokens(tokens), Also::Every(period)) => {
                if take_within(tokens, Some(left.map_or(period, |l| l.min(period))))? {
                    return Ok(Some(Woke::Token));
                }
                Ok((self.left() != Some(Duration::ZERO)).then_some(Woke::Tick))
            }
        }
    }
}

/// Takes a token, waiting at most `timeout` for one (`false` if none came).
fn take_within(tokens: &Tokens, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = crate::deadline::within(timeout);
    loop {
        if tokens.try_take()? {
            return Ok(true);
        }
        let left = crate::deadline::left(deadline);
        if left == Some(Duration::ZERO) || !sys::poll_fd(tokens.fd(), sys::Interest::Read, left)? {
            return Ok(false);
        }
    }
}

/// Runs an operation written for a [`Blocking`] park to its end on this
/// thread: one poll, as such a park never returns `Pending`. (Should a
/// future pend all the same, it is driven by [`block_on`].)
#[inline]
pub(crate) fn blocking<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => block_on(future),
    }
}

/// Runs `future` to completion on this thread, parking it while the future
/// waits: the blocking forms of non-waiting async operations (a pool's
/// `join`, a manager call) use it. Unlike `futures::executor::block_on` it
/// may nest (a blocking form whose async twin reaches another blocking
/// step).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    /// Wakes the parked thread.
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = pin!(future);
    let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        // A wake-up between the poll and this park leaves the token set, so
        // the park returns at once.
        std::thread::park();
    }
}

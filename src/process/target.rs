//! What a child runs: targets, and the trampoline that calls them.
//!
//! # Implementation notes
//!
//! A child is the same executable re-executed, so it cannot receive a closure;
//! it receives the *address* of the target function and of a trampoline
//! monomorphised for its argument and result types, both relative to a fixed
//! anchor function ([`super::entry`]), which is stable under ASLR because
//! parent and child run the very same file (`/proc/self/exe`). A target is a
//! function pointer, `fn(A) -> T`: an `fn` item or a closure that captures
//! nothing coerces to one where it is passed, and a closure that captures
//! state does not, so `cargo check` refuses it at the closure, naming what it
//! captured (the child could receive only the argument).
//!
//! We chose addresses over a registry of named entry points because it needs
//! nothing from the user (no registration, no names that can collide) and
//! costs nothing at start-up; the binary-identity check in the bootstrap
//! message guards against a mismatched executable.

use std::future::Future;
use std::os::fd::OwnedFd;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::entry::Callee;
use crate::codec;

/// What a target returns: its result `R` itself (a synchronous target) or a
/// future of it (an `async fn` or a closure returning an `async` block, run
/// by the child on a current-thread tokio runtime of its own).
///
/// A target is a function pointer, `fn(A) -> T` with `T: Returns<R, _>`: an
/// `fn` item or a closure that captures nothing, taking one argument `A` (a
/// tuple for several; `()` for none, as in `|()| ...`). You do not implement
/// this trait; the `Marker` parameter only tells the two kinds apart, and
/// inference picks it.
///
/// A closure that captures state is refused where it is passed, by `cargo
/// check` ("closures can only be coerced to `fn` types if they do not
/// capture any variables", pointing at what it captured): the child can
/// receive only the argument, so pass the state in it.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// fn double(x: u64) -> u64 { x * 2 }
/// async fn greet((name, n): (String, u32)) -> String { format!("{name} x{n}") }
///
/// let mut a = ipc::Process::spawn(double, 21)?;
/// let mut b = ipc::Process::spawn(greet, ("hi".to_string(), 2))?;
/// let mut c = ipc::Process::spawn(|()| std::process::id(), ())?; // no argument: take ()
/// let offset = 10;
/// let mut d = ipc::Process::spawn(|(x, offset): (u32, u32)| x + offset, (1, offset))?; // state in the argument
/// assert_eq!(a.join().await?, 42);
/// assert_eq!(b.join().await?, "hi x2");
/// assert_ne!(c.join().await?, std::process::id());
/// assert_eq!(d.join().await?, 11);
/// # Ok(()) }
/// ```
pub trait Returns<R, Marker>: Sized {
    #[doc(hidden)]
    fn finish(self) -> R;
}

/// Marks a synchronous target's [`Returns`] (you never name it: inference
/// does).
#[derive(Debug)]
pub struct SyncFn(());

/// Marks an asynchronous target's [`Returns`]; the child builds a
/// current-thread tokio runtime for it (you never name it: inference does).
#[derive(Debug)]
pub struct AsyncFn(());

impl<R> Returns<R, SyncFn> for R
where
    R: Serialize + DeserializeOwned + 'static,
{
    fn finish(self) -> R {
        self
    }
}

impl<Fut> Returns<Fut::Output, AsyncFn> for Fut
where
    Fut: Future,
    Fut::Output: Serialize + DeserializeOwned + 'static,
{
    fn finish(self) -> Fut::Output {
        block_on_child_runtime(self)
    }
}

/// Runs an async target on a fresh current-thread runtime (cheap to build;
/// a target that wants more threads can build its own).
fn block_on_child_runtime<Fut: Future>(fut: Fut) -> Fut::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building the child's tokio runtime")
        .block_on(fut)
}

/// What a trampoline hands back: the encoded result and its descriptors, or
/// why the target could not be run.
pub(crate) type TrampolineResult = Result<(Vec<u8>, Vec<OwnedFd>), String>;

/// Decodes the argument, runs the target, encodes the result. Panics
/// propagate to the bootstrap, which reports them.
pub(crate) fn trampoline<A, T, R, M>(target: Callee<A, T>, arg: Vec<u8>, fds: Vec<OwnedFd>) -> TrampolineResult
where
    A: DeserializeOwned,
    T: Returns<R, M>,
    R: Serialize,
{
    let arg: A = codec::decode(&arg, fds).map_err(|e| format!("the child could not decode its argument: {e}"))?;
    let result = target.get()(arg).finish();
    codec::encode(&result).map_err(|e| format!("the child could not encode its return value: {e}"))
}

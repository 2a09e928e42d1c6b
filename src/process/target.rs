//! What a child runs: targets, and the trampoline that identifies them.
//!
//! # Implementation notes
//!
//! A child is the same executable re-executed, so it cannot receive a closure;
//! it receives the *address* of a monomorphised trampoline for the target's
//! type, expressed relative to a fixed anchor function ([`super::entry`]),
//! which is stable under ASLR because parent and child run the very same file
//! (`/proc/self/exe`). The target itself must be a zero-sized type — an `fn`
//! item or a closure that captures nothing — so the trampoline can make its
//! value out of nothing. That is checked at compile time.
//!
//! We chose addresses over a registry of named entry points because it needs
//! nothing from the user (no registration, no names that can collide) and
//! costs nothing at start-up; the binary-identity check in the bootstrap
//! message guards against a mismatched executable.

use std::future::Future;
use std::marker::PhantomData;
use std::os::fd::OwnedFd;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec;

/// Something a child process can run: an `fn` item or a non-capturing
/// closure taking one argument `A` (a tuple for several) or none (spawn it
/// with `()`), and returning `R`, synchronously or as a future.
///
/// You do not implement this trait; it is implemented for every `Fn(A) -> R`
/// and every `Fn(A) -> impl Future<Output = R>` whose argument and result are
/// serde types. The `Marker` parameter only tells the two apart.
///
/// A capturing closure, or a function *pointer*, is rejected at compile time
/// when spawned: the child cannot receive captured state, only the argument.
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
/// let mut c = ipc::Process::spawn(std::process::id, ())?; // no argument: pass ()
/// assert_eq!(a.join().await?, 42);
/// assert_eq!(b.join().await?, "hi x2");
/// assert_ne!(c.join().await?, std::process::id());
/// # Ok(()) }
/// ```
pub trait Target<A, R, Marker>: Copy + Send + Sync + 'static {
    #[doc(hidden)]
    fn run_target(self, arg: A) -> R;
}

/// Marks a synchronous [`Target`] (you never name it: inference does).
#[derive(Debug)]
pub struct SyncFn(());

/// Marks an asynchronous [`Target`]; the child builds a current-thread tokio
/// runtime for it (you never name it: inference does).
#[derive(Debug)]
pub struct AsyncFn<Fut>(PhantomData<Fut>);

impl<F, A, R> Target<A, R, SyncFn> for F
where
    F: Fn(A) -> R + Copy + Send + Sync + 'static,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + 'static,
{
    fn run_target(self, arg: A) -> R {
        self(arg)
    }
}

impl<F, A, Fut> Target<A, Fut::Output, AsyncFn<Fut>> for F
where
    F: Fn(A) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future,
    A: Serialize + DeserializeOwned + 'static,
    Fut::Output: Serialize + DeserializeOwned + 'static,
{
    fn run_target(self, arg: A) -> Fut::Output {
        block_on_child_runtime(self(arg))
    }
}

/// Marks a synchronous [`Target`] without an argument.
#[derive(Debug)]
pub struct SyncFn0(());

/// Marks an asynchronous [`Target`] without an argument.
#[derive(Debug)]
pub struct AsyncFn0<Fut>(PhantomData<Fut>);

impl<F, R> Target<(), R, SyncFn0> for F
where
    F: Fn() -> R + Copy + Send + Sync + 'static,
    R: Serialize + DeserializeOwned + 'static,
{
    fn run_target(self, (): ()) -> R {
        self()
    }
}

impl<F, Fut> Target<(), Fut::Output, AsyncFn0<Fut>> for F
where
    F: Fn() -> Fut + Copy + Send + Sync + 'static,
    Fut: Future,
    Fut::Output: Serialize + DeserializeOwned + 'static,
{
    fn run_target(self, (): ()) -> Fut::Output {
        block_on_child_runtime(self())
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

/// The type of every trampoline.
pub(crate) type Trampoline = fn(Vec<u8>, Vec<OwnedFd>) -> TrampolineResult;

/// Decodes the argument, runs the target, encodes the result. Panics
/// propagate to the bootstrap, which reports them.
pub(crate) fn trampoline<F, A, R, M>(arg: Vec<u8>, fds: Vec<OwnedFd>) -> TrampolineResult
where
    F: Target<A, R, M>,
    A: DeserializeOwned,
    R: Serialize,
{
    let target: F = super::entry::conjure::<F>();
    let arg: A = codec::decode(&arg, fds).map_err(|e| format!("the child could not decode its argument: {e}"))?;
    let result = target.run_target(arg);
    codec::encode(&result).map_err(|e| format!("the child could not encode its return value: {e}"))
}

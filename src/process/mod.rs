//! Child processes (Python's `multiprocessing.Process` and friends).
//!
//! [`Process::spawn`] (or [`Process::builder`]) starts a new OS process that
//! runs a target — a function pointer `fn(A) -> T`: an `fn` item or a
//! closure that captures nothing, sync or async (see [`Returns`]) — with one
//! serde argument, and [`Process::join`] awaits its return value.
//! The argument and the return value may contain handles — connections,
//! locks and the other primitives, queues, shared values and blocks, proxies
//! — whose descriptors travel with them.
//!
//! A child is the same executable re-executed (Python's `spawn` start
//! method), so the program's entry must install the dispatch: use
//! `#[ipc::main]`, `#[ipc::test]`, or call [`ipc::init()`](crate::init) first
//! thing in `main`. Without it, spawning is an error, never a second run of
//! `main`.
//!
//! ```
//! # #[ipc::main] async fn main() -> ipc::Result<()> {
//! async fn task(name: String) -> usize {
//!     println!("{name} runs in process {}", std::process::id());
//!     name.len()
//! }
//!
//! let mut p = ipc::Process::builder().name("t1").spawn(task, "t1".to_string())?;
//! assert_eq!(p.name(), "t1");
//! assert_eq!(p.join().await?, 2);
//! assert_eq!(p.exitcode(), Some(0));
//! # Ok(()) }
//! ```
//!
//! # Implementation notes
//!
//! The child is `/proc/self/exe`, started with `posix_spawn` (std's
//! `Command`, which uses it when no `pre_exec` hook is set), with the control
//! socket as the only inherited descriptor of ours; it closes any other it
//! inherited (one the program opened without close-on-exec) before anything
//! else runs. Its death is observed with a
//! pidfd: `join` awaits it through the tokio reactor, there is no `SIGCHLD`
//! handler, and children whose handle was dropped are reaped by a task (inside
//! a runtime), by the next spawn or `active_children()`, or at exit. Daemon
//! children set `PR_SET_PDEATHSIG` and are spawned from a dedicated
//! long-lived thread, because the kernel ties that signal to the *thread* that
//! created the child.
//!
//! Pool workers are started through the fork server instead (`fork_server.rs`):
//! a copy of an idle, already started process of this executable, which is
//! then bootstrapped exactly like an `exec`'d child.
//!
//! # What this room holds and may use
//!
//! Spawning (`builder.rs`), the child's bootstrap, the children's table
//! (`children.rs`), the fork server, the resource tracker, and under
//! `#[ipc::test]` the forwarding of children's output into the harness's
//! capture (`capture.rs`): it uses `pipe` (each child's connection),
//! `codec`, `handle`, `shm`, `wake` and `sys`, and owns its errors
//! (`error.rs`); `shared`, `pool` and `manager` use it.

mod bootstrap;
mod builder;
mod capture;
mod children;
mod current;
mod entry;
mod error;
mod fork_server;
mod target;
pub(crate) mod tracker;

use std::marker::PhantomData;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use builder::{Builder, StartMethod};
pub use children::{ChildInfo, active_children};
pub use current::{CurrentProcess, ParentProcess, cpu_count, current_process, parent_process};
pub use error::{JoinError, SpawnError};
pub use target::{AsyncFn, Returns, SyncFn};

pub(crate) use bootstrap::{
    catch_panic, dispatch_main, dispatch_test, panic_message, quiet_panics, set_test_mode, take_panic_location,
};
pub(crate) use entry::{Callee, Entry};
pub(crate) use target::{TrampolineResult, trampoline};

use crate::codec;
use crate::pipe::Connection;
use crate::sys::WaitStatus;
use bootstrap::Report;
use children::Child;
pub(crate) use children::{main_exit, spawn_detached};
pub(crate) use current::init_main_process;

/// A child process running a target that returns `R` (Python's
/// `multiprocessing.Process`, started).
///
/// Dropping the handle does not stop the child (as in Python); it is reaped
/// when it exits. Use [`Builder::kill_on_drop`] to tie its life to the handle.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let mut p = ipc::Process::spawn(|secs: u64| std::thread::sleep(std::time::Duration::from_secs(secs)), 60)?;
/// assert!(p.is_alive());
/// assert_eq!(p.exitcode(), None);
/// p.terminate()?;
/// assert!(p.join().await.is_err()); // killed before it could return
/// assert_eq!(p.exitcode(), Some(-libc::SIGTERM));
/// # Ok(()) }
/// ```
pub struct Process<R> {
    child: Arc<Child>,
    control: Connection,
    /// The report, once received (kept across cancelled joins).
    report: Option<(Vec<u8>, Vec<OwnedFd>)>,
    /// The control socket reached end-of-stream without a report.
    silent: bool,
    joined: bool,
    kill_on_drop: bool,
    _result: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.child.pid)
            .field("name", &self.child.name)
            .field("daemon", &self.child.daemon)
            .finish_non_exhaustive()
    }
}

impl Process<()> {
    /// A [`Builder`] for a child with a name, daemon flag, and so on.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::builder().name("quiet").spawn(|()| (), ())?;
    /// p.join().await?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a child running `target(arg)` with default settings; see
    /// [`Builder::spawn`].
    ///
    /// # Errors
    ///
    /// As [`Builder::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// fn square(x: u32) -> u32 { x * x }
    /// assert_eq!(ipc::Process::spawn(square, 7)?.join().await?, 49);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "start")]
    pub fn spawn<A, T, R, M>(target: fn(A) -> T, arg: A) -> Result<Process<R>, SpawnError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        Builder::default().spawn(target, arg)
    }
}

impl<R: DeserializeOwned> Process<R> {
    /// The child's OS process id.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|()| std::process::id(), ())?;
    /// assert_eq!(p.join().await?, p.pid());
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> u32 {
        self.child.pid as u32
    }

    /// The child's name.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::builder().name("worker").spawn(|()| (), ())?;
    /// assert_eq!(p.name(), "worker");
    /// p.join().await?;
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.child.name
    }

    /// Whether the child is a daemon.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|()| (), ())?;
    /// assert!(!p.daemon());
    /// p.join().await?;
    /// # Ok(()) }
    /// ```
    pub fn daemon(&self) -> bool {
        self.child.daemon
    }

    /// Whether the child is still running (reaps it if it has exited).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|()| std::thread::sleep(std::time::Duration::from_millis(100)), ())?;
    /// assert!(p.is_alive());
    /// p.join().await?;
    /// assert!(!p.is_alive());
    /// # Ok(()) }
    /// ```
    pub fn is_alive(&self) -> bool {
        matches!(self.child.try_reap(), Ok(None))
    }

    /// Python's `exitcode`: `None` while the child runs, its exit code once
    /// it has exited, `-N` if signal `N` killed it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|code: i32| -> u8 { std::process::exit(code) }, 4)?;
    /// assert!(p.join().await.is_err()); // it exited without returning
    /// assert_eq!(p.exitcode(), Some(4));
    /// # Ok(()) }
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        match self.child.try_reap() {
            Ok(Some(WaitStatus::Exited(code))) => Some(code),
            Ok(Some(WaitStatus::Signaled(sig))) => Some(-sig),
            _ => None,
        }
    }

    /// Sends `SIGTERM` (Python's `terminate()`). A child that already exited
    /// is left alone.
    ///
    /// # Errors
    ///
    /// An i/o error if the signal cannot be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|()| std::thread::sleep(std::time::Duration::from_secs(60)), ())?;
    /// p.terminate()?;
    /// assert!(matches!(p.join().await, Err(ipc::JoinError::Signaled { signal: 15 })));
    /// # Ok(()) }
    /// ```
    pub fn terminate(&self) -> std::io::Result<()> {
        self.child.signal(libc::SIGTERM)
    }

    /// Sends `SIGKILL` (Python's `kill()`).
    ///
    /// # Errors
    ///
    /// An i/o error if the signal cannot be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|()| std::thread::sleep(std::time::Duration::from_secs(60)), ())?;
    /// p.kill()?;
    /// p.join().await.unwrap_err();
    /// assert_eq!(p.exitcode(), Some(-9));
    /// # Ok(()) }
    /// ```
    pub fn kill(&self) -> std::io::Result<()> {
        self.child.signal(libc::SIGKILL)
    }

    /// Waits for the child to finish and returns its target's return value.
    ///
    /// # Errors
    ///
    /// [`JoinError::Panicked`] with the panic's message and location if the
    /// target panicked; [`JoinError::Exited`] / [`JoinError::Signaled`] if
    /// the child ended without returning (killed, `exit()`ed, crashed);
    /// [`JoinError::Failed`] if the child could not run the target;
    /// [`JoinError::AlreadyJoined`] if the value was already taken.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a report already received is kept, and a later `join`
    /// (or [`join_timeout`](Process::join_timeout)) continues the wait.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|()| -> u8 { panic!("boom") }, ())?;
    /// match p.join().await {
    ///     Err(ipc::JoinError::Panicked { message, .. }) => assert_eq!(message, "boom"),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert_eq!(p.exitcode(), Some(1));
    /// # Ok(()) }
    /// ```
    pub async fn join(&mut self) -> Result<R, JoinError> {
        if self.joined {
            return Err(JoinError::AlreadyJoined);
        }
        if self.report.is_none() && !self.silent {
            match self.control.recv_frame(usize::MAX).await {
                Ok(frame) => self.report = Some(frame),
                Err(_) => self.silent = true,
            }
        }
        let status = self.child.wait().await?;
        self.outcome(status)
    }

    /// [`join`](Process::join) giving up after `timeout` with
    /// [`JoinError::Timeout`]; the child keeps running and can be joined
    /// again.
    ///
    /// # Errors
    ///
    /// As [`join`](Process::join), plus [`JoinError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// use std::time::Duration;
    /// let mut p = ipc::Process::spawn(|ms: u64| std::thread::sleep(Duration::from_millis(ms)), 300)?;
    /// assert!(matches!(p.join_timeout(Duration::from_millis(10)).await, Err(ipc::JoinError::Timeout)));
    /// assert!(p.is_alive());
    /// p.join_timeout(Duration::from_secs(30)).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "join")]
    pub async fn join_timeout(&mut self, timeout: Duration) -> Result<R, JoinError> {
        match tokio::time::timeout(timeout, self.join()).await {
            Ok(result) => result,
            Err(_) => Err(JoinError::Timeout),
        }
    }

    /// Blocking form of [`join`](Process::join), for synchronous code.
    ///
    /// # Errors
    ///
    /// As [`join`](Process::join).
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> ipc::Result<()> {
    ///     ipc::init();
    ///     let mut p = ipc::Process::spawn(|x: i64| -x, 5)?;
    ///     assert_eq!(p.blocking_join()?, -5);
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_join(&mut self) -> Result<R, JoinError> {
        self.blocking_join_inner(None)
    }

    /// Blocking form of [`join_timeout`](Process::join_timeout).
    ///
    /// # Errors
    ///
    /// As [`join_timeout`](Process::join_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> ipc::Result<()> {
    ///     ipc::init();
    ///     let mut p = ipc::Process::spawn(|()| 1u8, ())?;
    ///     assert_eq!(p.blocking_join_timeout(std::time::Duration::from_secs(30))?, 1);
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_join_timeout(&mut self, timeout: Duration) -> Result<R, JoinError> {
        self.blocking_join_inner(Some(timeout))
    }

    fn blocking_join_inner(&mut self, timeout: Option<Duration>) -> Result<R, JoinError> {
        if self.joined {
            return Err(JoinError::AlreadyJoined);
        }
        let deadline = crate::deadline::within(timeout);
        let left = || crate::deadline::left(deadline);
        if self.report.is_none() && !self.silent {
            match self.control.blocking_recv_frame(usize::MAX, left()) {
                Ok(Some(frame)) => self.report = Some(frame),
                Ok(None) => return Err(JoinError::Timeout),
                Err(_) => self.silent = true,
            }
        }
        match self.child.blocking_wait(left())? {
            Some(status) => self.outcome(status),
            None => Err(JoinError::Timeout),
        }
    }

    fn outcome(&mut self, status: WaitStatus) -> Result<R, JoinError> {
        let Some((bytes, fds)) = self.report.take() else {
            return Err(match status {
                WaitStatus::Exited(code) => JoinError::Exited { code },
                WaitStatus::Signaled(signal) => JoinError::Signaled { signal },
            });
        };
        self.joined = true;
        match codec::decode::<Report>(&bytes, Vec::new()) {
            Ok(Report::Returned(value)) => Ok(codec::decode(&value, fds)?),
            Ok(Report::Panicked { message, location }) => Err(JoinError::Panicked { message, location }),
            Ok(Report::Failed(why)) => Err(JoinError::Failed(why)),
            Err(e) => Err(JoinError::Decode(e)),
        }
    }
}

impl<R> Drop for Process<R> {
    fn drop(&mut self) {
        if self.kill_on_drop && !self.joined {
            let _ = self.child.signal(libc::SIGKILL);
        }
        // Reap it when it exits, without a thread, if a runtime is at hand;
        // otherwise the next spawn, active_children() or exit does.
        if matches!(self.child.try_reap(), Ok(None)) {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                let child = self.child.clone();
                handle.spawn(async move { child.wait().await });
            }
        }
    }
}

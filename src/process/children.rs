//! Our children: the table of live children, `active_children()`, the
//! end-of-main sweep, and the detached spawns (the tracker, daemons).

use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Builder, Returns, SpawnError};
use crate::loom::AtomicU32;
use crate::sys::{self, WaitStatus};
use crate::wake::LazyAsyncFd;

/// What the parent knows of a child; shared between its [`Process`] handle
/// and the registry of children.
#[derive(Debug)]
pub(super) struct Child {
    pub(super) pid: i32,
    pub(super) name: String,
    pub(super) daemon: bool,
    /// Readable once the child has exited; registered with the reactor on
    /// the first async wait.
    pub(super) pidfd: LazyAsyncFd,
    /// Set once reaped. The lock serialises reaping: a pid is waited for by
    /// exactly one caller.
    pub(super) status: Mutex<Option<WaitStatus>>,
}

impl Child {
    /// Reaps the child if it has exited: its status, or `None` while it runs.
    /// The reaping call also drops the child from the registry, so every path
    /// (join, drop, sweep, exit) forgets it the same way.
    pub(super) fn try_reap(self: &Arc<Self>) -> std::io::Result<Option<WaitStatus>> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if status.is_none() {
            *status = sys::try_wait(self.pid)?;
            if let Some(how) = *status {
                crate::trace::event!(debug, pid = self.pid, name = %self.name, status = ?how, "reaped a child process");
                CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).retain(|c| !Arc::ptr_eq(c, self));
            }
        }
        Ok(*status)
    }

    pub(super) fn signal(self: &Arc<Self>, signal: i32) -> std::io::Result<()> {
        if self.try_reap()?.is_some() {
            return Ok(());
        }
        match sys::pidfd_send_signal(self.pidfd.fd(), signal) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            other => other,
        }
    }

    /// Waits for the child to exit and reaps it.
    ///
    /// Cancel safe: the only await is the pidfd's readiness.
    pub(super) async fn wait(self: &Arc<Self>) -> std::io::Result<WaitStatus> {
        loop {
            if let Some(status) = self.try_reap()? {
                return Ok(status);
            }
            // A pidfd stays readable once the process has exited, so the
            // readiness is never cleared: the next try_reap succeeds.
            let _ready = self.pidfd.registered()?.readable().await?;
        }
    }

    /// Blocks until the child exits (and reaps it), or `timeout` passes
    /// (`Ok(None)`).
    pub(super) fn blocking_wait(self: &Arc<Self>, timeout: Option<Duration>) -> std::io::Result<Option<WaitStatus>> {
        let deadline = crate::deadline::within(timeout);
        loop {
            if let Some(status) = self.try_reap()? {
                return Ok(Some(status));
            }
            let left = crate::deadline::left(deadline);
            if !sys::poll_fd(self.pidfd.fd(), sys::Interest::Read, left)? {
                return Ok(None);
            }
        }
    }
}

/// Every child this process spawned and has not reaped yet.
pub(super) static CHILDREN: Mutex<Vec<Arc<Child>>> = Mutex::new(Vec::new());
/// Numbers children for their default names (Python's `_identity`).
pub(super) static CHILD_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Reaps children that have exited; returns the ones still running. (The
/// registry lock is not held while reaping: `try_reap` takes it.)
pub(super) fn sweep_children() -> Vec<Arc<Child>> {
    let children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).clone();
    children.into_iter().filter(|c| matches!(c.try_reap(), Ok(None))).collect()
}

/// A running child, as [`active_children`] lists it.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let mut p = ipc::Process::builder().name("busy").spawn(|()| std::thread::sleep(std::time::Duration::from_millis(100)), ())?;
/// let info = ipc::active_children().into_iter().find(|c| c.pid == p.pid()).expect("listed");
/// assert_eq!((info.name.as_str(), info.daemon), ("busy", false));
/// p.join().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// The child's OS process id.
    pub pid: u32,
    /// The child's name.
    pub name: String,
    /// Whether it is a daemon.
    pub daemon: bool,
}

/// The children of this process that are still running; finished ones are
/// reaped as a side effect (Python's `active_children()`).
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let mut p = ipc::Process::spawn(|()| std::thread::sleep(std::time::Duration::from_millis(200)), ())?;
/// assert!(ipc::active_children().iter().any(|c| c.pid == p.pid()));
/// p.join().await?;
/// assert!(!ipc::active_children().iter().any(|c| c.pid == p.pid()));
/// # Ok(()) }
/// ```
pub fn active_children() -> Vec<ChildInfo> {
    sweep_children().iter().map(|c| ChildInfo { pid: c.pid as u32, name: c.name.clone(), daemon: c.daemon }).collect()
}

/// At the end of `#[ipc::main]`: terminate daemon children and wait for all
/// children, as Python does at interpreter exit.
pub(crate) fn main_exit() {
    let children = sweep_children();
    for child in children.iter().filter(|c| c.daemon) {
        let _ = child.signal(libc::SIGTERM);
    }
    for child in &children {
        let _ = child.blocking_wait(None);
    }
}

/// Starts a child that outlives this process and that nobody waits for
/// (the resource tracker): it does not die with its parent, is not among
/// the children `main` waits for at exit, and is never reaped here.
pub(crate) fn spawn_detached<A, T, M>(target: fn(A) -> T, arg: A) -> Result<(), SpawnError>
where
    T: Returns<(), M>,
    A: Serialize + DeserializeOwned + 'static,
{
    let p = Builder { detached: true, ..Builder::default() }.spawn(target, arg)?;
    // Its handle would kill or reap it; it lives as long as this process.
    std::mem::forget(p);
    Ok(())
}

/// Spawns a (non-daemon) child from this thread; consumes the command so the
/// descriptors it holds for the child are closed here.
pub(super) fn spawn_now(mut command: Command) -> std::io::Result<std::process::Child> {
    command.spawn()
}

/// Spawns children that must die with us (daemons, a test's children) from
/// one thread that lives as long as the process, since `PR_SET_PDEATHSIG`
/// fires when the creating *thread* exits.
pub(super) fn spawn_daemon(command: Command) -> std::io::Result<std::process::Child> {
    type Job = (Command, mpsc::SyncSender<std::io::Result<std::process::Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("ipc-daemon-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("starting the daemon spawner thread");
        tx
    });
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    // The thread runs for the life of the process (its channel's sender is a
    // static), so these fail only if spawning itself panicked in it.
    let gone = || std::io::Error::other("the daemon spawner thread is gone");
    spawner.send((command, reply_tx)).map_err(|_| gone())?;
    reply_rx.recv().map_err(|_| gone())?
}

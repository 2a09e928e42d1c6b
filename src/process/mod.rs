//! Child processes (Python's `multiprocessing.Process` and friends).
//!
//! [`Process::spawn`] (or [`Process::builder`]) starts a new OS process that
//! runs a [`Target`] — an `fn` item or non-capturing closure, sync or async —
//! with one serde argument, and [`Process::join`] awaits its return value.
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
//! Spawning, the child's bootstrap, the fork server and the resource tracker:
//! it uses `pipe` (each child's connection), `codec`, `handle`, `shm`, `wake`
//! and `sys`, and `error` for spawn's error (the one arrow up that remains);
//! `shared`, `pool` and `manager` use it.

mod bootstrap;
mod entry;
mod error;
mod fork_server;
mod target;
pub(crate) mod tracker;

use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::{JoinError, SpawnError};
pub use target::{AsyncFn, AsyncFn0, SyncFn, SyncFn0, Target};

pub(crate) use bootstrap::{
    catch_panic, dispatch_main, dispatch_test, panic_message, quiet_panics, set_test_mode, take_panic_location,
};
pub(crate) use entry::{conjure, offset_of, trampoline_at};
pub(crate) use target::{trampoline, TrampolineResult};

use crate::codec;
use crate::loom::{AtomicU32, Ordering};
use crate::pipe::Connection;
use crate::sys::{self, WaitStatus};
use crate::wake::LazyAsyncFd;
use bootstrap::{Bootstrap, Mode, Report};

// ----- who we are --------------------------------------------------------

/// This process, as [`current_process`] describes it.
#[derive(Debug, Clone)]
pub struct CurrentProcess {
    name: String,
    pid: i32,
    daemon: bool,
    authkey: [u8; 32],
    identity: Vec<u32>,
}

impl CurrentProcess {
    /// The process's name: `"MainProcess"` in the main process, the name given
    /// to the builder (or `"Process-N"`, `"Process-N:M"` for grandchildren, as
    /// Python numbers them) in a child.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// assert_eq!(ipc::current_process().name(), "MainProcess");
    /// let mut p = ipc::Process::spawn(|| ipc::current_process().name().to_owned(), ())?;
    /// assert!(p.join().await?.starts_with("Process-"));
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The OS process id.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ipc::current_process().pid(), std::process::id());
    /// ```
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Whether this process was started as a daemon.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// assert!(!ipc::current_process().daemon());
    /// let mut p = ipc::Process::builder().daemon(true).spawn(|| ipc::current_process().daemon(), ())?;
    /// assert!(p.join().await?);
    /// # Ok(()) }
    /// ```
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// The 32 random bytes made by the main process and inherited by every
    /// child: the default key of listeners and managers, so a process tree
    /// authenticates to itself without setup.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mine = *ipc::current_process().authkey();
    /// let mut p = ipc::Process::spawn(|| *ipc::current_process().authkey(), ())?;
    /// assert_eq!(p.join().await?, mine);
    /// # Ok(()) }
    /// ```
    pub fn authkey(&self) -> &[u8; 32] {
        &self.authkey
    }
}

/// The process that spawned this one, as [`parent_process`] describes it.
#[derive(Debug, Clone)]
pub struct ParentProcess {
    pid: i32,
    name: String,
    pidfd: Option<Arc<OwnedFd>>,
}

impl ParentProcess {
    /// The parent's OS process id.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|| ipc::parent_process().map(|p| p.pid()), ())?;
    /// assert_eq!(p.join().await?, Some(std::process::id()));
    /// # Ok(()) }
    /// ```
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// The parent's name.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|| ipc::parent_process().map(|p| p.name().to_owned()), ())?;
    /// assert_eq!(p.join().await?.as_deref(), Some("MainProcess"));
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the parent is still running (checked through a pidfd, so a
    /// recycled pid is not mistaken for it).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|| ipc::parent_process().is_some_and(|p| p.is_alive()), ())?;
    /// assert!(p.join().await?);
    /// # Ok(()) }
    /// ```
    pub fn is_alive(&self) -> bool {
        match &self.pidfd {
            Some(fd) => !sys::poll_fd(fd.as_fd(), sys::Interest::Read, Some(Duration::ZERO)).unwrap_or(true),
            None => sys::getppid() == self.pid,
        }
    }
}

static CURRENT: OnceLock<(CurrentProcess, Option<ParentProcess>)> = OnceLock::new();

pub(crate) fn init_main_process() {
    CURRENT.get_or_init(|| {
        let mut authkey = [0u8; 32];
        sys::random_bytes(&mut authkey).expect("the kernel's random source is readable");
        let me = CurrentProcess {
            name: "MainProcess".to_owned(),
            pid: sys::getpid(),
            daemon: false,
            authkey,
            identity: Vec::new(),
        };
        (me, None)
    });
}

fn init_child_process(me: CurrentProcess, parent: ParentProcess) {
    let _ = CURRENT.set((me, Some(parent)));
}

fn current() -> &'static (CurrentProcess, Option<ParentProcess>) {
    init_main_process();
    CURRENT.get().expect("initialised above")
}

/// This process (Python's `multiprocessing.current_process()`).
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// assert_eq!(ipc::current_process().name(), "MainProcess");
/// let mut p = ipc::Process::builder().name("worker").spawn(|()| ipc::current_process().name().to_owned(), ())?;
/// assert_eq!(p.join().await?, "worker");
/// # Ok(()) }
/// ```
pub fn current_process() -> &'static CurrentProcess {
    &current().0
}

/// The parent of this process, or `None` in the main process (Python's
/// `multiprocessing.parent_process()`).
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// assert!(ipc::parent_process().is_none());
/// let mut p = ipc::Process::spawn(|()| ipc::parent_process().map(|p| (p.pid(), p.is_alive())), ())?;
/// assert_eq!(p.join().await?, Some((std::process::id(), true)));
/// # Ok(()) }
/// ```
pub fn parent_process() -> Option<&'static ParentProcess> {
    current().1.as_ref()
}

/// The number of CPUs this process may run on (Python's `cpu_count()`,
/// which counts all CPUs; we count the ones the affinity mask allows).
///
/// # Examples
///
/// ```
/// assert!(ipc::cpu_count() >= 1);
/// ```
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// ----- children ----------------------------------------------------------

/// What the parent knows of a child; shared between its [`Process`] handle
/// and the registry of children.
#[derive(Debug)]
struct Child {
    pid: i32,
    name: String,
    daemon: bool,
    /// Readable once the child has exited; registered with the reactor on
    /// the first async wait.
    pidfd: LazyAsyncFd,
    /// Set once reaped. The lock serialises reaping: a pid is waited for by
    /// exactly one caller.
    status: Mutex<Option<WaitStatus>>,
}

impl Child {
    /// Reaps the child if it has exited: its status, or `None` while it runs.
    /// The reaping call also drops the child from the registry, so every path
    /// (join, drop, sweep, exit) forgets it the same way.
    fn try_reap(self: &Arc<Self>) -> std::io::Result<Option<WaitStatus>> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if status.is_none() {
            *status = sys::try_wait(self.pid)?;
            if status.is_some() {
                CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).retain(|c| !Arc::ptr_eq(c, self));
            }
        }
        Ok(*status)
    }

    fn signal(self: &Arc<Self>, signal: i32) -> std::io::Result<()> {
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
    async fn wait(self: &Arc<Self>) -> std::io::Result<WaitStatus> {
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
    fn blocking_wait(self: &Arc<Self>, timeout: Option<Duration>) -> std::io::Result<Option<WaitStatus>> {
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
static CHILDREN: Mutex<Vec<Arc<Child>>> = Mutex::new(Vec::new());
/// Numbers children for their default names (Python's `_identity`).
static CHILD_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Reaps children that have exited; returns the ones still running. (The
/// registry lock is not held while reaping: `try_reap` takes it.)
fn sweep_children() -> Vec<Arc<Child>> {
    let children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).clone();
    children.into_iter().filter(|c| matches!(c.try_reap(), Ok(None))).collect()
}

/// A running child, as [`active_children`] lists it.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let mut p = ipc::Process::builder().name("busy").spawn(|| std::thread::sleep(std::time::Duration::from_millis(100)), ())?;
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
pub(crate) fn spawn_detached<F, A, M>(target: F, arg: A) -> Result<(), SpawnError>
where
    F: Target<A, (), M>,
    A: Serialize + DeserializeOwned + 'static,
{
    let p = Builder { detached: true, ..Builder::default() }.spawn(target, arg)?;
    // Its handle would kill or reap it; it lives as long as this process.
    std::mem::forget(p);
    Ok(())
}

/// Spawns a (non-daemon) child from this thread; consumes the command so the
/// descriptors it holds for the child are closed here.
fn spawn_now(mut command: Command) -> std::io::Result<std::process::Child> {
    command.spawn()
}

/// Spawns children that must die with us (daemons, a test's children) from
/// one thread that lives as long as the process, since `PR_SET_PDEATHSIG`
/// fires when the creating *thread* exits.
fn spawn_daemon(command: Command) -> std::io::Result<std::process::Child> {
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

// ----- Process -----------------------------------------------------------

/// A child process running a [`Target`] that returns `R` (Python's
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

/// Configures a child before it starts (Python's `Process(name=…,
/// daemon=…)` arguments).
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until you call spawn"]
pub struct Builder {
    name: Option<String>,
    daemon: bool,
    kill_on_drop: bool,
    /// The resource tracker: outlives its parent, is nobody's child to wait
    /// for, and does not get the tracker itself.
    detached: bool,
    /// The fork server: dies with us, is nobody's child to wait for, does
    /// not get the tracker, and serves forks instead of running a target.
    fork_server: bool,
    /// Start the child through the fork server.
    forked: bool,
}

impl Builder {
    /// Names the child (default `"Process-N"`); the child sees it as
    /// [`current_process().name()`](CurrentProcess::name).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::builder().name("t1").spawn(|| ipc::current_process().name().to_owned(), ())?;
    /// assert_eq!(p.name(), "t1");
    /// assert_eq!(p.join().await?, "t1");
    /// # Ok(()) }
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Makes the child a daemon: it is terminated when `#[ipc::main]`
    /// returns, and killed by the kernel if this process dies in any way,
    /// SIGKILL included (Python only covers a clean exit).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// // Left running on purpose: it is terminated when main returns.
    /// let p = ipc::Process::builder().daemon(true).spawn(|| std::thread::sleep(std::time::Duration::from_secs(60)), ())?;
    /// assert!(p.daemon() && p.is_alive());
    /// # Ok(()) }
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Builder {
        self.daemon = daemon;
        self
    }

    /// Kills the child (SIGKILL) when its [`Process`] handle is dropped
    /// before it was joined.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let p = ipc::Process::builder().kill_on_drop(true).spawn(|| std::thread::sleep(std::time::Duration::from_secs(60)), ())?;
    /// drop(p); // the child is killed (and reaped) now
    /// # Ok(()) }
    /// ```
    pub fn kill_on_drop(mut self, kill: bool) -> Builder {
        self.kill_on_drop = kill;
        self
    }

    /// Starts a child process running `target(arg)`.
    ///
    /// `target` must be an `fn` item or a closure that captures nothing; a
    /// capturing closure is a compile-time error.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoDispatch`] if this program's entry did not install the
    /// dispatch (`#[ipc::main]`, `#[ipc::test]` or [`ipc::init()`](crate::init));
    /// [`SpawnError::Encode`] if `arg` cannot be encoded; [`SpawnError::Io`] if the OS
    /// cannot start the process.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::builder().name("adder").daemon(true).spawn(|(a, b): (i32, i32)| a + b, (2, 3))?;
    /// assert_eq!(p.join().await?, 5);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "start")]
    pub fn spawn<F, A, R, M>(self, target: F, arg: A) -> Result<Process<R>, SpawnError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        const { assert!(std::mem::size_of::<F>() == 0, "an ipc target must be a fn item or a non-capturing closure") };
        let _ = target;
        let (arg, fds) = codec::encode(&arg)?;
        let (child, control) = self.launch(entry::offset_of(target::trampoline::<F, A, R, M>), arg, fds)?;
        Ok(Process {
            child,
            control,
            report: None,
            silent: false,
            joined: false,
            kill_on_drop: self.kill_on_drop,
            _result: PhantomData,
        })
    }

    /// Starts the child through the fork server (pool workers): a copy of an
    /// idle process of this executable instead of a fresh `exec`, or a fresh
    /// `exec` if the server cannot be had.
    pub(crate) fn forked(mut self) -> Builder {
        self.forked = true;
        self
    }

    /// Starts a child running the trampoline at `entry` (not generic, so
    /// every target shares one copy of it): returns the child and our end of
    /// its control socket, down which its bootstrap message has gone.
    fn launch(
        &self,
        entry: isize,
        arg: Vec<u8>,
        mut fds: Vec<OwnedFd>,
    ) -> Result<(Arc<Child>, Connection), SpawnError> {
        let mode = bootstrap::mode().ok_or(SpawnError::NoDispatch)?;
        // The tracker and the fork server are nobody's children to list or
        // wait for, and do not get the tracker themselves.
        let listed = !self.detached && !self.fork_server;
        // The tree's resource tracker goes to every child (started now if
        // this is the first spawn); its descriptors go before stdout's.
        let tracker = if listed { tracker::for_child() } else { None };
        let tracker_follows = tracker.is_some();
        if let Some((table, alive)) = tracker {
            fds.push(table);
            fds.push(alive);
        }
        let me = current_process();
        // Relaxed: the counter only hands out distinct numbers; it orders nothing.
        let number = CHILD_COUNTER.fetch_add(1, Ordering::Relaxed) + 1;
        let mut identity = me.identity.clone();
        identity.push(number);
        let name = self.name.clone().unwrap_or_else(|| {
            let ids: Vec<String> = identity.iter().map(u32::to_string).collect();
            format!("Process-{}", ids.join(":"))
        });

        let (parent_end, child_end) = sys::socketpair(sys::SocketKind::SeqPacket)?;
        let stdout_follows = matches!(mode, Mode::Test(_));
        // A test process's own children die with it (a failed test must not
        // leave processes behind); deeper descendants follow the usual rules.
        // The fork server always dies with us.
        let die_with_parent =
            self.fork_server || (!self.detached && (self.daemon || (stdout_follows && me.identity.is_empty())));
        if stdout_follows {
            // The real stdout is handed over in the bootstrap message (the
            // child's own starts as /dev/null, hiding the harness's chatter).
            fds.push(sys::dup_cloexec(std::io::stdout().as_fd())?);
        }
        if fds.len() > sys::MAX_FDS_PER_MSG {
            return Err(SpawnError::Encode(codec::EncodeError(format!(
                "the argument carries {} descriptors; at most {} fit one spawn",
                fds.len(),
                sys::MAX_FDS_PER_MSG
            ))));
        }

        let boot = Bootstrap {
            version: bootstrap::VERSION,
            binary_check: entry::binary_check(),
            entry,
            mode,
            name: name.clone(),
            identity,
            daemon: self.daemon,
            die_with_parent,
            parent_pid: me.pid,
            parent_name: me.name.clone(),
            authkey: me.authkey,
            keys: crate::pipe::keyring(),
            stdout_follows,
            tracker_follows,
            fork_server: self.fork_server,
            arg,
        };
        let (boot_bytes, _) = codec::encode(&boot)?;

        sweep_children();
        // Every path drops our copy of the child's end of the control socket
        // before anything is sent: from here on, end-of-stream and EPIPE mean
        // the child is gone, so a child that dies early can never leave the
        // send below (or a join) waiting.
        let pid = match self.forked.then(|| fork_server::fork(&child_end)) {
            Some(Ok(pid)) => {
                drop(child_end);
                pid
            }
            // Not asked for, or no fork server to be had: a fresh exec.
            _ => {
                let command = exec_command(&boot.mode, child_end, me.pid);
                let spawned = if die_with_parent { spawn_daemon(command) } else { spawn_now(command) }?;
                spawned.id() as i32
            }
        };
        let pidfd = LazyAsyncFd::new(sys::pidfd_open(pid)?);
        let child = Arc::new(Child { pid, name, daemon: self.daemon, pidfd, status: Mutex::new(None) });
        if listed {
            CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).push(child.clone());
        }

        let mut control = Connection::new(parent_end, true, true)?;
        // A child that dies before reading makes this a broken pipe; join then
        // reports how it died.
        let _ = control.blocking_send_frame(&boot_bytes, &fds);
        Ok((child, control))
    }
}

/// The command that starts a child by `exec`: this executable, with the
/// control socket as its standard input (consumed, so our copy closes with
/// the command).
fn exec_command(mode: &Mode, child_end: OwnedFd, parent_pid: i32) -> Command {
    let mut command = Command::new("/proc/self/exe");
    if let Some(arg0) = std::env::args_os().next() {
        command.arg0(arg0);
    }
    if let Mode::Test(test) = mode {
        // Run just this test, quietly (the real stdout travels in the
        // bootstrap message). `--include-ignored`: an ignored test run on
        // purpose spawns too.
        command.args([test.as_str(), "--exact", "--include-ignored", "--nocapture", "--test-threads=1", "-q"]);
        command.stdout(Stdio::null());
    }
    command.env(bootstrap::MARKER, parent_pid.to_string());
    command.stdin(Stdio::from(child_end));
    command
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
    pub fn spawn<F, A, R, M>(target: F, arg: A) -> Result<Process<R>, SpawnError>
    where
        F: Target<A, R, M>,
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
    /// let mut p = ipc::Process::spawn(std::process::id, ())?;
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
    /// let mut p = ipc::Process::builder().name("worker").spawn(|| (), ())?;
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
    /// let mut p = ipc::Process::spawn(|| (), ())?;
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
    /// let mut p = ipc::Process::spawn(|| std::thread::sleep(std::time::Duration::from_millis(100)), ())?;
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
    /// let mut p = ipc::Process::spawn(|| std::thread::sleep(std::time::Duration::from_secs(60)), ())?;
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
    /// let mut p = ipc::Process::spawn(|| std::thread::sleep(std::time::Duration::from_secs(60)), ())?;
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

//! [`Builder`]: a child's name, daemon flag and standard streams, and the
//! launch itself.

use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::bootstrap::{self, Bootstrap, Mode};
use super::children::{CHILD_COUNTER, CHILDREN, Child, spawn_daemon, spawn_now, sweep_children};
use super::entry::Entry;
use super::{Process, Returns, SpawnError, capture, current_process, entry, fork_server, target, tracker};
use crate::codec;
use crate::loom::Ordering;
use crate::pipe::{Connection, TrySend};
use crate::sys;
use crate::wake::LazyAsyncFd;

/// Configures a child before it starts (Python's `Process(name=…,
/// daemon=…)` arguments).
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until you call spawn"]
pub struct Builder {
    pub(super) name: Option<String>,
    pub(super) daemon: bool,
    pub(super) kill_on_drop: bool,
    /// The resource tracker: outlives its parent, is nobody's child to wait
    /// for, and does not get the tracker itself.
    pub(super) detached: bool,
    /// The fork server: dies with us, is nobody's child to wait for, does
    /// not get the tracker, and serves forks instead of running a target.
    pub(super) fork_server: bool,
    /// By exec, or as a copy of the fork server.
    pub(super) start_method: StartMethod,
}

/// How a child starts (Python's start methods, `set_start_method`), chosen
/// per child with [`Builder::start_method`].
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// use ipc::process::StartMethod;
/// let mut p = ipc::Process::builder().start_method(StartMethod::ForkServer).spawn(|x: u32| x + 1, 1)?;
/// assert_eq!(p.join().await?, 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[doc(alias = "set_start_method")]
#[doc(alias = "get_context")]
pub enum StartMethod {
    /// A fresh `exec` of this executable (Python's `spawn`): the default.
    #[default]
    Spawn,
    /// A copy of the *fork server*, an idle process of this executable
    /// started by the first child that asks for it (Python's `forkserver`),
    /// made with `clone`: no fresh process image to load, so a child starts
    /// several times faster. The copy takes this process's working
    /// directory, environment, standard output and error of the moment;
    /// other inherited attributes (umask, resource limits, CPU affinity,
    /// ignored signals) are those this process had when the server started,
    /// as with Python's. It is this process's own child, like any other.
    /// Pool workers always start this way. If the server cannot be had, the
    /// child is started by `exec` instead.
    ForkServer,
}

impl Builder {
    /// Names the child (default `"Process-N"`); the child sees it as
    /// [`current_process().name()`](super::CurrentProcess::name).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::builder().name("t1").spawn(|()| ipc::current_process().name().to_owned(), ())?;
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
    /// let p = ipc::Process::builder().daemon(true).spawn(|()| std::thread::sleep(std::time::Duration::from_secs(60)), ())?;
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
    /// let p = ipc::Process::builder().kill_on_drop(true).spawn(|()| std::thread::sleep(std::time::Duration::from_secs(60)), ())?;
    /// drop(p); // the child is killed (and reaped) now
    /// # Ok(()) }
    /// ```
    pub fn kill_on_drop(mut self, kill: bool) -> Builder {
        self.kill_on_drop = kill;
        self
    }

    /// How the child starts: by a fresh `exec` (the default) or as a copy of
    /// the fork server (see [`StartMethod`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// use ipc::process::StartMethod;
    /// let b = ipc::Process::builder().name("quick").start_method(StartMethod::ForkServer);
    /// let mut p = b.spawn(|()| ipc::current_process().name().to_owned(), ())?;
    /// assert_eq!(p.join().await?, "quick");
    /// # Ok(()) }
    /// ```
    #[doc(alias = "set_start_method")]
    pub fn start_method(mut self, method: StartMethod) -> Builder {
        self.start_method = method;
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
    pub fn spawn<A, T, R, M>(self, target: fn(A) -> T, arg: A) -> Result<Process<R>, SpawnError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let (arg, fds) = codec::encode(&arg)?;
        let (child, control) = self.launch(Some(Entry::new(target::trampoline::<A, T, R, M>, target)), arg, fds)?;
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

    /// Starts a child running `entry` (the fork server: none), not generic,
    /// so every target shares one copy of it: returns the child and our end
    /// of its control socket, down which its bootstrap message has gone.
    pub(super) fn launch(
        &self,
        entry: Option<Entry>,
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
        // The test process's own children write into pipes it prints from,
        // so the harness captures their output (see `capture`); others, and
        // deeper descendants, write where their parent does.
        let captured = if stdout_follows && me.identity.is_empty() { Some(capture::writers()?) } else { None };
        let (stdout, stderr) = match captured {
            Some((out, err)) => (out, Some(err)),
            None => (sys::dup_cloexec(std::io::stdout().as_fd())?, None),
        };
        if stdout_follows {
            // The real stdout is handed over in the bootstrap message (the
            // child's own starts as /dev/null, hiding the harness's chatter).
            fds.push(stdout);
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
            arg,
        };
        let (boot_bytes, _) = codec::encode(&boot)?;

        sweep_children();
        // The bootstrap message goes in now if the socket takes it without
        // waiting (it nearly always does), so the child finds it the moment
        // it starts: a fork server's copy would otherwise wait for us to
        // hear the server's reply and send it, one wake-up more. What does
        // not fit at once waits for the child: every path drops our copy of
        // the child's end of the control socket before anything more is
        // sent, so end-of-stream and EPIPE then mean the child is gone, and
        // a child that dies early can never leave the send below (or a
        // join) waiting.
        let mut control = Connection::new(parent_end, true, true)?;
        let sent = matches!(control.try_send_frame(&boot_bytes, &fds), Ok(TrySend::Sent | TrySend::Started));
        let mut forked = false;
        let pid = match (self.start_method == StartMethod::ForkServer)
            .then(|| fork_server::fork(&child_end, stderr.as_ref()))
        {
            Some(Ok(pid)) => {
                drop(child_end);
                forked = true;
                pid
            }
            // Not asked for, or no fork server to be had: a fresh exec.
            _ => {
                let mut command = exec_command(&boot.mode, child_end, me.pid);
                if let Some(stderr) = stderr {
                    command.stderr(Stdio::from(stderr));
                }
                let spawned = if die_with_parent { spawn_daemon(command) } else { spawn_now(command) }?;
                spawned.id() as i32
            }
        };
        let pidfd = LazyAsyncFd::new(sys::pidfd_open(pid)?);
        crate::trace::event!(debug, pid, name = %name, daemon = self.daemon, forked, "spawned a child process");
        let child = Arc::new(Child { pid, name, daemon: self.daemon, pidfd, status: Mutex::new(None) });
        if listed {
            CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).push(child.clone());
        }

        // A child that dies before reading makes this a broken pipe; join then
        // reports how it died.
        let _ = if sent { control.blocking_flush() } else { control.blocking_send_frame(&boot_bytes, &fds) };
        Ok((child, control))
    }
}

/// The command that starts a child by `exec`: this executable, with the
/// control socket as its standard input (consumed, so our copy closes with
/// the command).
pub(super) fn exec_command(mode: &Mode, child_end: OwnedFd, parent_pid: i32) -> Command {
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

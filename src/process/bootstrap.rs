//! The child's side of a spawn, and the dispatch that `#[ipc::main]` and
//! `#[ipc::test]` install.
//!
//! # Implementation notes
//!
//! The child is started with exactly one inherited descriptor that is ours:
//! the control socket, as its standard input (the kernel's `dup2` in the
//! spawn clears close-on-exec on fd 0 only, so no descriptor number has to be
//! agreed on). Descriptors that the parent's program opened without
//! close-on-exec are inherited as well; the child closes every descriptor
//! above 2 before anything else runs, so what it holds is the standard
//! streams, the control socket and what the bootstrap message brings. An environment variable marks the
//! process as a child and names the parent's pid; the marker only counts if
//! `getppid()` agrees and fd 0 is a socket, so a grandchild that inherits the
//! environment by accident is not fooled. The child moves the socket off fd
//! 0, puts `/dev/null` there (as Python does), and reads one bootstrap
//! message carrying everything else. If the child dies at any point before it
//! reports, the parent sees end-of-stream on the socket at once.

use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::entry;
use super::{CurrentProcess, ParentProcess};
use crate::pipe::Connection;
use crate::{codec, sys};

/// The environment variable that marks a bootstrapping child.
pub(crate) const MARKER: &str = "__IPC_BOOTSTRAP";
/// Bumped whenever the bootstrap message changes shape.
pub(crate) const VERSION: u32 = 4;

/// How spawned children find their way back to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Mode {
    /// `#[ipc::main]` or `ipc::init()`: re-execute the binary as it is.
    Main,
    /// `#[ipc::test]`: re-execute the test binary filtered to this test.
    Test(String),
}

static GLOBAL_MODE: OnceLock<Mode> = OnceLock::new();

thread_local! {
    static TEST_MODE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The dispatch in force for a spawn from this thread, if any.
pub(crate) fn mode() -> Option<Mode> {
    TEST_MODE.with(|t| t.borrow().clone().map(Mode::Test)).or_else(|| GLOBAL_MODE.get().cloned())
}

/// Marks this thread as running the ipc test `name` (and so able to spawn).
pub(crate) fn set_test_mode(name: &str) {
    TEST_MODE.with(|t| *t.borrow_mut() = Some(name.to_owned()));
}

/// Everything a child needs besides its argument's descriptors.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Bootstrap {
    pub(crate) version: u32,
    pub(crate) binary_check: isize,
    /// What the child runs; none for the fork server, which serves forks
    /// instead (each copy then reads its own bootstrap message).
    pub(crate) entry: Option<entry::Entry>,
    pub(crate) mode: Mode,
    pub(crate) name: String,
    pub(crate) identity: Vec<u32>,
    pub(crate) daemon: bool,
    /// Die with the parent (`PR_SET_PDEATHSIG`): daemons, and every child of
    /// a test process, so a failing test leaves nothing running.
    pub(crate) die_with_parent: bool,
    pub(crate) parent_pid: i32,
    pub(crate) parent_name: String,
    pub(crate) authkey: [u8; 32],
    /// The keys the parent knew for listeners it connected to (its
    /// managers'), so a proxy handed to the child finds its key: proxies
    /// carry none. `(address, key, legacy_md5)`.
    pub(crate) keys: Vec<(crate::pipe::Address, Vec<u8>, bool)>,
    /// Whether the last descriptor is the parent's stdout (test mode: the
    /// child's own stdout starts as /dev/null to hide the test harness).
    pub(crate) stdout_follows: bool,
    /// Whether the two descriptors before it (or last) are the resource
    /// tracker's table and pipe.
    pub(crate) tracker_follows: bool,
    pub(crate) arg: Vec<u8>,
}

/// What a child reports before it exits.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Report {
    /// The target returned; the encoded value (its descriptors ride along).
    Returned(Vec<u8>),
    /// The target panicked.
    Panicked { message: String, location: Option<String> },
    /// The target could not be run (argument, result or binary trouble).
    Failed(String),
}

/// Dispatch for `#[ipc::main]` / `ipc::init()`: in a child, run the target
/// and exit; otherwise note that this process may spawn.
pub(crate) fn dispatch_main() {
    if let Some(control) = take_marker() {
        run_child(control);
    }
    let _ = GLOBAL_MODE.set(Mode::Main);
    super::init_main_process();
}

/// Dispatch for `#[ipc::test]`.
pub(crate) fn dispatch_test(path: &str) {
    // `module_path!()` starts with the crate name, which libtest leaves out.
    let name = path.split_once("::").map_or(path, |(_, rest)| rest);
    if let Some(control) = take_marker() {
        run_child(control);
    }
    set_test_mode(name);
    super::init_main_process();
}

/// Returns the control socket if this process is a bootstrapping child.
fn take_marker() -> Option<OwnedFd> {
    let value = std::env::var(MARKER).ok()?;
    let parent: i32 = value.parse().ok()?;
    if parent != sys::getppid() {
        return None;
    }
    let stdin = std::io::stdin();
    if !sys::is_socket(stdin.as_fd()) {
        return None;
    }
    // Descriptors the parent opened without close-on-exec leaked into us
    // (Python's spawn closes them too): the control socket on fd 0 and the
    // standard streams are all a child keeps.
    // SAFETY: this runs first thing in `main` (the dispatch of
    // `#[ipc::main]`/`#[ipc::test]`/`ipc::init()`), before anything of this
    // process could own a descriptor above 2; every one there is inherited.
    #[allow(unsafe_code)]
    let _ = unsafe { sys::close_from(3) };
    let control = sys::dup_cloexec(stdin.as_fd()).ok()?;
    // Standard input becomes /dev/null, as in Python's children.
    if let Ok(null) = sys::open_dev_null() {
        let _ = sys::dup_onto(null.as_fd(), 0);
    }
    Some(control)
}

fn run_child(control: OwnedFd) -> ! {
    let mut control = match Connection::from_fd(control) {
        Ok(c) => c,
        Err(_) => std::process::exit(70),
    };
    let (bytes, mut fds) = match control.blocking_recv_frame(usize::MAX, None) {
        Ok(Some(frame)) => frame,
        // The parent died or sent garbage before we started: nobody to report to.
        _ => std::process::exit(70),
    };
    let boot: Bootstrap = match codec::decode(&bytes, Vec::new()) {
        Ok(b) => b,
        Err(e) => report_and_exit(&mut control, Report::Failed(format!("bad bootstrap message: {e}")), Vec::new()),
    };
    if boot.version != VERSION {
        let msg = format!("bootstrap version {} from the parent, {VERSION} here", boot.version);
        report_and_exit(&mut control, Report::Failed(msg), Vec::new());
    }
    if boot.die_with_parent {
        // Die with the parent, even if it is SIGKILLed. Checked after setting
        // it: if the parent already died, the signal will never come.
        if sys::set_parent_death_signal().is_err() || sys::getppid() != boot.parent_pid {
            std::process::exit(70);
        }
    }
    if boot.stdout_follows {
        if let Some(stdout) = fds.pop() {
            let _ = sys::dup_onto(stdout.as_fd(), 1);
        }
    }
    let Some(entry) = boot.entry else {
        // The fork server. Before anything below sets this process's globals (its identity,
        // the tracker, the mode): each copy sets its own.
        let Bootstrap { mode, .. } = boot;
        drop(fds);
        let child = super::fork_server::serve(control, mode);
        // In a copy, which starts over as a freshly started child would.
        run_child(child);
    };
    if boot.tracker_follows {
        if let (Some(alive), Some(table)) = (fds.pop(), fds.pop()) {
            super::tracker::adopt(table, alive);
        }
    }
    crate::pipe::inherit_keyring(boot.keys);
    let _ = GLOBAL_MODE.set(boot.mode.clone());
    let parent_pidfd = sys::pidfd_open(boot.parent_pid).ok();
    super::current::init_child_process(
        CurrentProcess {
            name: boot.name,
            pid: sys::getpid(),
            daemon: boot.daemon,
            authkey: boot.authkey,
            identity: boot.identity,
        },
        ParentProcess { pid: boot.parent_pid, name: boot.parent_name, pidfd: parent_pidfd.map(std::sync::Arc::new) },
    );
    if boot.binary_check != entry::binary_check() {
        let msg = "the child is not running the parent's executable".to_owned();
        report_and_exit(&mut control, Report::Failed(msg), Vec::new());
    }
    install_panic_hook();
    let arg = boot.arg;
    match catch_panic(move || entry.run(arg, fds)) {
        Ok(Ok((bytes, fds))) => report_and_exit(&mut control, Report::Returned(bytes), fds),
        Ok(Err(why)) => report_and_exit(&mut control, Report::Failed(why), Vec::new()),
        Err((message, location)) => report_and_exit(&mut control, Report::Panicked { message, location }, Vec::new()),
    }
}

fn report_and_exit(control: &mut Connection, report: Report, fds: Vec<OwnedFd>) -> ! {
    let code = match report {
        Report::Returned(_) => 0,
        _ => 1,
    };
    if let Ok((bytes, _)) = codec::encode(&report) {
        // If the parent is gone there is nobody to tell; exit all the same.
        let _ = control.blocking_send_frame(&bytes, &fds);
    }
    std::process::exit(code)
}

thread_local! {
    static LAST_PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn record_location(location: Option<&std::panic::Location<'_>>) {
    let loc = location.map(|loc| format!("{}:{}:{}", loc.file(), loc.line(), loc.column()));
    LAST_PANIC_LOCATION.with(|l| *l.borrow_mut() = loc);
}

/// A child's panic hook: records the location, and says which process
/// panicked before the usual message (Python prints `Process Process-1:`
/// before a child's traceback), so a child's `thread 'main' panicked at …`
/// is not taken for the parent's.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    let me = super::current::current_process();
    let header = format!("Process {} (pid {}):\n", me.name(), me.pid());
    std::panic::set_hook(Box::new(move |info| {
        record_location(info.location());
        // Not `eprintln!`: a closed stderr must not panic inside the hook.
        let _ = std::io::Write::write_all(&mut std::io::stderr(), header.as_bytes());
        previous(info);
    }));
}

/// Records panics' locations without printing them (pool workers: a task's
/// panic comes back to the caller as data, as a Python pool's exceptions do).
pub(crate) fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| record_location(info.location())));
}

/// Runs `f` in a child, turning a panic into its message and its
/// `file:line:column` (recorded by the child's panic hook).
///
/// The location is the one the hook recorded last, which is this panic's:
/// the hook runs for every panic before it unwinds to here.
pub(crate) fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, (String, Option<String>)> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|payload| (panic_message(&*payload), LAST_PANIC_LOCATION.with(|l| l.borrow_mut().take())))
}

/// The location the quiet panic hook recorded for this thread's last panic.
pub(crate) fn take_panic_location() -> Option<String> {
    LAST_PANIC_LOCATION.with(|l| l.borrow_mut().take())
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

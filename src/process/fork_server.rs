//! The fork server: an idle process of this executable that pool workers,
//! and children started with [`StartMethod::ForkServer`](super::StartMethod),
//! are copied from (Python's `forkserver` start method).
//!
//! # Implementation notes
//!
//! Starting a child by `exec` costs a fresh process image: the dynamic
//! loader's relocations, the C and Rust run-time start-up, page faults on
//! every page touched. That is most of a pool's start-up (and of replacing
//! a worker). The fork server pays it once: it is started by `exec` like any
//! child, but is told in its bootstrap message to serve forks, which it does
//! *before* setting any of its own globals (identity, tracker, mode). Each
//! request carries the new child's control socket, the caller's standard
//! output and error, its working directory and — when it changed since the
//! last request — its environment, which the server takes on itself before
//! it forks (so a copy starts with them, and the common case, an unchanged
//! environment, costs the copy nothing: setting an environment in the copy
//! was a third of its time, in allocations and the copy-on-write faults
//! they caused). The copy takes on the standard streams, drops the server's
//! socket and carries on exactly as a freshly started child would after
//! finding its control socket: it reads its own bootstrap message from the
//! parent. Other attributes a process
//! inherits (umask, resource limits, CPU affinity, ignored signals) are the
//! server's: this process's when the server started, as with Python's
//! `forkserver`.
//!
//! The copy is made with `clone(CLONE_PARENT)` ([`sys::fork_sibling`]), so
//! it is the *parent's* child, not the server's: the parent reaps it, reads
//! its exit status, and its `PR_SET_PDEATHSIG` is tied to the parent's
//! spawner thread, as for any daemon child. Nothing else changes for it.
//!
//! Forking is only sound from a process with no other thread that could
//! hold a lock. The server checks this when it starts: one thread under
//! `#[ipc::main]` / `ipc::init()`, two under the test harness (whose main
//! thread sleeps in a channel receive while the test's thread runs — the
//! harness is run with `--test-threads=1`). Otherwise it exits, and every
//! child from then on is started by `exec`. A request to a server that died
//! or misbehaved falls back to `exec` too, and the next one starts a new
//! server.
//!
//! The server is not among [`active_children`](super::active_children) and
//! nobody waits for it: it exits when its socket closes (this process
//! ended) or is killed with its parent.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Builder;
use super::bootstrap::Mode;
use super::children::Child;
use crate::codec;
use crate::pipe::Connection;
use crate::sys::{self, Forked};

/// What the server sends once it is ready to fork.
const READY: &[u8] = b"ready";
/// How long the server may take to start or to answer a request before it
/// is taken for stuck (and killed; the caller falls back to `exec`).
const PATIENCE: Duration = Duration::from_secs(5);
/// The largest request the server reads (an environment can be large).
const MAX_REQUEST: usize = 16 << 20;

/// One fork. The copy's working directory and environment are the
/// caller's as it has them now (as an `exec`'d child would inherit them);
/// the environment is sent when it differs from the last request's, `None`
/// when it does not. Its control socket and the caller's standard output
/// and error travel beside it.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    /// Always sent: a directory the server could not enter last time (say,
    /// it was gone) may be there now.
    cwd: Vec<u8>,
    env: Option<Environment>,
}

type Environment = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Forked(i32),
    Failed(String),
}

/// The running server, as the parent holds it.
struct Server {
    child: std::sync::Arc<Child>,
    control: Connection,
    /// The environment the server has taken on: the last one sent.
    env: Environment,
}

/// The fork server of this process, as far as we know.
enum State {
    /// Not started yet, or the last one died (the next fork starts one).
    Idle,
    Running(Box<Server>),
    /// It would not start here (say, threads started before `ipc::init()`
    /// in the copy it would fork from): children are `exec`'d from now on.
    Unavailable,
}

static SERVER: Mutex<State> = Mutex::new(State::Idle);

/// Makes a child from the fork server (starting it first if need be) whose
/// control socket is `child_end`; returns its pid. An error means the
/// caller should start the child by `exec` instead.
/// The copy's stderr is `stderr` if given, else ours (its stdout is set by
/// its bootstrap message).
pub(super) fn fork(child_end: &OwnedFd, stderr: Option<&OwnedFd>) -> io::Result<i32> {
    let cwd = std::env::current_dir().map(|d| d.into_os_string().into_vec()).unwrap_or_default();
    let env: Environment = std::env::vars_os().map(|(k, v)| (k.into_vec(), v.into_vec())).collect();
    let fds = [
        child_end.try_clone()?,
        sys::dup_cloexec(std::io::stdout().as_fd())?,
        sys::dup_cloexec(stderr.map_or(std::io::stderr().as_fd(), AsFd::as_fd))?,
    ];
    // Held while the server starts (once) and forks (~0.1 ms): forks are
    // served one at a time anyway.
    let mut state = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    if matches!(*state, State::Idle) {
        *state = match Server::start() {
            Ok(server) => {
                crate::trace::event!(info, pid = server.child.pid, "the fork server started");
                State::Running(Box::new(server))
            }
            Err(e) => {
                crate::trace::event!(warn, error = %e, "no fork server: pool workers start by exec");
                State::Unavailable
            }
        };
    }
    let State::Running(server) = &mut *state else {
        return Err(io::Error::other("no fork server in this process"));
    };
    let request = Request { cwd, env: (env != server.env).then(|| env.clone()) };
    let (request, _) = codec::encode(&request).map_err(io::Error::other)?;
    match server.exchange(&request, &fds) {
        Ok(Reply::Forked(pid)) => {
            // Taken on before the fork: the next request sends it only if
            // it changed.
            server.env = env;
            Ok(pid)
        }
        // The server is fine; this fork failed (say, a process limit).
        Ok(Reply::Failed(why)) => Err(io::Error::other(why)),
        // Gone, stuck or confused: replaced on the next request.
        Err(e) => {
            crate::trace::event!(warn, error = %e, "the fork server failed; it is restarted on the next fork");
            *state = State::Idle;
            Err(e)
        }
    }
}

impl Server {
    fn start() -> io::Result<Server> {
        let builder = Builder { name: Some("ipc-fork-server".to_owned()), fork_server: true, ..Builder::default() };
        let (child, control) = builder.launch(None, Vec::new(), Vec::new()).map_err(io::Error::other)?;
        // Dropped (killed and reaped) if it does not come up.
        // Nothing taken on yet: the first request sends the environment.
        let mut server = Server { child, control, env: Vec::new() };
        match server.control.blocking_recv_frame(READY.len(), Some(PATIENCE)) {
            Ok(Some((ready, _))) if ready == READY => Ok(server),
            _ => Err(io::Error::other("the fork server did not start")),
        }
    }

    /// Sends a request and reads the reply.
    fn exchange(&mut self, request: &[u8], fds: &[OwnedFd]) -> io::Result<Reply> {
        self.control.blocking_send_frame(request, fds).map_err(io::Error::other)?;
        let (reply, _) = self
            .control
            .blocking_recv_frame(1024, Some(PATIENCE))
            .map_err(io::Error::other)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "the fork server did not answer"))?;
        codec::decode(&reply, Vec::new()).map_err(io::Error::other)
    }
}

impl Drop for Server {
    /// Kills the server and reaps it (it dies at once).
    fn drop(&mut self) {
        let _ = self.child.signal(libc::SIGKILL);
        let _ = self.child.blocking_wait(Some(PATIENCE));
    }
}

/// The server's loop, in the server process. Returns only in a copy, with
/// the copy's control socket.
pub(super) fn serve(mut control: Connection, mode: Mode) -> OwnedFd {
    let threads = match mode {
        Mode::Main => 1,
        Mode::Test(_) => 2,
    };
    drop(mode);
    if sys::thread_count().ok() != Some(threads) || control.blocking_send_frame(READY, &[]).is_err() {
        std::process::exit(0);
    }
    loop {
        let Ok(Some((request, fds))) = control.blocking_recv_frame(MAX_REQUEST, None) else {
            // Our parent closed the socket (it ended or gave up on us).
            std::process::exit(0);
        };
        let reply = match (codec::decode::<Request>(&request, Vec::new()), <[OwnedFd; 3]>::try_from(fds)) {
            (Ok(request), Ok([child_end, stdout, stderr])) => {
                request.take_on();
                // SAFETY: this process has no thread but this one, or the test
                // harness's main thread asleep in a channel receive (checked
                // above, and nothing since has started one); the copy only
                // runs Rust code that needs neither robust mutexes nor
                // pthread's idea of its thread id.
                #[allow(unsafe_code)]
                let forked = unsafe { sys::fork_sibling() };
                match forked {
                    Ok(Forked::Child) => {
                        drop(control);
                        let _ = sys::dup_onto(stdout.as_fd(), 1);
                        let _ = sys::dup_onto(stderr.as_fd(), 2);
                        return child_end;
                    }
                    Ok(Forked::Caller(pid)) => Reply::Forked(pid),
                    Err(e) => Reply::Failed(format!("the fork server could not fork: {e}")),
                }
            }
            _ => Reply::Failed("a malformed fork request".to_owned()),
        };
        let Ok((reply, _)) = codec::encode(&reply) else { std::process::exit(0) };
        if control.blocking_send_frame(&reply, &[]).is_err() {
            std::process::exit(0);
        }
    }
}

impl Request {
    /// In the server, before it forks: the caller's working directory and
    /// environment (if it changed).
    fn take_on(self) {
        // A directory that is gone stays the server's, as a deleted working
        // directory would for an exec'd child.
        let _ = std::env::set_current_dir(OsString::from_vec(self.cwd));
        let Some(env) = self.env else { return };
        // `set_var` and `remove_var` panic on names a C environment can
        // hold all the same; those are left as they are.
        let settable = |name: &[u8]| !name.is_empty() && !name.contains(&b'=') && !name.contains(&0);
        for (name, _) in std::env::vars_os() {
            let name_bytes = name.as_bytes();
            if settable(name_bytes) && !env.iter().any(|(n, _)| n == name_bytes) {
                // SAFETY: the server runs no thread but this one, or the test
                // harness's main thread asleep in a channel receive (checked
                // when it started, and it starts none): nothing reads the
                // environment while it changes.
                #[allow(unsafe_code)]
                unsafe {
                    std::env::remove_var(name)
                };
            }
        }
        for (name, value) in env {
            if settable(&name)
                && !value.contains(&0)
                && std::env::var_os(OsStr::from_bytes(&name)).is_none_or(|v| v.as_bytes() != value)
            {
                // SAFETY: as for `remove_var` above.
                #[allow(unsafe_code)]
                unsafe {
                    std::env::set_var(OsString::from_vec(name), OsString::from_vec(value))
                };
            }
        }
    }
}

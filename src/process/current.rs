//! Who we are: this process and its parent, as `current_process()` and
//! `parent_process()` describe them.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::sys;

/// This process, as [`current_process`] describes it.
#[derive(Debug, Clone)]
pub struct CurrentProcess {
    pub(super) name: String,
    pub(super) pid: i32,
    pub(super) daemon: bool,
    pub(super) authkey: [u8; 32],
    pub(super) identity: Vec<u32>,
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
    /// let mut p = ipc::Process::spawn(|()| ipc::current_process().name().to_owned(), ())?;
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
    /// let mut p = ipc::Process::builder().daemon(true).spawn(|()| ipc::current_process().daemon(), ())?;
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
    /// let mut p = ipc::Process::spawn(|()| *ipc::current_process().authkey(), ())?;
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
    pub(super) pid: i32,
    pub(super) name: String,
    pub(super) pidfd: Option<Arc<OwnedFd>>,
}

impl ParentProcess {
    /// The parent's OS process id.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let mut p = ipc::Process::spawn(|()| ipc::parent_process().map(|p| p.pid()), ())?;
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
    /// let mut p = ipc::Process::spawn(|()| ipc::parent_process().map(|p| p.name().to_owned()), ())?;
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
    /// let mut p = ipc::Process::spawn(|()| ipc::parent_process().is_some_and(|p| p.is_alive()), ())?;
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

pub(super) static CURRENT: OnceLock<(CurrentProcess, Option<ParentProcess>)> = OnceLock::new();

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

pub(super) fn init_child_process(me: CurrentProcess, parent: ParentProcess) {
    let _ = CURRENT.set((me, Some(parent)));
}

pub(super) fn current() -> &'static (CurrentProcess, Option<ParentProcess>) {
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

//! A pool of worker processes (Python's `multiprocessing.Pool`) that never
//! hangs on a dead worker.
//!
//! # Implementation notes
//!
//! Each worker is a daemon child — a copy made by the fork server, see
//! [`crate::process`] — with one [`Connection`](crate::Connection)
//! to the pool, kept busy by a slot task of its own (`slot.rs`), so the
//! pool always knows which jobs each worker holds. A job is a chunk of
//! tasks — the target and its chunk runner, named by their offsets as a
//! spawn names its target and trampoline, and the arguments encoded as one buffer of records
//! (`chunk.rs`) — and its answer
//! is the outcomes as another, so a default-chunked `map` costs one message
//! per chunk each way. Jobs wait in one queue; slots take them, several at
//! a time for a worker whose jobs are short. If a worker's connection ends
//! instead of answering, it died: its slot reaps it, fails only the job it
//! was running with [`TaskError::WorkerDied`] (with its exit code), puts
//! the jobs it had not started back in the queue, and starts a replacement.
//! Submitted work is followed by a [`TaskHandle`] (Python's
//! `AsyncResult`, `handle.rs`), which the pool completes from its own
//! tasks, callbacks included, whether or not anyone holds the handle:
//! dropping it detaches the work. A job whose work was aborted
//! ([`TaskHandle::abort`], or a dropped `apply`/`map` future or `imap`
//! stream, which cancel what they started) is skipped when its turn comes.
//! A `map`'s answers are gathered
//! (`gather.rs`): its caller takes them in item order but is woken only for
//! the last one, a failure, or a large one it can decode while the rest
//! still run — not once per chunk.
//!
//! # What this room holds and may use
//!
//! The pool (here: its state, `apply`, `close`/`join`/`terminate`), its
//! builder (`builder.rs`), the map family (`map.rs`; each async form's
//! blocking twin beside it), worker slots (`slot.rs`, `worker.rs`), chunks, task
//! handles and gathering: it uses `process` and `pipe` (each worker is a
//! child with a connection), `codec`, `wake` and `sys`; nothing but the
//! crate root uses it.

mod builder;
mod chunk;
mod error;
mod gather;
mod handle;
mod map;
mod slot;
mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::stream::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

pub use builder::PoolBuilder;
pub use error::{PoolError, TaskError};
use gather::{Gathered, Reply};
pub use handle::TaskHandle;
use handle::{Completion, ToHandle};
use worker::{Blob, Init};

use crate::process::{Entry, Returns};

/// Jobs each worker may have queued for it by `imap`/`imap_unordered`.
const IN_FLIGHT_PER_WORKER: usize = 4;

/// A `map` hands its chunks to the queue in groups of at least this many
/// bytes (or [`SUBMIT_GROUP`] chunks), so workers start while the rest is
/// encoded and small chunks do not cost a wake-up each.
const SUBMIT_BYTES: usize = 32 << 10;

/// See [`SUBMIT_BYTES`].
const SUBMIT_GROUP: usize = 256;

/// The answer to a job: its outcomes as a chunk, or why it has none.
type Answer = Result<Blob, TaskError>;

/// A chunk of tasks for one worker.
struct Job {
    /// The target and its chunk runner.
    entry: Entry,
    /// The arguments, as records.
    chunk: Blob,
    reply: Reply,
}

impl Job {
    /// A job that is the whole of some work, completing `completion` with
    /// its answer decoded by `decode`.
    fn task<T: Send + 'static>(
        entry: Entry,
        chunk: Blob,
        completion: Arc<Completion<T>>,
        decode: impl Fn(Blob) -> Result<T, TaskError> + Send + 'static,
    ) -> Job {
        Job { entry, chunk, reply: Reply::Task(Box::new(ToHandle::new(completion, decode))) }
    }
}

/// How workers are made.
struct Settings {
    initializer: Option<Init>,
    max_tasks_per_child: Option<u64>,
}

/// A pool of worker processes running tasks (Python's
/// `multiprocessing.Pool`).
///
/// Targets are function pointers (`fn` items or closures that capture
/// nothing), as for [`Process::spawn`](crate::Process::spawn), taking one
/// serde argument (a tuple for several) and returning a serde value (or a
/// future of one). A task that panics, or
/// whose worker is killed, fails on its own ([`TaskError`]); the pool
/// replaces dead workers and the rest of the work completes.
///
/// Dropping the pool terminates it (Python's `with Pool() as p:`): workers
/// are killed and reaped, unfinished tasks fail with
/// [`TaskError::Terminated`].
///
/// Workers are copies of a *fork server* (Python's `forkserver` start
/// method): the first pool of a process starts it — one process of this
/// executable, started like any child, then idle — and every worker after
/// that, in any pool, is a copy of it rather than a fresh start of the
/// executable, which makes a pool's start-up and the replacement of a dead
/// worker several times faster. A worker still starts in the working
/// directory, with the environment and the standard output and error the
/// process has when the worker is started (its umask, resource limits and
/// CPU affinity are those the process had when the server started), and is
/// this process's own child (its pid, exit status and
/// death are ours to see). The server is not among
/// [`active_children`](crate::active_children); it exits with this
/// process. Where it cannot be used, workers are started as any child is.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = ipc::Pool::new(2).await?;
/// assert_eq!(pool.apply(|x: u64| x * x, 7).await?, 49);
/// assert_eq!(pool.map(|x: u64| x * 2, 0..5).await?, [0, 2, 4, 6, 8]);
/// pool.close();
/// pool.join().await?;
/// # Ok(()) }
/// ```
pub struct Pool {
    shared: Arc<Shared>,
    /// The runtime of a pool built from synchronous code
    /// ([`PoolBuilder::blocking_build`]), on a thread of its own.
    runtime: Option<tokio::runtime::Runtime>,
}

/// What the pool's handle and its slots share.
struct Shared {
    processes: usize,
    settings: Settings,
    /// The runtime the pool's tasks run on (the one it was built on).
    runtime: tokio::runtime::Handle,
    /// The thread driving that runtime, if it is a current-thread one: a
    /// blocking wait there would wait for tasks only it can run.
    driver: Option<std::thread::ThreadId>,
    state: Mutex<State>,
    /// Jobs were queued for an idle slot, or the pool was closed or
    /// terminated: slots look again.
    changed: Notify,
    /// The last slot ended.
    ended: Notify,
}

struct State {
    /// Jobs no worker holds yet, oldest first.
    queue: VecDeque<Job>,
    /// `close` or `terminate` was called: no new work.
    closed: bool,
    terminated: bool,
    /// Slots still running.
    slots: usize,
    /// Slots whose worker holds no job.
    idle: usize,
    /// Workers started so far (names them).
    workers_started: usize,
}

impl State {
    fn next_worker(&mut self) -> usize {
        self.workers_started += 1;
        self.workers_started
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `jobs`, or fails them if the pool takes no more work.
    fn submit(&self, jobs: impl IntoIterator<Item = Job>) {
        let mut state = self.lock();
        let refused = if state.closed {
            Some(TaskError::Closed)
        } else if state.slots == 0 {
            Some(TaskError::NoWorkers)
        } else {
            None
        };
        if let Some(e) = refused {
            drop(state);
            for job in jobs {
                job.reply.send(Err(e.clone()));
            }
            return;
        }
        state.queue.extend(jobs);
        // A busy slot looks at the queue when its next answer comes.
        let wake = state.idle > 0;
        drop(state);
        if wake {
            self.changed.notify_waiters();
        }
    }

    /// Puts jobs a worker had not started back at the front of the queue.
    fn requeue(&self, jobs: Vec<Job>) {
        if jobs.is_empty() {
            return;
        }
        let mut state = self.lock();
        for job in jobs.into_iter().rev() {
            state.queue.push_front(job);
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// A slot ended (`idle` as it counted itself); the last one fails what
    /// is still queued.
    fn slot_ended(&self, idle: bool) {
        let mut state = self.lock();
        state.slots -= 1;
        state.idle -= usize::from(idle);
        let last = state.slots == 0;
        let orphans = if last { std::mem::take(&mut state.queue) } else { VecDeque::new() };
        let why = if state.terminated { TaskError::Terminated } else { TaskError::NoWorkers };
        drop(state);
        for job in orphans {
            job.reply.send(Err(why.clone()));
        }
        if last {
            self.ended.notify_waiters();
        }
    }

    /// Closes (and with `terminate`, terminates) the pool; queued jobs of a
    /// terminated pool fail.
    fn close(&self, terminate: bool) {
        let mut state = self.lock();
        state.closed = true;
        let dropped = if terminate {
            state.terminated = true;
            std::mem::take(&mut state.queue)
        } else {
            VecDeque::new()
        };
        drop(state);
        for job in dropped {
            job.reply.send(Err(TaskError::Terminated));
        }
        self.changed.notify_waiters();
    }

    /// Waits until every slot has ended.
    async fn slots_ended(&self) {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.lock().slots == 0 {
                return;
            }
            ended.await;
        }
    }

    fn apply_async<A, T, R, M>(&self, target: fn(A) -> T, arg: A) -> TaskHandle<R>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        match chunk::encode(std::slice::from_ref(&arg)) {
            Ok(args) => {
                let completion = Completion::new(None);
                self.submit([Job::task(chunk::entry_of(target), args.blob, completion.clone(), chunk::outcome::<R>)]);
                TaskHandle::new(completion).on(self.driver)
            }
            Err(e) => TaskHandle::done(Err(TaskError::Encode(e))),
        }
    }

    /// Submits `items` as one job whose tasks' outcomes come back each on
    /// its own (a chunk of an `imap`).
    fn chunk_async<A, T, R, M>(&self, target: fn(A) -> T, items: Vec<A>) -> TaskHandle<Vec<Result<R, TaskError>>>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let count = items.len();
        match chunk::encode(&items) {
            Ok(args) => {
                let completion = Completion::new(None);
                let decode = move |blob| Ok(chunk::each_outcome::<R>(blob, count));
                self.submit([Job::task(chunk::entry_of(target), args.blob, completion.clone(), decode)]);
                TaskHandle::new(completion).on(self.driver)
            }
            Err(e) => TaskHandle::done(Ok((0..count).map(|_| Err(TaskError::Encode(e.clone()))).collect())),
        }
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("processes", &self.shared.processes).finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool of `processes` workers (Python's `Pool(processes)`).
    ///
    /// # Errors
    ///
    /// As [`PoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// assert_eq!(pool.processes(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn new(processes: usize) -> Result<Pool, PoolError> {
        Pool::builder().processes(processes).build().await
    }

    /// A [`PoolBuilder`] for the other settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let _b = ipc::Pool::builder().processes(2).max_tasks_per_child(10);
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// assert_eq!(ipc::Pool::new(1).await?.processes(), 1);
    /// # Ok(()) }
    /// ```
    pub fn processes(&self) -> usize {
        self.shared.processes
    }

    /// Starts `target(arg)` on a worker (Python's `apply_async`); the
    /// [`TaskHandle`] resolves to its result, and takes
    /// [`callback`](TaskHandle::callback)s. Dropping the handle detaches
    /// the task: it still runs, and `close()` + `join()` wait for it;
    /// [`abort`](TaskHandle::abort) cancels it if it has not started.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let a = pool.apply_async(|x: u32| x + 1, 1);
    /// let b = pool.apply_async(|x: u32| x + 2, 1);
    /// assert_eq!((a.await?, b.await?), (2, 3));
    /// # Ok(()) }
    /// ```
    pub fn apply_async<A, T, R, M>(&self, target: fn(A) -> T, arg: A) -> TaskHandle<R>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.shared.apply_async(target, arg)
    }

    /// Runs `target(arg)` on a worker and returns its result (Python's
    /// `apply`).
    ///
    /// # Errors
    ///
    /// [`TaskError`]: the task panicked, its worker died, its result did
    /// not decode, or the pool is closed or terminated.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the task if it has not started.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let err = pool.apply(|()| -> u8 { panic!("no") }, ()).await.unwrap_err();
    /// assert!(matches!(err, ipc::TaskError::Panicked { ref message, .. } if message == "no"));
    /// assert_eq!(pool.apply(|s: String| s.len(), "still fine".to_owned()).await?, 10);
    /// # Ok(()) }
    /// ```
    pub async fn apply<A, T, R, M>(&self, target: fn(A) -> T, arg: A) -> Result<R, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async(target, arg).aborting().await
    }

    /// Refuses new work; work already submitted still runs (Python's
    /// `close`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// pool.close();
    /// assert!(matches!(pool.apply(|x: u8| x, 1).await, Err(ipc::TaskError::Closed)));
    /// pool.join().await?;
    /// # Ok(()) }
    /// ```
    pub fn close(&self) {
        self.shared.close(false);
    }

    /// Waits until the work submitted is done and every worker has exited
    /// (Python's `join`, after [`close`](Pool::close)).
    ///
    /// # Errors
    ///
    /// [`PoolError::NotClosed`] if the pool was neither closed nor
    /// terminated (as Python's `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// assert!(pool.join().await.is_err(), "not closed yet");
    /// let pending = pool.apply_async(|x: u8| x * 3, 5);
    /// pool.close();
    /// pool.join().await?;
    /// assert_eq!(pending.await?, 15, "submitted work finished first");
    /// # Ok(()) }
    /// ```
    pub async fn join(&self) -> Result<(), PoolError> {
        if !self.shared.lock().closed {
            return Err(PoolError::NotClosed);
        }
        self.shared.slots_ended().await;
        Ok(())
    }

    /// Kills every worker now and reaps them; unfinished tasks fail with
    /// [`TaskError::Terminated`] (Python's `terminate`). Dropping the pool
    /// does the same without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let slow = pool.apply_async(|()| std::thread::sleep(std::time::Duration::from_secs(60)), ());
    /// pool.terminate().await;
    /// assert!(matches!(slow.await, Err(ipc::TaskError::Terminated)));
    /// # Ok(()) }
    /// ```
    #[doc(alias = "__exit__")]
    pub async fn terminate(&self) {
        self.shared.close(true);
        self.shared.slots_ended().await;
    }
}

/// The blocking forms, for synchronous code (a synchronous child target,
/// a thread of its own): each waits for its async form's outcome on this
/// thread. A pool made in synchronous code comes from
/// [`Pool::blocking_new`] or [`PoolBuilder::blocking_build`].
impl Pool {
    /// [`new`](Pool::new) for synchronous code (see
    /// [`PoolBuilder::blocking_build`]).
    ///
    /// # Errors
    ///
    /// As [`PoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     ipc::init();
    ///     let pool = ipc::Pool::blocking_new(1)?;
    ///     assert_eq!(pool.blocking_apply(|s: String| s.len(), "four".to_owned())?, 4);
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_new(processes: usize) -> Result<Pool, PoolError> {
        Pool::builder().processes(processes).blocking_build()
    }

    /// Blocking form of [`apply`](Pool::apply).
    ///
    /// # Errors
    ///
    /// As [`apply`](Pool::apply).
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// See [`blocking_new`](Pool::blocking_new).
    pub fn blocking_apply<A, T, R, M>(&self, target: fn(A) -> T, arg: A) -> Result<R, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async(target, arg).blocking_get()
    }

    /// Blocking form of [`join`](Pool::join).
    ///
    /// # Errors
    ///
    /// As [`join`](Pool::join).
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// See [`PoolBuilder::blocking_build`].
    pub fn blocking_join(&self) -> Result<(), PoolError> {
        block_on_pool(self.shared.driver, "Pool::blocking_join", self.join())
    }

    /// Blocking form of [`terminate`](Pool::terminate).
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(1)?;
    /// let slow = pool.apply_async(|()| std::thread::sleep(std::time::Duration::from_secs(60)), ());
    /// pool.blocking_terminate();
    /// assert!(matches!(slow.blocking_get(), Err(ipc::TaskError::Terminated)));
    /// # Ok(()) }
    /// ```
    pub fn blocking_terminate(&self) {
        block_on_pool(self.shared.driver, "Pool::blocking_terminate", self.terminate())
    }
}

/// Panics when called on `driver`, the thread of the current-thread runtime
/// a pool's tasks run on, inside that runtime: a blocking wait there waits
/// for tasks only this thread runs, so it would never return (tokio's own
/// blocking methods panic in a runtime for the same reason). Anywhere else
/// — a multi-thread runtime, `spawn_blocking`, a plain thread, a pool of
/// [`blocking_build`](PoolBuilder::blocking_build) — blocking forms wait.
#[track_caller]
fn refuse_deadlock(driver: Option<std::thread::ThreadId>, what: &str) {
    if driver == Some(std::thread::current().id()) && tokio::runtime::Handle::try_current().is_ok() {
        panic!(
            "{what} called on the thread of the current-thread runtime this pool runs on: it would wait for the \
             pool's own tasks, which only this thread runs, forever; await the async form, call it from \
             `spawn_blocking`, or build the pool on a multi-thread runtime or with `blocking_build`"
        );
    }
}

/// Drives `future` (a blocking form's async twin) on this thread; if it
/// must wait, first [`refuse_deadlock`].
#[track_caller]
fn block_on_pool<F: std::future::Future>(driver: Option<std::thread::ThreadId>, what: &str, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let noop = &mut std::task::Context::from_waker(std::task::Waker::noop());
    if let std::task::Poll::Ready(v) = future.as_mut().poll(noop) {
        return v;
    }
    refuse_deadlock(driver, what);
    crate::wake::block_on(future)
}

/// The outcomes of a chunk of `n` items as a stream of its items' (a chunk
/// that failed as a whole — its worker died — fails every item).
fn flatten_chunk<R>(
    (n, outcome): (usize, Result<Vec<Result<R, TaskError>>, TaskError>),
) -> futures::stream::Iter<std::vec::IntoIter<Result<R, TaskError>>> {
    futures::stream::iter(match outcome {
        Ok(items) => items,
        Err(e) => (0..n).map(|_| Err(e.clone())).collect(),
    })
}

/// A map's results in item order, from its gathered answers: the first
/// failure in item order ends it.
async fn gather_map<R: DeserializeOwned>(
    mut gathered: Gathered,
    counts: Vec<usize>,
    len_hint: usize,
) -> Result<Vec<R>, TaskError> {
    let mut results = Vec::with_capacity(len_hint);
    for count in counts {
        match gathered.next().await {
            Some(Ok(outcomes)) => chunk::outcomes_into(outcomes, count, &mut results)?,
            Some(Err(e)) => return Err(e),
            None => return Err(TaskError::Terminated),
        }
    }
    Ok(results)
}

/// Terminates the pool without waiting (the slots kill and reap the
/// workers); streams still running see their tasks fail.
impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.close(true);
        if let Some(runtime) = self.runtime.take() {
            // The slots still kill and reap the workers on it: let them,
            // off this thread (which may be inside another runtime).
            let shared = Arc::clone(&self.shared);
            let _ = std::thread::Builder::new()
                .name("ipc-pool-end".into())
                .spawn(move || runtime.block_on(shared.slots_ended()));
        }
    }
}

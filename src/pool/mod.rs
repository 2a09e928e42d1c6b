//! A pool of worker processes (Python's `multiprocessing.Pool`) that never
//! hangs on a dead worker.
//!
//! # Implementation notes
//!
//! Each worker is a daemon child — a copy made by the fork server, see
//! [`crate::process`] — with one [`Connection`](crate::Connection)
//! to the pool, kept busy by a slot task of its own (`slot.rs`), so the
//! pool always knows which jobs each worker holds. A job is a chunk of
//! tasks — the offset of the target's chunk runner, as a spawn names its
//! trampoline, and the arguments encoded as one buffer of records
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
//! The pool, its worker slots, chunks, task handles and gathering: it uses
//! `process` and `pipe` (each worker is a child with a connection), `codec`,
//! `wake` and `sys`; nothing but the crate root uses it.

mod chunk;
mod error;
mod gather;
mod handle;
mod slot;
mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::stream::{Stream, StreamExt};
use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Notify;

pub use error::{PoolError, TaskError};
use gather::{Gather, Gathered, Reply};
pub use handle::TaskHandle;
use handle::{Completion, Finisher, ToHandle};
use worker::{Blob, Init};

use crate::codec;
use crate::process::{offset_of, trampoline, SpawnError, Target};

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
    /// The offset of the target's chunk runner.
    entry: isize,
    /// The arguments, as records.
    chunk: Blob,
    reply: Reply,
}

impl Job {
    /// A job that is the whole of some work, completing `completion` with
    /// its answer decoded by `decode`.
    fn task<T: Send + 'static>(
        entry: isize,
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
/// Targets are `fn` items or non-capturing closures, as for
/// [`Process::spawn`](crate::Process::spawn), taking one serde argument (a
/// tuple for several) and returning a serde value. A task that panics, or
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

    fn apply_async<F, A, R, M>(&self, target: F, arg: A) -> TaskHandle<R>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        match chunk::encode(std::slice::from_ref(&arg)) {
            Ok(args) => {
                let completion = Completion::new(None);
                self.submit([Job::task(chunk::entry_of(target), args.blob, completion.clone(), chunk::outcome::<R>)]);
                TaskHandle::new(completion)
            }
            Err(e) => TaskHandle::done(Err(TaskError::Encode(e))),
        }
    }

    /// Submits `items` as one job whose tasks' outcomes come back each on
    /// its own (a chunk of an `imap`).
    fn chunk_async<F, A, R, M>(&self, target: F, items: Vec<A>) -> TaskHandle<Vec<Result<R, TaskError>>>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let count = items.len();
        match chunk::encode(&items) {
            Ok(args) => {
                let completion = Completion::new(None);
                let decode = move |blob| Ok(chunk::each_outcome::<R>(blob, count));
                self.submit([Job::task(chunk::entry_of(target), args.blob, completion.clone(), decode)]);
                TaskHandle::new(completion)
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

/// Configures a [`Pool`] (Python's `Pool(processes, initializer, initargs,
/// maxtasksperchild)`).
#[derive(Default)]
#[must_use = "a builder does nothing until you call build"]
pub struct PoolBuilder {
    processes: Option<usize>,
    initializer: Option<Result<Init, codec::EncodeError>>,
    max_tasks_per_child: Option<u64>,
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("processes", &self.processes)
            .field("initializer", &self.initializer.is_some())
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .finish()
    }
}

impl PoolBuilder {
    /// The number of workers (default: [`cpu_count()`](crate::cpu_count)).
    ///
    /// # Examples
    ///
    /// ```
    /// let _b = ipc::Pool::builder().processes(3);
    /// ```
    pub fn processes(mut self, n: usize) -> PoolBuilder {
        self.processes = Some(n);
        self
    }

    /// Runs `target(arg)` once in each worker before its first task (and in
    /// every replacement worker).
    ///
    /// # Examples
    ///
    /// ```
    /// let _b = ipc::Pool::builder().initializer(|greeting: String| println!("{greeting}"), "hello".to_owned());
    /// ```
    pub fn initializer<F, A, M>(mut self, target: F, arg: A) -> PoolBuilder
    where
        F: Target<A, (), M>,
        A: Serialize + DeserializeOwned + 'static,
    {
        let _ = target;
        let entry = offset_of(trampoline::<F, A, (), M>);
        self.initializer = Some(codec::encode(&arg).map(|(bytes, fds)| Init { entry, arg: Blob { bytes, fds } }));
        self
    }

    /// Replaces each worker after it has run `n` jobs (Python's
    /// `maxtasksperchild`; a chunk of `map` is one job).
    ///
    /// # Examples
    ///
    /// ```
    /// let _b = ipc::Pool::builder().max_tasks_per_child(100);
    /// ```
    #[doc(alias = "maxtasksperchild")]
    pub fn max_tasks_per_child(mut self, n: u64) -> PoolBuilder {
        self.max_tasks_per_child = Some(n);
        self
    }

    /// Starts the workers. With an [`initializer`](PoolBuilder::initializer)
    /// it waits until each has run it; without one it returns once they are
    /// spawned, as Python's does, and the first tasks go to whichever worker
    /// is ready first.
    ///
    /// # Errors
    ///
    /// [`PoolError::Invalid`] for 0 processes or 0 tasks per child;
    /// [`PoolError::Initializer`] if an initializer failed (no worker is
    /// left running); [`PoolError::Spawn`] if a worker could not start.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::builder().processes(1).build().await?;
    /// assert_eq!(pool.apply(|()| ipc::current_process().name().to_owned(), ()).await?, "PoolWorker-1");
    /// assert!(ipc::Pool::builder().processes(0).build().await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn build(self) -> Result<Pool, PoolError> {
        let processes = self.processes.unwrap_or_else(crate::cpu_count);
        if processes == 0 {
            return Err(PoolError::Invalid("a pool needs at least one process"));
        }
        if self.max_tasks_per_child == Some(0) {
            return Err(PoolError::Invalid("max_tasks_per_child must be at least 1"));
        }
        let initializer =
            self.initializer.transpose().map_err(|e| PoolError::Spawn(Box::new(SpawnError::Encode(e))))?;
        let settings = Settings { initializer, max_tasks_per_child: self.max_tasks_per_child };
        let mut spawned = Vec::new();
        for n in 1..=processes {
            match slot::spawn_worker(n, &settings) {
                Ok(s) => spawned.push(s),
                Err(e) => {
                    for s in spawned {
                        s.kill().await;
                    }
                    return Err(e);
                }
            }
        }
        let starts: Vec<slot::Start> = if settings.initializer.is_some() {
            // Wait for every initializer: a failed one fails the pool.
            let mut ready = Vec::new();
            let mut failure = None;
            for started in futures::future::join_all(spawned.into_iter().map(slot::Starting::ready_worker)).await {
                match started {
                    Ok(w) => ready.push(w),
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
            if let Some(e) = failure {
                for w in ready {
                    w.kill().await;
                }
                return Err(e);
            }
            ready.into_iter().map(|w| slot::Start::Ready(Box::new(w))).collect()
        } else {
            spawned.into_iter().map(|s| slot::Start::Spawned(Box::new(s))).collect()
        };
        let state = State {
            queue: VecDeque::new(),
            closed: false,
            terminated: false,
            slots: processes,
            idle: processes,
            workers_started: processes,
        };
        let shared = Arc::new(Shared {
            processes,
            settings,
            runtime: tokio::runtime::Handle::current(),
            state: Mutex::new(state),
            changed: Notify::new(),
            ended: Notify::new(),
        });
        for start in starts {
            tokio::spawn(slot::run(Arc::clone(&shared), start));
        }
        Ok(Pool { shared, runtime: None })
    }

    /// [`build`](PoolBuilder::build) for synchronous code (a synchronous
    /// child target, a plain `main`): the pool gets a runtime of its own,
    /// on one thread, for its bookkeeping; the `blocking_*` methods (and the
    /// async ones, awaited anywhere) then work without one of the caller's.
    ///
    /// # Errors
    ///
    /// As [`build`](PoolBuilder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     ipc::init();
    ///     let pool = ipc::Pool::builder().processes(2).blocking_build()?;
    ///     assert_eq!(pool.blocking_map(|x: u32| x * x, 0..4)?, [0, 1, 4, 9]);
    ///     pool.close();
    ///     pool.blocking_join()?;
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_build(self) -> Result<Pool, PoolError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ipc-pool")
            .enable_all()
            .build()
            .map_err(|e| PoolError::Spawn(Box::new(SpawnError::Io(e))))?;
        // Built from a thread outside any runtime (this one may be inside
        // one, where `block_on` is refused).
        let built = std::thread::scope(|s| {
            s.spawn(|| runtime.block_on(self.build())).join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        });
        let mut pool = built?;
        pool.runtime = Some(runtime);
        Ok(pool)
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
    pub fn apply_async<F, A, R, M>(&self, target: F, arg: A) -> TaskHandle<R>
    where
        F: Target<A, R, M>,
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
    pub async fn apply<F, A, R, M>(&self, target: F, arg: A) -> Result<R, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async(target, arg).aborting().await
    }

    /// `target` applied to every item, results in order (Python's `map`),
    /// sent to the workers in chunks of `ceil(len / (4 × processes))` as
    /// Python chooses.
    ///
    /// # Errors
    ///
    /// The first failed task's [`TaskError`] in item order (the others ran
    /// or were cancelled).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the chunks not yet started.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let squares = pool.map(|x: u64| x * x, 0..10).await?;
    /// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    /// # Ok(()) }
    /// ```
    pub async fn map<F, A, R, M, I>(&self, target: F, items: I) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        I: IntoIterator<Item = A>,
    {
        let items = items.into_iter();
        match items.size_hint() {
            // The length is known (a range, a Vec, ...): no need to collect
            // (a wrong hint would only change the chunk size).
            (low, Some(high)) if low == high => {
                let size = self.default_chunk(low);
                self.run_map(chunk::entry_of(target), low, chunk::encode_stream(items, size)).await
            }
            _ => {
                let items: Vec<A> = items.collect();
                let size = self.default_chunk(items.len());
                self.run_map(chunk::entry_of(target), items.len(), items.chunks(size).map(chunk::encode)).await
            }
        }
    }

    /// [`map`](Pool::map) with chunks of `chunk_size` tasks (Python's
    /// `chunksize`).
    ///
    /// # Errors
    ///
    /// [`TaskError::Invalid`] for a chunk size of 0; otherwise as
    /// [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// assert_eq!(pool.map_chunked(|x: i32| -x, vec![1, 2, 3], 1).await?, [-1, -2, -3]);
    /// assert!(pool.map_chunked(|x: i32| -x, vec![1], 0).await.is_err());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "chunksize")]
    pub async fn map_chunked<F, A, R, M, I>(&self, target: F, items: I, chunk_size: usize) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        I: IntoIterator<Item = A>,
    {
        if chunk_size == 0 {
            return Err(TaskError::Invalid("chunk size must be at least 1"));
        }
        let items = items.into_iter();
        let len_hint = items.size_hint().0;
        self.run_map(chunk::entry_of(target), len_hint, chunk::encode_stream(items, chunk_size)).await
    }

    /// Submits the encoded chunks (in groups, the first at once, so workers
    /// start while the rest is encoded) and gathers their results in order.
    async fn run_map<R: DeserializeOwned>(
        &self,
        entry: isize,
        len_hint: usize,
        chunks: impl Iterator<Item = Result<chunk::Chunk, codec::EncodeError>>,
    ) -> Result<Vec<R>, TaskError> {
        // Dropping `gathered` (this future) cancels the chunks not started.
        let (gathered, counts) = self.submit_map(entry, chunks)?;
        gather_map(gathered, counts, len_hint).await
    }

    /// Submits a map's chunks now; its answers are gathered (the caller is
    /// woken for the last one, a failure, or a large one it can decode
    /// early, not once per chunk). An encode failure cancels what was
    /// submitted.
    fn submit_map(
        &self,
        entry: isize,
        chunks: impl Iterator<Item = Result<chunk::Chunk, codec::EncodeError>>,
    ) -> Result<(Gathered, Vec<usize>), TaskError> {
        let (gather, gathered) = Gather::new();
        let mut counts = Vec::new();
        let mut group = Vec::new();
        let mut group_bytes = 0;
        let mut chunks = chunks.peekable();
        while let Some(encoded) = chunks.next() {
            let encoded = encoded?;
            counts.push(encoded.count);
            group_bytes += encoded.blob.bytes.len();
            group.push(Job { entry, chunk: encoded.blob, reply: Reply::Gather(gather.place()) });
            if counts.len() == 1
                || group_bytes >= SUBMIT_BYTES
                || group.len() == SUBMIT_GROUP
                || chunks.peek().is_none()
            {
                self.shared.submit(group.drain(..));
                group_bytes = 0;
            }
        }
        Ok((gathered, counts))
    }

    /// A map started now, followed by a handle: its chunks are submitted
    /// here and gathered by a task of the pool, which completes the handle
    /// (callbacks included) whether or not anyone holds it.
    fn start_map<R: DeserializeOwned + Send + 'static>(
        &self,
        entry: isize,
        len_hint: usize,
        chunks: impl Iterator<Item = Result<chunk::Chunk, codec::EncodeError>>,
    ) -> TaskHandle<Vec<R>> {
        let (gathered, counts) = match self.submit_map(entry, chunks) {
            Ok(submitted) => submitted,
            Err(e) => return TaskHandle::done(Err(e)),
        };
        let gather = gathered.gather();
        let completion = Completion::new(Some(Box::new(move || gather.cancel())));
        let finisher = Finisher::new(completion.clone());
        self.shared.runtime.spawn(async move { finisher.finish(gather_map(gathered, counts, len_hint).await) });
        TaskHandle::new(completion)
    }

    /// The chunk size Python's `map` picks: `ceil(len / (4 × processes))`.
    fn default_chunk(&self, len: usize) -> usize {
        len.div_ceil(4 * self.processes()).max(1)
    }

    /// Starts `target` over every item now and returns at once (Python's
    /// `map_async`): a [`TaskHandle`] of the results in order, with
    /// Python's default chunks. Dropping the handle detaches the work;
    /// [`callback`](TaskHandle::callback) gets the whole list.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let squares = pool.map_async(|x: u64| x * x, 0..5);
    /// // ... other work while the pool runs ...
    /// assert_eq!(squares.await?, [0, 1, 4, 9, 16]);
    /// # Ok(()) }
    /// ```
    pub fn map_async<F, A, R, M, I>(&self, target: F, items: I) -> TaskHandle<Vec<R>>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        let entry = chunk::entry_of(target);
        let items = items.into_iter();
        match items.size_hint() {
            // The length is known: no need to collect (as `map`).
            (low, Some(high)) if low == high => {
                self.start_map(entry, low, chunk::encode_stream(items, self.default_chunk(low)))
            }
            _ => {
                let items: Vec<A> = items.collect();
                let size = self.default_chunk(items.len());
                self.start_map(entry, items.len(), items.chunks(size).map(chunk::encode))
            }
        }
    }

    /// [`map_async`](Pool::map_async) with chunks of `chunk_size` tasks
    /// (Python's `map_async(f, items, chunksize)`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let h = pool.map_async_chunked(|x: u8| x + 1, [1, 2, 3], 1);
    /// assert_eq!(h.await?, [2, 3, 4]);
    /// assert!(pool.map_async_chunked(|x: u8| x, [1], 0).await.is_err());
    /// # Ok(()) }
    /// ```
    pub fn map_async_chunked<F, A, R, M, I>(&self, target: F, items: I, chunk_size: usize) -> TaskHandle<Vec<R>>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        if chunk_size == 0 {
            return TaskHandle::done(Err(TaskError::Invalid("chunk size must be at least 1")));
        }
        let items = items.into_iter();
        let len_hint = items.size_hint().0;
        self.start_map(chunk::entry_of(target), len_hint, chunk::encode_stream(items, chunk_size))
    }

    /// [`map_async`](Pool::map_async) for targets of several arguments
    /// (Python's `starmap_async`; targets take their arguments as a tuple).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let h = pool.starmap_async(|(a, b): (u8, u8)| a * b, [(2, 3), (4, 5)]);
    /// assert_eq!(h.await?, [6, 20]);
    /// # Ok(()) }
    /// ```
    pub fn starmap_async<F, A, R, M, I>(&self, target: F, items: I) -> TaskHandle<Vec<R>>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async(target, items)
    }

    /// [`starmap_async`](Pool::starmap_async) with chunks of `chunk_size`
    /// tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let h = pool.starmap_async_chunked(|(a, b): (u8, u8)| a + b, [(1, 1), (2, 2)], 1);
    /// assert_eq!(h.await?, [2, 4]);
    /// # Ok(()) }
    /// ```
    pub fn starmap_async_chunked<F, A, R, M, I>(&self, target: F, items: I, chunk_size: usize) -> TaskHandle<Vec<R>>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async_chunked(target, items, chunk_size)
    }

    /// [`map`](Pool::map) for targets of several arguments (Python's
    /// `starmap`): targets take their arguments as one tuple, so this is
    /// `map` over tuples.
    ///
    /// # Errors
    ///
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let sums = pool.starmap(|(a, b): (i32, i32)| a + b, [(1, 2), (3, 4)]).await?;
    /// assert_eq!(sums, [3, 7]);
    /// # Ok(()) }
    /// ```
    pub async fn starmap<F, A, R, M, I>(&self, target: F, items: I) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map(target, items).await
    }

    /// [`starmap`](Pool::starmap) with chunks of `chunk_size` tasks
    /// (Python's `starmap(f, items, chunksize)`).
    ///
    /// # Errors
    ///
    /// As [`map_chunked`](Pool::map_chunked).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let sums = pool.starmap_chunked(|(a, b): (i32, i32)| a + b, [(1, 2), (3, 4), (5, 6)], 2).await?;
    /// assert_eq!(sums, [3, 7, 11]);
    /// # Ok(()) }
    /// ```
    pub async fn starmap_chunked<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_chunked(target, items, chunk_size).await
    }

    /// Results of `target` over `items`, in order, as a stream (Python's
    /// `imap`). Items are taken from `items` lazily — only a few per worker
    /// are in flight — so the input may be endless. Each item is its own
    /// result: a failed task is an `Err` in its place.
    ///
    /// Dropping the stream cancels the tasks not yet started.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let firsts: Vec<u64> = pool.imap(|x: u64| x * 10, 1..).take(3).map(Result::unwrap).collect().await;
    /// assert_eq!(firsts, [10, 20, 30]);
    /// # Ok(()) }
    /// ```
    pub fn imap<F, A, R, M, I>(&self, target: F, items: I) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        self.imap_stream(target, futures::stream::iter(items))
    }

    /// [`imap`](Pool::imap) over a [`Stream`] of items.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let input = futures::stream::iter(vec![3u8, 1, 2]);
    /// let out: Vec<u8> = pool.imap_stream(|x: u8| x + 1, input).map(Result::unwrap).collect().await;
    /// assert_eq!(out, [4, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn imap_stream<F, A, R, M, S>(
        &self,
        target: F,
        items: S,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        S: Stream<Item = A> + Send + 'static,
    {
        let pool = Arc::clone(&self.shared);
        let bound = IN_FLIGHT_PER_WORKER * self.processes();
        Box::pin(items.map(move |a| pool.apply_async(target, a).aborting()).buffered(bound))
    }

    /// [`imap`](Pool::imap) with chunks of `chunk_size` items per job
    /// (Python's `imap(f, items, chunksize)`): fewer messages for short
    /// tasks, the same stream of results in order. Items are still taken
    /// lazily, a chunk at a time.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let out: Vec<u32> = pool.imap_chunked(|x: u32| x + 1, 0..10, 4).map(Result::unwrap).collect().await;
    /// assert_eq!(out, (1..11).collect::<Vec<_>>());
    /// # Ok(()) }
    /// ```
    pub fn imap_chunked<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
        chunk_size: usize,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let pool = Arc::clone(&self.shared);
        let bound = IN_FLIGHT_PER_WORKER * self.processes();
        Box::pin(
            futures::stream::iter(items)
                .chunks(chunk_size.max(1))
                .map(move |chunk| {
                    let n = chunk.len();
                    pool.chunk_async(target, chunk).aborting().map(move |outcome| (n, outcome))
                })
                .buffered(bound)
                .flat_map(flatten_chunk),
        )
    }

    /// Results of `target` over `items` as they finish (Python's
    /// `imap_unordered`), taking items lazily as [`imap`](Pool::imap) does.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let mut out: Vec<u32> = pool.imap_unordered(|x: u32| x * x, 0..4).map(Result::unwrap).collect().await;
    /// out.sort();
    /// assert_eq!(out, [0, 1, 4, 9]);
    /// # Ok(()) }
    /// ```
    pub fn imap_unordered<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let pool = Arc::clone(&self.shared);
        let bound = IN_FLIGHT_PER_WORKER * self.processes();
        Box::pin(
            futures::stream::iter(items).map(move |a| pool.apply_async(target, a).aborting()).buffer_unordered(bound),
        )
    }

    /// [`imap_unordered`](Pool::imap_unordered) with chunks of
    /// `chunk_size` items per job (Python's `imap_unordered(f, items,
    /// chunksize)`): chunks come back as they finish, the results of one
    /// chunk in order.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let mut out: Vec<u32> = pool.imap_unordered_chunked(|x: u32| x * 2, 0..6, 2).map(Result::unwrap).collect().await;
    /// out.sort();
    /// assert_eq!(out, [0, 2, 4, 6, 8, 10]);
    /// # Ok(()) }
    /// ```
    pub fn imap_unordered_chunked<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
        chunk_size: usize,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let pool = Arc::clone(&self.shared);
        let bound = IN_FLIGHT_PER_WORKER * self.processes();
        Box::pin(
            futures::stream::iter(items)
                .chunks(chunk_size.max(1))
                .map(move |chunk| {
                    let n = chunk.len();
                    pool.chunk_async(target, chunk).aborting().map(move |outcome| (n, outcome))
                })
                .buffer_unordered(bound)
                .flat_map(flatten_chunk),
        )
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
    /// # Examples
    ///
    /// See [`blocking_new`](Pool::blocking_new).
    pub fn blocking_apply<F, A, R, M>(&self, target: F, arg: A) -> Result<R, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async(target, arg).blocking_get()
    }

    /// Blocking form of [`map`](Pool::map).
    ///
    /// # Errors
    ///
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// See [`PoolBuilder::blocking_build`].
    pub fn blocking_map<F, A, R, M, I>(&self, target: F, items: I) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async(target, items).blocking_get()
    }

    /// Blocking form of [`map_chunked`](Pool::map_chunked).
    ///
    /// # Errors
    ///
    /// As [`map_chunked`](Pool::map_chunked).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_map_chunked(|x: i8| -x, [1, 2, 3], 2)?, [-1, -2, -3]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_map_chunked<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async_chunked(target, items, chunk_size).blocking_get()
    }

    /// Blocking form of [`starmap`](Pool::starmap).
    ///
    /// # Errors
    ///
    /// As [`starmap`](Pool::starmap).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_starmap(|(a, b): (u8, u8)| a + b, [(1, 2), (3, 4)])?, [3, 7]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_starmap<F, A, R, M, I>(&self, target: F, items: I) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_async(target, items).blocking_get()
    }

    /// Blocking form of [`starmap_chunked`](Pool::starmap_chunked).
    ///
    /// # Errors
    ///
    /// As [`starmap_chunked`](Pool::starmap_chunked).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_starmap_chunked(|(a, b): (u8, u8)| a * b, [(2, 3)], 1)?, [6]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_starmap_chunked<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_async_chunked(target, items, chunk_size).blocking_get()
    }

    /// [`imap`](Pool::imap) as an iterator for synchronous code (Python's
    /// `imap`, iterated): each `next()` blocks for the next result in order.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// let tens: Vec<u64> = pool.blocking_imap(|x: u64| x * 10, 1..).take(3).map(Result::unwrap).collect();
    /// assert_eq!(tens, [10, 20, 30]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_imap<F, A, R, M, I>(&self, target: F, items: I) -> impl Iterator<Item = Result<R, TaskError>> + Send
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let mut stream = self.imap(target, items);
        std::iter::from_fn(move || crate::wake::block_on(stream.next()))
    }

    /// [`imap_unordered`](Pool::imap_unordered) as an iterator for
    /// synchronous code.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// let mut out: Vec<u8> = pool.blocking_imap_unordered(|x: u8| x + 1, [1, 2, 3]).map(Result::unwrap).collect();
    /// out.sort();
    /// assert_eq!(out, [2, 3, 4]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_imap_unordered<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
    ) -> impl Iterator<Item = Result<R, TaskError>> + Send
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let mut stream = self.imap_unordered(target, items);
        std::iter::from_fn(move || crate::wake::block_on(stream.next()))
    }

    /// Blocking form of [`join`](Pool::join).
    ///
    /// # Errors
    ///
    /// As [`join`](Pool::join).
    ///
    /// # Examples
    ///
    /// See [`PoolBuilder::blocking_build`].
    pub fn blocking_join(&self) -> Result<(), PoolError> {
        crate::wake::block_on(self.join())
    }

    /// Blocking form of [`terminate`](Pool::terminate).
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
        crate::wake::block_on(self.terminate())
    }
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

//! A pool of worker processes (Python's `multiprocessing.Pool`) that never
//! hangs on a dead worker.
//!
//! # Implementation notes
//!
//! Each worker is a daemon child with one [`Connection`] to the pool, so
//! the pool always knows which job each worker holds. A scheduler task owns
//! the workers: it hands a queued job (a chunk of tasks: the address of the
//! target's trampoline, as for spawn, and the encoded arguments) to an idle
//! worker and awaits its results on that worker's connection. If the
//! connection ends instead, the worker died: the pool reaps it, fails only
//! the tasks of that job with [`TaskError::WorkerDied`] (with its exit
//! code), and starts a replacement. A job whose caller went away (a dropped
//! [`TaskHandle`], `map` or stream) is skipped when its turn comes.

mod error;
mod worker;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{FuturesUnordered, Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

pub use error::{PoolError, TaskError};
use worker::{Blob, FromWorker, Init, Outcome, ToWorker, WorkerArg};

use crate::process::{offset_of, trampoline, Target};
use crate::{codec, Connection, Pipe, Process};

/// Jobs each worker may have queued for it by `imap`/`imap_unordered`.
const IN_FLIGHT_PER_WORKER: usize = 4;

/// What the scheduler is asked to do.
enum Command {
    Run(Job),
    Close,
    Join(oneshot::Sender<()>),
    Terminate(oneshot::Sender<()>),
}

/// A chunk of tasks for one worker.
struct Job {
    entry: isize,
    args: Vec<Blob>,
    reply: oneshot::Sender<Result<Vec<Outcome>, TaskError>>,
}

/// How workers are made.
#[derive(Clone)]
struct Settings {
    initializer: Option<Init>,
    max_tasks_per_child: Option<u64>,
}

/// A pool of worker processes running tasks (Python's
/// `multiprocessing.Pool`).
///
/// Targets are `fn` items or non-capturing closures, as for
/// [`Process::spawn`], taking one serde argument (a tuple for several) and
/// returning a serde value. A task that panics, or whose worker is killed,
/// fails on its own ([`TaskError`]); the pool replaces dead workers and the
/// rest of the work completes.
///
/// Dropping the pool terminates it (Python's `with Pool() as p:`): workers
/// are killed and reaped, unfinished tasks fail with
/// [`TaskError::Terminated`].
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
}

struct Shared {
    commands: mpsc::UnboundedSender<Command>,
    processes: usize,
    /// `close` or `terminate` was called.
    closed: Mutex<bool>,
}

impl Shared {
    fn submit(&self, entry: isize, args: Vec<Blob>) -> oneshot::Receiver<Result<Vec<Outcome>, TaskError>> {
        let (reply, rx) = oneshot::channel();
        if *self.closed.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = reply.send(Err(TaskError::Closed));
        } else if let Err(mpsc::error::SendError(Command::Run(job))) =
            self.commands.send(Command::Run(Job { entry, args, reply }))
        {
            let _ = job.reply.send(Err(TaskError::Terminated));
        }
        rx
    }

    fn apply_async<F, A, R, M>(&self, target: F, arg: A) -> TaskHandle<R>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
    {
        let _ = target;
        let entry = offset_of(trampoline::<F, A, R, M>);
        match codec::encode(&arg) {
            Ok((bytes, fds)) => TaskHandle {
                reply: Some(self.submit(entry, vec![Blob { bytes, fds }])),
                refused: None,
                _result: PhantomData,
            },
            Err(e) => TaskHandle { reply: None, refused: Some(TaskError::Encode(e)), _result: PhantomData },
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
    pub fn max_tasks_per_child(mut self, n: u64) -> PoolBuilder {
        self.max_tasks_per_child = Some(n);
        self
    }

    /// Starts the workers and waits until each has run its initializer.
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
            self.initializer.transpose().map_err(|e| PoolError::Spawn(Box::new(crate::Error::Encode(e))))?;
        let settings = Settings { initializer, max_tasks_per_child: self.max_tasks_per_child };
        let starts = (1..=processes).map(|n| start_worker(n, &settings));
        let mut workers = Vec::new();
        let mut failure = None;
        for started in futures::future::join_all(starts).await {
            match started {
                Ok(w) => workers.push(w),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            for (_, _, mut p) in workers {
                let _ = p.kill();
                let _ = p.join().await;
            }
            return Err(e);
        }
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(schedule(rx, workers, settings, processes));
        Ok(Pool { shared: Arc::new(Shared { commands, processes, closed: Mutex::new(false) }) })
    }
}

/// Starts worker `n` and waits for it to be ready.
async fn start_worker(n: usize, settings: &Settings) -> Result<(usize, Connection, Process<()>), PoolError> {
    let (mut here, there) = Pipe::duplex().map_err(|e| PoolError::Spawn(Box::new(e.into())))?;
    let init = match &settings.initializer {
        Some(init) => Some(init.try_clone().map_err(|e| PoolError::Spawn(Box::new(e.into())))?),
        None => None,
    };
    let mut process = Process::builder()
        .name(format!("PoolWorker-{n}"))
        .daemon(true)
        .kill_on_drop(true)
        .spawn(worker::run, WorkerArg { conn: there, init })
        .map_err(|e| PoolError::Spawn(Box::new(e)))?;
    match here.recv::<FromWorker>().await {
        Ok(FromWorker::Ready) => Ok((n, here, process)),
        Ok(FromWorker::InitFailed { message, location }) => {
            let _ = process.join().await;
            Err(PoolError::Initializer { message, location })
        }
        _ => {
            let _ = process.join().await;
            Err(PoolError::Initializer {
                message: format!("worker died: exit code {:?}", process.exitcode()),
                location: None,
            })
        }
    }
}

/// What a worker's turn ended with.
enum Event {
    /// The job's results were delivered.
    Done { id: usize, conn: Connection },
    /// The worker's connection ended: it died holding `job`.
    Died { id: usize, job: Job },
    /// A replacement is ready (or could not start).
    Started(Result<Box<(usize, Connection, Process<()>)>, PoolError>),
}

async fn run_job(id: usize, mut conn: Connection, job: Job) -> Event {
    let sent = conn.send(&ToWorker::Run { entry: job.entry, args: &job.args }).await;
    if sent.is_err() {
        return Event::Died { id, job };
    }
    match conn.recv::<FromWorker>().await {
        Ok(FromWorker::Done { outcomes }) if outcomes.len() == job.args.len() => {
            let _ = job.reply.send(Ok(outcomes));
            Event::Done { id, conn }
        }
        _ => Event::Died { id, job },
    }
}

/// The scheduler: owns the workers, hands out jobs, replaces the dead.
async fn schedule(
    mut commands: mpsc::UnboundedReceiver<Command>,
    workers: Vec<(usize, Connection, Process<()>)>,
    settings: Settings,
    size: usize,
) {
    let mut processes: HashMap<usize, Process<()>> = HashMap::new();
    let mut jobs_run: HashMap<usize, u64> = HashMap::new();
    let mut idle: Vec<(usize, Connection)> = Vec::new();
    for (id, conn, p) in workers {
        processes.insert(id, p);
        idle.push((id, conn));
    }
    let mut next_id = size;
    let mut queue: VecDeque<Job> = VecDeque::new();
    let mut busy: FuturesUnordered<Pin<Box<dyn Future<Output = Event> + Send>>> = FuturesUnordered::new();
    let mut closed = false;
    let mut joiners: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        while !idle.is_empty() {
            let Some(job) = queue.pop_front() else { break };
            if job.reply.is_closed() {
                continue; // its caller went away before it started
            }
            let (id, conn) = idle.pop().expect("checked non-empty");
            busy.push(Box::pin(run_job(id, conn, job)));
        }
        if processes.is_empty() && busy.is_empty() {
            // Every worker failed to come back: nothing can run.
            for job in queue.drain(..) {
                let _ = job.reply.send(Err(TaskError::NoWorkers));
            }
        }
        if closed && queue.is_empty() && busy.is_empty() {
            // Idle workers see their connection end and exit.
            drop(idle);
            for (_, mut p) in processes.drain() {
                let _ = p.join().await;
            }
            for j in joiners {
                let _ = j.send(());
            }
            return;
        }
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Run(job)) if closed => { let _ = job.reply.send(Err(TaskError::Closed)); }
                Some(Command::Run(job)) => queue.push_back(job),
                Some(Command::Close) => closed = true,
                Some(Command::Join(done)) => { closed = true; joiners.push(done); }
                Some(Command::Terminate(done)) => {
                    terminate(processes, busy, queue).await;
                    let _ = done.send(());
                    for j in joiners { let _ = j.send(()); }
                    return;
                }
                None => {
                    terminate(processes, busy, queue).await;
                    return;
                }
            },
            Some(event) = busy.next() => match event {
                Event::Done { id, conn } => {
                    let n = jobs_run.entry(id).or_default();
                    *n += 1;
                    if settings.max_tasks_per_child.is_some_and(|max| *n >= max) {
                        // Retire it: its connection ends, it exits, a fresh one replaces it.
                        drop(conn);
                        if let Some(mut p) = processes.remove(&id) {
                            let _ = p.join().await;
                        }
                        next_id += 1;
                        let settings = settings.clone();
                        busy.push(Box::pin(async move { Event::Started(start_worker(next_id, &settings).await.map(Box::new)) }));
                    } else {
                        idle.push((id, conn));
                    }
                }
                Event::Died { id, job } => {
                    let exitcode = match processes.remove(&id) {
                        Some(mut p) => {
                            if p.join_timeout(Duration::from_secs(5)).await.is_err() && p.exitcode().is_none() {
                                let _ = p.kill();
                                let _ = p.join().await;
                            }
                            p.exitcode()
                        }
                        None => None,
                    };
                    let _ = job.reply.send(Ok(job.args.iter().map(|_| Outcome::WorkerDied { exitcode }).collect()));
                    next_id += 1;
                    let settings = settings.clone();
                    busy.push(Box::pin(async move { Event::Started(start_worker(next_id, &settings).await.map(Box::new)) }));
                }
                Event::Started(Ok(started)) => {
                    let (id, conn, p) = *started;
                    processes.insert(id, p);
                    idle.push((id, conn));
                }
                Event::Started(Err(_)) => {}
            },
        }
    }
}

/// Kills every worker, fails what was queued, and reaps them all.
async fn terminate(
    mut processes: HashMap<usize, Process<()>>,
    busy: FuturesUnordered<Pin<Box<dyn Future<Output = Event> + Send>>>,
    queue: VecDeque<Job>,
) {
    for p in processes.values() {
        let _ = p.kill();
    }
    for job in queue {
        let _ = job.reply.send(Err(TaskError::Terminated));
    }
    // Running jobs' callers see their reply dropped: Terminated.
    drop(busy);
    for (_, mut p) in processes.drain() {
        let _ = p.join().await;
    }
}

/// A task submitted with [`Pool::apply_async`]: await it for the result,
/// or drop it to cancel the task if it has not started.
#[must_use = "dropping a task handle cancels the task"]
pub struct TaskHandle<R> {
    reply: Option<oneshot::Receiver<Result<Vec<Outcome>, TaskError>>>,
    refused: Option<TaskError>,
    _result: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for TaskHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle").finish_non_exhaustive()
    }
}

impl<R: DeserializeOwned> Future for TaskHandle<R> {
    type Output = Result<R, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(e) = this.refused.take() {
            return Poll::Ready(Err(e));
        }
        let Some(reply) = this.reply.as_mut() else { return Poll::Ready(Err(TaskError::Terminated)) };
        let outcome = match Pin::new(reply).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(Ok(mut outcomes))) => outcomes.pop().map_or(Err(TaskError::Terminated), Outcome::decode),
            Poll::Ready(Ok(Err(e))) => Err(e),
            Poll::Ready(Err(_)) => Err(TaskError::Terminated),
        };
        this.reply = None;
        Poll::Ready(outcome)
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

    /// Starts `target(arg)` on a worker; the handle resolves to its result
    /// (Python's `apply_async`). Dropping the handle cancels the task if it
    /// has not started.
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
        R: Serialize + DeserializeOwned + 'static,
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
        R: Serialize + DeserializeOwned + 'static,
    {
        self.apply_async(target, arg).await
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
        let items: Vec<A> = items.into_iter().collect();
        let chunk = items.len().div_ceil(4 * self.processes()).max(1);
        self.map_chunked(target, items, chunk).await
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
        let _ = target;
        let entry = offset_of(trampoline::<F, A, R, M>);
        let mut chunks = Vec::new();
        let mut args = Vec::with_capacity(chunk_size);
        for item in items {
            let (bytes, fds) = codec::encode(&item)?;
            args.push(Blob { bytes, fds });
            if args.len() == chunk_size {
                chunks.push(self.shared.submit(entry, std::mem::replace(&mut args, Vec::with_capacity(chunk_size))));
            }
        }
        if !args.is_empty() {
            chunks.push(self.shared.submit(entry, args));
        }
        let decoded = chunks.into_iter().map(|rx| async move {
            match rx.await {
                Ok(Ok(outcomes)) => outcomes.into_iter().map(Outcome::decode::<R>).collect::<Result<Vec<R>, _>>(),
                Ok(Err(e)) => Err(e),
                Err(_) => Err(TaskError::Terminated),
            }
        });
        // In item order: the first failure ends the map (dropping the later
        // chunks cancels those not started).
        let results: Vec<Vec<R>> = decoded.collect::<futures::stream::FuturesOrdered<_>>().try_collect().await?;
        Ok(results.into_iter().flatten().collect())
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
        Box::pin(items.map(move |a| pool.apply_async(target, a)).buffered(bound))
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
        Box::pin(futures::stream::iter(items).map(move |a| pool.apply_async(target, a)).buffer_unordered(bound))
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
        *self.shared.closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        let _ = self.shared.commands.send(Command::Close);
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
        if !*self.shared.closed.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(PoolError::NotClosed);
        }
        let (done, wait) = oneshot::channel();
        if self.shared.commands.send(Command::Join(done)).is_ok() {
            let _ = wait.await;
        }
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
    pub async fn terminate(&self) {
        *self.shared.closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        let (done, wait) = oneshot::channel();
        if self.shared.commands.send(Command::Terminate(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// Terminates the pool without waiting (the scheduler kills and reaps the
/// workers); streams still running see their tasks fail.
impl Drop for Pool {
    fn drop(&mut self) {
        *self.shared.closed.lock().unwrap_or_else(|p| p.into_inner()) = true;
        let (done, _) = oneshot::channel();
        let _ = self.shared.commands.send(Command::Terminate(done));
    }
}

//! A slot: the task that keeps one worker process busy, and replaces it
//! when it dies or has run its share of jobs.
//!
//! # Implementation notes
//!
//! Each slot takes jobs from the pool's queue and sends them down its
//! worker's connection, several per message when they are small, and the
//! worker answers each job as soon as it finishes, in order. So the slot
//! knows at every moment which jobs its worker holds (the ones sent and not
//! yet answered, oldest first), and when the connection ends instead of
//! answering, the oldest is the one the worker died running: it fails with
//! [`TaskError::WorkerDied`], and the others, never started, go back to the
//! front of the queue. However the death is found (a send that fails, a
//! read that meets the end), the answers the worker sent before it died
//! are read first, so a job it finished keeps its result.
//!
//! How many jobs a worker holds at once is paced by how long its jobs
//! take: one at a time until the first answer, then as many as fit in
//! [`BUDGET`] of work at the measured rate (at most [`MAX_DEPTH`]), topped
//! up in one message once it is down to half of that; none while the job
//! it runs has been going for longer than the budget, and none the queue's
//! first jobs while another worker sits idle. Short tasks then flow
//! without the worker waiting for the pool between them, and a long one
//! holds up at most a budget's worth of queued work.
//!
//! Sending never waits while the worker holds jobs: the worker may be
//! blocked writing an answer, and a slot blocked writing more jobs would
//! then wait forever. A message that does not fit goes out in part and its
//! tail is written while answers are read; one that finds the worker's end
//! full goes back to the queue until the worker answers. A job that cannot
//! be sent at all (too many handles for one message) fails alone.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::worker::{FromWorker, Run, WorkerArg};
use super::{Job, PoolError, Settings, Shared, TaskError, worker};
use crate::pipe::{Connection, Pipe};
use crate::pipe::{RecvError, SendError, TrySend};
use crate::process::{Process, SpawnError};
use crate::sys::MAX_FDS_PER_MSG;

/// The work a worker may hold queued behind the job it runs, at its
/// measured rate.
const BUDGET: Duration = Duration::from_micros(200);

/// The most jobs a worker holds at once.
const MAX_DEPTH: usize = 64;

/// Jobs are added to one message while it is smaller than this.
const BATCH_BYTES: usize = 60 << 10;

/// A running worker process and its connection.
pub(super) struct Worker {
    /// Answers are read here.
    reader: Connection,
    /// Jobs are written here (a clone, so a write's tail can be flushed
    /// while answers are read).
    writer: Connection,
    process: Process<()>,
    /// Jobs sent to this worker (for `max_tasks_per_child`).
    jobs: u64,
}

impl Worker {
    /// Kills the worker and reaps it.
    pub(super) async fn kill(mut self) {
        let _ = self.process.kill();
        let _ = self.process.join().await;
    }
}

/// A worker process spawned, not yet known to be ready.
pub(super) struct Starting {
    conn: Connection,
    process: Process<()>,
}

/// How a slot's first worker comes.
pub(super) enum Start {
    /// Started and ready (the pool waited, to report a failed initializer).
    Ready(Box<Worker>),
    /// Spawned; the slot waits for it to be ready (a pool without an
    /// initializer returns at once, as Python's does, and its first task
    /// goes to whichever worker is ready first).
    Spawned(Box<Starting>),
}

/// Spawns worker number `n`.
pub(super) fn spawn_worker(n: usize, settings: &Settings) -> Result<Starting, PoolError> {
    let spawn_error = |e: SpawnError| PoolError::Spawn(Box::new(e));
    let (conn, there) = Pipe::duplex().map_err(|e| spawn_error(e.into()))?;
    let init = match &settings.initializer {
        Some(init) => Some(init.try_clone().map_err(|e| spawn_error(e.into()))?),
        None => None,
    };
    let process = Process::builder()
        .name(format!("PoolWorker-{n}"))
        .daemon(true)
        .kill_on_drop(true)
        .start_method(crate::process::StartMethod::ForkServer)
        .spawn(worker::run, WorkerArg { conn: there, init })
        .map_err(spawn_error)?;
    Ok(Starting { conn, process })
}

impl Starting {
    /// Waits until the worker has run its initializer (cancel safe).
    async fn ready(&mut self) -> Result<(), PoolError> {
        match self.conn.recv::<FromWorker>().await {
            Ok(FromWorker::Ready) => Ok(()),
            Ok(FromWorker::InitFailed { message, location }) => {
                let _ = self.process.join().await;
                Err(PoolError::Initializer { message, location })
            }
            _ => {
                let _ = self.process.kill();
                let _ = self.process.join().await;
                Err(PoolError::Initializer {
                    message: format!("worker died: exit code {:?}", self.process.exitcode()),
                    location: None,
                })
            }
        }
    }

    /// Waits until the worker is ready; on failure it has exited.
    pub(super) async fn ready_worker(mut self) -> Result<Worker, PoolError> {
        self.ready().await?;
        self.into_worker()
    }

    /// The worker, once [`ready`](Starting::ready).
    fn into_worker(self) -> Result<Worker, PoolError> {
        let writer = self.conn.try_clone().map_err(|e| PoolError::Spawn(Box::new(SpawnError::Io(e))))?;
        Ok(Worker { reader: self.conn, writer, process: self.process, jobs: 0 })
    }

    /// Kills the worker and reaps it.
    pub(super) async fn kill(mut self) {
        let _ = self.process.kill();
        let _ = self.process.join().await;
    }
}

/// A job the worker holds.
struct Held {
    job: Job,
    sent: Instant,
}

/// The measured time a job takes, and the pacing it implies.
#[derive(Default)]
struct Pace {
    /// Moving average of the time between a job's start and its answer.
    per_job: Option<Duration>,
    /// When the last answer came.
    last_answer: Option<Instant>,
}

impl Pace {
    /// When the oldest held job (sent at `sent`) started: after it was sent
    /// and after the job before it was answered.
    fn started(&self, sent: Instant) -> Instant {
        self.last_answer.map_or(sent, |a| a.max(sent))
    }

    fn answered(&mut self, sent: Instant, now: Instant) {
        let took = now.saturating_duration_since(self.started(sent));
        self.per_job = Some(match self.per_job {
            None => took,
            Some(avg) => (avg * 3 + took) / 4,
        });
        self.last_answer = Some(now);
    }

    /// How many jobs the worker may hold at once: one until a job's time
    /// is known, then as many as fit in [`BUDGET`].
    fn depth(&self) -> usize {
        match self.per_job {
            None => 1,
            Some(per_job) => {
                let fit = BUDGET.as_nanos() / per_job.as_nanos().max(1);
                usize::try_from(fit).unwrap_or(MAX_DEPTH).clamp(1, MAX_DEPTH)
            }
        }
    }

    /// How many jobs to give a worker that holds `held` (the oldest sent at
    /// `oldest`) now: up to its depth, but only once it is down to half of
    /// it (so jobs go in batches and answers come back in runs), and none
    /// while the job it runs has been going for longer than the budget.
    fn room(&self, held: usize, oldest: Option<Instant>, now: Instant) -> usize {
        let depth = self.depth();
        match oldest {
            None => depth,
            Some(_) if held > depth / 2 => 0,
            Some(oldest) if now.saturating_duration_since(self.started(oldest)) > BUDGET => 0,
            Some(_) => depth - held,
        }
    }
}

/// What a slot does next.
enum Next {
    Work,
    /// Closed and drained: let the worker go and end.
    Close,
    /// Terminated: kill the worker and end.
    Terminate,
    /// The worker has run its `max_tasks_per_child` jobs: replace it.
    Retire,
}

/// Runs a slot until the pool is closed and drained, or terminated, or a
/// replacement worker cannot be started.
pub(super) async fn run(shared: Arc<Shared>, start: Start) {
    let mut worker = match start {
        Start::Ready(worker) => *worker,
        Start::Spawned(starting) => match until_ready(&shared, *starting).await {
            Ok(worker) => worker,
            Err(Unready::Terminated) => return shared.slot_ended(true),
            // It could not start: try once more, as for a dead worker.
            Err(Unready::Failed) => match replace(&shared).await {
                Some(worker) => worker,
                None => return shared.slot_ended(true),
            },
        },
    };
    let mut held: VecDeque<Held> = VecDeque::new();
    let mut pace = Pace::default();
    let mut idle = true; // as counted in the shared state
    // The worker's end was full at the last send: no more jobs until it
    // answers one (retrying at every wake-up would spin).
    let mut stalled = false;
    loop {
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();

        // Take what this worker may have, under the lock.
        let mut batch: Vec<Job> = Vec::new();
        let next = {
            let mut state = shared.lock();
            if state.terminated {
                Next::Terminate
            } else {
                let now = Instant::now();
                let left = shared.settings.max_tasks_per_child.map_or(u64::MAX, |max| max - worker.jobs);
                let room = pace.room(held.len(), held.front().map(|h| h.sent), now);
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(room);
                let (mut bytes, mut fds) = (0, 0);
                let others_idle = state.idle - usize::from(idle);
                // A worker that holds jobs leaves the queue's first ones to idle workers.
                let spare = if held.is_empty() { 0 } else { others_idle };
                while batch.len() < take
                    && bytes < BATCH_BYTES
                    && !stalled
                    && !worker.writer.has_unsent()
                    && state.queue.len() > spare
                {
                    let Some(job) = state.queue.pop_front() else { break };
                    if job.reply.is_closed() {
                        continue; // its caller went away before it started
                    }
                    if !batch.is_empty() && fds + job.chunk.fds.len() > MAX_FDS_PER_MSG {
                        state.queue.push_front(job); // for the next message
                        break;
                    }
                    bytes += job.chunk.bytes.len();
                    fds += job.chunk.fds.len();
                    batch.push(job);
                }
                let now_idle = held.is_empty() && batch.is_empty();
                if now_idle != idle {
                    if now_idle {
                        state.idle += 1;
                    } else {
                        state.idle -= 1;
                    }
                    idle = now_idle;
                }
                if !now_idle {
                    Next::Work
                } else if state.closed && state.queue.is_empty() {
                    Next::Close
                } else if shared.settings.max_tasks_per_child.is_some_and(|max| worker.jobs >= max) {
                    Next::Retire
                } else {
                    Next::Work
                }
            }
        };

        match next {
            Next::Work => {}
            Next::Terminate => {
                let _ = worker.process.kill();
                let _ = worker.process.join().await;
                drop(held); // their callers see Terminated
                shared.slot_ended(idle);
                return;
            }
            Next::Close => {
                drop(worker.reader);
                drop(worker.writer); // the worker sees its connection end and exits
                let _ = worker.process.join().await;
                shared.slot_ended(idle);
                return;
            }
            Next::Retire => {
                let Worker { reader, writer, mut process, jobs } = worker;
                drop((reader, writer));
                let _ = process.join().await;
                crate::trace::event!(debug, pid = process.pid(), jobs, "a pool worker retired (max_tasks_per_child)");
                match replace(&shared).await {
                    Some(w) => worker = w,
                    None => return shared.slot_ended(idle),
                }
                pace = Pace::default();
                continue;
            }
        }

        if !batch.is_empty() {
            let sent = Instant::now();
            let message = Run(batch.iter().map(|job| (job.entry, &job.chunk)).collect());
            let outcome = match worker.writer.try_send(&message) {
                // The worker holds nothing, so it is reading: waiting is safe.
                Ok(TrySend::Busy) if held.is_empty() => worker.writer.send(&message).await.map(|()| TrySend::Sent),
                other => other,
            };
            drop(message);
            match outcome {
                Ok(TrySend::Sent | TrySend::Started) => {
                    worker.jobs += batch.len() as u64;
                    held.extend(batch.into_iter().map(|job| Held { job, sent }));
                }
                Ok(TrySend::Busy) => {
                    // The worker's end is full: these go back to the queue.
                    stalled = true;
                    shared.requeue(batch);
                }
                Err(e @ (SendError::TooManyHandles(_) | SendError::Encode(_))) => {
                    // The jobs cannot travel (nothing was sent): they fail,
                    // the worker is fine.
                    let why = format!("the job could not be sent to a worker: {e}");
                    for job in batch {
                        job.reply.send(Err(TaskError::Failed(why.clone())));
                    }
                }
                Err(_) => {
                    shared.requeue(batch);
                    match died(&shared, worker, &mut held).await {
                        Some(w) => worker = w,
                        None => return shared.slot_ended(idle),
                    }
                    pace = Pace::default();
                    continue;
                }
            }
        }

        if held.is_empty() {
            changed.await;
            continue;
        }
        let Worker { reader, writer, .. } = &mut worker;
        tokio::select! {
            biased;
            answer = reader.recv::<FromWorker>() => {
                // This answer, and those already here after it, in one turn.
                let answered = deliver(answer, &mut held, &mut pace);
                // The worker read what it answered: its end has room.
                stalled &= !answered;
                let sane = answered && deliver_waiting(reader, &mut held, &mut pace);
                if !sane {
                    // The connection ended (or spoke nonsense): the worker
                    // died holding the oldest job.
                    match died(&shared, worker, &mut held).await {
                        Some(w) => worker = w,
                        None => return shared.slot_ended(idle),
                    }
                    pace = Pace::default();
                }
            }
            flushed = writer.flush(), if writer.has_unsent() => {
                if flushed.is_err() {
                    match died(&shared, worker, &mut held).await {
                        Some(w) => worker = w,
                        None => return shared.slot_ended(idle),
                    }
                    pace = Pace::default();
                }
            }
            () = &mut changed => {}
        }
    }
}

/// Hands an answer from the worker to the oldest job it holds; `false` if
/// it is not one (the connection ended or spoke nonsense, or the worker
/// holds nothing).
fn deliver(received: Result<FromWorker, RecvError>, held: &mut VecDeque<Held>, pace: &mut Pace) -> bool {
    let answered = match received {
        Ok(FromWorker::Done(chunk)) => Ok(chunk),
        Ok(FromWorker::Failed(why)) => Err(TaskError::Failed(why)),
        _ => return false,
    };
    let Some(Held { job, sent }) = held.pop_front() else { return false };
    pace.answered(sent, Instant::now());
    job.reply.send(answered);
    true
}

/// Delivers the answers already on the connection, without waiting:
/// `false` once it meets its end or nonsense (a message when the worker
/// holds nothing is nonsense, so a worker cannot keep the slot here).
fn deliver_waiting(reader: &mut Connection, held: &mut VecDeque<Held>, pace: &mut Pace) -> bool {
    loop {
        match reader.try_recv::<FromWorker>().transpose() {
            None => return true,
            Some(received) => {
                if !deliver(received, held, pace) {
                    return false;
                }
            }
        }
    }
}

/// The job a dead worker was running: the oldest it holds that has no
/// answer on its connection. A worker that answers a job and dies on the
/// next one may be found dead by a send before its answer is read (or
/// between two reads): that answer goes to its job first, so a job that
/// finished is not failed for its worker's death.
fn running_when_it_died(reader: &mut Connection, held: &mut VecDeque<Held>) -> Option<Held> {
    deliver_waiting(reader, held, &mut Pace::default());
    held.pop_front()
}

/// The worker died: reaps it, fails the job it was running, puts the jobs
/// it had not started back in the queue, and starts a replacement.
async fn died(shared: &Shared, worker: Worker, held: &mut VecDeque<Held>) -> Option<Worker> {
    let Worker { mut reader, writer, mut process, .. } = worker;
    drop(writer);
    let running = running_when_it_died(&mut reader, held);
    drop(reader);
    if process.join_timeout(Duration::from_secs(5)).await.is_err() && process.exitcode().is_none() {
        let _ = process.kill();
        let _ = process.join().await;
    }
    let exitcode = process.exitcode();
    crate::trace::event!(
        warn,
        pid = process.pid(),
        ?exitcode,
        failed = running.is_some(),
        requeued = held.len(),
        "a pool worker died; its task fails alone and a replacement starts"
    );
    if let Some(Held { job, .. }) = running {
        job.reply.send(Err(TaskError::WorkerDied { exitcode }));
    }
    shared.requeue(held.drain(..).map(|h| h.job).collect());
    replace(shared).await
}

/// Why a spawned worker did not become ready.
enum Unready {
    /// The pool was terminated meanwhile (the worker was killed).
    Terminated,
    /// It failed or died first.
    Failed,
}

/// Waits until a spawned worker is ready, or kills it if the pool is
/// terminated first (a worker that never becomes ready cannot hold up
/// `terminate`).
async fn until_ready(shared: &Shared, mut starting: Starting) -> Result<Worker, Unready> {
    loop {
        let changed = shared.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if shared.lock().terminated {
            starting.kill().await;
            return Err(Unready::Terminated);
        }
        tokio::select! {
            ready = starting.ready() => {
                return ready.and_then(|()| starting.into_worker()).map_err(|_| Unready::Failed);
            }
            () = changed => {}
        }
    }
}

/// Starts the next worker, or `None` if it cannot be started (or the pool
/// was terminated meanwhile).
async fn replace(shared: &Shared) -> Option<Worker> {
    let n = shared.lock().next_worker();
    let starting = match spawn_worker(n, &shared.settings) {
        Ok(starting) => starting,
        Err(e) => {
            crate::trace::event!(error, error = %e, "a replacement pool worker could not be started");
            return None;
        }
    };
    let worker = until_ready(shared, starting).await.ok()?;
    crate::trace::event!(info, pid = worker.process.pid(), "a replacement pool worker is ready");
    Some(worker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::handle::{Completion, TaskHandle};
    use crate::pool::worker::Blob;

    fn echo(x: u8) -> u8 {
        x
    }

    /// A held job whose answer is its chunk's bytes, and its handle.
    fn held_job() -> (Held, TaskHandle<Vec<u8>>) {
        let completion = Completion::new(None);
        let entry = super::super::chunk::entry_of(echo as fn(u8) -> u8);
        let job = Job::task(entry, Blob::default(), completion.clone(), |blob| Ok(blob.bytes));
        (Held { job, sent: Instant::now() }, TaskHandle::new(completion))
    }

    // A worker that answers a job and dies running the next may be found
    // dead by a send before its answer is read: the finished job keeps its
    // answer, and the death is the next one's.
    #[test]
    fn a_job_answered_before_its_worker_died_is_not_blamed_for_the_death() {
        let (mut slot_end, mut worker_end) = Pipe::duplex().unwrap();
        let ((first, mut finished), (second, mut running_one), (third, not_started)) =
            (held_job(), held_job(), held_job());
        let mut held = VecDeque::from([first, second, third]);
        worker_end.blocking_send(&FromWorker::Done(Blob { bytes: vec![7], fds: Vec::new() })).unwrap();
        // Jobs the worker never read: its end closes with data unread
        // (the kernel then resets the connection).
        slot_end.blocking_send(&Run(Vec::new())).unwrap();
        drop(worker_end);
        let running = running_when_it_died(&mut slot_end, &mut held).expect("a job was running");
        assert_eq!(finished.blocking_get_timeout(Duration::ZERO).unwrap(), [7]);
        assert_eq!(held.len(), 1, "the third job, never started, stays to be requeued");
        running.job.reply.send(Err(TaskError::WorkerDied { exitcode: Some(-9) }));
        assert!(matches!(running_one.blocking_get_timeout(Duration::ZERO), Err(TaskError::WorkerDied { .. })));
        assert!(!not_started.ready());
    }
}

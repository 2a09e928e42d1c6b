//! [`TaskHandle`]: work submitted to a pool, Python's `AsyncResult`.
//!
//! # Implementation notes
//!
//! A handle and the pool share one [`Completion`]: the result once it is
//! there, the callbacks to run when it comes, the wakers of async waiters
//! and a condition variable for blocking ones. The pool completes it from
//! its own tasks (a slot delivering a task's answer, or the task gathering
//! a `map_async`), so callbacks run whether or not anyone holds the handle,
//! and dropping the handle only lets go of the result: the work still runs
//! (tokio's `JoinHandle` and Python's `AsyncResult` both detach). Work is
//! cancelled only by [`TaskHandle::abort`], which marks the completion; a
//! job not started yet is then skipped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::gather::Deliver;
use super::worker::Blob;
use super::{Answer, TaskError};
use crate::loom::{AtomicBool, Ordering};

/// A callback run with the outcome when it comes.
type Callback<T> = Box<dyn FnOnce(&Result<T, TaskError>) + Send>;

enum Status<T> {
    /// Not there yet; callbacks to run when it comes.
    Pending(Vec<Callback<T>>),
    /// Being delivered: its callbacks are running (outside the lock).
    Delivering(Vec<Callback<T>>),
    Done(Result<T, TaskError>),
    /// Taken by a `get`; whether it was a success.
    Taken(bool),
}

/// The outcome of one piece of submitted work, shared by its handle and
/// the pool.
pub(super) struct Completion<T> {
    status: Mutex<(Status<T>, Vec<Waker>)>,
    done: Condvar,
    aborted: AtomicBool,
    /// What `abort` does besides marking this (a map cancels its chunks).
    on_abort: Option<Box<dyn Fn() + Send + Sync>>,
}

impl<T> Completion<T> {
    pub(super) fn new(on_abort: Option<Box<dyn Fn() + Send + Sync>>) -> Arc<Completion<T>> {
        Arc::new(Completion {
            status: Mutex::new((Status::Pending(Vec::new()), Vec::new())),
            done: Condvar::new(),
            aborted: AtomicBool::new(false),
            on_abort,
        })
    }

    fn lock(&self) -> MutexGuard<'_, (Status<T>, Vec<Waker>)> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the work was aborted (a job not started need not run).
    pub(super) fn is_aborted(&self) -> bool {
        // A flag read by the slot before it sends a job; nothing else is
        // ordered by it (the job's reply is delivered through the lock).
        self.aborted.load(Ordering::Relaxed)
    }

    /// Delivers the outcome: runs the callbacks (outside the lock, so they
    /// may do anything but block), then stores it and wakes every waiter.
    /// A second delivery is ignored.
    pub(super) fn complete(&self, outcome: Result<T, TaskError>) {
        loop {
            let callbacks = {
                let mut status = self.lock();
                match &mut status.0 {
                    Status::Pending(cbs) | Status::Delivering(cbs) if !cbs.is_empty() => {
                        let cbs = std::mem::take(cbs);
                        status.0 = Status::Delivering(Vec::new());
                        cbs
                    }
                    Status::Pending(_) | Status::Delivering(_) => {
                        status.0 = Status::Done(outcome);
                        let wakers = std::mem::take(&mut status.1);
                        drop(status);
                        self.done.notify_all();
                        for w in wakers {
                            w.wake();
                        }
                        return;
                    }
                    Status::Done(_) | Status::Taken(_) => return,
                }
            };
            for cb in callbacks {
                // A callback's panic is its own: the others still run, and
                // the outcome is still delivered.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&outcome)));
            }
        }
    }

    /// Runs `cb` with the outcome: when it comes, or now if it is here.
    fn on_outcome(&self, cb: Callback<T>) {
        let mut status = self.lock();
        match &mut status.0 {
            Status::Pending(cbs) | Status::Delivering(cbs) => cbs.push(cb),
            // Here already: run it now (it cannot reach this handle's lock:
            // the caller holds the handle).
            Status::Done(outcome) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(outcome)));
            }
            Status::Taken(_) => {}
        }
    }

    fn ready(&self) -> bool {
        matches!(self.lock().0, Status::Done(_) | Status::Taken(_))
    }

    fn successful(&self) -> Option<bool> {
        match &self.lock().0 {
            Status::Done(r) => Some(r.is_ok()),
            Status::Taken(ok) => Some(*ok),
            _ => None,
        }
    }

    /// Takes the outcome if it is here; otherwise registers `waker`.
    fn poll_take(&self, waker: Option<&Waker>) -> Option<Result<T, TaskError>> {
        let mut status = self.lock();
        match &status.0 {
            Status::Done(r) => {
                let ok = r.is_ok();
                match std::mem::replace(&mut status.0, Status::Taken(ok)) {
                    Status::Done(r) => Some(r),
                    _ => unreachable!("matched Done above"),
                }
            }
            Status::Taken(_) => Some(Err(TaskError::Invalid("the result was already taken"))),
            Status::Pending(_) | Status::Delivering(_) => {
                if let Some(w) = waker {
                    if !status.1.iter().any(|old| old.will_wake(w)) {
                        status.1.push(w.clone());
                    }
                }
                None
            }
        }
    }

    /// Registers `waker` unless the outcome is here.
    fn poll_ready(&self, waker: &Waker) -> bool {
        let mut status = self.lock();
        if matches!(status.0, Status::Done(_) | Status::Taken(_)) {
            return true;
        }
        if !status.1.iter().any(|old| old.will_wake(waker)) {
            status.1.push(waker.clone());
        }
        false
    }

    /// Blocks until the outcome is here or `timeout` passes; whether it is.
    fn blocking_wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = crate::deadline::within(timeout);
        let mut status = self.lock();
        loop {
            if matches!(status.0, Status::Done(_) | Status::Taken(_)) {
                return true;
            }
            status = match crate::deadline::left(deadline) {
                None => self.done.wait(status).unwrap_or_else(|p| p.into_inner()),
                Some(left) if left.is_zero() => return false,
                Some(left) => self.done.wait_timeout(status, left).unwrap_or_else(|p| p.into_inner()).0,
            };
        }
    }

    fn abort(&self) {
        // See `is_aborted`.
        self.aborted.store(true, Ordering::Relaxed);
        if let Some(f) = &self.on_abort {
            f();
        }
    }
}

/// Work submitted to a [`Pool`](crate::Pool) (Python's `AsyncResult`):
/// from [`apply_async`](crate::Pool::apply_async) (a `TaskHandle<R>`) or
/// [`map_async`](crate::Pool::map_async) (a `TaskHandle<Vec<R>>`).
///
/// Await it for the outcome, or use Python's surface: [`ready`](TaskHandle::ready),
/// [`successful`](TaskHandle::successful), [`wait`](TaskHandle::wait) /
/// [`wait_timeout`](TaskHandle::wait_timeout),
/// [`get_timeout`](TaskHandle::get_timeout), and their `blocking_*` forms.
/// [`callback`](TaskHandle::callback) and
/// [`error_callback`](TaskHandle::error_callback) run a closure in this
/// process when the outcome comes (Python's `callback=` and
/// `error_callback=`), on one of the pool's tasks: keep them short.
///
/// Dropping the handle **detaches** the work, as tokio's `JoinHandle` does:
/// it still runs, its callbacks still run, and `close()` + `join()` wait for
/// it. [`abort`](TaskHandle::abort) cancels work that has not started.
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = ipc::Pool::new(2).await?;
/// let (tx, rx) = std::sync::mpsc::channel();
/// for i in 0..10u32 {
///     // Python: pool.apply_async(f, (i,), callback=print): the handle is
///     // dropped at once, the task still runs and its callback fires.
///     let tx = tx.clone();
///     pool.apply_async(|x: u32| x * x, i).callback(move |r| tx.send(*r).unwrap());
/// }
/// pool.close();
/// pool.join().await?;
/// let mut squares: Vec<u32> = rx.try_iter().collect();
/// squares.sort();
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
/// # Ok(()) }
/// ```
#[doc(alias = "AsyncResult")]
#[doc(alias = "ApplyResult")]
#[doc(alias = "MapResult")]
pub struct TaskHandle<T> {
    completion: Arc<Completion<T>>,
    /// Internal handles (a stream's) cancel their work when dropped.
    abort_on_drop: bool,
    /// The thread of the current-thread runtime the pool runs on, if it
    /// runs on one (see `refuse_deadlock`).
    driver: Option<std::thread::ThreadId>,
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle").field("ready", &self.ready()).finish_non_exhaustive()
    }
}

impl<T> TaskHandle<T> {
    pub(super) fn new(completion: Arc<Completion<T>>) -> TaskHandle<T> {
        TaskHandle { completion, abort_on_drop: false, driver: None }
    }

    /// The handle of a task of a pool whose runtime `driver` drives.
    pub(super) fn on(mut self, driver: Option<std::thread::ThreadId>) -> TaskHandle<T> {
        self.driver = driver;
        self
    }

    /// A handle whose drop aborts the work (for the pool's own streams and
    /// futures, which cancel what they started when dropped).
    pub(super) fn aborting(mut self) -> TaskHandle<T> {
        self.abort_on_drop = true;
        self
    }

    /// A handle that is already complete.
    pub(super) fn done(outcome: Result<T, TaskError>) -> TaskHandle<T> {
        let completion = Completion::new(None);
        completion.complete(outcome);
        TaskHandle::new(completion)
    }

    /// Whether the outcome is here (Python's `ready()`; tokio's
    /// `is_finished`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let h = pool.apply_async(|x: u8| x, 1);
    /// h.wait().await;
    /// assert!(h.ready());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "is_finished")]
    pub fn ready(&self) -> bool {
        self.completion.ready()
    }

    /// Whether the work succeeded, once it is [`ready`](TaskHandle::ready)
    /// (`None` before: Python raises `ValueError` there).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let h = pool.apply_async(|()| -> u8 { panic!("no") }, ());
    /// h.wait().await;
    /// assert_eq!(h.successful(), Some(false));
    /// # Ok(()) }
    /// ```
    pub fn successful(&self) -> Option<bool> {
        self.completion.successful()
    }

    /// Cancels the work if it has not started: its outcome is then
    /// [`TaskError::Aborted`] (a task already running finishes, and its
    /// outcome is delivered as usual). Detaching is dropping the handle.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let busy = pool.apply_async(|()| std::thread::sleep(std::time::Duration::from_millis(200)), ());
    /// let queued = pool.apply_async(|x: u8| x, 1);
    /// queued.abort();
    /// assert!(matches!(queued.await, Err(ipc::TaskError::Aborted)));
    /// busy.await?;
    /// # Ok(()) }
    /// ```
    pub fn abort(&self) {
        self.completion.abort();
    }

    /// Runs `f` with the value when the work succeeds (Python's
    /// `callback=`), on one of the pool's tasks in this process — at once,
    /// on this thread, if it already has. Not run if it fails. A panic in
    /// `f` is caught.
    ///
    /// # Examples
    ///
    /// See [`TaskHandle`].
    pub fn callback(self, f: impl FnOnce(&T) + Send + 'static) -> TaskHandle<T> {
        self.completion.on_outcome(Box::new(move |outcome| {
            if let Ok(value) = outcome {
                f(value);
            }
        }));
        self
    }

    /// Runs `f` with the error when the work fails (Python's
    /// `error_callback=`), as [`callback`](TaskHandle::callback) does.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let h = pool.apply_async(|()| -> u8 { panic!("boom") }, ()).error_callback(move |e| tx.send(e.to_string()).unwrap());
    /// h.wait().await;
    /// assert!(rx.recv()?.contains("boom"));
    /// # Ok(()) }
    /// ```
    pub fn error_callback(self, f: impl FnOnce(&TaskError) + Send + 'static) -> TaskHandle<T> {
        self.completion.on_outcome(Box::new(move |outcome| {
            if let Err(e) = outcome {
                f(e);
            }
        }));
        self
    }

    /// Waits until the outcome is here (Python's `wait()`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: waiting takes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let h = pool.map_async(|x: u8| x + 1, 0..3);
    /// h.wait().await;
    /// assert_eq!(h.successful(), Some(true));
    /// assert_eq!(h.await?, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self) {
        std::future::poll_fn(|cx| if self.completion.poll_ready(cx.waker()) { Poll::Ready(()) } else { Poll::Pending })
            .await
    }

    /// Waits until the outcome is here or `timeout` passes; whether it is
    /// (Python's `wait(timeout)`, then `ready()`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`wait`](TaskHandle::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let h = pool.apply_async(|()| std::thread::sleep(std::time::Duration::from_millis(100)), ());
    /// assert!(!h.wait_timeout(std::time::Duration::from_millis(1)).await);
    /// assert!(h.wait_timeout(std::time::Duration::from_secs(30)).await);
    /// # Ok(()) }
    /// ```
    pub async fn wait_timeout(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.wait()).await.is_ok()
    }

    /// Blocking form of [`wait`](TaskHandle::wait), for synchronous code.
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
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let h = pool.apply_async(|x: u8| x, 3);
    /// let h = tokio::task::spawn_blocking(move || { h.blocking_wait(); h }).await?;
    /// assert!(h.ready());
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait(&self) {
        if !self.ready() {
            super::refuse_deadlock(self.driver, "TaskHandle::blocking_wait");
        }
        self.completion.blocking_wait(None);
    }

    /// Blocking form of [`wait_timeout`](TaskHandle::wait_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let h = pool.apply_async(|x: u8| x, 3);
    /// let ready = tokio::task::spawn_blocking(move || h.blocking_wait_timeout(std::time::Duration::from_secs(30))).await?;
    /// assert!(ready);
    /// # Ok(()) }
    /// ```
    pub fn blocking_wait_timeout(&self, timeout: Duration) -> bool {
        self.completion.blocking_wait(Some(timeout))
    }
}

impl<T> TaskHandle<T> {
    /// The outcome, waiting at most `timeout` for it (Python's
    /// `get(timeout)`): [`TaskError::Timeout`] if it is not there by then
    /// (the handle stays usable). The outcome can be taken once; a second
    /// `get` is [`TaskError::Invalid`].
    ///
    /// # Errors
    ///
    /// The work's [`TaskError`], or `Timeout`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the outcome is taken only in the step that returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let mut h = pool.apply_async(|()| { std::thread::sleep(std::time::Duration::from_millis(100)); 7u8 }, ());
    /// assert!(matches!(h.get_timeout(std::time::Duration::from_millis(1)).await, Err(ipc::TaskError::Timeout)));
    /// assert_eq!(h.get_timeout(std::time::Duration::from_secs(30)).await?, 7);
    /// # Ok(()) }
    /// ```
    pub async fn get_timeout(&mut self, timeout: Duration) -> Result<T, TaskError> {
        let take = std::future::poll_fn(|cx| match self.completion.poll_take(Some(cx.waker())) {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        });
        tokio::time::timeout(timeout, take).await.unwrap_or(Err(TaskError::Timeout))
    }

    /// Blocking form of `.await` (Python's `get()`), for synchronous code.
    ///
    /// # Errors
    ///
    /// The work's [`TaskError`].
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
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let h = pool.map_async(|x: u8| x * 2, [1, 2]);
    /// let doubled = tokio::task::spawn_blocking(move || h.blocking_get()).await??;
    /// assert_eq!(doubled, [2, 4]);
    /// # Ok(()) }
    /// ```
    #[doc(alias = "get")]
    pub fn blocking_get(mut self) -> Result<T, TaskError> {
        if !self.ready() {
            super::refuse_deadlock(self.driver, "TaskHandle::blocking_get");
        }
        self.completion.blocking_wait(None);
        self.take_now().unwrap_or(Err(TaskError::Timeout))
    }

    /// Blocking form of [`get_timeout`](TaskHandle::get_timeout).
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](TaskHandle::get_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(1).await?;
    /// let mut h = pool.apply_async(|x: u8| x, 9);
    /// let got = tokio::task::spawn_blocking(move || h.blocking_get_timeout(std::time::Duration::from_secs(30))).await?;
    /// assert_eq!(got?, 9);
    /// # Ok(()) }
    /// ```
    pub fn blocking_get_timeout(&mut self, timeout: Duration) -> Result<T, TaskError> {
        if !self.completion.blocking_wait(Some(timeout)) {
            return Err(TaskError::Timeout);
        }
        self.take_now().unwrap_or(Err(TaskError::Timeout))
    }

    fn take_now(&mut self) -> Option<Result<T, TaskError>> {
        self.completion.poll_take(None)
    }
}

/// The outcome: the value, or why there is none.
///
/// # Cancel safety
///
/// Cancel safe: a dropped `.await` takes nothing, and dropping the handle
/// detaches the work.
impl<T> Future for TaskHandle<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.completion.poll_take(Some(cx.waker())) {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for TaskHandle<T> {
    fn drop(&mut self) {
        if self.abort_on_drop && !self.completion.ready() {
            self.completion.abort();
        }
    }
}

/// Delivers one job's answer to the handle of the work it is: the outcome
/// of its only task (`apply_async`), decoded here. A job dropped undelivered
/// (skipped after an abort, or its pool gone) completes the work with
/// [`TaskError::Aborted`] or [`TaskError::Terminated`].
pub(super) struct ToHandle<T, D: Fn(Blob) -> Result<T, TaskError>> {
    completion: Option<Arc<Completion<T>>>,
    decode: D,
}

impl<T, D: Fn(Blob) -> Result<T, TaskError>> ToHandle<T, D> {
    pub(super) fn new(completion: Arc<Completion<T>>, decode: D) -> ToHandle<T, D> {
        ToHandle { completion: Some(completion), decode }
    }
}

impl<T: Send, D: Fn(Blob) -> Result<T, TaskError> + Send> Deliver for ToHandle<T, D> {
    fn is_aborted(&self) -> bool {
        self.completion.as_ref().is_some_and(|c| c.is_aborted())
    }

    fn deliver(mut self: Box<Self>, answer: Answer) {
        if let Some(c) = self.completion.take() {
            c.complete(answer.and_then(&self.decode));
        }
    }
}

impl<T, D: Fn(Blob) -> Result<T, TaskError>> Drop for ToHandle<T, D> {
    fn drop(&mut self) {
        if let Some(c) = self.completion.take() {
            c.complete(Err(if c.is_aborted() { TaskError::Aborted } else { TaskError::Terminated }));
        }
    }
}

/// Completes `completion` with [`TaskError::Terminated`] if dropped before
/// [`finish`](Finisher::finish) (the task gathering a `map_async` is
/// dropped with its runtime).
pub(super) struct Finisher<T>(Option<Arc<Completion<T>>>);

impl<T> Finisher<T> {
    pub(super) fn new(completion: Arc<Completion<T>>) -> Finisher<T> {
        Finisher(Some(completion))
    }

    pub(super) fn finish(mut self, outcome: Result<T, TaskError>) {
        if let Some(c) = self.0.take() {
            // Aborted and not done: say so rather than how the chunks ended.
            let outcome = match outcome {
                Err(_) if c.is_aborted() => Err(TaskError::Aborted),
                other => other,
            };
            c.complete(outcome);
        }
    }
}

impl<T> Drop for Finisher<T> {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.complete(Err(TaskError::Terminated));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_run_once_before_the_outcome_is_taken_and_late_ones_at_once() {
        let c = Completion::<u8>::new(None);
        let (tx, rx) = std::sync::mpsc::channel();
        let tx2 = tx.clone();
        let h = TaskHandle::new(c.clone()).callback(move |v| tx.send(*v).unwrap());
        c.complete(Ok(4));
        c.complete(Ok(5)); // ignored
        let h = h.callback(move |v| tx2.send(*v + 10).unwrap());
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [4, 14]);
        assert_eq!(h.successful(), Some(true));
        assert_eq!(futures::executor::block_on(h).unwrap(), 4);
    }

    #[test]
    fn a_panicking_callback_harms_nothing() {
        let c = Completion::<u8>::new(None);
        let h = TaskHandle::new(c.clone()).callback(|_| panic!("in a callback")).error_callback(|_| unreachable!());
        c.complete(Ok(1));
        assert_eq!(h.blocking_get().unwrap(), 1);
    }

    #[test]
    fn blocking_waits_time_out_and_the_outcome_is_taken_once() {
        let c = Completion::<u8>::new(None);
        let mut h = TaskHandle::new(c.clone());
        assert!(!h.blocking_wait_timeout(Duration::from_millis(5)));
        assert!(matches!(h.blocking_get_timeout(Duration::from_millis(5)), Err(TaskError::Timeout)));
        let completer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            c.complete(Err(TaskError::NoWorkers));
        });
        assert!(h.blocking_wait_timeout(Duration::MAX));
        assert_eq!(h.successful(), Some(false));
        assert!(matches!(h.blocking_get_timeout(Duration::ZERO), Err(TaskError::NoWorkers)));
        assert!(matches!(h.blocking_get_timeout(Duration::ZERO), Err(TaskError::Invalid(_))));
        completer.join().unwrap();
    }

    #[tokio::test]
    async fn an_await_cancelled_by_a_timeout_loses_nothing() {
        let c = Completion::<u8>::new(None);
        let mut h = TaskHandle::new(c.clone());
        assert!(tokio::time::timeout(Duration::from_millis(5), &mut h).await.is_err());
        assert!(matches!(h.get_timeout(Duration::from_millis(5)).await, Err(TaskError::Timeout)));
        c.complete(Ok(3));
        assert_eq!(h.await.unwrap(), 3);
    }

    #[test]
    fn dropping_detaches_unless_the_handle_aborts_on_drop() {
        let aborted = Arc::new(Mutex::new(0));
        let counter = aborted.clone();
        let c = Completion::<u8>::new(Some(Box::new(move || {
            *counter.lock().unwrap() += 1;
        })));
        drop(TaskHandle::new(c.clone()));
        assert!(!c.is_aborted());
        drop(TaskHandle::new(c.clone()).aborting());
        assert!(c.is_aborted());
        assert_eq!(*aborted.lock().unwrap(), 1);
    }
}

//! Where a job's answer goes: to the one caller awaiting it, or into a
//! `map`'s gathering, which hands its caller the answers in item order but
//! wakes it only when that can be worth it: for the last answer, for a
//! failure, and for the next answer in order when it is large enough that
//! decoding it early overlaps the work still running — not once per chunk
//! (at chunk size 1 that was a cross-thread wake-up per task).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures::Stream;

use super::{Answer, TaskError};

/// Where a job's answer goes when it is the whole of some work (an
/// `apply_async`, a chunk of an `imap`): it decodes it for its handle.
pub(super) trait Deliver: Send {
    /// The work was aborted: the job need not run.
    fn is_aborted(&self) -> bool;
    fn deliver(self: Box<Self>, answer: Answer);
}

/// Where a job's answer goes.
pub(super) enum Reply {
    /// To the handle of the work it is (`apply_async`, `imap`).
    Task(Box<dyn Deliver>),
    /// Its place in a `map`'s gathering.
    Gather(Place),
}

impl Reply {
    /// Whether the job need not run: its work was aborted, or (a `map`'s
    /// chunk) its caller left.
    pub(super) fn is_closed(&self) -> bool {
        match self {
            Reply::Task(to) => to.is_aborted(),
            Reply::Gather(place) => place.gather.as_ref().is_none_or(|g| g.lock().cancelled),
        }
    }

    /// Delivers the answer.
    pub(super) fn send(self, answer: Answer) {
        match self {
            Reply::Task(to) => to.deliver(answer),
            Reply::Gather(mut place) => place.answer(answer),
        }
    }
}

/// A `map`'s answers, one per chunk, in item order.
#[derive(Default)]
pub(super) struct Gather {
    state: Mutex<State>,
}

/// Answers at least this large wake a caller waiting for them.
const EARLY_BYTES: usize = 2 << 10;

#[derive(Default)]
struct State {
    answers: Vec<Option<Answer>>,
    /// The next answer the caller takes.
    next: usize,
    /// Places not answered yet.
    left: usize,
    /// Whether some answer is a failure (every answer then wakes the
    /// caller: the first failure in item order ends the map).
    failed: bool,
    /// The caller left: the jobs not started need not run.
    cancelled: bool,
    waker: Option<Waker>,
}

impl Gather {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new gathering and the stream of its answers (dropping the stream
    /// cancels the jobs not started).
    pub(super) fn new() -> (Arc<Gather>, Gathered) {
        let gather = Arc::new(Gather::default());
        (gather.clone(), Gathered { gather })
    }

    /// Marks the gathering abandoned: its jobs not started need not run.
    pub(super) fn cancel(&self) {
        self.lock().cancelled = true;
    }

    /// The place of the next chunk's answer.
    pub(super) fn place(self: &Arc<Self>) -> Place {
        let mut state = self.lock();
        state.answers.push(None);
        state.left += 1;
        Place { gather: Some(self.clone()), index: state.answers.len() - 1 }
    }
}

/// One chunk's place in a gathering. Dropped unanswered (a stopped pool
/// drops the jobs it holds), it is answered [`TaskError::Terminated`].
pub(super) struct Place {
    gather: Option<Arc<Gather>>,
    index: usize,
}

impl Place {
    fn answer(&mut self, answer: Answer) {
        let Some(gather) = self.gather.take() else { return };
        let mut state = gather.lock();
        state.failed |= answer.is_err();
        let large = answer.as_ref().is_ok_and(|blob| blob.bytes.len() >= EARLY_BYTES);
        if let Some(slot) = state.answers.get_mut(self.index) {
            *slot = Some(answer);
        }
        state.left -= 1;
        let wake = state.left == 0 || state.failed || (large && self.index == state.next);
        let waker = if wake { state.waker.take() } else { None };
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.answer(Err(TaskError::Terminated));
    }
}

/// A gathering's answers, in item order, as they come (see the module
/// notes for when the caller is woken).
pub(super) struct Gathered {
    gather: Arc<Gather>,
}

impl Gathered {
    /// The gathering, to cancel it from elsewhere.
    pub(super) fn gather(&self) -> Arc<Gather> {
        self.gather.clone()
    }
}

impl Stream for Gathered {
    type Item = Answer;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Answer>> {
        let mut state = self.gather.lock();
        let next = state.next;
        match state.answers.get_mut(next) {
            None => Poll::Ready(None),
            Some(slot) => match slot.take() {
                Some(answer) => {
                    state.next += 1;
                    Poll::Ready(Some(answer))
                }
                None => {
                    state.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            },
        }
    }
}

impl Drop for Gathered {
    fn drop(&mut self) {
        self.gather.lock().cancelled = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::worker::Blob;
    use futures::StreamExt;

    fn blob(len: usize, b: u8) -> Answer {
        Ok(Blob { bytes: vec![b; len], fds: Vec::new() })
    }

    fn first_byte(answer: Option<Answer>) -> u8 {
        answer.unwrap().unwrap().bytes[0]
    }

    #[tokio::test]
    async fn answers_come_in_item_order_and_small_ones_wake_the_caller_only_at_the_end() {
        let (gather, mut gathered) = Gather::new();
        let mut replies: Vec<Reply> = (0..3).map(|_| Reply::Gather(gather.place())).collect();
        let waiting = tokio::spawn(async move {
            let first = gathered.next().await;
            (first, gathered)
        });
        tokio::task::yield_now().await;
        replies.remove(2).send(blob(1, 2));
        replies.remove(0).send(blob(1, 0)); // the one awaited, but small: no wake-up
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "woken before the last answer");
        replies.remove(0).send(blob(1, 1));
        let (first, mut gathered) = waiting.await.unwrap();
        assert_eq!(first_byte(first), 0);
        assert_eq!(first_byte(gathered.next().await), 1);
        assert_eq!(first_byte(gathered.next().await), 2);
        assert!(gathered.next().await.is_none());
    }

    #[tokio::test]
    async fn a_large_answer_in_order_wakes_the_caller_at_once() {
        let (gather, mut gathered) = Gather::new();
        let mut replies: Vec<Reply> = (0..2).map(|_| Reply::Gather(gather.place())).collect();
        let waiting = tokio::spawn(async move { gathered.next().await.map(|a| a.unwrap().bytes.len()) });
        tokio::task::yield_now().await;
        replies.remove(0).send(blob(EARLY_BYTES, 0));
        let len = tokio::time::timeout(std::time::Duration::from_secs(10), waiting).await.unwrap().unwrap();
        assert_eq!(len, Some(EARLY_BYTES), "decoded while the other chunk still runs");
        drop(replies);
    }

    #[tokio::test]
    async fn a_failure_wakes_the_caller_and_dropped_places_are_terminated() {
        let (gather, mut gathered) = Gather::new();
        let mut replies: Vec<Reply> = (0..3).map(|_| Reply::Gather(gather.place())).collect();
        replies.remove(1).send(Err(TaskError::Failed("second".into())));
        replies.remove(0).send(blob(1, 0));
        assert_eq!(first_byte(gathered.next().await), 0);
        assert!(matches!(gathered.next().await, Some(Err(TaskError::Failed(_)))));
        drop(replies); // a stopped pool drops the job
        assert!(matches!(gathered.next().await, Some(Err(TaskError::Terminated))));
        assert!(gathered.next().await.is_none());
    }

    #[test]
    fn a_caller_that_leaves_closes_the_places_not_answered() {
        let (gather, gathered) = Gather::new();
        let reply = Reply::Gather(gather.place());
        assert!(!reply.is_closed());
        drop(gathered);
        assert!(reply.is_closed());
        reply.send(blob(1, 1)); // goes nowhere, and does not panic
    }
}

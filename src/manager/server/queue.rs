//! The manager's queues: `Queue`, `LifoQueue`, `PriorityQueue` and
//! `JoinableQueue`, one type with an order. A waiting `put` or `get` waits
//! in the server (on its own task, see the server's docs); a cancelled one
//! leaves nothing behind (the client undoes a `get` that finished).

use std::collections::{BinaryHeap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::super::error::RemoteError;
use super::super::methods::{Bytes, queue};
use super::{CallFuture, Caller, Served, lock, wait_until};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    Fifo,
    Lifo,
    Priority,
}

/// A priority queue entry: lowest priority first, then first put first.
#[derive(PartialEq, Eq)]
struct Ranked {
    priority: i64,
    seq: u64,
    item: Bytes,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // BinaryHeap is a max-heap: reverse both keys.
        (other.priority, other.seq).cmp(&(self.priority, self.seq))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Default)]
struct Items {
    deque: VecDeque<Bytes>,
    heap: BinaryHeap<Ranked>,
    seq: u64,
    /// Items put and not yet marked done (JoinableQueue).
    unfinished: u64,
}

pub(super) struct Queue {
    type_name: &'static str,
    order: Order,
    maxsize: usize,
    items: Mutex<Items>,
    changed: Notify,
}

impl Queue {
    /// A queue served as `type_name`, in `order`, holding at most `maxsize`
    /// items (0: unbounded).
    pub(super) fn new(type_name: &'static str, order: Order, maxsize: u64) -> Queue {
        let maxsize = usize::try_from(maxsize).unwrap_or(usize::MAX);
        Queue { type_name, order, maxsize, items: Mutex::new(Items::default()), changed: Notify::new() }
    }

    fn len(items: &Items) -> usize {
        items.deque.len() + items.heap.len()
    }

    fn try_put(&self, item: (i64, Bytes)) -> Result<(), (i64, Bytes)> {
        let mut items = lock(&self.items);
        if self.maxsize > 0 && Queue::len(&items) >= self.maxsize {
            return Err(item);
        }
        let (priority, item) = item;
        if self.order == Order::Priority {
            items.seq += 1;
            let seq = items.seq;
            items.heap.push(Ranked { priority, seq, item });
        } else {
            items.deque.push_back(item);
        }
        items.unfinished += 1;
        drop(items);
        self.changed.notify_waiters();
        Ok(())
    }

    fn try_get(&self) -> Option<(i64, Bytes)> {
        let mut items = lock(&self.items);
        let item = match self.order {
            Order::Fifo => items.deque.pop_front().map(|b| (0, b)),
            Order::Lifo => items.deque.pop_back().map(|b| (0, b)),
            Order::Priority => items.heap.pop().map(|r| (r.priority, r.item)),
        };
        drop(items);
        if item.is_some() {
            self.changed.notify_waiters();
        }
        item
    }

    /// Puts back an item whose getter left before seeing it, where the next
    /// get finds it first.
    fn unget(&self, (priority, item): (i64, Bytes)) {
        let mut items = lock(&self.items);
        match self.order {
            Order::Fifo => items.deque.push_front(item),
            Order::Lifo => items.deque.push_back(item),
            Order::Priority => items.heap.push(Ranked { priority, seq: 0, item }),
        }
        drop(items);
        self.changed.notify_waiters();
    }
}

impl Queue {
    async fn serve(&self, call: queue::Call) -> Result<Bytes, RemoteError> {
        use queue::Call::*;
        match call {
            Put((item, block, timeout), a) => {
                let mut item = Some(item);
                let mut attempt = || match self.try_put(item.take().expect("put once")) {
                    Ok(()) => Some(()),
                    Err(back) => {
                        item = Some(back);
                        None
                    }
                };
                let done = if block { wait_until(&self.changed, timeout, attempt).await } else { attempt() };
                done.map(|()| a.ok(&())).unwrap_or(Err(RemoteError::Full))
            }
            Get((block, timeout), a) => {
                let got =
                    if block { wait_until(&self.changed, timeout, || self.try_get()).await } else { self.try_get() };
                got.map(|item| a.ok(&item)).unwrap_or(Err(RemoteError::Empty))
            }
            Unget(item, a) => {
                self.unget(item);
                a.ok(&())
            }
            Qsize((), a) => a.ok(&(Queue::len(&lock(&self.items)) as u64)),
            TaskDone((), a) => {
                let mut items = lock(&self.items);
                if items.unfinished == 0 {
                    return Err(RemoteError::ValueError("task_done() called too many times".into()));
                }
                items.unfinished -= 1;
                drop(items);
                self.changed.notify_waiters();
                a.ok(&())
            }
            Join((), a) => {
                wait_until(&self.changed, None, || (lock(&self.items).unfinished == 0).then_some(())).await;
                a.ok(&())
            }
        }
    }
}

impl Served for Queue {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        let call = queue::Call::decode_as(self.type_name, method, &args);
        Box::pin(async move { self.serve(call?).await })
    }
}

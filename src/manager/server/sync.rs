//! The manager's synchronisation objects: `Lock`, `RLock`, `Semaphore` /
//! `BoundedSemaphore`, `Condition`, `Event` and `Barrier`. `Lock` and
//! `RLock` are one state machine, `LockState`, with a reentrancy flag.
//!
//! An owner is a connection (a process) and a number the proxy sends with
//! each call (its task or thread, `sync::owner::local`), so a re-entrant
//! lock is re-entered by the task that holds it, as Python's is by the
//! thread. A process that dies gives back the locks it held and breaks the
//! barriers it was waiting at (Python would leave the others waiting).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::super::error::RemoteError;
use super::super::methods::{self, Bytes, Kind, barrier, condition, event, rlock, semaphore};
use super::{CallFuture, Caller, Served, lock, wait_until};
use crate::loom::{AtomicU32, AtomicU64};
use crate::sync::raw::barrier_word::{BarrierWord, Left, round};

/// Who holds a lock: a connection and a task or thread in its process.
type Owner = (Caller, u64);

// ----- the locks (Lock, RLock, and Condition's lock) -----------------------

#[derive(Default)]
struct Held {
    owner: Option<Owner>,
    depth: u64,
}

/// A lock's state and its wake-ups: Python's manager `Lock` (`reentrant:
/// false`: anyone may release it, and its holder taking it again waits) or
/// `RLock` (`true`: re-entered by the task that holds it, released only by
/// it). Either is released when its holder's connection closes.
pub(super) struct LockState {
    reentrant: bool,
    held: Mutex<Held>,
    changed: Notify,
}

impl LockState {
    pub(super) fn new(reentrant: bool) -> LockState {
        LockState { reentrant, held: Mutex::default(), changed: Notify::new() }
    }

    fn try_acquire(&self, owner: Owner) -> bool {
        let mut held = lock(&self.held);
        match held.owner {
            Some(o) if self.reentrant && o == owner => held.depth += 1,
            Some(_) => return false,
            None => {
                held.owner = Some(owner);
                held.depth = 1;
            }
        }
        true
    }

    async fn acquire(&self, owner: Owner, block: bool, timeout: Option<Duration>) -> bool {
        if !block {
            return self.try_acquire(owner);
        }
        wait_until(&self.changed, timeout, || self.try_acquire(owner).then_some(())).await.is_some()
    }

    /// One level released: by its owner for a re-entrant lock, by anyone
    /// for a plain one.
    fn release(&self, owner: Owner) -> Result<(), RemoteError> {
        let mut held = lock(&self.held);
        if self.reentrant && held.owner != Some(owner) {
            return Err(RemoteError::RuntimeError("cannot release un-acquired lock".into()));
        }
        if held.owner.is_none() {
            return Err(RemoteError::RuntimeError("release unlocked lock".into()));
        }
        held.depth -= 1;
        if held.depth == 0 {
            held.owner = None;
            drop(held);
            self.changed.notify_waiters();
        }
        Ok(())
    }

    fn is_locked(&self) -> bool {
        lock(&self.held).owner.is_some()
    }

    fn is_owned(&self, owner: Owner) -> bool {
        lock(&self.held).owner == Some(owner)
    }

    /// Releases completely, returning the depth to restore.
    fn release_all(&self) -> u64 {
        let mut held = lock(&self.held);
        let depth = held.depth;
        held.owner = None;
        held.depth = 0;
        drop(held);
        self.changed.notify_waiters();
        depth
    }

    /// Takes the lock back at `depth` once it is free.
    async fn restore(&self, owner: Owner, depth: u64) {
        let free = || {
            let mut held = lock(&self.held);
            held.owner.is_none().then(|| {
                held.owner = Some(owner);
                held.depth = depth;
            })
        };
        wait_until(&self.changed, None, free).await;
    }

    /// A call of a re-entrant lock's proxy (`RLock`'s, a `Condition`'s
    /// lock's), which names its task.
    async fn serve_owned(&self, call: rlock::Call, caller: Caller) -> Result<Bytes, RemoteError> {
        match call {
            rlock::Call::Acquire((task, block, timeout), a) => {
                a.ok(&self.acquire((caller, task), block, timeout).await)
            }
            rlock::Call::Release(task, a) => self.release((caller, task)).and_then(|()| a.ok(&())),
        }
    }

    /// A call of a plain lock's proxy, which names no task: any task of the
    /// holder's process may release it.
    async fn serve_plain(&self, call: methods::lock::Call, caller: Caller) -> Result<Bytes, RemoteError> {
        use methods::lock::Call::*;
        match call {
            Acquire((block, timeout), a) => a.ok(&self.acquire((caller, 0), block, timeout).await),
            Release((), a) => self.release((caller, 0)).and_then(|()| a.ok(&())),
            Locked((), a) => a.ok(&self.is_locked()),
        }
    }

    /// Frees the lock if `caller`'s connection held it.
    fn free_for(&self, caller: Caller) {
        let mut held = lock(&self.held);
        if held.owner.is_some_and(|(c, _)| c == caller) {
            held.owner = None;
            held.depth = 0;
            drop(held);
            self.changed.notify_waiters();
        }
    }
}

/// `Lock` (anyone may release it) and `RLock` (re-entered by the task that
/// holds it) are served as their state machine.
impl Served for LockState {
    fn type_name(&self) -> &'static str {
        if self.reentrant { methods::RLock::NAME } else { methods::Lock::NAME }
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, caller: Caller) -> CallFuture {
        if self.reentrant {
            let call = rlock::Call::decode(method, &args);
            Box::pin(async move { self.serve_owned(call?, caller).await })
        } else {
            let call = methods::lock::Call::decode(method, &args);
            Box::pin(async move { self.serve_plain(call?, caller).await })
        }
    }

    fn disconnected(&self, caller: Caller) {
        self.free_for(caller);
    }
}

// ----- Semaphore, BoundedSemaphore ---------------------------------------

/// A counter of permits; a bounded one refuses to be released above its
/// initial value (Python's `ValueError`).
pub(super) struct Semaphore {
    value: Mutex<u64>,
    bound: Option<u64>,
    changed: Notify,
}

impl Semaphore {
    pub(super) fn new(value: u64, bounded: bool) -> Semaphore {
        Semaphore { value: Mutex::new(value), bound: bounded.then_some(value), changed: Notify::new() }
    }

    fn try_acquire(&self) -> bool {
        let mut value = lock(&self.value);
        if *value == 0 {
            return false;
        }
        *value -= 1;
        true
    }
}

impl Semaphore {
    async fn serve(&self, call: semaphore::Call) -> Result<Bytes, RemoteError> {
        use semaphore::Call::*;
        match call {
            Acquire((block, timeout), a) => {
                if !block {
                    return a.ok(&self.try_acquire());
                }
                let got = wait_until(&self.changed, timeout, || self.try_acquire().then_some(())).await;
                a.ok(&got.is_some())
            }
            Release(n, a) => {
                let mut value = lock(&self.value);
                let after = value.saturating_add(n);
                if self.bound.is_some_and(|bound| after > bound) {
                    return Err(RemoteError::ValueError("Semaphore released too many times".into()));
                }
                *value = after;
                drop(value);
                self.changed.notify_waiters();
                a.ok(&())
            }
            GetValue((), a) => a.ok(&*lock(&self.value)),
        }
    }
}

impl Served for Semaphore {
    fn type_name(&self) -> &'static str {
        if self.bound.is_some() { methods::BoundedSemaphore::NAME } else { methods::Semaphore::NAME }
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        let call = semaphore::Call::decode_as(self.type_name(), method, &args);
        Box::pin(async move { self.serve(call?).await })
    }
}

// ----- Condition ----------------------------------------------------------

#[derive(Default)]
struct Waiters {
    /// Waiting, in arrival order, by ticket.
    queue: VecDeque<u64>,
    /// Notified and not yet back.
    woken: HashSet<u64>,
    next: u64,
}

/// `Condition` with its own re-entrant lock (Python's default
/// `threading.Condition()`).
pub(super) struct Condition {
    lock: LockState,
    waiters: Mutex<Waiters>,
    notified: Notify,
}

/// Takes a waiter out of the queue when its wait ends in any way; a waiter
/// that was notified but is leaving (cancelled) passes the notification on.
struct Ticket<'a> {
    condition: &'a Condition,
    ticket: u64,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut waiters = lock(&self.condition.waiters);
        waiters.queue.retain(|t| *t != self.ticket);
        if waiters.woken.remove(&self.ticket) {
            if let Some(next) = waiters.queue.pop_front() {
                waiters.woken.insert(next);
                drop(waiters);
                self.condition.notified.notify_waiters();
            }
        }
    }
}

impl Default for Condition {
    fn default() -> Condition {
        Condition { lock: LockState::new(true), waiters: Mutex::default(), notified: Notify::new() }
    }
}

impl Condition {
    fn owned(&self, owner: Owner, what: &str) -> Result<(), RemoteError> {
        if self.lock.is_owned(owner) {
            Ok(())
        } else {
            Err(RemoteError::RuntimeError(format!("cannot {what} on un-acquired lock")))
        }
    }

    /// Releases the lock, waits for a notification (or the timeout), takes
    /// the lock back; whether it was notified.
    async fn wait(&self, owner: Owner, timeout: Option<Duration>) -> Result<bool, RemoteError> {
        self.owned(owner, "wait")?;
        let ticket = {
            let mut waiters = lock(&self.waiters);
            waiters.next += 1;
            let ticket = waiters.next;
            waiters.queue.push_back(ticket);
            ticket
        };
        let ticket = Ticket { condition: self, ticket };
        let depth = self.lock.release_all();
        let woken = || lock(&self.waiters).woken.remove(&ticket.ticket).then_some(());
        let notified = wait_until(&self.notified, timeout, woken).await.is_some();
        drop(ticket);
        self.lock.restore(owner, depth).await;
        Ok(notified)
    }

    fn notify(&self, owner: Owner, n: u64) -> Result<(), RemoteError> {
        self.owned(owner, "notify")?;
        let mut waiters = lock(&self.waiters);
        for _ in 0..n {
            let Some(next) = waiters.queue.pop_front() else { break };
            waiters.woken.insert(next);
        }
        drop(waiters);
        self.notified.notify_waiters();
        Ok(())
    }
}

impl Served for Condition {
    fn type_name(&self) -> &'static str {
        methods::Condition::NAME
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, caller: Caller) -> CallFuture {
        // Its lock's methods, then its own.
        if rlock::NAMES.contains(&method) {
            let call = rlock::Call::decode(method, &args);
            return Box::pin(async move { self.lock.serve_owned(call?, caller).await });
        }
        let call = condition::Call::decode(method, &args);
        Box::pin(async move {
            match call? {
                condition::Call::Wait((task, timeout), a) => a.ok(&self.wait((caller, task), timeout).await?),
                condition::Call::Notify((task, n), a) => {
                    self.notify((caller, task), n)?;
                    a.ok(&())
                }
            }
        })
    }

    fn disconnected(&self, caller: Caller) {
        self.lock.free_for(caller);
    }
}

// ----- Event ------------------------------------------------------------

#[derive(Default)]
pub(super) struct Event {
    set: Mutex<bool>,
    changed: Notify,
}

impl Served for Event {
    fn type_name(&self) -> &'static str {
        methods::Event::NAME
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        let call = event::Call::decode(method, &args);
        Box::pin(async move {
            use event::Call::*;
            match call? {
                Set((), a) => {
                    *lock(&self.set) = true;
                    self.changed.notify_waiters();
                    a.ok(&())
                }
                Clear((), a) => {
                    *lock(&self.set) = false;
                    a.ok(&())
                }
                IsSet((), a) => a.ok(&*lock(&self.set)),
                Wait(timeout, a) => {
                    let set = wait_until(&self.changed, timeout, || lock(&self.set).then_some(())).await;
                    a.ok(&set.is_some())
                }
            }
        })
    }
}

// ----- Barrier ------------------------------------------------------------

/// `Barrier(parties)`: the rules are the crate's own barrier's
/// (`sync::raw::barrier_word`, checked by loom), on words in this process's
/// memory, woken by a `Notify`. A round trips when the last party arrives; a
/// timeout, an `abort`, a `reset` with parties waiting, or a waiting party's
/// process dying breaks it for everyone. A cancelled wait withdraws its
/// party instead (the proxy's caller left; the others keep waiting).
pub(super) struct Barrier {
    state: AtomicU64,
    history: AtomicU64,
    /// Always 0: waiters sleep on `changed`, which every change notifies.
    sleepers: AtomicU32,
    parties: u32,
    /// The parties each connection has waiting: (round, count).
    callers: Mutex<HashMap<Caller, (u64, u32)>>,
    changed: Notify,
}

impl Barrier {
    pub(super) fn new(parties: u64) -> Result<Barrier, RemoteError> {
        let parties = match u32::try_from(parties) {
            Ok(0) => return Err(RemoteError::ValueError("parties must be > 0".into())),
            Ok(n) => n,
            Err(_) => return Err(RemoteError::ValueError(format!("parties must be at most {}", u32::MAX))),
        };
        Ok(Barrier {
            state: AtomicU64::new(0),
            history: AtomicU64::new(0),
            sleepers: AtomicU32::new(0),
            parties,
            callers: Mutex::default(),
            changed: Notify::new(),
        })
    }

    fn word(&self) -> BarrierWord<'_> {
        BarrierWord { state: &self.state, history: &self.history, sleepers: &self.sleepers, parties: self.parties }
    }

    /// After any change of the words: waiters re-check.
    fn changed(&self) {
        self.changed.notify_waiters();
    }

    fn abort(&self) {
        self.word().break_round(None);
        self.changed();
    }

    fn reset(&self) {
        self.word().reset();
        self.changed();
    }

    async fn wait(&self, caller: Caller, timeout: Option<Duration>) -> Result<u64, RemoteError> {
        let Some(arrival) = self.word().arrive() else { return Err(RemoteError::BrokenBarrier) };
        if arrival.index + 1 == self.parties {
            // Ours completed the round.
            self.changed();
            return Ok(u64::from(arrival.index));
        }
        let this_round = round(arrival.arrived);
        {
            let mut callers = lock(&self.callers);
            let entry = callers.entry(caller).or_insert((this_round, 0));
            if entry.0 != this_round {
                *entry = (this_round, 0);
            }
            entry.1 += 1;
        }
        // Withdraws a party that leaves (cancelled or timed out) before its
        // round ends.
        struct Leave<'a>(&'a Barrier, Caller, u64);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                let Leave(barrier, caller, arrived) = *self;
                if let Some(entry) = lock(&barrier.callers).get_mut(&caller) {
                    if entry.0 == round(arrived) {
                        entry.1 = entry.1.saturating_sub(1);
                    }
                }
                if barrier.word().outcome(arrived).is_none() && barrier.word().withdraw(arrived) {
                    barrier.changed();
                }
            }
        }
        let leave = Leave(self, caller, arrival.arrived);
        let ended = wait_until(&self.changed, timeout, || self.word().outcome(arrival.arrived)).await;
        match ended {
            Some(Left::Passed) => Ok(u64::from(arrival.index)),
            Some(Left::Broken) => Err(RemoteError::BrokenBarrier),
            None => {
                drop(leave);
                // Python: a timeout breaks the barrier for everyone.
                self.abort();
                Err(RemoteError::BrokenBarrier)
            }
        }
    }
}

impl Served for Barrier {
    fn type_name(&self) -> &'static str {
        methods::Barrier::NAME
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, caller: Caller) -> CallFuture {
        let call = barrier::Call::decode(method, &args);
        Box::pin(async move {
            use barrier::Call::*;
            match call? {
                Wait(timeout, a) => a.ok(&self.wait(caller, timeout).await?),
                Abort((), a) => {
                    self.abort();
                    a.ok(&())
                }
                Reset((), a) => {
                    self.reset();
                    a.ok(&())
                }
                Parties((), a) => a.ok(&u64::from(self.parties)),
                NWaiting((), a) => a.ok(&u64::from(self.word().n_waiting())),
                Broken((), a) => a.ok(&self.word().is_broken()),
            }
        })
    }

    fn disconnected(&self, caller: Caller) {
        let waiting = lock(&self.callers).remove(&caller);
        if let Some((its_round, parties)) = waiting {
            if parties > 0 {
                // A party died waiting: its round can never fill as planned.
                self.word().break_round(Some(its_round));
                self.changed();
            }
        }
    }
}

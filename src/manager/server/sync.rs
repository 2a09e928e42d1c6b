//! The manager's synchronisation objects: `Lock`, `RLock`, `Semaphore` /
//! `BoundedSemaphore`, `Condition` and `Barrier` (`Event` is in
//! `builtin`). `Lock` and `RLock` are one state machine, `LockState`,
//! with a reentrancy flag.
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

use super::builtin::{lock, no_method, wait_until};
use super::error::RemoteError;
use super::server::{decode, encode, CallFuture, Caller, Served};

type Bytes = Vec<u8>;

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

    /// The calls lock proxies make (`None` for any other method). A
    /// re-entrant lock's proxy names its task in `acquire` and `release`;
    /// a plain lock's names none, as any task of the holder's process may
    /// release it.
    async fn dispatch(&self, method: &str, args: &[u8], caller: Caller) -> Option<Result<Bytes, RemoteError>> {
        Some(match (method, self.reentrant) {
            ("acquire", true) => match decode::<(u64, bool, Option<Duration>)>(args) {
                Ok((task, block, timeout)) => encode(&self.acquire((caller, task), block, timeout).await),
                Err(e) => Err(e),
            },
            ("acquire", false) => match decode::<(bool, Option<Duration>)>(args) {
                Ok((block, timeout)) => encode(&self.acquire((caller, 0), block, timeout).await),
                Err(e) => Err(e),
            },
            ("release", true) => decode(args).and_then(|task| self.release((caller, task))).and_then(|()| encode(&())),
            ("release", false) => self.release((caller, 0)).and_then(|()| encode(&())),
            ("locked", false) => encode(&self.is_locked()),
            _ => return None,
        })
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
        if self.reentrant {
            "RLock"
        } else {
            "Lock"
        }
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, caller: Caller) -> CallFuture {
        let method = method.to_string();
        Box::pin(async move {
            let result = self.dispatch(&method, &args, caller).await;
            result.unwrap_or_else(|| Err(no_method(self.type_name(), &method)))
        })
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

impl Served for Semaphore {
    fn type_name(&self) -> &'static str {
        if self.bound.is_some() {
            "BoundedSemaphore"
        } else {
            "Semaphore"
        }
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        let method = method.to_string();
        Box::pin(async move {
            match method.as_str() {
                "acquire" => {
                    let (block, timeout): (bool, Option<Duration>) = decode(&args)?;
                    if !block {
                        return encode(&self.try_acquire());
                    }
                    let got = wait_until(&self.changed, timeout, || self.try_acquire().then_some(())).await;
                    encode(&got.is_some())
                }
                "release" => {
                    let n: u64 = decode(&args)?;
                    let mut value = lock(&self.value);
                    let after = value.saturating_add(n);
                    if self.bound.is_some_and(|bound| after > bound) {
                        return Err(RemoteError::ValueError("Semaphore released too many times".into()));
                    }
                    *value = after;
                    drop(value);
                    self.changed.notify_waiters();
                    encode(&())
                }
                "get_value" => encode(&*lock(&self.value)),
                other => Err(no_method(self.type_name(), other)),
            }
        })
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
        "Condition"
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, caller: Caller) -> CallFuture {
        let method = method.to_string();
        Box::pin(async move {
            if let Some(result) = self.lock.dispatch(&method, &args, caller).await {
                return result;
            }
            match method.as_str() {
                "wait" => {
                    let (task, timeout): (u64, Option<Duration>) = decode(&args)?;
                    encode(&self.wait((caller, task), timeout).await?)
                }
                "notify" => {
                    let (task, n): (u64, u64) = decode(&args)?;
                    self.notify((caller, task), n)?;
                    encode(&())
                }
                other => Err(no_method("Condition", other)),
            }
        })
    }

    fn disconnected(&self, caller: Caller) {
        self.lock.free_for(caller);
    }
}

// ----- Barrier ------------------------------------------------------------

/// How one round of a barrier ended: `None` while it is filling.
type Fate = Arc<Mutex<Option<bool>>>;

struct Round {
    /// Arrived so far in this round, with their connections.
    count: u64,
    callers: HashMap<Caller, u64>,
    fate: Fate,
    /// Broken by `abort`, a timeout or a death, until `reset`.
    broken: bool,
}

/// `Barrier(parties)`: a round trips when the last party arrives; a
/// timeout, an `abort`, a `reset` with parties waiting, or a waiting
/// party's process dying breaks it for everyone.
pub(super) struct Barrier {
    parties: u64,
    round: Mutex<Round>,
    changed: Notify,
}

impl Barrier {
    pub(super) fn new(parties: u64) -> Result<Barrier, RemoteError> {
        if parties == 0 {
            return Err(RemoteError::ValueError("parties must be > 0".into()));
        }
        let round = Round { count: 0, callers: HashMap::new(), fate: Fate::default(), broken: false };
        Ok(Barrier { parties, round: Mutex::new(round), changed: Notify::new() })
    }

    /// Ends the current round with `fate`, starting a fresh one.
    fn end_round(&self, round: &mut Round, passed: bool) {
        *lock(&round.fate) = Some(passed);
        round.fate = Fate::default();
        round.count = 0;
        round.callers.clear();
        self.changed.notify_waiters();
    }

    fn abort(&self) {
        let mut round = lock(&self.round);
        round.broken = true;
        self.end_round(&mut round, false);
    }

    async fn wait(&self, caller: Caller, timeout: Option<Duration>) -> Result<u64, RemoteError> {
        let (index, fate) = {
            let mut round = lock(&self.round);
            if round.broken {
                return Err(RemoteError::BrokenBarrier);
            }
            let index = round.count;
            round.count += 1;
            if round.count == self.parties {
                self.end_round(&mut round, true);
                return Ok(index);
            }
            *round.callers.entry(caller).or_default() += 1;
            (index, round.fate.clone())
        };
        // Withdraws a waiter that leaves (cancelled) before its round ends.
        struct Withdraw<'a>(&'a Barrier, Caller, &'a Fate);
        impl Drop for Withdraw<'_> {
            fn drop(&mut self) {
                let mut round = lock(&self.0.round);
                if lock(self.2).is_some() || !Arc::ptr_eq(&round.fate, self.2) {
                    return;
                }
                round.count -= 1;
                if let Some(n) = round.callers.get_mut(&self.1) {
                    *n -= 1;
                    if *n == 0 {
                        round.callers.remove(&self.1);
                    }
                }
            }
        }
        let withdraw = Withdraw(self, caller, &fate);
        let ended = wait_until(&self.changed, timeout, || *lock(&fate)).await;
        match ended {
            Some(true) => Ok(index),
            Some(false) => Err(RemoteError::BrokenBarrier),
            None => {
                drop(withdraw);
                // Python: a timeout breaks the barrier for everyone.
                self.abort();
                Err(RemoteError::BrokenBarrier)
            }
        }
    }
}

impl Served for Barrier {
    fn type_name(&self) -> &'static str {
        "Barrier"
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, caller: Caller) -> CallFuture {
        let method = method.to_string();
        Box::pin(async move {
            match method.as_str() {
                "wait" => encode(&self.wait(caller, decode(&args)?).await?),
                "abort" => {
                    self.abort();
                    encode(&())
                }
                "reset" => {
                    let mut round = lock(&self.round);
                    if round.count > 0 {
                        self.end_round(&mut round, false);
                    }
                    round.broken = false;
                    encode(&())
                }
                "parties" => encode(&self.parties),
                "n_waiting" => encode(&lock(&self.round).count),
                "broken" => encode(&lock(&self.round).broken),
                other => Err(no_method("Barrier", other)),
            }
        })
    }

    fn disconnected(&self, caller: Caller) {
        let mut round = lock(&self.round);
        if round.callers.contains_key(&caller) {
            // A party died waiting: the round can never fill as planned.
            round.broken = true;
            self.end_round(&mut round, false);
        }
    }
}

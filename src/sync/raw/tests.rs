//! Loom models of the protocols: every interleaving (within loom's
//! preemption bound) of a few threads running the real code of `raw`, with
//! the operating system's parts modelled: the eventfd of tokens as a counter
//! that `take` waits on, the doorbell as a ring count that a sleeper waits
//! to see move. A lost wake-up shows as a deadlock, which loom reports.
//!
//! Run: `RUSTFLAGS="--cfg ipc_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib sync::raw`

#![allow(unsafe_code)] // loom's UnsafeCell, to check the lock's exclusion

use loom::cell::UnsafeCell;
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use super::barrier_word::{BarrierWord, Left};
use super::cond_word::CondWord;
use super::event_word::EventWord;
use super::lock_word::LockWord;
use super::sem_word::SemWord;
use crate::loom::{AtomicU32, AtomicU64};
use crate::wake::Sleeper;

/// The semaphore-mode eventfd: `post` adds tokens, `take` waits for one
/// (the queue ring's model uses it too).
#[derive(Default)]
pub(crate) struct Tokens {
    count: Mutex<u32>,
    cv: Condvar,
}

impl Tokens {
    pub(crate) fn post(&self, n: u32) {
        *self.count.lock().unwrap() += n;
        self.cv.notify_all();
    }

    pub(crate) fn take(&self) {
        let mut count = self.count.lock().unwrap();
        while *count == 0 {
            count = self.cv.wait(count).unwrap();
        }
        *count -= 1;
    }
}

/// The doorbell: rings are counted and never consumed; a sleeper notes the
/// count before its check and, if the check fails, waits for it to move
/// (the edge a reactor would report).
#[derive(Default)]
struct Bell {
    rings: Mutex<u64>,
    cv: Condvar,
}

impl Bell {
    fn ring(&self) {
        *self.rings.lock().unwrap() += 1;
        self.cv.notify_all();
    }

    fn seen(&self) -> u64 {
        *self.rings.lock().unwrap()
    }

    fn wait_past(&self, seen: u64) {
        let mut rings = self.rings.lock().unwrap();
        while *rings == seen {
            rings = self.cv.wait(rings).unwrap();
        }
    }

    /// A doorbell wait: check, and sleep until a ring after each failed check.
    fn wait_until(&self, mut check: impl FnMut() -> bool) {
        loop {
            let seen = self.seen();
            if check() {
                return;
            }
            self.wait_past(seen);
        }
    }
}

#[derive(Default)]
struct LockWords {
    state: AtomicU64,
    sleepers: AtomicU32,
    flags: AtomicU32,
}

impl LockWords {
    fn word(&self) -> LockWord<'_> {
        LockWord { state: &self.state, sleepers: &self.sleepers, flags: &self.flags }
    }
}

/// `RawLock::acquire`'s loop: try, register, re-check, sleep on a token
/// (and count itself again after taking one, as the wait engine does).
fn lock(words: &LockWords, tokens: &Tokens, me: u64) {
    let word = words.word();
    if word.try_acquire(me).is_some() {
        return;
    }
    let sleeper = crate::wake::Sleeper::register(word.sleepers);
    while word.try_acquire(me).is_none() {
        tokens.take();
        sleeper.took_token();
    }
}

fn unlock(words: &LockWords, tokens: &Tokens) {
    if words.word().release().expect("held") {
        tokens.post(1);
    }
}

#[test]
fn lock_excludes_and_never_loses_a_wake_up() {
    loom::model(|| {
        let words = Arc::new(LockWords::default());
        let tokens = Arc::new(Tokens::default());
        let data = Arc::new(UnsafeCell::new(0u32));
        let other = thread::spawn({
            let (words, tokens, data) = (words.clone(), tokens.clone(), data.clone());
            move || {
                for _ in 0..2 {
                    lock(&words, &tokens, 2);
                    // SAFETY: under the lock (loom checks that it is exclusive).
                    data.with_mut(|d| unsafe { *d += 1 });
                    unlock(&words, &tokens);
                }
            }
        });
        lock(&words, &tokens, 1);
        // SAFETY: as above.
        data.with_mut(|d| unsafe { *d += 1 });
        unlock(&words, &tokens);
        other.join().unwrap();
        // SAFETY: both threads are done.
        assert_eq!(data.with(|d| unsafe { *d }), 3);
        assert_eq!(words.word().holder(), 0);
    });
}

// Two sleepers at once: each release claims one for its token, and a
// token taken by the other (tokens are anonymous) still leaves every
// sleeper counted or with a token coming.
#[test]
fn lock_wakes_each_of_two_sleepers_once_and_loses_neither() {
    loom::model(|| {
        let words = Arc::new(LockWords::default());
        let tokens = Arc::new(Tokens::default());
        lock(&words, &tokens, 1);
        let others: Vec<_> = [2, 3]
            .into_iter()
            .map(|me| {
                let (words, tokens) = (words.clone(), tokens.clone());
                thread::spawn(move || {
                    lock(&words, &tokens, me);
                    unlock(&words, &tokens);
                })
            })
            .collect();
        unlock(&words, &tokens);
        for t in others {
            t.join().unwrap();
        }
        assert_eq!(words.word().holder(), 0);
    });
}

#[derive(Default)]
struct CondWords {
    counts: AtomicU64,
    epoch: AtomicU32,
    sleepers: AtomicU32,
}

impl CondWords {
    fn word(&self) -> CondWord<'_> {
        CondWord { counts: &self.counts, epoch: &self.epoch, sleepers: &self.sleepers }
    }
}

/// `wait_for(|| *ready)`: under the lock, count in, unlock, sleep until a
/// credit is claimed, lock again, re-check.
fn wait_for_ready(lock: &Mutex<bool>, cond: &CondWords, bell: &Bell) {
    let mut ready = lock.lock().unwrap();
    while !*ready {
        let mut ticket = cond.word().enter();
        drop(ready);
        {
            let _sleeper = Sleeper::register(ticket.register_count());
            bell.wait_until(|| ticket.claim().is_some());
        }
        ready = lock.lock().unwrap();
    }
}

fn notify(lock: &Mutex<bool>, cond: &CondWords, bell: &Bell, n: u64) {
    let mut ready = lock.lock().unwrap();
    *ready = true;
    if cond.word().grant(n) {
        bell.ring();
    }
    drop(ready);
}

#[test]
fn a_notification_reaches_a_waiter() {
    loom::model(|| {
        let lock = Arc::new(Mutex::new(false));
        let cond = Arc::new(CondWords::default());
        let bell = Arc::new(Bell::default());
        let waiter = thread::spawn({
            let (lock, cond, bell) = (lock.clone(), cond.clone(), bell.clone());
            move || wait_for_ready(&lock, &cond, &bell)
        });
        notify(&lock, &cond, &bell, 1);
        waiter.join().unwrap();
    });
}

#[test]
fn a_waiter_that_leaves_passes_its_notification_on() {
    loom::model(|| {
        let lock = Arc::new(Mutex::new(false));
        let cond = Arc::new(CondWords::default());
        let bell = Arc::new(Bell::default());
        // One waiter counts itself in and then leaves (a cancelled wait), at
        // any point relative to the notify; the other must still wake.
        let leaver = thread::spawn({
            let (lock, cond, bell) = (lock.clone(), cond.clone(), bell.clone());
            move || {
                let ready = lock.lock().unwrap();
                let mut ticket = cond.word().enter();
                drop(ready);
                if ticket.leave() {
                    bell.ring();
                }
            }
        });
        let waiter = thread::spawn({
            let (lock, cond, bell) = (lock.clone(), cond.clone(), bell.clone());
            move || wait_for_ready(&lock, &cond, &bell)
        });
        notify(&lock, &cond, &bell, 1);
        leaver.join().unwrap();
        waiter.join().unwrap();
    });
}

#[derive(Default)]
struct BarrierWords {
    state: AtomicU64,
    history: AtomicU64,
    sleepers: AtomicU32,
}

impl BarrierWords {
    fn word(&self) -> BarrierWord<'_> {
        BarrierWord { state: &self.state, history: &self.history, sleepers: &self.sleepers, parties: 2 }
    }
}

/// `Barrier::wait`: arrive, ring if ours completed the round, sleep until
/// the round ends; how it ended.
fn barrier_wait(words: &BarrierWords, bell: &Bell) -> Left {
    let word = words.word();
    let Some(arrival) = word.arrive() else { return Left::Broken };
    if arrival.ring {
        bell.ring();
    }
    let _sleeper = Sleeper::register(&words.sleepers);
    let mut left = None;
    bell.wait_until(|| {
        left = word.outcome(arrival.arrived);
        left.is_some()
    });
    left.expect("the wait ended")
}

#[test]
fn barrier_parties_leave_together() {
    loom::model(|| {
        let words = Arc::new(BarrierWords::default());
        let bell = Arc::new(Bell::default());
        let party = thread::spawn({
            let (words, bell) = (words.clone(), bell.clone());
            move || barrier_wait(&words, &bell)
        });
        assert_eq!(barrier_wait(&words, &bell), Left::Passed);
        assert_eq!(party.join().unwrap(), Left::Passed);
        assert_eq!(words.word().n_waiting(), 0);
    });
}

#[test]
fn an_abort_racing_the_last_arrival_gives_both_parties_one_outcome() {
    loom::model(|| {
        let words = Arc::new(BarrierWords::default());
        let bell = Arc::new(Bell::default());
        let party = thread::spawn({
            let (words, bell) = (words.clone(), bell.clone());
            move || barrier_wait(&words, &bell)
        });
        let aborter = thread::spawn({
            let (words, bell) = (words.clone(), bell.clone());
            move || {
                if words.word().break_round(None) {
                    bell.ring();
                }
            }
        });
        let mine = barrier_wait(&words, &bell);
        let theirs = party.join().unwrap();
        aborter.join().unwrap();
        assert_eq!(mine, theirs, "a round passed for one party and broke for the other");
    });
}

#[test]
fn reset_and_abort_release_a_lone_party_as_broken() {
    loom::model(|| {
        let words = Arc::new(BarrierWords::default());
        let bell = Arc::new(Bell::default());
        let party = thread::spawn({
            let (words, bell) = (words.clone(), bell.clone());
            move || barrier_wait(&words, &bell)
        });
        // The lone party's round is reset, or (if it arrives later) aborted,
        // or it arrives at a broken barrier: it leaves Broken every time.
        if words.word().reset() {
            bell.ring();
        }
        if words.word().break_round(None) {
            bell.ring();
        }
        assert_eq!(party.join().unwrap(), Left::Broken);
        words.word().reset();
        assert!(!words.word().is_broken());
        assert_eq!(words.word().n_waiting(), 0);
    });
}

#[test]
fn a_withdrawn_arrival_is_taken_back_or_passes_with_its_round() {
    loom::model(|| {
        let words = Arc::new(BarrierWords::default());
        // A party arrives and leaves (cancelled) while another arrives.
        let leaver = thread::spawn({
            let words = words.clone();
            move || {
                let arrival = words.word().arrive().expect("not broken");
                (arrival.index, words.word().withdraw(arrival.arrived), arrival.arrived)
            }
        });
        let other = words.word().arrive().expect("not broken");
        let (index, withdrawn, arrived) = leaver.join().unwrap();
        if withdrawn {
            // Taken back before the round filled: only the other party
            // counts, and the round is still filling.
            assert!(!other.ring, "a withdrawn party completed a round");
            assert_eq!((index, other.index), (0, 0), "the withdrawn index is given again");
            assert_eq!(words.word().outcome(other.arrived), None);
            assert_eq!(words.word().n_waiting(), 1);
        } else {
            // Too late: the round filled, and it passed for both.
            assert_eq!(words.word().outcome(arrived), Some(Left::Passed));
            assert_eq!(words.word().outcome(other.arrived), Some(Left::Passed));
        }
    });
}

#[derive(Default)]
struct SemWords {
    value: AtomicU32,
    sleepers: AtomicU32,
}

impl SemWords {
    fn word(&self) -> SemWord<'_> {
        SemWord { value: &self.value, sleepers: &self.sleepers, bound: None }
    }
}

/// `Semaphore::acquire`'s loop: try, register, re-check, sleep on a token.
fn sem_acquire(words: &SemWords, tokens: &Tokens) {
    let word = words.word();
    if word.take().is_some() {
        return;
    }
    let sleeper = Sleeper::register(&words.sleepers);
    while word.take().is_none() {
        tokens.take();
        sleeper.took_token();
    }
}

fn sem_release(words: &SemWords, tokens: &Tokens, n: u32) {
    tokens.post(words.word().give(n, false).expect("unbounded"));
}

/// Two takers, and releases of `releases` permits (two in all): both get
/// one, and no permit is left.
fn two_takers_and(releases: &'static [u32]) {
    loom::model(move || {
        let words = Arc::new(SemWords::default());
        let tokens = Arc::new(Tokens::default());
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let (words, tokens) = (words.clone(), tokens.clone());
                thread::spawn(move || sem_acquire(&words, &tokens))
            })
            .collect();
        for &n in releases {
            sem_release(&words, &tokens, n);
        }
        for t in takers {
            t.join().unwrap();
        }
        assert_eq!(words.word().take(), None, "exactly two permits were taken");
    });
}

#[test]
fn semaphore_permits_are_neither_lost_nor_duplicated() {
    two_takers_and(&[2]);
}

// Each release of one permit claims one sleeper, whichever takes its token.
#[test]
fn semaphore_releases_one_at_a_time_wake_every_taker() {
    two_takers_and(&[1, 1]);
}

#[derive(Default)]
struct EventWords {
    state: AtomicU32,
    sleepers: AtomicU32,
}

impl EventWords {
    fn word(&self) -> EventWord<'_> {
        EventWord { state: &self.state, sleepers: &self.sleepers }
    }
}

#[test]
fn set_then_clear_still_releases_every_waiter() {
    loom::model(|| {
        let words = Arc::new(EventWords::default());
        let bell = Arc::new(Bell::default());
        // Counts waits that have begun: the contract is about waiters that
        // were waiting when `set` came (a later one waits for a later set).
        let began = Arc::new(Bell::default());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (words, bell, began) = (words.clone(), bell.clone(), began.clone());
                thread::spawn(move || {
                    // `Event::wait`: note where the wait began, register,
                    // sleep until released.
                    let word = words.word();
                    let start = word.begin();
                    began.ring();
                    if word.released(start).is_some() {
                        return;
                    }
                    let _sleeper = Sleeper::register(&words.sleepers);
                    bell.wait_until(|| word.released(start).is_some());
                })
            })
            .collect();
        began.wait_until(|| began.seen() == 2);
        if words.word().set() {
            bell.ring();
        }
        words.word().clear();
        for w in waiters {
            w.join().unwrap();
        }
        assert!(!words.word().is_set());
    });
}

//! `Pool`: CPython's pool behaviours (`_test_multiprocessing.py`,
//! `_TestPool`) and the failures Python hangs on — a worker SIGKILLed or
//! aborting mid-task fails that task only, and the rest completes.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ipc::{Event, Pool, PoolError, TaskError};
use support::bounded;

fn pid(_: ()) -> u32 {
    std::process::id()
}

#[ipc::test]
async fn apply_map_starmap_and_imap_keep_order() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    assert_eq!(bounded(pool.apply(|x: i64| x * x, 12)).await.unwrap(), 144);
    let expected: Vec<u64> = (0..100).map(|x| x * x).collect();
    assert_eq!(bounded(pool.map(|x: u64| x * x, 0..100)).await.unwrap(), expected);
    assert_eq!(bounded(pool.map_chunked(|x: u64| x * x, 0..100, 1)).await.unwrap(), expected);
    assert_eq!(bounded(pool.map_chunked(|x: u64| x * x, 0..100, 7)).await.unwrap(), expected);
    let sums =
        bounded(pool.starmap(|(a, b): (u8, u8)| u16::from(a) + u16::from(b), [(1, 2), (200, 100)])).await.unwrap();
    assert_eq!(sums, [3, 300]);
    let ordered: Vec<u64> = bounded(pool.imap(|x: u64| x * x, 0..100).map(Result::unwrap).collect()).await;
    assert_eq!(ordered, expected);
    let mut unordered: Vec<u64> =
        bounded(pool.imap_unordered(|x: u64| x * x, 0..100).map(Result::unwrap).collect()).await;
    unordered.sort();
    assert_eq!(unordered, expected);
    // Empty input.
    assert!(bounded(pool.map(|x: u64| x, Vec::new())).await.unwrap().is_empty());
    assert_eq!(bounded(pool.imap(|x: u64| x, Vec::new()).count()).await, 0);
    assert!(matches!(bounded(pool.map_chunked(|x: u64| x, vec![1], 0)).await, Err(TaskError::Invalid(_))));
}

fn double(x: u64) -> u64 {
    x * 2
}

fn triple(x: u64) -> u64 {
    x * 3
}

// A task's target may be a function pointer picked at run time: each job
// runs the function it names, not one per type.
#[ipc::test]
async fn a_function_pointer_chosen_at_run_time_is_a_task() {
    let pool = bounded(Pool::new(1)).await.unwrap();
    let table: [fn(u64) -> u64; 2] = [double, triple];
    let (doubled, tripled) = tokio::join!(bounded(pool.map(table[0], 1..4)), bounded(pool.map(table[1], 1..4)));
    assert_eq!((doubled.unwrap(), tripled.unwrap()), (vec![2, 4, 6], vec![3, 6, 9]));
    assert_eq!(bounded(pool.apply(table[1], 5)).await.unwrap(), 15);
    bounded(pool.terminate()).await;
}

#[ipc::test]
async fn task_errors_and_panics_fail_only_their_task() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    // A task's own error is its value.
    let r = bounded(pool.apply(|x: i32| if x < 0 { Err(format!("{x} is negative")) } else { Ok(x) }, -3)).await;
    assert_eq!(r.unwrap(), Err("-3 is negative".to_owned()));
    // A panic: its message and location; the worker goes on.
    match bounded(pool.apply(
        |x: u32| -> u32 {
            assert!(x < 5, "too big: {x}");
            x
        },
        9,
    ))
    .await
    {
        Err(TaskError::Panicked { message, location }) => {
            assert_eq!(message, "too big: 9");
            assert!(location.is_some_and(|l| l.starts_with("tests/pool.rs:")));
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    // In an imap, the failed item is an Err in its place and the others are fine.
    let out: Vec<Result<u32, TaskError>> = bounded(
        pool.imap(
            |x: u32| -> u32 {
                assert!(x != 3, "three");
                x
            },
            0..6,
        )
        .collect(),
    )
    .await;
    for (i, r) in out.iter().enumerate() {
        match (i, r) {
            (3, Err(TaskError::Panicked { message, .. })) => assert_eq!(message, "three"),
            (_, Ok(v)) => assert_eq!(*v as usize, i),
            other => panic!("unexpected {other:?}"),
        }
    }
    // map reports the first failure in item order.
    let err = bounded(pool.map(
        |x: u32| -> u32 {
            assert!(x % 10 != 7, "bad {x}");
            x
        },
        0..30,
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, TaskError::Panicked { ref message, .. } if message == "bad 7"), "{err:?}");
}

#[ipc::test]
async fn a_worker_killed_mid_task_fails_that_task_and_is_replaced() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    // Both workers' pids (one may be ready well before the other).
    let mut before = HashSet::new();
    bounded(async {
        while before.len() < 2 {
            before.extend(pool.map_chunked(pid, vec![(); 20], 1).await.unwrap());
        }
    })
    .await;
    let started = Event::new().unwrap();
    let victim = pool.apply_async(
        |started: Event| {
            started.set();
            std::thread::sleep(Duration::from_secs(60));
            std::process::id()
        },
        started.clone(),
    );
    bounded(started.wait()).await.unwrap();
    // Find the worker that is sleeping: the other one answers.
    let other = bounded(pool.apply(pid, ())).await.unwrap();
    let sleeping = *before.iter().find(|p| **p != other).expect("two workers");
    // SAFETY: kill(2) on a pid this test knows is one of its pool's workers.
    assert_eq!(unsafe { libc::kill(sleeping as i32, libc::SIGKILL) }, 0);
    match bounded(victim).await {
        Err(TaskError::WorkerDied { exitcode }) => assert_eq!(exitcode, Some(-libc::SIGKILL)),
        other => panic!("expected WorkerDied, got {other:?}"),
    }
    // The rest of the work completes, on a replacement.
    let after: HashSet<u32> = bounded(pool.map_chunked(pid, vec![(); 40], 1)).await.unwrap().into_iter().collect();
    assert!(!after.contains(&sleeping));
    assert_eq!(bounded(pool.map(|x: u32| x + 1, 0..50)).await.unwrap(), (1..51).collect::<Vec<_>>());
}

#[ipc::test]
async fn a_task_that_aborts_its_worker_fails_alone() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    let results: Vec<Result<u32, TaskError>> = bounded(
        pool.imap(
            |x: u32| {
                if x == 5 {
                    std::process::abort();
                }
                x
            },
            0..12,
        )
        .collect(),
    )
    .await;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(v as usize, i),
            Err(TaskError::WorkerDied { exitcode }) => assert_eq!((i, exitcode), (5, Some(-libc::SIGABRT))),
            Err(e) => panic!("item {i}: {e}"),
        }
    }
}

#[ipc::test]
async fn max_tasks_per_child_changes_workers_with_correct_results() {
    let pool = bounded(Pool::builder().processes(2).max_tasks_per_child(3).build()).await.unwrap();
    let mut pids = HashSet::new();
    for i in 0..12u32 {
        let (p, sq) = bounded(pool.apply(|x: u32| (std::process::id(), x * x), i)).await.unwrap();
        assert_eq!(sq, i * i);
        pids.insert(p);
    }
    assert!(pids.len() >= 4, "12 tasks at 3 per worker need at least 4 workers, saw {}", pids.len());
    assert!(matches!(Pool::builder().max_tasks_per_child(0).build().await, Err(PoolError::Invalid(_))));
    assert!(matches!(Pool::new(0).await, Err(PoolError::Invalid(_))));
}

#[ipc::test]
async fn the_initializer_runs_once_per_worker_before_its_tasks() {
    // Each worker's initializer records its pid in a queue.
    let q = ipc::Queue::<u32>::unbounded().unwrap();
    let pool = bounded(
        Pool::builder()
            .processes(3)
            .initializer(|q: ipc::Queue<u32>| q.blocking_put(std::process::id()).unwrap(), q.clone())
            .build(),
    )
    .await
    .unwrap();
    let mut inits = HashSet::new();
    for _ in 0..3 {
        assert!(inits.insert(bounded(q.get()).await.unwrap()), "an initializer ran twice");
    }
    let workers: HashSet<u32> = bounded(pool.map_chunked(pid, vec![(); 30], 1)).await.unwrap().into_iter().collect();
    assert!(workers.is_subset(&inits));
    assert!(q.is_empty());
    // A failing initializer fails the pool's creation, clearly.
    match bounded(Pool::builder().processes(2).initializer(|()| -> () { panic!("no config") }, ()).build()).await {
        Err(PoolError::Initializer { message, .. }) => assert_eq!(message, "no config"),
        other => panic!("expected Initializer, got {other:?}"),
    }
}

#[ipc::test]
async fn close_join_and_terminate() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    assert!(matches!(pool.join().await, Err(PoolError::NotClosed)));
    let pending: Vec<_> = (0..6u64)
        .map(|i| {
            pool.apply_async(
                |i: u64| {
                    std::thread::sleep(Duration::from_millis(20));
                    i
                },
                i,
            )
        })
        .collect();
    pool.close();
    assert!(matches!(bounded(pool.apply(|x: u8| x, 1)).await, Err(TaskError::Closed)));
    bounded(pool.join()).await.unwrap();
    for (i, p) in pending.into_iter().enumerate() {
        assert_eq!(bounded(p).await.unwrap(), i as u64, "work submitted before close finishes");
    }
    // terminate returns promptly with 10,000 long tasks queued.
    let pool = bounded(Pool::new(2)).await.unwrap();
    let workers: HashSet<u32> = bounded(pool.map_chunked(pid, vec![(); 20], 1)).await.unwrap().into_iter().collect();
    let long: Vec<_> =
        (0..10_000).map(|_| pool.apply_async(|()| std::thread::sleep(Duration::from_secs(60)), ())).collect();
    let start = Instant::now();
    bounded(pool.terminate()).await;
    assert!(start.elapsed() < Duration::from_secs(5), "terminate took {:?}", start.elapsed());
    for t in long.into_iter().take(10) {
        assert!(matches!(bounded(t).await, Err(TaskError::Terminated)));
    }
    for w in workers {
        assert!(!support::pid_present(w), "worker {w} was not killed and reaped");
    }
}

#[ipc::test]
async fn dropping_a_map_cancels_the_work_not_started() {
    let pool = bounded(Pool::new(1)).await.unwrap();
    let q = ipc::Queue::<u32>::unbounded().unwrap();
    let items: Vec<(u32, ipc::Queue<u32>)> = (0..50).map(|i| (i, q.clone())).collect();
    let map = pool.map_chunked(
        |(i, q): (u32, ipc::Queue<u32>)| {
            q.blocking_put(i).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        },
        items,
        1,
    );
    // Let a task or two start, then drop the map.
    assert!(tokio::time::timeout(Duration::from_millis(50), map).await.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ran = q.qsize();
    assert!(ran < 20, "{ran} of 50 tasks ran after the map was dropped");
    // The pool is still fine.
    assert_eq!(bounded(pool.apply(|x: u8| x + 1, 1)).await.unwrap(), 2);
    drop(pool);
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[ipc::test]
async fn jobs_queued_behind_a_dying_task_run_elsewhere() {
    // Short tasks: each worker is sent several at once, so when one aborts
    // the jobs it held but had not started go back to the queue.
    let pool = bounded(Pool::new(2)).await.unwrap();
    let handles: Vec<_> = (0..400u32)
        .map(|x| {
            pool.apply_async(
                |x: u32| {
                    if x == 200 {
                        std::process::abort();
                    }
                    x * 3
                },
                x,
            )
        })
        .collect();
    for (x, h) in handles.into_iter().enumerate() {
        match bounded(h).await {
            Ok(v) => assert_eq!(v, x as u32 * 3),
            Err(TaskError::WorkerDied { exitcode }) => assert_eq!((x, exitcode), (200, Some(-libc::SIGABRT))),
            Err(e) => panic!("task {x}: {e}"),
        }
    }
}

#[ipc::test]
async fn large_jobs_and_answers_both_ways_keep_flowing() {
    // 64 KiB in and out per task, several tasks in flight per worker: the
    // pool must never wait on a full socket while its worker waits on one.
    let pool = bounded(Pool::new(2)).await.unwrap();
    let items: Vec<serde_bytes::ByteBuf> =
        (0..300u32).map(|i| serde_bytes::ByteBuf::from(vec![i as u8; 64 << 10])).collect();
    let out = bounded(pool.map_chunked(
        |b: serde_bytes::ByteBuf| {
            let mut v = b.into_vec();
            v.reverse();
            serde_bytes::ByteBuf::from(v)
        },
        items.clone(),
        1,
    ))
    .await
    .unwrap();
    assert_eq!(out, items);
    // And a few megabytes a chunk.
    let big: Vec<u64> = (0..2_000_000).collect();
    let sums = bounded(pool.map_chunked(|x: u64| x + 1, big, 500_000)).await.unwrap();
    assert_eq!(sums.len(), 2_000_000);
    assert_eq!(sums[1_999_999], 2_000_000);
}

#[ipc::test]
async fn a_pool_stopped_before_its_workers_are_ready() {
    // Without an initializer the pool returns while its workers start.
    let start = Instant::now();
    let pool = bounded(Pool::new(2)).await.unwrap();
    bounded(pool.terminate()).await;
    assert!(start.elapsed() < Duration::from_secs(5), "terminate took {:?}", start.elapsed());
    assert!(matches!(bounded(pool.apply(|x: u8| x, 1)).await, Err(TaskError::Closed)));
    // Closed at once: the workers start, find nothing to do, and exit.
    let pool = bounded(Pool::new(2)).await.unwrap();
    pool.close();
    bounded(pool.join()).await.unwrap();
    // Dropped at once, with work queued: nothing hangs.
    let pool = bounded(Pool::new(2)).await.unwrap();
    let pending = pool.apply_async(|x: u8| x, 1);
    drop(pool);
    assert!(matches!(bounded(pending).await, Err(TaskError::Terminated)));
}

#[ipc::test]
async fn a_chunk_with_too_many_handles_fails_alone() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    let events: Vec<Event> = (0..300).map(|_| Event::new().unwrap()).collect();
    // 300 handles in one chunk cannot travel in one message (at most 253
    // descriptors): that map fails, clearly, and the pool goes on.
    let err = bounded(pool.map_chunked(|e: Event| e.is_set(), events.clone(), 300)).await.unwrap_err();
    assert!(matches!(&err, TaskError::Failed(why) if why.contains("descriptors")), "{err:?}");
    // In chunks that fit, the handles work in the workers.
    events[7].set();
    let set = bounded(pool.map_chunked(|e: Event| e.is_set(), events, 10)).await.unwrap();
    assert_eq!(set.iter().filter(|s| **s).count(), 1);
    assert!(set[7]);
    assert_eq!(bounded(pool.apply(|x: u8| x + 1, 1)).await.unwrap(), 2);
}

/// The threads of the calling process.
fn threads(_: u8) -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[ipc::test]
async fn workers_are_copies_of_the_fork_server() {
    // Under the test harness a process started by `exec` runs the test on a
    // thread of its own beside the harness's main thread; a copy made by the
    // fork server has only the thread that was copied.
    let pool = bounded(Pool::new(2)).await.unwrap();
    assert_eq!(bounded(pool.map(threads, 0..4)).await.unwrap(), [1; 4]);
    let mut execd = ipc::Process::spawn(threads, 0).unwrap();
    assert_eq!(bounded(execd.join()).await.unwrap(), 2);
    // They are our children all the same: their exit status is ours to read.
    let pids: HashSet<u32> = bounded(pool.map(pid, vec![(); 8])).await.unwrap().into_iter().collect();
    assert!(pids.iter().all(|p| support::children().contains(p)), "{pids:?}");
}

/// What a worker sees of where and how it was started (and a line on its
/// standard error).
fn surroundings(_: u8) -> (String, Option<String>, bool) {
    eprintln!("a worker's standard error");
    let cwd = std::env::current_dir().unwrap().display().to_string();
    (cwd, std::env::var("IPC_FORK_TEST_SET").ok(), std::env::var_os("IPC_FORK_TEST_GONE").is_some())
}

/// In a child of its own, so changing the directory, environment and
/// standard error disturbs no other test. Returns what the workers saw and
/// what reached the new standard error.
fn pools_before_and_after_a_move(dir: String) -> (Vec<(String, Option<String>, bool)>, String) {
    let here = std::env::current_dir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // SAFETY: (here and below) this child's other threads (the runtime's,
        // the spawner's) touch the environment only through std, which locks
        // it, and none of them is spawning now; no C code reads it.
        unsafe { std::env::set_var("IPC_FORK_TEST_GONE", "1") };
        let before = Pool::new(1).await.unwrap();
        let mut seen = before.map(surroundings, [0]).await.unwrap();
        before.terminate().await;
        // The fork server started above, in the old directory, with the
        // old environment; the next pool's workers must see the new ones.
        std::env::set_current_dir(&dir).unwrap();
        // SAFETY: as above.
        unsafe { std::env::set_var("IPC_FORK_TEST_SET", "moved") };
        // SAFETY: as above.
        unsafe { std::env::remove_var("IPC_FORK_TEST_GONE") };
        let log = std::path::Path::new(&dir).join(format!("ipc-fork-test-{}.log", std::process::id()));
        let file = std::fs::File::create(&log).unwrap();
        // SAFETY: dup2 of a live descriptor onto standard error.
        assert_eq!(unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&file), 2) }, 2);
        let after = Pool::new(1).await.unwrap();
        seen.extend(after.map(surroundings, [0]).await.unwrap());
        after.terminate().await;
        // And back again: the server took on the last request's directory
        // and environment, and must follow the next change too (a request
        // sends the environment only if it changed since the last).
        std::env::set_current_dir(&here).unwrap();
        // SAFETY: as above.
        unsafe { std::env::remove_var("IPC_FORK_TEST_SET") };
        // SAFETY: as above.
        unsafe { std::env::set_var("IPC_FORK_TEST_GONE", "1") };
        let back = Pool::new(1).await.unwrap();
        seen.extend(back.map(surroundings, [0]).await.unwrap());
        back.terminate().await;
        let logged = std::fs::read_to_string(&log).unwrap();
        std::fs::remove_file(&log).unwrap();
        (seen, logged)
    })
}

#[ipc::test]
async fn workers_start_in_the_callers_directory_and_environment() {
    let here = std::env::current_dir().unwrap().display().to_string();
    let dir = std::env::temp_dir().canonicalize().unwrap().display().to_string();
    assert_ne!(here, dir);
    let mut child = ipc::Process::spawn(pools_before_and_after_a_move, dir.clone()).unwrap();
    let (seen, logged) = bounded(child.join()).await.unwrap();
    assert_eq!(seen, [(here.clone(), None, true), (dir, Some("moved".to_owned()), false), (here, None, true)]);
    assert_eq!(logged, "a worker's standard error\na worker's standard error\n");
}

/// In a child of its own, whose only other child is its fork server.
fn kill_the_fork_server(_: ()) -> (Vec<u64>, bool, bool) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let first = Pool::new(2).await.unwrap();
        first.map(|x: u64| x + 1, 0..10).await.unwrap();
        first.terminate().await;
        let [server] = support::children()[..] else { panic!("children: {:?}", support::children()) };
        // SAFETY: kill only sends a signal.
        assert_eq!(unsafe { libc::kill(server as i32, libc::SIGKILL) }, 0);
        support::wait_gone(server).await;
        // The dead server is found out, reaped and replaced; the work is done.
        let second = Pool::new(2).await.unwrap();
        let results = second.map(|x: u64| x + 1, 0..10).await.unwrap();
        second.terminate().await;
        let replaced = matches!(support::children()[..], [new] if new != server);
        (results, support::pid_present(server), replaced)
    })
}

#[ipc::test]
async fn a_killed_fork_server_is_replaced() {
    let mut child = ipc::Process::spawn(kill_the_fork_server, ()).unwrap();
    let (results, old_server_present, replaced) = bounded(child.join()).await.unwrap();
    assert_eq!(results, (1..=10).collect::<Vec<u64>>());
    assert!(!old_server_present, "the killed server was not reaped");
    assert!(replaced, "no new fork server");
}

// ----- handles: detach, abort, callbacks, Python's AsyncResult --------------

#[ipc::test]
async fn dropped_handles_detach_their_tasks_which_all_run() {
    // Tutorial 001: ten `apply_async` calls whose results nobody keeps, then
    // `close()` and `join()`: Python runs all ten (the old handle cancelled
    // every task not started when dropped: none ran).
    let pool = bounded(Pool::new(5)).await.unwrap();
    let ran = ipc::Value::new(0u32).unwrap();
    for _ in 0..10 {
        drop(pool.apply_async(
            |v: ipc::Value<u32>| {
                std::thread::sleep(Duration::from_millis(10));
                *v.blocking_get_lock().unwrap() += 1;
            },
            ran.clone(),
        ));
    }
    pool.map_async(|v: ipc::Value<u32>| *v.blocking_get_lock().unwrap() += 100, vec![ran.clone(); 3]);
    pool.close();
    bounded(pool.join()).await.unwrap();
    assert_eq!(ran.load().await.unwrap(), 310, "every detached task ran before join returned");
}

#[ipc::test]
async fn abort_cancels_a_task_that_has_not_started() {
    let pool = bounded(Pool::new(1)).await.unwrap();
    let ran = ipc::Value::new(0u32).unwrap();
    let busy = pool.apply_async(|()| std::thread::sleep(Duration::from_millis(300)), ());
    let queued = pool.apply_async(|v: ipc::Value<u32>| *v.blocking_get_lock().unwrap() += 1, ran.clone());
    let queued_map = pool.map_async(|v: ipc::Value<u32>| *v.blocking_get_lock().unwrap() += 1, vec![ran.clone(); 4]);
    queued.abort();
    queued_map.abort();
    assert!(matches!(bounded(queued).await, Err(TaskError::Aborted)));
    assert!(matches!(bounded(queued_map).await, Err(TaskError::Aborted)));
    bounded(busy).await.unwrap();
    // Aborting what is done changes nothing.
    let done = pool.apply_async(|x: u8| x, 5);
    done.wait().await;
    done.abort();
    assert_eq!(bounded(done).await.unwrap(), 5);
    pool.close();
    bounded(pool.join()).await.unwrap();
    assert_eq!(ran.load().await.unwrap(), 0, "aborted work never ran");
}

#[ipc::test]
async fn callbacks_run_in_this_process_when_work_succeeds_or_fails() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..5u32 {
        let tx = tx.clone();
        // The handle is dropped at once; the callback still runs.
        pool.apply_async(|x: u32| x * 10, i).callback(move |r| tx.send(format!("ok {r}")).unwrap());
    }
    let etx = tx.clone();
    pool.apply_async(|()| -> u32 { panic!("bad task") }, ())
        .callback(|_| unreachable!("not on failure"))
        .error_callback(move |e| etx.send(format!("err {e}")).unwrap());
    let mtx = tx.clone();
    let whole = pool.map_async(|x: u8| x + 1, [1, 2, 3]).callback(move |v| mtx.send(format!("map {v:?}")).unwrap());
    assert_eq!(bounded(whole).await.unwrap(), [2, 3, 4], "a callback does not take the result");
    let me = std::process::id();
    let ptx = tx.clone();
    pool.apply_async(|()| (), ()).callback(move |()| ptx.send(format!("pid {}", std::process::id())).unwrap());
    pool.close();
    bounded(pool.join()).await.unwrap();
    let mut got: Vec<String> = rx.try_iter().collect();
    got.sort();
    assert!(got[0].starts_with("err task panicked: bad task at tests/pool.rs:"), "{}", got[0]);
    assert_eq!(
        got[1..],
        [
            "map [2, 3, 4]".to_owned(),
            "ok 0".into(),
            "ok 10".into(),
            "ok 20".into(),
            "ok 30".into(),
            "ok 40".into(),
            format!("pid {me}"),
        ]
    );
}

#[ipc::test]
async fn map_async_starts_the_work_at_once() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    let started = Event::new().unwrap();
    let h = pool.map_async(|e: Event| e.set(), vec![started.clone()]);
    // Nobody has awaited the handle: the work runs all the same.
    bounded(started.wait()).await.unwrap();
    bounded(h).await.unwrap();
    let h = pool.starmap_async(|(a, b): (u32, u32)| a.pow(b), [(2, 10), (3, 3)]);
    assert_eq!(bounded(h).await.unwrap(), [1024, 27]);
    let h = pool.starmap_async_chunked(|(a, b): (u32, u32)| a * b, (0..20).map(|i| (i, i)), 3);
    assert_eq!(bounded(h).await.unwrap(), (0..20).map(|i| i * i).collect::<Vec<_>>());
    // A failed task fails the whole map, as Python's does.
    let h = pool.map_async(|x: u8| if x == 2 { panic!("two") } else { x }, 0..5);
    assert!(matches!(bounded(h).await, Err(TaskError::Panicked { .. })));
}

#[ipc::test]
async fn the_async_result_surface_of_python() {
    let pool = bounded(Pool::new(1)).await.unwrap();
    let mut slow = pool.apply_async(
        |()| {
            std::thread::sleep(Duration::from_millis(200));
            42u8
        },
        (),
    );
    assert!(!slow.ready());
    assert_eq!(slow.successful(), None, "Python's ValueError");
    assert!(matches!(slow.get_timeout(Duration::from_millis(10)).await, Err(TaskError::Timeout)));
    assert!(!slow.wait_timeout(Duration::from_millis(10)).await);
    assert!(bounded(async { slow.wait_timeout(Duration::from_secs(20)).await }).await);
    assert!(slow.ready());
    assert_eq!(slow.successful(), Some(true));
    assert_eq!(slow.get_timeout(Duration::ZERO).await.unwrap(), 42);
    assert!(matches!(slow.get_timeout(Duration::ZERO).await, Err(TaskError::Invalid(_))), "taken once");
    // The blocking forms, from a thread of its own.
    let h = pool.map_async(|x: u8| x * 3, [1, 2]);
    let got = bounded(tokio::task::spawn_blocking(move || {
        h.blocking_wait();
        assert!(h.blocking_wait_timeout(Duration::ZERO));
        h.blocking_get()
    }))
    .await
    .unwrap();
    assert_eq!(got.unwrap(), [3, 6]);
    let failed = pool.apply_async(|()| -> u8 { panic!("x") }, ());
    failed.wait().await;
    assert_eq!(failed.successful(), Some(false));
}

#[ipc::test]
async fn imap_next_under_a_timeout_loses_no_result() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    let delays = [60u64, 1, 40, 1, 1, 30, 1];
    for chunked in [false, true] {
        let mut stream: std::pin::Pin<Box<dyn futures::Stream<Item = Result<u64, TaskError>> + Send>> = if chunked {
            Box::pin(pool.imap_chunked(sleep_then_echo, delays, 2))
        } else {
            Box::pin(pool.imap(sleep_then_echo, delays))
        };
        let (mut got, mut timeouts) = (Vec::new(), 0);
        bounded(async {
            loop {
                match tokio::time::timeout(Duration::from_millis(5), stream.next()).await {
                    Ok(Some(r)) => got.push(r.unwrap()),
                    Ok(None) => break,
                    Err(_) => timeouts += 1,
                }
            }
        })
        .await;
        assert_eq!(got, delays, "chunked: {chunked}");
        assert!(timeouts > 0, "the timeouts did cancel some next() calls");
    }
}

fn sleep_then_echo(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

#[ipc::test]
async fn chunked_streams_and_starmap_keep_python_order() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    let expected: Vec<u64> = (0..100).map(|x| x * x).collect();
    for size in [1, 3, 100, 1000] {
        let ordered: Vec<u64> =
            bounded(pool.imap_chunked(|x: u64| x * x, 0..100, size).map(Result::unwrap).collect()).await;
        assert_eq!(ordered, expected);
        let mut unordered: Vec<u64> =
            bounded(pool.imap_unordered_chunked(|x: u64| x * x, 0..100, size).map(Result::unwrap).collect()).await;
        unordered.sort();
        assert_eq!(unordered, expected);
    }
    // Each item of a chunk is its own result.
    let outcomes: Vec<Result<u8, TaskError>> =
        bounded(pool.imap_chunked(|x: u8| if x == 3 { panic!("three") } else { x }, 0..6, 4).collect()).await;
    assert_eq!(outcomes.iter().filter(|r| r.is_err()).count(), 1);
    assert_eq!(outcomes[4].clone().unwrap(), 4);
    let sums = bounded(pool.starmap_chunked(|(a, b): (u8, u8)| a + b, [(1, 1), (2, 2), (3, 3)], 2)).await.unwrap();
    assert_eq!(sums, [2, 4, 6]);
}

#[ipc::test]
async fn a_worker_killed_mid_chunk_fails_that_chunks_items_only() {
    let pool = bounded(Pool::new(2)).await.unwrap();
    let outcomes: Vec<Result<u32, TaskError>> = bounded(
        pool.imap_chunked(
            |x: u32| {
                if x == 5 {
                    // SAFETY: SIGKILL to this very process.
                    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                }
                x
            },
            0..12,
            4,
        )
        .collect(),
    )
    .await;
    for (i, r) in outcomes.iter().enumerate() {
        if (4..8).contains(&i) {
            assert!(matches!(r, Err(TaskError::WorkerDied { .. })), "item {i}: {r:?}");
        } else {
            assert_eq!(r.clone().unwrap(), i as u32);
        }
    }
}

#[ipc::test]
async fn a_blocking_wait_on_the_pools_own_current_thread_runtime_panics_instead_of_hanging() {
    let pool = std::sync::Arc::new(bounded(Pool::new(1)).await.unwrap());
    // The pool's tasks run on this test's runtime, which only this thread
    // drives: waiting here would never end (a watchdog ends the test binary
    // if it does wait, since nothing can interrupt this thread).
    let (returned, watched) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = watched.recv_timeout(support::WATCHDOG) {
            eprintln!("watchdog: blocking_apply on the pool's own runtime thread hung");
            std::process::abort();
        }
    });
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pool.blocking_apply(|x: u8| x + 1, 1)));
    drop(returned);
    watchdog.join().unwrap();
    let panic = waited.unwrap_err();
    let message = panic.downcast_ref::<String>().map(String::as_str).unwrap_or_default();
    assert!(message.contains("current-thread runtime this pool runs on"), "{message}");
    // From spawn_blocking the same call waits as usual.
    let p = pool.clone();
    let got = bounded(tokio::task::spawn_blocking(move || p.blocking_apply(|x: u8| x * 3, 2))).await.unwrap();
    assert_eq!(got.unwrap(), 6);
    // A blocking get that need not wait does not panic.
    let h = pool.apply_async(|x: u8| x, 7);
    bounded(h.wait()).await;
    assert_eq!(h.blocking_get().unwrap(), 7);
    pool.close();
    bounded(pool.join()).await.unwrap();
}

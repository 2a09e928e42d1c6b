//! Child processes: lifecycle, exit codes, panics, timeouts, many children,
//! daemons, handles through spawn, descriptors.

#![allow(clippy::disallowed_types)] // the workspace rule is for the library's shared words

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ipc::{Connection, JoinError, Pipe, Process};
use support::{bounded, wait_gone};

fn double(x: u64) -> u64 {
    x * 2
}

async fn double_async(x: u64) -> u64 {
    tokio::task::yield_now().await;
    x * 2
}

#[ipc::test]
async fn sync_async_and_closure_targets_return_values() {
    let mut a = Process::spawn(double, 21).unwrap();
    let mut b = Process::spawn(double_async, 4).unwrap();
    let mut c = Process::spawn(|(s, n): (String, usize)| s.repeat(n), ("ab".to_string(), 3)).unwrap();
    let mut d = Process::spawn(|()| async { "async closure".to_string() }, ()).unwrap();
    assert_eq!(bounded(a.join()).await.unwrap(), 42);
    assert_eq!(bounded(b.join()).await.unwrap(), 8);
    assert_eq!(bounded(c.join()).await.unwrap(), "ababab");
    assert_eq!(bounded(d.join()).await.unwrap(), "async closure");
    assert_eq!(a.exitcode(), Some(0));
    assert!(!a.is_alive());
    assert!(matches!(a.join().await, Err(JoinError::AlreadyJoined)));
}

fn triple(x: u64) -> u64 {
    x * 3
}

// A target is a function pointer, so one chosen at run time works: the
// child runs the very function the parent picked (tests/pool.rs: and a
// pool's worker).
#[ipc::test]
async fn a_function_pointer_chosen_at_run_time_is_a_target() {
    for (pick, want) in [(0usize, 14u64), (1, 21)] {
        let table: [fn(u64) -> u64; 2] = [double, triple];
        let mut p = Process::spawn(table[pick], 7).unwrap();
        assert_eq!(bounded(p.join()).await.unwrap(), want);
    }
}

#[ipc::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_thread_test_runs_on_its_workers_and_spawns_from_them() {
    let handle = tokio::runtime::Handle::current();
    assert_eq!(handle.runtime_flavor(), tokio::runtime::RuntimeFlavor::MultiThread);
    assert_eq!(handle.metrics().num_workers(), 2);
    // From a worker thread of the runtime, not the test's own: the child
    // still finds this test.
    let spawned = tokio::spawn(async { Process::spawn(double, 5).map(|mut p| async move { p.join().await }) });
    let join = spawned.await.unwrap().unwrap();
    assert_eq!(bounded(join).await.unwrap(), 10);
}

#[ipc::test]
#[ignore = "a helper: run by a_childs_panic_says_which_process_it_was as a separate process"]
async fn panicking_child_helper() {
    let mut p =
        Process::builder().name("doomed-child").spawn(|()| -> u8 { panic!("the child's own panic") }, ()).unwrap();
    assert!(bounded(p.join()).await.is_err());
}

#[test]
fn a_childs_panic_says_which_process_it_was() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args(["panicking_child_helper", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = helper.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + support::WATCHDOG;
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = helper.kill();
    helper.wait().unwrap();
    assert!(reader.is_finished(), "the helper did not finish");
    let text = reader.join().unwrap();
    // The header, then (after the blank line the default message may start
    // with) the child's panic.
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let panicked = lines.iter().position(|l| l.contains("panicked at")).unwrap_or_else(|| panic!("no panic in {text}"));
    assert!(panicked > 0, "{text}");
    let header = lines[panicked - 1];
    assert!(header.starts_with("Process doomed-child (pid ") && header.ends_with("):"), "{text}");
    assert_eq!(lines[panicked + 1], "the child's own panic", "{text}");
}

#[ipc::test]
#[ignore = "a helper: run by a_test_shows_its_childrens_output_only_when_it_fails as a separate process"]
async fn chatty_child_helper() {
    let chatter = |()| {
        println!("CHILD-STDOUT-LINE");
        eprintln!("CHILD-STDERR-LINE");
    };
    let mut p = Process::spawn(chatter, ()).unwrap();
    bounded(p.join()).await.unwrap();
    if std::env::var_os("IPC_HELPER_FAILS").is_some() {
        // Give the forwarding thread its moment: output is printed as it
        // arrives, and the harness keeps only what came before the end.
        tokio::time::sleep(Duration::from_millis(200)).await;
        panic!("the helper fails on purpose");
    }
}

#[test]
fn a_test_shows_its_childrens_output_only_when_it_fails() {
    use std::process::{Command, Stdio};
    let run = |fails: bool| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args(["chatty_child_helper", "--exact", "--ignored", "--test-threads=1"]);
        if fails {
            command.env("IPC_HELPER_FAILS", "1");
        }
        let helper = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let pid = helper.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(helper.wait_with_output()));
        let output = match rx.recv_timeout(support::WATCHDOG) {
            Ok(output) => output.unwrap(),
            Err(_) => {
                // SAFETY: kill(2) on our own child's pid; it cannot have been
                // reaped (its waiter thread is still blocked in wait).
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                panic!("the helper did not finish");
            }
        };
        let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), text)
    };
    let (passed, text) = run(false);
    assert!(passed, "{text}");
    assert!(
        !text.contains("CHILD-STDOUT-LINE") && !text.contains("CHILD-STDERR-LINE"),
        "a passing test printed:\n{text}"
    );
    let (passed, text) = run(true);
    assert!(!passed, "{text}");
    assert!(text.contains("CHILD-STDOUT-LINE") && text.contains("CHILD-STDERR-LINE"), "a failing test hid:\n{text}");
}

#[ipc::test]
async fn exit_codes_follow_python() {
    let mut exits = Process::spawn(|code: i32| -> u8 { std::process::exit(code) }, 7).unwrap();
    match bounded(exits.join()).await {
        Err(e @ JoinError::Exited { code: 7 }) => assert_eq!(e.exitcode(), Some(7)),
        other => panic!("expected Exited(7), got {other:?}"),
    }
    assert_eq!(exits.exitcode(), Some(7));

    let mut zero = Process::spawn(|()| -> u8 { std::process::exit(0) }, ()).unwrap();
    assert!(matches!(bounded(zero.join()).await, Err(JoinError::Exited { code: 0 })));

    let sleep = |secs: u64| std::thread::sleep(Duration::from_secs(secs));
    let mut terminated = Process::spawn(sleep, 60).unwrap();
    assert!(terminated.is_alive());
    assert_eq!(terminated.exitcode(), None);
    terminated.terminate().unwrap();
    assert!(matches!(bounded(terminated.join()).await, Err(JoinError::Signaled { signal: libc::SIGTERM })));
    assert_eq!(terminated.exitcode(), Some(-libc::SIGTERM));
    terminated.terminate().unwrap(); // terminating a dead child is harmless

    let mut killed = Process::spawn(sleep, 60).unwrap();
    killed.kill().unwrap();
    assert!(matches!(bounded(killed.join()).await, Err(JoinError::Signaled { signal: libc::SIGKILL })));
    assert_eq!(killed.exitcode(), Some(-libc::SIGKILL));
}

// A child copied from the fork server behaves as an exec'd one: its value,
// its name, its parent, a panic, a signal, the list of active children.
// (tests/tracing.rs sees that it was forked; tests/pool.rs that a copy takes
// the caller's directory and environment of the moment.)
#[ipc::test]
async fn a_child_started_by_the_fork_server_is_a_child_like_any_other() {
    use ipc::process::StartMethod;
    let forked = || Process::builder().start_method(StartMethod::ForkServer);
    let me = std::process::id();
    let mut p = forked()
        .name("copied")
        .spawn(|x: u32| (x * 2, ipc::current_process().name().to_owned(), ipc::parent_process().map(|p| p.pid())), 21)
        .unwrap();
    assert_eq!(bounded(p.join()).await.unwrap(), (42, "copied".to_owned(), Some(me)));

    let mut panics = forked().spawn(|n: u32| -> u32 { panic!("copy {n} failed") }, 3).unwrap();
    match bounded(panics.join()).await {
        Err(JoinError::Panicked { message, .. }) => assert_eq!(message, "copy 3 failed"),
        other => panic!("expected a panic, got {other:?}"),
    }
    let mut sleeper = forked().spawn(|secs: u64| std::thread::sleep(Duration::from_secs(secs)), 60).unwrap();
    // Listed while it runs (a copy that has already finished is reaped, and
    // unlisted, by `active_children`, as in Python).
    assert!(ipc::active_children().iter().any(|c| c.pid == sleeper.pid()));
    sleeper.terminate().unwrap();
    assert!(matches!(bounded(sleeper.join()).await, Err(JoinError::Signaled { signal: libc::SIGTERM })));
    // Async targets too.
    let mut a = forked().spawn(double_async, 5).unwrap();
    assert_eq!(bounded(a.join()).await.unwrap(), 10);
}

#[ipc::test]
async fn a_panic_reaches_join_with_message_and_location() {
    let mut p = Process::spawn(|n: u32| -> u32 { panic!("task {n} failed") }, 3).unwrap();
    match bounded(p.join()).await {
        Err(JoinError::Panicked { message, location }) => {
            assert_eq!(message, "task 3 failed");
            let location = location.expect("a location");
            assert!(location.starts_with("tests/process.rs:"), "{location}");
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(p.exitcode(), Some(1));
}

#[ipc::test]
async fn a_child_that_dies_before_reporting_is_an_error_at_once() {
    let start = Instant::now();
    let mut p = Process::spawn(|()| -> u8 { std::process::abort() }, ()).unwrap();
    assert!(matches!(bounded(p.join()).await, Err(JoinError::Signaled { signal: libc::SIGABRT })));
    assert!(start.elapsed() < support::WATCHDOG);
}

#[ipc::test]
async fn join_timeout_leaves_the_child_running_and_joinable() {
    let mut p = Process::spawn(|ms: u64| std::thread::sleep(Duration::from_millis(ms)), 400).unwrap();
    assert!(matches!(p.join_timeout(Duration::from_millis(20)).await, Err(JoinError::Timeout)));
    assert!(p.is_alive());
    // Cancel the join repeatedly: the wait must still complete afterwards.
    for _ in 0..5 {
        let _ = tokio::time::timeout(Duration::from_millis(5), p.join()).await;
    }
    bounded(p.join()).await.unwrap();
    assert_eq!(p.exitcode(), Some(0));

    let mut q = Process::spawn(|ms: u64| std::thread::sleep(Duration::from_millis(ms)), 300).unwrap();
    assert!(matches!(q.blocking_join_timeout(Duration::from_millis(10)), Err(JoinError::Timeout)));
    q.blocking_join_timeout(support::WATCHDOG).unwrap();
}

#[ipc::test]
async fn a_hundred_short_lived_children() {
    let mut children: Vec<Process<u32>> = (0..100u32).map(|i| Process::spawn(|i: u32| i * i, i).unwrap()).collect();
    let mut sum = 0;
    for c in &mut children {
        sum += bounded(c.join()).await.unwrap();
    }
    assert_eq!(sum, (0..100u32).map(|i| i * i).sum());
    for c in &children {
        assert!(!support::pid_present(c.pid()), "child {} left behind (a zombie?)", c.pid());
    }
}

#[ipc::test]
async fn names_identity_and_authkey_are_inherited() {
    let me = ipc::current_process();
    assert_eq!(me.name(), "MainProcess");
    assert!(ipc::parent_process().is_none());
    let info = |()| {
        let me = ipc::current_process();
        let parent = ipc::parent_process().expect("a child has a parent");
        (me.name().to_owned(), me.pid(), *me.authkey(), parent.pid(), parent.is_alive())
    };
    let mut named = Process::builder().name("worker-1").spawn(info, ()).unwrap();
    let (name, pid, key, ppid, parent_alive) = bounded(named.join()).await.unwrap();
    assert_eq!(name, "worker-1");
    assert_eq!(pid, named.pid());
    assert_eq!(&key, me.authkey());
    assert_eq!(ppid, std::process::id());
    assert!(parent_alive);
    let mut unnamed = Process::spawn(info, ()).unwrap();
    assert!(unnamed.name().starts_with("Process-"), "{}", unnamed.name());
    assert_eq!(bounded(unnamed.join()).await.unwrap().0, unnamed.name());
}

static GLOBAL: AtomicU32 = AtomicU32::new(100);

#[ipc::test]
async fn data_is_isolated_between_processes() {
    let mut p = Process::spawn(
        |()| {
            GLOBAL.store(10, Ordering::SeqCst);
            GLOBAL.load(Ordering::SeqCst)
        },
        (),
    )
    .unwrap();
    assert_eq!(bounded(p.join()).await.unwrap(), 10);
    assert_eq!(GLOBAL.load(Ordering::SeqCst), 100);
}

#[ipc::test]
async fn active_children_lists_the_running_ones() {
    let mut p =
        Process::builder().name("lister").spawn(|ms: u64| std::thread::sleep(Duration::from_millis(ms)), 300).unwrap();
    let listed = ipc::active_children();
    assert!(listed.iter().any(|c| c.pid == p.pid() && c.name == "lister"), "{listed:?}");
    bounded(p.join()).await.unwrap();
    assert!(!ipc::active_children().iter().any(|c| c.pid == p.pid()));
    assert!(ipc::cpu_count() >= 1);
}

#[ipc::test]
async fn handles_travel_into_a_child_and_back_out() {
    // In: the child gets a Connection as its argument.
    let (mut here, there) = Pipe::duplex().unwrap();
    let mut echo = Process::spawn(
        |mut conn: Connection| async move {
            let mut n = 0u32;
            while let Ok(s) = conn.recv::<String>().await {
                conn.send(&s.to_uppercase()).await.unwrap();
                n += 1;
            }
            n
        },
        there,
    )
    .unwrap();
    for word in ["a", "bc", "包子"] {
        here.send(&word).await.unwrap();
        assert_eq!(bounded(here.recv::<String>()).await.unwrap(), word.to_uppercase());
    }
    drop(here);
    assert_eq!(bounded(echo.join()).await.unwrap(), 3);

    // Out: the child returns a Connection it made.
    let mut maker = Process::spawn(
        |()| {
            let (mut mine, yours) = Pipe::duplex().unwrap();
            mine.blocking_send(&"made in the child").unwrap();
            yours
        },
        (),
    )
    .unwrap();
    let mut got: Connection = bounded(maker.join()).await.unwrap();
    assert_eq!(bounded(got.recv::<String>()).await.unwrap(), "made in the child");

    // Through: a Connection sent over a Connection to a running child.
    let (mut control, child_end) = Pipe::duplex().unwrap();
    let mut relay = Process::spawn(
        |mut control: Connection| {
            let mut passed: Connection = control.blocking_recv().unwrap();
            passed.blocking_send(&"via a passed connection").unwrap();
        },
        child_end,
    )
    .unwrap();
    let (mut near, far) = Pipe::duplex().unwrap();
    control.send(&far).await.unwrap();
    drop(far);
    assert_eq!(bounded(near.recv::<String>()).await.unwrap(), "via a passed connection");
    bounded(relay.join()).await.unwrap();
}

#[ipc::test]
async fn children_inherit_no_stray_descriptors() {
    // A pipe opened without close-on-exec, as a C library or a careless
    // `libc::pipe` would: Python's spawn closes it in the child, and so do we.
    // The child keeps the standard streams and what ipc hands it (all of it
    // close-on-exec), and the control socket is off fd 0.
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let link = |fd: i32| std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap().to_string_lossy().into_owned();
    let pipe = link(fds[0]);
    assert!(support::open_fds().iter().any(|&(fd, cloexec)| fd == fds[1] && !cloexec), "the pipe is inheritable");
    let mut p = Process::spawn(
        move |pipe: String| {
            let stdin = std::fs::read_link("/proc/self/fd/0").unwrap();
            let open = support::open_fds();
            let inheritable: Vec<i32> = open.iter().filter(|(fd, cloexec)| *fd > 2 && !cloexec).map(|p| p.0).collect();
            let sees_pipe = open.iter().any(|&(fd, _)| {
                std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|l| l.to_string_lossy() == pipe)
            });
            (stdin.to_string_lossy().contains("socket"), inheritable, sees_pipe)
        },
        pipe,
    )
    .unwrap();
    let (stdin_is_socket, inheritable, sees_pipe) = bounded(p.join()).await.unwrap();
    for fd in fds {
        // SAFETY: both ends were made above and nothing else owns them.
        unsafe { libc::close(fd) };
    }
    assert!(!stdin_is_socket, "the control socket must not stay on stdin");
    assert!(!sees_pipe, "the child holds the parent's stray pipe");
    assert!(inheritable.is_empty(), "descriptors without CLOEXEC in the child: {inheritable:?}");
}

#[ipc::test]
async fn spawning_and_joining_leaks_no_descriptors() {
    // Counted inside a child, where no parallel test opens descriptors.
    let mut p = Process::spawn(
        |()| async {
            let before = support::open_fds().len();
            for i in 0..20u32 {
                let (a, _b) = Pipe::duplex().unwrap();
                let mut c = Process::spawn(|(_, i): (Connection, u32)| i, (a, i)).unwrap();
                assert_eq!(c.join().await.unwrap(), i);
            }
            // Let the reactor drop its registrations.
            tokio::task::yield_now().await;
            (before, support::open_fds().len())
        },
        (),
    )
    .unwrap();
    let (before, after) = bounded(p.join()).await.unwrap();
    assert_eq!(before, after, "descriptors leaked by 20 spawn/join cycles");
}

#[ipc::test]
async fn a_daemon_dies_with_its_parent_even_on_sigkill() {
    // Parent (a child of the test) spawns a daemon grandchild, reports its
    // pid, and waits forever; the test SIGKILLs the parent and the daemon must
    // go too.
    let (mut report, child_end) = Pipe::duplex().unwrap();
    let parent = Process::builder()
        .kill_on_drop(true)
        .spawn(
            |mut report: Connection| async move {
                let daemon = Process::builder()
                    .daemon(true)
                    .spawn(|()| std::thread::sleep(Duration::from_secs(120)), ())
                    .unwrap();
                report.send(&daemon.pid()).await.unwrap();
                std::future::pending::<()>().await;
            },
            child_end,
        )
        .unwrap();
    let daemon_pid: u32 = bounded(report.recv()).await.unwrap();
    assert!(support::pid_exists(daemon_pid));
    parent.kill().unwrap();
    wait_gone(daemon_pid).await;
}

#[ipc::test]
async fn a_non_daemon_child_outlives_its_killed_parent() {
    let (mut report, child_end) = Pipe::duplex().unwrap();
    let parent = Process::builder()
        .kill_on_drop(true)
        .spawn(
            |mut report: Connection| async move {
                let child = Process::spawn(|()| std::thread::sleep(Duration::from_millis(1500)), ()).unwrap();
                report.send(&child.pid()).await.unwrap();
                std::future::pending::<()>().await;
            },
            child_end,
        )
        .unwrap();
    let pid: u32 = bounded(report.recv()).await.unwrap();
    parent.kill().unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(support::pid_exists(pid), "a non-daemon child must not be killed with its parent");
    wait_gone(pid).await; // it finishes its sleep and is reaped by init
}

#[ipc::test]
async fn kill_on_drop_kills() {
    let p = Process::builder().kill_on_drop(true).spawn(|()| std::thread::sleep(Duration::from_secs(60)), ()).unwrap();
    let pid = p.pid();
    drop(p);
    support::wait_reaped(pid).await;
}

#[ipc::test]
async fn a_dropped_handle_leaves_no_zombie() {
    let p = Process::spawn(|()| (), ()).unwrap();
    let pid = p.pid();
    drop(p);
    // Reaped by the task the drop started (inside this runtime): not a zombie.
    support::wait_reaped(pid).await;
}

#[ipc::test]
async fn a_large_argument_and_result_are_delivered() {
    // 2 MiB fits neither the socket buffer (~208 KiB) nor one record: spawn
    // writes what fits before the child starts and streams the rest while it
    // reads, and the result comes back the same way; by exec and by a copy
    // of the fork server.
    use ipc::process::StartMethod;
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let big = vec![7u8; 2 << 20];
        let builder = Process::builder().start_method(method);
        let mut p = builder.spawn(|v: Vec<u8>| v.into_iter().map(|b| b + 1).collect::<Vec<u8>>(), big).unwrap();
        let back = bounded(p.join()).await.unwrap();
        assert_eq!(back.len(), 2 << 20);
        assert!(back.iter().all(|&b| b == 8));
    }
}

#[test]
fn spawning_without_the_dispatch_is_an_error_not_a_second_main() {
    match Process::spawn(double, 1) {
        Err(ipc::SpawnError::NoDispatch) => {}
        other => panic!("expected NoDispatch, got {other:?}"),
    }
}

#[ipc::test]
async fn an_unencodable_argument_is_an_error_before_spawning() {
    let (a, _b) = Pipe::duplex().unwrap();
    let mut partial = a;
    // A connection with a half-sent message refuses to be serialized.
    let big = vec![0u8; 8 << 20];
    let _ = tokio::time::timeout(Duration::from_millis(10), partial.send_bytes(&big)).await;
    match Process::spawn(|_c: Connection| (), partial) {
        Err(ipc::SpawnError::Encode(e)) => assert!(e.to_string().contains("middle of a message"), "{e}"),
        other => panic!("expected an encode error, got {other:?}"),
    }
}

#[ipc::test]
async fn grandchildren_work() {
    let mut p = Process::spawn(
        |x: u64| async move {
            let mut inner = Process::spawn(double, x).unwrap();
            let name = ipc::current_process().name().to_owned();
            (inner.join().await.unwrap(), name, inner.name().to_owned())
        },
        5,
    )
    .unwrap();
    let (value, child_name, grandchild_name) = bounded(p.join()).await.unwrap();
    assert_eq!(value, 10);
    assert!(
        grandchild_name.starts_with(&format!("{child_name}:")) || grandchild_name.contains(':'),
        "{grandchild_name}"
    );
}

#[ipc::test]
async fn several_processes_share_one_pipe_end_without_tearing_messages() {
    // 3 producers share one end and 3 consumers the other (the tutorials'
    // "several consumers" program): every message arrives exactly once,
    // whole. Messages are up to 60 KiB, under the atomic record size.
    const PER_PRODUCER: u32 = 200;
    let (tx_end, rx_end) = Pipe::duplex().unwrap();
    let produce = |(mut conn, id): (Connection, u32)| {
        for i in 0..PER_PRODUCER {
            let len = ((id * 7919 + i * 104_729) % 60_000) as usize;
            conn.blocking_send(&(id, i, vec![(i % 251) as u8; len])).unwrap();
        }
    };
    let consume = |mut conn: Connection| {
        let mut got = Vec::new();
        while let Ok((id, i, body)) = conn.blocking_recv::<(u32, u32, Vec<u8>)>() {
            assert!(body.iter().all(|&b| b == (i % 251) as u8), "torn message {id}/{i}");
            got.push((id, i));
        }
        got
    };
    let mut consumers: Vec<_> = (0..3).map(|_| Process::spawn(consume, rx_end.try_clone().unwrap()).unwrap()).collect();
    drop(rx_end);
    let mut producers: Vec<_> =
        (0..3).map(|id| Process::spawn(produce, (tx_end.try_clone().unwrap(), id)).unwrap()).collect();
    drop(tx_end);
    for p in &mut producers {
        bounded(p.join()).await.unwrap();
    }
    let mut all = Vec::new();
    for c in &mut consumers {
        all.extend(bounded(c.join()).await.unwrap());
    }
    all.sort_unstable();
    let expected: Vec<(u32, u32)> = (0..3).flat_map(|id| (0..PER_PRODUCER).map(move |i| (id, i))).collect();
    assert_eq!(all, expected, "every message exactly once");
}

//! Managers: CPython's manager behaviours re-expressed (dict/list/Namespace
//! from several processes, remote errors keep their kind, lifecycle), plus
//! what Python cannot do: objects freed when the last proxy anywhere drops,
//! a killed process's references and locks given back, a dead manager
//! failing calls at once, cancel-safe waits, pipelined calls, and garbage
//! from an authenticated peer answered with an error.

mod support;

use std::time::Duration;

use ipc::manager::{DictProxy, ListProxy, LockProxy, NamespaceProxy, QueueProxy};
use ipc::{Address, CallError, Client, Listener, Manager, Process, RemoteError};
use support::{bounded, wait_reaped};

async fn child_edits(args: (DictProxy<String, i64>, ListProxy<i64>, NamespaceProxy, i64)) {
    let (d, l, ns, n) = args;
    d.insert(&format!("child{n}"), &n).await.unwrap();
    l.push(&n).await.unwrap();
    ns.set(&format!("x{n}"), &(n * 10)).await.unwrap();
}

#[ipc::test]
async fn dict_list_and_namespace_from_several_processes() {
    let manager = bounded(Manager::start()).await.unwrap();
    let d = manager.dict::<String, i64>().await.unwrap();
    let l = manager.list::<i64>().await.unwrap();
    let ns = manager.namespace().await.unwrap();
    let mut children = Vec::new();
    for n in 0..3 {
        children.push(Process::spawn(child_edits, (d.clone(), l.clone(), ns.clone(), n)).unwrap());
    }
    for mut child in children {
        bounded(child.join()).await.unwrap();
    }
    let mut items = d.items().await.unwrap();
    items.sort();
    assert_eq!(items, [("child0".to_string(), 0), ("child1".to_string(), 1), ("child2".to_string(), 2)]);
    let mut pushed = l.to_vec().await.unwrap();
    pushed.sort();
    assert_eq!(pushed, [0, 1, 2]);
    assert_eq!(ns.names().await.unwrap(), ["x0", "x1", "x2"]);
    assert_eq!(ns.get::<i64>("x2").await.unwrap(), 20);
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn remote_errors_keep_their_kind() {
    let manager = bounded(Manager::start()).await.unwrap();
    let d = manager.dict::<u8, u8>().await.unwrap();
    let l = manager.list_from(&[1u8]).await.unwrap();
    let ns = manager.namespace().await.unwrap();
    let q = manager.queue::<u8>(1).await.unwrap();
    let lock = manager.lock().await.unwrap();
    let remote = |r: Result<(), CallError>| match r {
        Err(CallError::Remote(e)) => e,
        other => panic!("expected a remote error, got {other:?}"),
    };
    assert!(matches!(remote(d.remove(&9).await.map(drop)), RemoteError::KeyError(_)));
    assert!(matches!(remote(l.get(5).await.map(drop)), RemoteError::IndexError(_)));
    assert!(matches!(remote(l.remove(&7).await), RemoteError::ValueError(_)));
    assert!(matches!(remote(ns.get::<u8>("nope").await.map(drop)), RemoteError::AttributeError(_)));
    assert!(matches!(remote(q.try_get().await.map(drop)), RemoteError::Empty));
    q.put(&1).await.unwrap();
    assert!(matches!(remote(q.try_put(&2).await), RemoteError::Full));
    q.get().await.unwrap();
    q.task_done().await.unwrap();
    assert!(matches!(remote(q.task_done().await), RemoteError::ValueError(_)));
    assert!(matches!(remote(lock.release().await), RemoteError::RuntimeError(_)));
    // The list is intact after the failed calls.
    assert_eq!(l.to_vec().await.unwrap(), [1]);
    bounded(manager.shutdown()).await.unwrap();
}

/// Waits (bounded) until the server holds `n` objects: a reference given
/// up by a drop or a dead process reaches the server a moment later.
async fn objects_settle_at(manager: &Manager, n: usize) {
    bounded(async {
        while manager.object_count().await.unwrap() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

async fn hold_then_drop(d: DictProxy<u8, u8>) {
    d.insert(&1, &1).await.unwrap();
    drop(d);
}

#[ipc::test]
async fn objects_are_freed_when_the_last_proxy_anywhere_drops() {
    let manager = bounded(Manager::start()).await.unwrap();
    let d = manager.dict::<u8, u8>().await.unwrap();
    let kept = d.clone();
    assert_eq!(manager.object_count().await.unwrap(), 1);
    drop(d); // a clone still holds it
    assert_eq!(manager.object_count().await.unwrap(), 1);

    // Sent to a child, dropped here before the child is done: the child's
    // reference keeps it alive, and its drop frees it.
    let mut child = Process::spawn(hold_then_drop, kept.clone()).unwrap();
    drop(kept);
    bounded(child.join()).await.unwrap();
    objects_settle_at(&manager, 0).await;
    bounded(manager.shutdown()).await.unwrap();
}

async fn take_lock_and_hang(args: (LockProxy, DictProxy<u8, u8>, ipc::Event)) {
    let (lock, d, ready) = args;
    lock.acquire().await.unwrap();
    let _also_held = d;
    ready.set();
    std::future::pending::<()>().await;
}

#[ipc::test]
async fn a_killed_process_gives_back_its_locks_and_references() {
    let manager = bounded(Manager::start()).await.unwrap();
    let lock = manager.lock().await.unwrap();
    let d = manager.dict::<u8, u8>().await.unwrap();
    let ready = ipc::Event::new().unwrap();
    let mut child = Process::spawn(take_lock_and_hang, (lock.clone(), d.clone(), ready.clone())).unwrap();
    bounded(ready.wait()).await.unwrap();
    drop(d); // only the child holds the dict now
    assert!(!lock.try_acquire().await.unwrap());
    child.kill().unwrap();
    let pid = child.pid();
    let _ = bounded(child.join()).await;
    wait_reaped(pid).await;
    // Python's manager would keep the lock held forever.
    assert!(bounded(lock.acquire_timeout(Duration::from_secs(10))).await.unwrap());
    objects_settle_at(&manager, 1).await;
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn a_dead_manager_fails_calls_at_once() {
    let manager = bounded(Manager::start()).await.unwrap();
    let q = manager.queue::<u8>(0).await.unwrap();
    let waiting = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let pid = manager.server_pid().unwrap();
    // SAFETY: kill(2) with a pid we own (the server child) and a signal number.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let got = bounded(waiting).await.unwrap();
    assert!(matches!(got, Err(CallError::Disconnected)), "{got:?}");
    assert!(matches!(bounded(q.qsize()).await, Err(CallError::Disconnected)));
    assert!(matches!(bounded(manager.dict::<u8, u8>()).await, Err(CallError::Disconnected)));
    drop(manager);
    wait_reaped(pid).await;
}

#[ipc::test]
async fn shutdown_and_drop_reap_the_server() {
    let manager = bounded(Manager::start()).await.unwrap();
    let pid = manager.server_pid().unwrap();
    let d = manager.dict::<u8, u8>().await.unwrap();
    bounded(manager.shutdown()).await.unwrap();
    wait_reaped(pid).await;
    assert!(matches!(bounded(d.len()).await, Err(CallError::Disconnected)));

    let manager = bounded(Manager::start()).await.unwrap();
    let pid = manager.server_pid().unwrap();
    drop(manager);
    wait_reaped(pid).await;
}

async fn produce(args: (QueueProxy<u64>, u64, u64)) {
    let (q, from, n) = args;
    for i in from..from + n {
        q.put(&i).await.unwrap();
    }
}

#[ipc::test]
async fn cancelled_gets_lose_and_duplicate_nothing() {
    let manager = bounded(Manager::start()).await.unwrap();
    let q = manager.queue::<u64>(0).await.unwrap();
    const N: u64 = 2000;
    let mut producers: Vec<_> = (0..2).map(|p| Process::spawn(produce, (q.clone(), p * N, N)).unwrap()).collect();
    let mut seen = vec![false; 2 * N as usize];
    let mut got = 0;
    let mut cancelled = 0;
    let mut round = 0u64;
    bounded(async {
        while got < 2 * N {
            round += 1;
            // Timeouts from 0 to ~50 µs: many land while the reply is in flight.
            let limit = Duration::from_micros(round % 50);
            match tokio::time::timeout(limit, q.get()).await {
                Ok(item) => {
                    let item = item.unwrap() as usize;
                    assert!(!seen[item], "item {item} delivered twice");
                    seen[item] = true;
                    got += 1;
                }
                Err(_) => cancelled += 1,
            }
        }
    })
    .await;
    assert!(seen.iter().all(|s| *s));
    assert!(cancelled > 0, "no get was cancelled: the test proved nothing");
    for p in &mut producers {
        bounded(p.join()).await.unwrap();
    }
    assert_eq!(q.qsize().await.unwrap(), 0);
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn many_calls_from_one_process_are_pipelined() {
    let manager = bounded(Manager::start()).await.unwrap();
    let l = manager.list::<u32>().await.unwrap();
    let calls = (0..500).map(|i| {
        let l = l.clone();
        async move { l.push(&i).await }
    });
    for r in bounded(futures::future::join_all(calls)).await {
        r.unwrap();
    }
    let mut all = l.to_vec().await.unwrap();
    all.sort();
    assert_eq!(all, (0..500).collect::<Vec<_>>());

    // A burst written in parts ends exactly at a part that tells the
    // server more is coming (16 calls): the server stops spinning for more
    // and serves on.
    let burst = (500..516).map(|i| {
        let l = l.clone();
        async move { l.push(&i).await }
    });
    for r in bounded(futures::future::join_all(burst)).await {
        r.unwrap();
    }
    assert_eq!(bounded(l.len()).await.unwrap(), 516);

    // A call waiting in the server does not hold up the others.
    let q = manager.queue::<u8>(0).await.unwrap();
    let waiting = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(bounded(l.len()).await.unwrap(), 516);
    q.put(&1).await.unwrap();
    assert_eq!(bounded(waiting).await.unwrap().unwrap(), 1);
    bounded(manager.shutdown()).await.unwrap();
}

#[tokio::test]
async fn remote_managers_need_the_right_key_and_survive_garbage() {
    let listener = Listener::builder("127.0.0.1:0".parse().unwrap()).authkey(b"key").bind().unwrap();
    let address = listener.address().clone();
    let server = std::thread::spawn(move || ipc::manager::serve(listener));

    let wrong = Manager::connect(address.clone(), b"nope").await;
    assert!(matches!(wrong, Err(ipc::ConnectError::Authentication(_))), "{wrong:?}");

    // An authenticated peer sending garbage gets error replies; the server
    // keeps serving it and everyone else.
    let mut raw = bounded(Client::new(address.clone()).authkey(b"key").connect()).await.unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..200 {
        let garbage = proptest::strategy::Strategy::new_tree(
            &proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            &mut runner,
        )
        .unwrap();
        let bytes = proptest::strategy::ValueTree::current(&garbage);
        bounded(raw.send_bytes(&bytes)).await.unwrap();
    }
    bounded(raw.send_bytes(&[0xff; 4096])).await.unwrap();
    let manager = bounded(Manager::connect(address, b"key")).await.unwrap();
    let d = manager.dict::<u8, u8>().await.unwrap();
    d.insert(&1, &2).await.unwrap();
    assert_eq!(d.get(&1).await.unwrap(), Some(2));
    // The raw peer still gets answers (at least one error reply arrived).
    let reply = bounded(raw.recv_bytes(1 << 20)).await.unwrap();
    assert!(!reply.is_empty());
    drop(d);
    bounded(manager.shutdown()).await.unwrap();
    server.join().unwrap().unwrap();
    let _ = Address::unique();
}

#[tokio::test]
async fn a_client_that_stops_reading_holds_up_only_itself() {
    let listener = Listener::builder(Address::unique().unwrap()).authkey(b"key").bind().unwrap();
    let address = listener.address().clone();
    let server = std::thread::spawn(move || ipc::manager::serve(listener));

    // A peer that sends requests (garbage: each gets an error reply) and
    // does not read: more replies pile up behind it than the server keeps
    // (it then stops reading that peer's requests, so the flood stalls).
    const SENT: usize = 100_000;
    let mut raw = bounded(Client::new(address.clone()).authkey(b"key").connect()).await.unwrap();
    let mut flooder = raw.try_clone().unwrap();
    let flood = tokio::spawn(async move {
        for _ in 0..SENT {
            flooder.send_bytes(&[0xff]).await.unwrap();
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let manager = bounded(Manager::connect(address, b"key")).await.unwrap();
    let d = manager.dict::<u8, u8>().await.unwrap();
    for i in 0..100 {
        bounded(d.insert(&i, &i)).await.unwrap();
    }
    assert_eq!(bounded(d.len()).await.unwrap(), 100);

    // Once it reads, every reply comes, whole, none lost on the way.
    let read_all = async {
        for _ in 0..SENT {
            let reply = raw.recv_bytes(1 << 20).await.unwrap();
            assert!(!reply.is_empty());
        }
    };
    bounded(read_all).await;
    bounded(flood).await.unwrap();
    drop(raw);
    drop(d);
    bounded(manager.shutdown()).await.unwrap();
    server.join().unwrap().unwrap();
}

#[ipc::test]
async fn a_reply_larger_than_the_backlog_limit_still_leaves() {
    // Two calls in one write: the server reads both at once, and the first
    // reply alone is over its 4 MiB backlog limit.
    let manager = bounded(Manager::start()).await.unwrap();
    let d = manager.dict::<u8, Vec<u8>>().await.unwrap();
    d.insert(&0, &vec![7; 5 << 20]).await.unwrap();
    let (big, len) = bounded(async { futures::join!(d.get(&0), d.len()) }).await;
    assert_eq!(big.unwrap().map(|v| v.len()), Some(5 << 20));
    assert_eq!(len.unwrap(), 1);
    drop(d);
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn a_shared_memory_manager_unlinks_its_blocks() {
    use ipc::manager::SharedMemoryManager;
    let gone = |name: &str| ipc::SharedMemory::open(name).is_err();

    let smm = bounded(SharedMemoryManager::start()).await.unwrap();
    let a = smm.shared_memory(4096).await.unwrap();
    let b = smm.shared_memory(1).await.unwrap();
    let list = smm.shareable_list(["howdy", "HoWdY"]).await.unwrap();
    let names = [a.name().to_string(), b.name().to_string(), list.shm().name().to_string()];
    b.unlink().unwrap(); // unlinked early: skipped at shutdown
    a.write_at(0, b"still usable while attached").unwrap();
    bounded(smm.shutdown()).await.unwrap();
    assert!(names.iter().all(|n| gone(n)), "{names:?}");
    // Attached handles keep their mapping after the unlink.
    let mut buf = [0u8; 5];
    a.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"still");

    // Dropping the manager does the same.
    let smm = bounded(SharedMemoryManager::start()).await.unwrap();
    let c = smm.shared_memory(64).await.unwrap();
    let name = c.name().to_string();
    drop(smm);
    bounded(async {
        while !gone(&name) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;

    // Requests cancelled at 0–40 µs leave no block behind. (The only test
    // in this binary that makes `psm_` blocks is this one, so a snapshot of
    // /dev/shm tells.)
    let psm = || -> std::collections::HashSet<String> {
        std::fs::read_dir("/dev/shm")
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("psm_"))
            .collect()
    };
    let before = psm();
    let smm = bounded(SharedMemoryManager::start()).await.unwrap();
    let mut made = Vec::new();
    let mut cancelled = 0;
    for round in 0..200u64 {
        match tokio::time::timeout(Duration::from_micros(round % 40), smm.shared_memory(64)).await {
            Ok(block) => made.push(block.unwrap()),
            Err(_) => cancelled += 1,
        }
    }
    assert!(cancelled > 0 && !made.is_empty(), "{cancelled} cancelled, {} made", made.len());
    let ours: std::collections::HashSet<String> = made.iter().map(|b| b.name().to_string()).collect();
    let strays: Vec<String> = psm().difference(&before).filter(|n| !ours.contains(*n)).cloned().collect();
    assert!(strays.is_empty(), "cancelled requests left blocks: {strays:?}");
    bounded(smm.shutdown()).await.unwrap();
    assert!(ours.iter().all(|n| gone(n)));
}

#[ipc::test]
async fn silent_connections_to_the_server_hold_up_no_child() {
    // Any process that can reach the server's socket could connect and say
    // nothing; the server's one accept loop used to wait out each such
    // handshake (10 s) before the next child's proxy could connect: four
    // of them outlast the watchdog.
    let manager = bounded(Manager::start()).await.unwrap();
    let Address::Abstract(name) = manager.address().clone() else { panic!("an abstract address") };
    let silent: Vec<_> = (0..4)
        .map(|_| {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
            std::os::unix::net::UnixStream::connect_addr(&addr).unwrap()
        })
        .collect();
    let d = manager.dict::<String, i64>().await.unwrap();
    let (l, ns) = (manager.list().await.unwrap(), manager.namespace().await.unwrap());
    let mut child = Process::spawn(child_edits, (d.clone(), l, ns, 1)).unwrap();
    bounded(child.join()).await.unwrap();
    assert_eq!(d.get(&"child1".to_string()).await.unwrap(), Some(1));
    drop(silent);
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn a_proxys_serde_form_carries_no_authkey_and_receivers_use_their_own() {
    // A remote manager with a key of its own, as separate programs use.
    const KEY: &[u8] = b"the remote manager's own key";
    let listener = Listener::builder(Address::unique().unwrap()).authkey(KEY).bind().unwrap();
    let address = listener.address().clone();
    let server = std::thread::spawn(move || ipc::manager::serve(listener));
    // A child started before this process knew the key...
    let (mut here, there) = ipc::Pipe::duplex().unwrap();
    let mut early = Process::spawn(
        |(mut conn, address): (ipc::Connection, Address)| async move {
            let refused = conn.recv::<DictProxy<String, i64>>().await.is_err();
            // ...cannot use a proxy it is handed until it connects itself.
            let _manager = Manager::connect(address, KEY).await.unwrap();
            let d: DictProxy<String, i64> = conn.recv().await.unwrap();
            d.insert("early", &1).await.unwrap();
            refused
        },
        (there, address.clone()),
    )
    .unwrap();
    let manager = bounded(Manager::connect(address.clone(), KEY)).await.unwrap();
    let d = manager.dict::<String, i64>().await.unwrap();
    for form in [serde_json::to_vec(&d).unwrap(), bincode_like(&d)] {
        assert!(!form.windows(KEY.len()).any(|w| w == KEY), "the key in a proxy's serde form");
        let as_json_array = serde_json::to_string(KEY).unwrap();
        assert!(!String::from_utf8_lossy(&form).contains(&as_json_array[1..as_json_array.len() - 1]));
    }
    bounded(here.send(&d)).await.unwrap();
    bounded(here.send(&d)).await.unwrap();
    assert!(bounded(early.join()).await.unwrap(), "a process without the key was refused");
    // A child started now inherits the key this process connected with.
    let mut late =
        Process::spawn(|d: DictProxy<String, i64>| async move { d.insert("late", &2).await.unwrap() }, d.clone())
            .unwrap();
    bounded(late.join()).await.unwrap();
    let mut items = d.items().await.unwrap();
    items.sort();
    assert_eq!(items, [("early".to_string(), 1), ("late".to_string(), 2)]);
    bounded(manager.shutdown()).await.unwrap();
    server.join().unwrap().unwrap();
}

/// A proxy's bytes as a transfer encodes them (through a pipe).
fn bincode_like<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> Vec<u8> {
    let (mut a, mut b) = ipc::Pipe::duplex().unwrap();
    a.blocking_send(value).unwrap();
    let bytes = b.blocking_recv_bytes(1 << 20).unwrap();
    // The copy in flight is adopted by nobody: decode it so the server's
    // count stays right.
    a.blocking_send_bytes(&bytes).unwrap();
    let _: T = b.blocking_recv().unwrap();
    bytes
}

#[ipc::test]
async fn a_proxy_stored_in_a_managed_container_keeps_its_object_alive() {
    let manager = bounded(Manager::start()).await.unwrap();
    let outer = manager.list::<ListProxy<i64>>().await.unwrap();
    {
        let inner = manager.list_from(&[1i64, 2]).await.unwrap();
        outer.push(&inner).await.unwrap();
        let in_a_dict = manager.dict::<String, ListProxy<i64>>().await.unwrap();
        in_a_dict.insert("x", &inner).await.unwrap();
        outer.push(&in_a_dict.get("x").await.unwrap().unwrap()).await.unwrap();
        // Every local proxy of `inner` (and the dict) is dropped here.
    }
    // Read back, used, dropped — several times, here and in a child: the
    // container's own reference keeps the list alive (Python's does too).
    for _ in 0..3 {
        let inner = outer.get(0).await.unwrap();
        inner.push(&3).await.unwrap();
        drop(inner);
    }
    let mut child = Process::spawn(
        |outer: ListProxy<ListProxy<i64>>| async move { outer.get(1).await.unwrap().to_vec().await.unwrap() },
        outer.clone(),
    )
    .unwrap();
    assert_eq!(bounded(child.join()).await.unwrap(), [1, 2, 3, 3, 3]);
    assert_eq!(outer.get(1).await.unwrap().len().await.unwrap(), 5, "both entries name the same list");
    // Stored proxies encode the same way every time: lookups find them.
    let inner = outer.get(0).await.unwrap();
    assert_eq!(outer.index(&inner).await.unwrap(), 0);
    drop(inner);
    // The container's last proxy goes: it, and what only it held, are freed.
    drop(outer);
    objects_settle_at(&manager, 0).await;
    bounded(manager.shutdown()).await.unwrap();
}

#[ipc::test]
async fn a_proxy_used_outside_a_runtime_says_so() {
    // A synchronous target (no runtime) that drives a proxy with another
    // executor: the call must say what is wrong, not "the manager is gone".
    let manager = bounded(Manager::start()).await.unwrap();
    let d = manager.dict::<u8, u8>().await.unwrap();
    let mut child = Process::spawn(
        |(d, address): (DictProxy<u8, u8>, Address)| {
            let call =
                futures::executor::block_on(d.len()).map_err(|e| (matches!(e, CallError::NoRuntime), e.to_string()));
            // An async connect polled the same way: an error, not a panic.
            let connect = futures::executor::block_on(Client::new(address).connect()).map_err(|e| e.to_string());
            (call.map(drop), connect.map(drop))
        },
        (d.clone(), manager.address().clone()),
    )
    .unwrap();
    let (call, connect) = bounded(child.join()).await.unwrap();
    let (no_runtime, message) = call.unwrap_err();
    assert!(no_runtime && message.contains("tokio runtime"), "{message}");
    assert!(connect.unwrap_err().contains("tokio runtime"));
    // Nothing was left half-made: the proxy works inside a runtime.
    assert_eq!(d.len().await.unwrap(), 0);
    bounded(manager.shutdown()).await.unwrap();
}

#[tokio::test]
async fn a_python_base_manager_is_named_as_such() {
    // Python 3.11's manager server: it passes the (legacy, opted-in)
    // handshake, then answers our first request with a pickled traceback.
    let mut python = tokio::process::Command::new("python3")
        .args([
            "-c",
            "from multiprocessing.managers import BaseManager\n\
             m = BaseManager(address=('127.0.0.1', 0), authkey=b'k')\n\
             s = m.get_server()\n\
             print(s.address[1], flush=True)\n\
             s.serve_forever()",
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(python.stdout.take().unwrap()).lines();
    let port: u16 = bounded(lines.next_line()).await.unwrap().unwrap().parse().unwrap();
    let address = Address::Tcp(([127, 0, 0, 1], port).into());
    // A default key refuses Python 3.11's MD5 handshake, and says how not to.
    let refused = bounded(Manager::connect(address.clone(), b"k")).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("legacy_md5(true)")));
    let manager = bounded(Manager::connect(address, ipc::Authkey::new(b"k").legacy_md5(true))).await.unwrap();
    let made = bounded(manager.dict::<u8, u8>()).await;
    assert!(matches!(made, Err(CallError::NotIpcServer(_))), "{made:?}");
    assert!(made.unwrap_err().to_string().contains("Python"));
    let again = bounded(manager.list::<u8>()).await;
    assert!(matches!(again, Err(CallError::NotIpcServer(_))), "every later call says so too: {again:?}");
    drop(manager);
    python.kill().await.unwrap();
}

#[ipc::test]
async fn dicts_and_queues_take_pythons_shapes() {
    // _TestContainers.test_dict: keys/values/items/popitem/setdefault/update,
    // looked up with what the keys borrow as.
    let manager = bounded(Manager::start()).await.unwrap();
    let d = manager.dict::<String, i64>().await.unwrap();
    d.update(&[("a".to_owned(), 1), ("b".to_owned(), 2)]).await.unwrap();
    assert_eq!(d.setdefault("c", &3).await.unwrap(), 3);
    assert_eq!(d.setdefault("a", &100).await.unwrap(), 1);
    let mut child = Process::spawn(
        |d: DictProxy<String, i64>| async move {
            d.insert("d", &4).await.unwrap();
            (d.keys().await.unwrap(), d.values().await.unwrap(), d.contains_key("b").await.unwrap())
        },
        d.clone(),
    )
    .unwrap();
    let (keys, values, has_b) = bounded(child.join()).await.unwrap();
    assert_eq!(keys, ["a", "b", "c", "d"]);
    assert_eq!(values, [1, 2, 3, 4]);
    assert!(has_b);
    assert_eq!(d.popitem().await.unwrap(), ("d".to_owned(), 4));
    assert_eq!(d.remove("c").await.unwrap(), 3);
    assert_eq!(d.get("a").await.unwrap(), Some(1));
    assert_eq!(d.pop("zz").await.unwrap(), None);
    d.clear().await.unwrap();
    assert!(matches!(d.popitem().await, Err(CallError::Remote(RemoteError::KeyError(_)))));
    // A queue proxy's put takes the item as a Queue's does (or a reference).
    let q: QueueProxy<String> = manager.queue(0).await.unwrap();
    q.put("by value".to_owned()).await.unwrap();
    let by_ref = "by reference".to_owned();
    q.put(&by_ref).await.unwrap();
    q.try_put(String::from("nowait")).await.unwrap();
    assert_eq!(q.get().await.unwrap(), "by value");
    assert_eq!(q.get().await.unwrap(), "by reference");
    assert_eq!(q.get().await.unwrap(), "nowait");
    bounded(manager.shutdown()).await.unwrap();
}

/// A worker that shares only an address and a key with the server: it
/// connects by itself and finds the queues by name.
async fn named_worker((address, key): (Address, Vec<u8>)) -> u64 {
    let manager = Manager::connect(address, ipc::Authkey::new(key)).await.unwrap();
    let tasks: QueueProxy<u64> = manager.named("tasks").await.unwrap();
    let results: QueueProxy<u64> = manager.named("results").await.unwrap();
    let mut done = 0;
    loop {
        let n = tasks.get().await.unwrap();
        if n == 0 {
            return done;
        }
        results.put(n * n).await.unwrap();
        done += 1;
    }
}

#[ipc::test]
async fn separate_programs_find_the_servers_objects_by_name() {
    use ipc::manager::Named;
    const KEY: &[u8] = b"the named objects' key";
    let listener = Listener::builder("127.0.0.1:0".parse().unwrap()).authkey(KEY).bind().unwrap();
    let address = listener.address().clone();
    let server = std::thread::spawn(move || {
        Manager::builder()
            .named("tasks", Named::queue(0))
            .named("results", Named::queue(0))
            .named("config", Named::dict())
            .serve(listener)
    });
    let workers: Vec<_> =
        (0..2).map(|_| Process::spawn(named_worker, (address.clone(), KEY.to_vec())).unwrap()).collect();
    let manager = bounded(Manager::connect(address, KEY)).await.unwrap();
    let tasks: QueueProxy<u64> = manager.named("tasks").await.unwrap();
    let results: QueueProxy<u64> = manager.named("results").await.unwrap();
    for n in 1..=10 {
        tasks.put(n).await.unwrap();
    }
    for _ in &workers {
        tasks.put(0).await.unwrap();
    }
    let mut squares = Vec::new();
    for _ in 1..=10 {
        squares.push(bounded(results.get()).await.unwrap());
    }
    squares.sort();
    assert_eq!(squares, (1..=10).map(|n| n * n).collect::<Vec<_>>());
    let mut done = 0;
    for mut w in workers {
        done += bounded(w.join()).await.unwrap();
    }
    assert_eq!(done, 10);
    // An unknown name and a wrong type are errors, not hangs.
    let missing = manager.named::<QueueProxy<u64>>("nope").await;
    assert!(matches!(missing, Err(CallError::Remote(RemoteError::NoSuchName(ref n))) if n == "nope"), "{missing:?}");
    let wrong = manager.named::<QueueProxy<u64>>("config").await;
    assert!(matches!(wrong, Err(CallError::WrongType { ref found, .. }) if found == "dict"), "{wrong:?}");
    // Named objects live as long as the server, proxies or not.
    drop((tasks, results));
    let config: DictProxy<String, String> = manager.named("config").await.unwrap();
    assert!(config.is_empty().await.unwrap());
    assert_eq!(manager.object_count().await.unwrap(), 3);
    bounded(manager.shutdown()).await.unwrap();
    server.join().unwrap().unwrap();
}

#[ipc::test]
async fn a_started_manager_with_an_address_a_key_and_named_objects() {
    use ipc::manager::Named;
    let m = bounded(
        Manager::builder()
            .address("127.0.0.1:0".parse().unwrap())
            .authkey(b"k2")
            .named("lock", Named::lock())
            .named("items", Named::list(&[1u8, 2]))
            .start(),
    )
    .await
    .unwrap();
    let Address::Tcp(addr) = m.address().clone() else { panic!("a TCP address") };
    assert_ne!(addr.port(), 0, "the port the server got");
    let lock: LockProxy = m.named("lock").await.unwrap();
    assert!(lock.try_acquire().await.unwrap());
    let items: ListProxy<u8> = m.named("items").await.unwrap();
    assert_eq!(items.to_vec().await.unwrap(), [1, 2]);
    // The key is this manager's own, not the tree's.
    let wrong = Manager::connect(m.address().clone(), ipc::current_process().authkey()).await;
    assert!(wrong.is_err());
    bounded(m.shutdown()).await.unwrap();
    // Two objects of one name fail the start.
    let twice = Manager::builder().named("x", Named::dict()).named("x", Named::event()).start().await;
    assert!(twice.is_err_and(|e| e.to_string().contains("two objects named")));
}

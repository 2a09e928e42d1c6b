//! # ipc — Python's `multiprocessing`, async, for tokio
//!
//! `ipc` gives Rust programs what Python's `multiprocessing` gives Python
//! programs — child processes, pipes, locks and the other synchronisation
//! primitives, queues, shared memory, a process pool, and managers — with
//! every cross-process wait a future you `.await` on a tokio
//! runtime.
//!
//! ```
//! #[ipc::main]
//! async fn main() -> ipc::Result<()> {
//!     let (mut here, there) = ipc::Pipe::duplex()?;
//!     // The child gets one end of the pipe as its argument.
//!     let mut child = ipc::Process::spawn(echo_upper, there)?;
//!     here.send(&"hello").await?;
//!     assert_eq!(here.recv::<String>().await?, "HELLO");
//!     drop(here);
//!     assert_eq!(child.join().await?, 1); // messages it echoed
//!     Ok(())
//! }
//!
//! async fn echo_upper(mut conn: ipc::Connection) -> u32 {
//!     let mut n = 0;
//!     while let Ok(s) = conn.recv::<String>().await {
//!         conn.send(&s.to_uppercase()).await.unwrap();
//!         n += 1;
//!     }
//!     n
//! }
//! ```
//!
//! ## Python name → Rust name
//!
//! | Python (`multiprocessing`) | `ipc` | Notes |
//! |---|---|---|
//! | `Process(target=f, args=(a,)).start()` | [`Process::spawn(f, a)`](Process::spawn) | one serde argument (a tuple for several; none: `Process::spawn(\|()\| f(), ())`); sync or async `f`, a function pointer: a capturing closure fails to compile |
//! | `Process(name=…, daemon=…)` | [`Process::builder()`](Process::builder)`.name(…).daemon(…)` | daemons also die when the parent is SIGKILLed |
//! | `set_start_method('forkserver')`, `get_context('spawn')` | [`Builder::start_method`]`(`[`StartMethod::ForkServer`](process::StartMethod::ForkServer)`)` | per child; `Spawn` (a fresh `exec`) is the default |
//! | `p.join()` | [`p.join().await`](Process::join) | returns the target's return value |
//! | `p.join(timeout)` | [`p.join_timeout(d).await`](Process::join_timeout) | |
//! | `p.pid`, `p.name`, `p.daemon` | [`pid()`](Process::pid), [`name()`](Process::name), [`daemon()`](Process::daemon) | |
//! | `p.is_alive()`, `p.exitcode` | [`is_alive()`](Process::is_alive), [`exitcode()`](Process::exitcode) | `-N` for signal `N` |
//! | `p.terminate()`, `p.kill()` | [`terminate()`](Process::terminate), [`kill()`](Process::kill) | |
//! | `p.run()` (subclassing `Process`) | a target function taking the state as its argument | no subclassing |
//! | `current_process()`, `parent_process()` | [`current_process()`], [`parent_process()`] | |
//! | `active_children()`, `cpu_count()` | [`active_children()`], [`cpu_count()`] | |
//! | `current_process().authkey` | [`current_process().authkey()`](CurrentProcess::authkey) | 32 random bytes, inherited |
//! | `if __name__ == '__main__':` | `#[ipc::main]` (or [`ipc::init()`](init)) | children never run `main` |
//! | `Pipe()` / `Pipe(duplex=False)` | [`Pipe::duplex()`] / [`Pipe::simplex()`] | simplex is `(receiver, sender)` as in Python |
//! | `conn.send(obj)` / `conn.recv()` | [`send(&v).await`](Connection::send) / [`recv::<T>().await`](Connection::recv) | serde + bincode, not pickle; may carry handles |
//! | `conn.poll()` then `conn.recv()` | [`try_recv::<T>()`](Connection::try_recv), [`recv_timeout`](Connection::recv_timeout) | |
//! | sharing one end between processes | [`try_clone()`](Connection::try_clone) | messages ≤ 64 KiB stay whole |
//! | `conn.send_bytes(b)` / `conn.recv_bytes(n)` | [`send_bytes`](Connection::send_bytes) / [`recv_bytes`](Connection::recv_bytes) | wire-compatible with Python |
//! | `conn.recv_bytes_into(buf)` | [`recv_bytes_into`](Connection::recv_bytes_into) | |
//! | `conn.poll()`, `conn.poll(t)`, `conn.poll(None)`, `conn.fileno()`, `conn.close()` | [`poll(Some(Duration::ZERO))`](Connection::poll), `poll(Some(d))`, `poll(None)` (and [`blocking_poll`](Connection::blocking_poll), the same), `as_raw_fd()`, [`close()`](Connection::close) | |
//! | `EOFError`, `BufferTooShort` | [`RecvError::Eof`], [`RecvError::BufferTooShort`] | |
//! | `Listener(address, authkey=k)`, `l.accept()` | [`Listener::builder(a)`](Listener::builder)`.authkey(k).bind()`, [`accept().await`](Listener::accept) | Unix path, abstract (`@name`) or TCP [`Address`]; handshakes run concurrently, so a failed or silent peer holds up nobody; local peers of other users are refused ([`LocalPeers`]) |
//! | `Client(address, authkey=k)` | [`Client::new(a)`](Client::new)`.authkey(k).`[`connect().await`](Client::connect) | Python's handshake, both generations ([`Authkey`]) |
//! | `AuthenticationError` | [`AuthenticationError`] (in [`AcceptError`] / [`ConnectError`]) | on both sides |
//! | `Event()` | [`Event::new()`] | a handle: clone it, pass it to children |
//! | `e.set()`, `e.clear()`, `e.is_set()` | [`set()`](Event::set), [`clear()`](Event::clear), [`is_set()`](Event::is_set) | |
//! | `e.wait()`, `e.wait(timeout)` | [`wait().await`](Event::wait), [`wait_timeout(d).await`](Event::wait_timeout) | `true`/`false` as in Python |
//! | `BrokenPipeError` | [`SendError::BrokenPipe`] | never a SIGPIPE |
//! | `Lock()`, `with lock:` | [`Lock::new()`], [`lock().await`](Lock::lock) → [`LockGuard`] ([`lock_owned`](Lock::lock_owned) → [`OwnedLockGuard`], `'static`) | not re-entrant |
//! | `lock.acquire()`, `acquire(False)`, `acquire(timeout=t)` | [`acquire().await`](Lock::acquire), [`try_acquire()`](Lock::try_acquire), [`acquire_timeout(d)`](Lock::acquire_timeout) | `bool` as in Python |
//! | `lock.release()` | [`release()`](Lock::release) | any process; unlocked is [`SyncError::NotLocked`] |
//! | — (Python hangs when a holder dies) | [`LockError::OwnerDied`] (with the guard), [`LockGuard::make_consistent`] | |
//! | `RLock()` | [`RLock::new()`], [`lock().await`](RLock::lock), [`acquire`](RLock::acquire)/[`release`](RLock::release) | owner = task or thread; others get [`SyncError::NotOwner`] |
//! | `Semaphore(n)`, `BoundedSemaphore(n)` | [`Semaphore::new(n)`](Semaphore::new), [`Semaphore::bounded(n)`](Semaphore::bounded) | `u32`: a negative count cannot be written |
//! | `sem.acquire()`, `acquire(timeout=t)`, `release()`, `get_value()` | [`acquire().await`](Semaphore::acquire) → [`SemaphorePermit`] ([`acquire_owned`](Semaphore::acquire_owned) → [`OwnedSemaphorePermit`]), [`acquire_timeout`](Semaphore::acquire_timeout), [`release()`](Semaphore::release), [`get_value()`](Semaphore::get_value) | [`SemaphorePermit::forget`] for Python's release-elsewhere style |
//! | `Condition(lock)`, `with cond:` | [`Condition::new()`], [`Condition::with_lock`], [`lock().await`](Condition::lock) → [`ConditionGuard`] | |
//! | `cond.wait()`, `wait(t)`, `wait_for(p, t)` | [`wait()`](ConditionGuard::wait), [`wait_timeout`](ConditionGuard::wait_timeout), [`wait_for`](ConditionGuard::wait_for), [`wait_for_timeout`](ConditionGuard::wait_for_timeout) | waiting without the lock does not compile |
//! | `cond.notify(n)`, `notify_all()` | [`ConditionGuard::notify`], [`ConditionGuard::notify_all`] ([`Condition::notify`] checks the lock) | |
//! | `Barrier(n)`, `wait()`, `abort()`, `reset()` | [`Barrier::new(n)`](Barrier::new), [`wait().await`](Barrier::wait) → index, [`abort()`](Barrier::abort), [`reset()`](Barrier::reset) | no `action` callable |
//! | `broken`, `n_waiting`, `parties`, `BrokenBarrierError` | [`is_broken()`](Barrier::is_broken), [`n_waiting()`](Barrier::n_waiting), [`parties()`](Barrier::parties), [`SyncError::BrokenBarrier`] | |
//! | `Queue(maxsize)`, `Queue()` | [`Queue::bounded(n)`](Queue::bounded), [`Queue::unbounded()`](Queue::unbounded) | [`Queue::with_ring`] sizes the shared ring |
//! | `q.put(x)`, `q.get()` | [`put(x).await`](Queue::put), [`get().await`](Queue::get) | a refused put hands `x` back in [`PutError`] |
//! | `put(x, timeout=t)`, `get(timeout=t)` | [`put_timeout`](Queue::put_timeout), [`get_timeout`](Queue::get_timeout) | |
//! | `put_nowait(x)`, `get_nowait()`; `Full`, `Empty` | [`try_put`](Queue::try_put), [`try_get`](Queue::try_get); [`PutError::Full`], [`GetError::Empty`] | |
//! | `qsize()`, `empty()`, `full()` | [`qsize()`](Queue::qsize), [`is_empty()`](Queue::is_empty), [`is_full()`](Queue::is_full) | exact, in every process |
//! | `close()`, `join_thread()`, `cancel_join_thread()` | [`close()`](Queue::close) | no feeder thread: `put` returns with the item in shared memory, so the other two have nothing to do; `close` here ends the queue for consumers too |
//! | one `None` sentinel per consumer | [`close()`](Queue::close), then [`GetError::Closed`] / the end of [`stream()`](Queue::stream) | |
//! | `JoinableQueue()`; `task_done()`; `join()` | [`JoinableQueue`]; [`task_done()`](JoinableQueue::task_done) ([`TaskDoneError`] once too often); [`join().await`](JoinableQueue::join) | |
//! | `SimpleQueue()` | [`SimpleQueue::new()`] | |
//! | `Value('d', 10.0)`; `v.value`; `v.value = x` | [`Value::new(10.0)`](Value::new); [`load().await`](Value::load); [`store(x).await`](Value::store) | any [`ShmSafe`] type |
//! | `with v.get_lock(): v.value += 1` | `*v.`[`get_lock().await`](Value::get_lock)`? += 1` | the guard derefs to the value; a dead holder is [`LockError::OwnerDied`] |
//! | `lock = v.get_lock()`; `with lock:` | [`v.lock()`](Value::lock) → [`DataLock`]: [`lock().await`](DataLock::lock) → [`LockGuard`] | guards only: no `acquire()`/`release()` that could free it under a live guard |
//! | `Array('i', [1, 2, 3])`, `Array('i', 10)` | [`Array::new(&[1, 2, 3])`](Array::new), [`Array::zeroed(10)`](Array::zeroed) | |
//! | `a[i]`, `a[i] = x`, `a[:]`, `a[:] = xs` | [`get(i)`](Array::get), [`set(i, x)`](Array::set), [`to_vec()`](Array::to_vec), [`assign(&xs)`](Array::assign) | [`AccessError`] for a bad index or length; [`get_lock()`](Array::get_lock) derefs to `[T]` |
//! | `RawValue`, `RawArray`, `lock=False` | [`RawValue`], [`RawArray`] | copies that may tear when they race, as in Python |
//! | a ctypes `Structure` | `#[derive(ipc::ShmSafe)] #[repr(C)] struct …` | the derive checks the `repr` and every field |
//! | `SharedMemory(create=True, size=n)`, `SharedMemory(name)` | [`SharedMemory::create(None, n)`](SharedMemory::create), [`SharedMemory::open(name)`](SharedMemory::open) | Python's names: either language attaches to the other's blocks |
//! | `shm.buf[a:b]`, `shm.name`, `shm.size` | [`read_at`](SharedMemory::read_at) / [`write_at`](SharedMemory::write_at) (or `unsafe` [`as_slice`](SharedMemory::as_slice)), [`name()`](SharedMemory::name), [`size()`](SharedMemory::size) | |
//! | `shm.close()`, `shm.unlink()`, `track=False` (3.13) | [`close()`](SharedMemory::close), [`unlink()`](SharedMemory::unlink), [`persist()`](SharedMemory::persist) | a resource tracker unlinks what a killed tree left |
//! | `ShareableList(seq)`, `ShareableList(name=n)` | [`ShareableList::create(None, seq)`](ShareableList::create), [`ShareableList::open(n)`](ShareableList::open) | CPython's layout, byte for byte |
//! | `sl[i]`, `sl[i] = v`, `len(sl)`, `sl.index(v)`, `sl.count(v)` | [`get(i)`](ShareableList::get), [`set(i, v)`](ShareableList::set), [`len()`](ShareableList::len), [`index(&v)`](ShareableList::index) (→ `Option`), [`count(&v)`](ShareableList::count) | values are [`shared::Item`]s |
//! | `Pool(n)`, `Pool(initializer=, maxtasksperchild=)` | [`Pool::new(n)`](Pool::new), [`Pool::builder()`](Pool::builder) | |
//! | `apply`, `apply_async` | [`apply(f, a).await`](Pool::apply), [`apply_async(f, a)`](Pool::apply_async) → [`TaskHandle`] | dropping the handle detaches the task (it still runs); [`abort()`](TaskHandle::abort) cancels it |
//! | `apply_async(..., callback=f, error_callback=g)` | [`.callback(f)`](TaskHandle::callback), [`.error_callback(g)`](TaskHandle::error_callback) | run in this process when the work ends, handle kept or not |
//! | `AsyncResult`: `get()`, `get(t)`, `wait(t)`, `ready()`, `successful()` | `.await` / [`blocking_get()`](TaskHandle::blocking_get), [`get_timeout(d)`](TaskHandle::get_timeout) ([`TaskError::Timeout`]), [`wait_timeout(d)`](TaskHandle::wait_timeout), [`ready()`](TaskHandle::ready), [`successful()`](TaskHandle::successful) (→ `Option`) | |
//! | `map(f, xs, chunksize)`, `starmap(f, xs, chunksize)` | [`map`](Pool::map), [`map_chunked`](Pool::map_chunked), [`starmap`](Pool::starmap), [`starmap_chunked`](Pool::starmap_chunked) | the first failure in item order |
//! | `map_async`, `starmap_async` | [`map_async`](Pool::map_async) / [`map_async_chunked`](Pool::map_async_chunked), [`starmap_async`](Pool::starmap_async) / [`starmap_async_chunked`](Pool::starmap_async_chunked) → [`TaskHandle<Vec<R>>`](TaskHandle) | the work starts at once |
//! | `imap(f, xs, chunksize)`, `imap_unordered(f, xs, chunksize)` | [`imap`](Pool::imap) / [`imap_chunked`](Pool::imap_chunked) / [`imap_stream`](Pool::imap_stream), [`imap_unordered`](Pool::imap_unordered) / [`imap_unordered_chunked`](Pool::imap_unordered_chunked) | `Stream`s, lazy input, per-task `Result`; `next()` under `tokio::time::timeout` (Python's `next(timeout)`) loses nothing |
//! | `close()`, `join()`, `terminate()` | [`close()`](Pool::close), [`join().await`](Pool::join), [`terminate().await`](Pool::terminate) | drop = terminate |
//! | — (a dead worker hangs Python's pool) | [`TaskError::WorkerDied`] | only its tasks fail; it is replaced |
//! | `Manager()`, `with Manager() as m:` | [`Manager::start().await`](Manager::start); drop or [`shutdown().await`](Manager::shutdown) | the server is a daemon child, reaped at shutdown |
//! | `m.dict()`, `m.list(seq)`, `m.Namespace()`, `m.Value(t, v)` | [`dict`](Manager::dict), [`list`](Manager::list) / [`list_from`](Manager::list_from), [`namespace`](Manager::namespace), [`value`](Manager::value) | typed proxies of serde values; proxies are handles |
//! | `d[k] = v`, `d[k]`, `del d[k]`, `k in d` | [`insert`](manager::DictProxy::insert), [`get`](manager::DictProxy::get), [`remove`](manager::DictProxy::remove), [`contains_key`](manager::DictProxy::contains_key) | keys by what they borrow as (`&str` for `String`) |
//! | `d.keys()`, `values()`, `items()`, `popitem()`, `setdefault(k, v)`, `update(pairs)` | [`keys`](manager::DictProxy::keys), [`values`](manager::DictProxy::values), [`items`](manager::DictProxy::items), [`popitem`](manager::DictProxy::popitem), [`setdefault`](manager::DictProxy::setdefault), [`update`](manager::DictProxy::update) | |
//! | `l.append(x)`, `q.put(x)`, `q.put_nowait(x)` | [`push`](manager::ListProxy::push), [`put`](manager::QueueProxy::put), [`try_put`](manager::QueueProxy::try_put) | a proxy's put takes the item or a reference; a [`Queue`]'s takes the item, to hand it back if refused |
//! | `m.Queue()`, `m.JoinableQueue()`, `LifoQueue`, `PriorityQueue` | [`queue`](Manager::queue), [`joinable_queue`](Manager::joinable_queue), [`lifo_queue`](Manager::lifo_queue), [`priority_queue`](Manager::priority_queue) | waits happen in the server; cancel safe |
//! | `m.Array(t, seq)` | [`array`](Manager::array) | fixed length, any serde item |
//! | `m.Lock()`, `m.RLock()`, `m.Event()` | [`lock`](Manager::lock), [`rlock`](Manager::rlock), [`event`](Manager::event) | a dead holder's lock is released; an `RLock` is owned by a task |
//! | `m.Semaphore(n)`, `m.BoundedSemaphore(n)` | [`semaphore`](Manager::semaphore), [`bounded_semaphore`](Manager::bounded_semaphore) | cancel-safe `acquire` |
//! | `m.Condition()`, `m.Barrier(n)` | [`condition`](Manager::condition), [`barrier`](Manager::barrier) | a party dying at the barrier breaks it |
//! | `BaseManager.register('Maths', MathsClass)`; `manager.Maths()` | `#[derive(`[`Managed`](macro@Managed)`)]` + [`#[ipc::managed]`](managed) with `#[expose]`; [`Manager::builder().register::<T>()`](manager::ManagerBuilder::register); [`create(&value)`](Manager::create) | a typed `<Type>Proxy` with `async` methods |
//! | `proxy._callmethod(name, args)` | [`Proxy::call_method`](manager::Proxy::call_method) | only exposed methods answer |
//! | `SharedMemoryManager()`; `SharedMemory(n)`, `ShareableList(seq)` | [`SharedMemoryManager::start`](manager::SharedMemoryManager::start); [`shared_memory`](manager::SharedMemoryManager::shared_memory), [`shareable_list`](manager::SharedMemoryManager::shareable_list) | unlinked at its shutdown |
//! | `KeyError`, `IndexError`, `queue.Empty`… from a proxy | [`CallError::Remote`]`(`[`RemoteError`]`::KeyError(_))`… | the kind survives |
//! | `BaseManager(address, authkey).connect()`, `get_server().serve_forever()` | [`Manager::connect`], [`manager::serve`] | TCP or Unix, Python's handshake |
//! | `BaseManager(address=a, authkey=k).start()` | [`Manager::builder()`](Manager::builder)`.`[`address(a)`](manager::ManagerBuilder::address)`.`[`authkey(k)`](manager::ManagerBuilder::authkey)`.start()` | |
//! | `register('get_queue', callable=...)`; client `register('get_queue')`, `m.get_queue()` | [`ManagerBuilder::named`](manager::ManagerBuilder::named)`("queue", `[`Named::queue(0)`](manager::Named::queue)`)`; [`m.named::<QueueProxy<T>>("queue")`](Manager::named) | unknown name: [`RemoteError::NoSuchName`]; another type: [`CallError::WrongType`] |
//!
//! ## Every wait, four ways
//!
//! Waiting operations come as one family, as in tokio and crossbeam:
//! `op().await` (cancel safe, documented per method), `try_op()` (never
//! waits), `op_timeout(d).await`, and `blocking_op()` /
//! `blocking_op_timeout(d)` for synchronous code (a sync child target, say):
//! [`Connection::recv`], [`try_recv`](Connection::try_recv),
//! [`recv_timeout`](Connection::recv_timeout),
//! [`blocking_recv`](Connection::blocking_recv),
//! [`blocking_recv_timeout`](Connection::blocking_recv_timeout); and
//! [`Process::join`], [`join_timeout`](Process::join_timeout),
//! [`blocking_join`](Process::blocking_join),
//! [`blocking_join_timeout`](Process::blocking_join_timeout) (a join that
//! never waits is [`Process::exitcode`]); [`Lock::lock`],
//! [`try_lock`](Lock::try_lock), [`lock_timeout`](Lock::lock_timeout),
//! [`blocking_lock`](Lock::blocking_lock),
//! [`blocking_lock_timeout`](Lock::blocking_lock_timeout), and likewise for
//! `RLock`, `Semaphore`, `Event`, `Condition` and `Barrier`. The blocking
//! forms need no runtime, which a synchronous child target does not have:
//! [`Array`] and [`Value`] ([`blocking_get`](Array::blocking_get),
//! [`blocking_load`](Value::blocking_load)…), the [`Pool`]
//! ([`blocking_new`](Pool::blocking_new), [`blocking_map`](Pool::blocking_map),
//! [`blocking_imap`](Pool::blocking_imap) as an iterator,
//! [`TaskHandle::blocking_get`]…), and every manager proxy method
//! ([`Manager::blocking_start`], `d.blocking_insert(k, &v)`…; see
//! [the blocking forms](manager#blocking-forms)). A test checks over the
//! sources that every public async method has its `blocking_*` twin.
//!
//! **Blocking forms inside a runtime.** Unlike tokio's `blocking_*`
//! methods, ours do not panic inside a runtime: each waits in poll(2) on a
//! descriptor of its own for another process (or thread), never for a task
//! of the calling runtime, so a bounded blocking call there is fine. It
//! does hold the thread while it waits: on a current-thread runtime, if
//! what it waits for is a task of that same runtime (another task holds
//! the lock), it never returns, so await the async form there. The one wait
//! that could never end by construction — a [`Pool`]'s blocking form, on
//! the thread of the current-thread runtime the pool runs on, that would
//! have to wait — panics instead, as its `# Panics` sections say.
//!
//! ## Cargo features
//!
//! | feature | default | adds |
//! |---|---|---|
//! | `pool` | on | [`pool`]: [`Pool`], [`TaskHandle`] (needs `rt-multi-thread`, for the runtime of [`PoolBuilder::blocking_build`]) |
//! | `manager` | on | [`manager`]: [`Manager`], its proxies, [`#[derive(Managed)]`](macro@Managed) / [`#[ipc::managed]`](managed) types, remote managers, `SharedMemoryManager` |
//! | `tracing` | on | events and spans through [`tracing`](https://docs.rs/tracing) ([Diagnostics](#diagnostics)) |
//! | `rt-multi-thread` | on (through `pool`) | tokio's multi-threaded scheduler: the default flavor of `#[ipc::main]` and `flavor = "multi_thread"` |
//! | `legacy-md5` | off | `Authkey::legacy_md5`, the HMAC-MD5 handshake of Python ≤ 3.11 peers |
//!
//! With `default-features = false` the crate is its core: processes,
//! pipes and listeners, the synchronisation primitives, the queues and
//! shared memory, on tokio's `rt`, `net`, `time`, `sync` and `macros` (for
//! `tokio::select!`) only. Without `rt-multi-thread`, `#[ipc::main]` needs
//! `flavor = "current_thread"` and says so at compile time.
//!
//! ```toml
//! [dependencies]
//! ipc = { version = "0.1", default-features = false, features = ["tracing"] }
//! ```
//!
//! ## Diagnostics
//!
//! With the `tracing` feature (on by default) the crate emits
//! [`tracing`](https://docs.rs/tracing) events for what happens between
//! processes, for your subscriber (`tracing_subscriber::fmt::init()`, with
//! `RUST_LOG=ipc=debug` through its `env-filter`): a child spawned
//! (debug: pid, name, daemon, forked) or reaped (debug: its status); a pool
//! worker that died (warn: its exit code, whether a task failed) and its
//! replacement (info), a worker retired after `max_tasks_per_child`
//! (debug); the fork server started or failed (info, warn); a lock taken
//! over from a dead holder (warn: its pid) and a semaphore's permits
//! recovered from dead holders (warn); a peer refused at the authkey
//! handshake, on either side (warn); a manager object made or freed and a
//! manager client gone (debug, from a server this process runs). Spans:
//! `ipc.pool.slot` around each pool slot's work (its events carry the
//! worker's pid), `ipc.manager.call` around each call a server serves
//! (object, method, caller). The fast paths — an uncontended lock, a
//! queue's put and get, a pipe's send — emit nothing. A child process has
//! no subscriber unless it sets one up: a started manager's server, for
//! one, is a child.
//!
//! ## How it works
//!
//! - **Children** are the same executable re-executed (Python's `spawn`),
//!   started with `posix_spawn` and one inherited socket; a target is a
//!   function pointer (`fn(A) -> T`, which an `fn` item or a closure that
//!   captures nothing coerces to, and a capturing closure fails `cargo
//!   check` at the closure), and it travels as its address and that of a
//!   trampoline monomorphised for its types, relative to an anchor function,
//!   so targets need no registration. Deaths are observed with pidfds: no `SIGCHLD` handler, no
//!   zombies, and a child that dies early is an error at once. Pool workers
//!   are copies of a *fork server* instead (Python's `forkserver`): an idle
//!   process of the same executable, started once, that makes each copy
//!   with `clone(CLONE_PARENT)`, so the copy is still our child, in our
//!   working directory and environment of the moment, and boots as any
//!   child does — without paying for a fresh `exec` each time.
//! - **Handles travel as file descriptors**: serializing a handle inside a
//!   transfer (spawn argument, return value, [`Connection::send`]) moves its
//!   descriptors out of band with `SCM_RIGHTS`. Anywhere else it is an error.
//! - **Values** are serde + bincode. Byte payloads move as one block,
//!   without wrapping them: `Vec<u8>`, `[u8]`, `Box<[u8]>` and
//!   `VecDeque<u8>` anywhere inside a value (serde sees them as sequences of
//!   `u8`s; the codec recognizes them by type and writes one byte string,
//!   the same bytes bincode would write), like `String`, `bytes::Bytes` and
//!   `serde_bytes` types, which serde already sees as one string.
//! - **Frames** are Python's: a 4-byte big-endian length (or `-1` and an
//!   8-byte length), read incrementally so every receive is cancel safe and a
//!   lying length never allocates more than actually arrived.
//! - **Waiting** is one mechanism for every primitive: state words in a
//!   shared `memfd` region, a count of sleepers, and an eventfd awaited
//!   through the tokio reactor (no thread per waiter), in two modes like a
//!   futex's wake-one and wake-all: *tokens* taken by the sleepers they wake
//!   (locks, semaphores) and a *doorbell* that is rung but never read, so
//!   every sleeper re-checks its own condition and none can take another's
//!   wake-up (events, conditions, barriers). A waker makes no system call
//!   when nobody sleeps, and a wake-one waker claims the sleeper it posts
//!   for, so each sleeper is woken once however many releases come before
//!   it runs; a waiter first spins on the word for a learned budget, so a
//!   cross-process [`Event`] round trip costs well under a microsecond
//!   when the peer is quick, and nothing extra when it is not. Waits on
//!   what is held only briefly (a queue's locks, items, room) then yield
//!   the CPU for a learned while, so a queue keeps its pace when processes
//!   outnumber CPUs.
//!   The loop is written once (the internal `wake` module's engine): each
//!   primitive gives it a *step* (its attempt and recheck), each operation
//!   is one `async fn` generic over how it sleeps, and a `blocking_*` form
//!   is that same function with a park that sleeps in poll(2), run to its
//!   end in one poll.
//! - **Owner death**: lock words name their holder by pid and start time.
//!   Sleepers also watch the holder's pidfd, so a holder's death (even by
//!   SIGKILL) hands the lock to the next acquirer as
//!   [`LockError::OwnerDied`] at once; permits of dead semaphore holders are
//!   given back by waiters that look every 20 ms.
//! - **Shared data**: [`Value`] and [`Array`] live in anonymous `memfd`
//!   regions (they vanish with the last process holding them) beside a
//!   robust [`Lock`]; named [`SharedMemory`] blocks live in `/dev/shm` with
//!   Python's names, and a *resource tracker* (a child that outlives the
//!   tree, watching a pipe every process of the tree holds) unlinks the
//!   blocks a tree created and never unlinked once its last process is
//!   gone, however it died.
//! - **Pool**: each worker has its own [`Connection`] and a task in the
//!   pool that keeps it busy from one shared queue of jobs. A job is a
//!   chunk of tasks encoded as one message (the target named by its
//!   address and its chunk runner's, as for spawn), answered as one message of
//!   outcomes, so `map` costs an encode and a decode per task; a worker
//!   whose jobs are short is sent several at once, as many as fit in
//!   200 µs of its measured pace. Answers come in order, so when a
//!   connection ends the pool knows the job its worker died running: only
//!   that job's tasks fail, the jobs it had not started go back to the
//!   queue, and a replacement starts.
//! - **Managers**: the server is a spawned child serving a [`Listener`] on
//!   an abstract address with a random authkey, on one thread. Each process
//!   keeps one connection per server, with request ids, so calls pipeline;
//!   a call that must wait moves to a task of its own in the server. A
//!   lone caller reads its own reply, spinning briefly, so a quick call
//!   wakes no thread on either side; a task's concurrent calls leave in
//!   a few writes (the server told to spin for the next) and their replies
//!   come back in batches.
//!   References are counted per connection (a closed connection gives its
//!   references and locks back), and a proxy in transit holds a reference
//!   under a token until the receiving process adopts it. Custom types are
//!   registered as a type-level list that is part of the server child's
//!   target (`server_main::<(B, (A, ()))>`), so the server knows them from
//!   its own code and only names and data cross a connection.
//! - **Platform code** lives in one internal `sys` module (Linux: pidfd,
//!   `SCM_RIGHTS`, `PR_SET_PDEATHSIG`).
#![deny(unsafe_code)]
// docs.rs (nightly, `--cfg docsrs`) marks what each feature adds.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Only the features, marked by hand below: not the internal `ipc_loom` cfg.
#![cfg_attr(docsrs, doc(auto_cfg = false))]
#![doc(test(attr(deny(warnings))))]
// Without `tracing` the event macros drop their fields, and values kept only
// for an event go unused; the default build (which CI lints) keeps the lint.
#![cfg_attr(not(feature = "tracing"), allow(unused_variables, unused_assignments))]
// The core keeps the pieces the pool and the manager build on (the fork
// server's entry points, frame helpers, span macros...): without those
// features they go unused, and the full build, which CI lints, catches what
// is dead in every build.
#![cfg_attr(not(all(feature = "pool", feature = "manager")), allow(dead_code, unused_imports, unused_macros))]

// One clear message instead of whichever system call is missing first.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "ipc supports Linux only: it is built on memfd, eventfd, pidfd, abstract Unix \
     sockets and SCM_RIGHTS, which other systems lack or spell differently"
);

#[allow(unused_extern_crates)] // lets `::ipc::` paths from our own macros resolve in unit tests
extern crate self as ipc;

#[cfg(not(ipc_loom))]
mod codec;
#[cfg(not(ipc_loom))]
mod deadline;
#[cfg(not(ipc_loom))]
mod error;
#[cfg(ipc_loom)]
#[path = "queue/flavor.rs"]
mod flavor;
#[cfg(not(ipc_loom))]
mod handle;
mod loom;
#[cfg(all(not(ipc_loom), feature = "manager"))]
#[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
pub mod manager;
#[cfg(not(ipc_loom))]
pub mod pipe;
#[cfg(all(not(ipc_loom), feature = "pool"))]
#[cfg_attr(docsrs, doc(cfg(feature = "pool")))]
pub mod pool;
#[cfg(not(ipc_loom))]
pub mod process;
#[cfg(not(ipc_loom))]
pub mod queue;
/// Under the model checker: the queue's ring protocol alone, for its model
/// (the rest of `queue` needs the operating system).
#[cfg(ipc_loom)]
#[path = "queue/ring.rs"]
mod ring;
#[cfg(not(ipc_loom))]
pub mod shared;
#[cfg(not(ipc_loom))]
mod shm;
pub mod sync;
#[cfg(not(ipc_loom))]
mod sys;
#[cfg(not(ipc_loom))]
mod trace;
mod wake;

#[cfg(not(ipc_loom))]
#[doc(hidden)]
#[cfg(not(ipc_loom))]
pub mod __private;
#[cfg(all(not(ipc_loom), any(test, feature = "fuzzing")))]
#[doc(hidden)]
pub mod fuzz;

#[cfg(not(ipc_loom))]
pub use codec::{DecodeError, EncodeError};
#[cfg(not(ipc_loom))]
pub use error::{Error, Result};
#[cfg(not(ipc_loom))]
pub use ipc_macros::ShmSafe;
#[cfg(all(not(ipc_loom), feature = "rt-multi-thread"))]
pub use ipc_macros::{main, test};
// Without the multi-threaded scheduler the attributes refuse its flavor at
// compile time, with a message naming the feature (as tokio's do).
#[cfg(all(not(ipc_loom), feature = "manager"))]
#[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
pub use ipc_macros::{Managed, managed};
#[cfg(all(not(ipc_loom), not(feature = "rt-multi-thread")))]
pub use ipc_macros::{main_rt as main, test_rt as test};
#[cfg(all(not(ipc_loom), feature = "manager"))]
#[cfg_attr(docsrs, doc(cfg(feature = "manager")))]
pub use manager::{CallError, Managed, Manager, RemoteError};
#[cfg(not(ipc_loom))]
pub use pipe::{
    AcceptError, Address, AuthenticationError, Authkey, Client, ConnectError, Connection, Listener, ListenerBuilder,
    LocalPeers, Pipe, RecvError, SendError,
};
#[cfg(all(not(ipc_loom), feature = "pool"))]
#[cfg_attr(docsrs, doc(cfg(feature = "pool")))]
pub use pool::{Pool, PoolBuilder, PoolError, TaskError, TaskHandle};
#[cfg(not(ipc_loom))]
pub use process::{
    Builder, ChildInfo, CurrentProcess, JoinError, ParentProcess, Process, SpawnError, active_children, cpu_count,
    current_process, parent_process,
};
#[cfg(not(ipc_loom))]
pub use queue::{GetError, JoinableQueue, PutError, PutRefused, Queue, SimpleQueue, TaskDoneError};
#[cfg(not(ipc_loom))]
pub use shared::{
    AccessError, Array, ArrayGuard, ArrayResult, DataLock, RawArray, RawValue, ShareableList, SharedMemory, ShmSafe,
    Value, ValueGuard,
};
#[cfg(not(ipc_loom))]
pub use sync::{
    Barrier, Condition, ConditionGuard, Event, Lock, LockError, LockGuard, OwnedLockGuard, OwnedSemaphorePermit, RLock,
    RLockGuard, Semaphore, SemaphorePermit, SyncError, TryLockError,
};

#[cfg(not(ipc_loom))]
/// Installs the dispatch without the `#[ipc::main]` attribute: call it first
/// thing in `main` (criterion benches, hand-written runtimes). In a child it
/// runs the child's target and exits; in the main process it returns and
/// spawning becomes possible.
///
/// # Examples
///
/// ```
/// fn main() -> ipc::Result<()> {
///     ipc::init();
///     let mut p = ipc::Process::spawn(|x: u8| x + 1, 1)?;
///     assert_eq!(p.blocking_join()?, 2);
///     Ok(())
/// }
/// ```
pub fn init() {
    process::dispatch_main();
}

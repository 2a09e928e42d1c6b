//! One connection's requests and replies: requests read ahead and handled
//! in order, waiting calls moved to tasks of their own, replies batched
//! (see the server's docs).

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use tokio::sync::Notify;

use super::super::error::RemoteError;
use super::super::protocol::{MAX_FRAME, Op, Reply, Request};
use super::{Caller, Server, encode};
use crate::codec;
use crate::pipe::{Connection, TrySend, push_frame_with};

pub(super) async fn serve_connection(server: Arc<Server>, mut conn: Connection, caller: Caller) {
    let Ok(writer) = conn.try_clone() else { return };
    let outbox = Arc::new(Outbox::new(writer));
    let writing = tokio::spawn(write_replies(outbox.clone()));
    let waiting: Arc<Mutex<HashMap<u64, tokio::task::AbortHandle>>> = Arc::default();
    let mut stopped = server.stop.subscribe();
    conn.read_ahead();
    // The client said more requests are on their way (`Op::More`).
    let mut more_coming = false;
    'serve: loop {
        // The replies to a burst of requests leave together, a few at a
        // time: few system calls, and the caller sees the first ones early
        // (while it still spins for them).
        let buffered = conn.frame_buffered();
        // Also flush a backlog made of few large replies, or the wait below
        // would wait for a write nobody started.
        if !buffered || outbox.batched() >= REPLY_BATCH || outbox.backlog() >= MAX_BACKLOG {
            outbox.flush();
        }
        while outbox.backlog() >= MAX_BACKLOG {
            tokio::select! {
                _ = stopped.changed() => break 'serve,
                _ = outbox.written.notified() => {}
            }
        }
        let spun = if !buffered && std::mem::take(&mut more_coming) {
            conn.spin_recv_frame_for(MAX_FRAME, MORE_SPIN).transpose()
        } else {
            None
        };
        let frame = if let Some(frame) = spun {
            frame
        } else if buffered {
            // Returns at once; `stop` is looked at whenever the loop waits.
            conn.recv_frame(MAX_FRAME).await
        } else {
            tokio::select! {
                _ = stopped.changed() => break,
                frame = conn.recv_frame(MAX_FRAME) => frame,
            }
        };
        let Ok((bytes, _fds)) = frame else { break };
        let request = match codec::decode_borrowed::<Request<'_>>(&bytes) {
            Ok(request) => request,
            Err(e) => {
                // Garbage from an authenticated peer: say so, keep serving.
                outbox.push(&Reply { id: 0, result: Err(RemoteError::BadRequest(e.to_string())) });
                continue;
            }
        };
        let id = request.id;
        let reply = |result| {
            if id != 0 {
                outbox.push(&Reply { id, result });
            }
        };
        match request.op {
            Op::Create { type_name, args } => reply(server.create(caller, &type_name, &args)),
            Op::TypeOf { object } => reply(server.object(object).and_then(|o| encode(&o.type_name()))),
            Op::Lookup { name } => reply(server.lookup(caller, &name)),
            Op::Call { object: object_id, method, args } => {
                let object = match server.object(object_id) {
                    Ok(object) => object,
                    Err(e) => {
                        reply(Err(e));
                        continue;
                    }
                };
                // Methods that never wait run here, without a future.
                let now = || {
                    let call_now = || object.call_now(&method, &args, caller);
                    crate::trace::in_span!(["ipc.manager.call", object = object_id, method = %method, caller], call_now())
                };
                match std::panic::catch_unwind(AssertUnwindSafe(now)) {
                    Ok(Some(result)) => {
                        reply(result);
                        continue;
                    }
                    Ok(None) => {}
                    Err(panic) => {
                        reply(Err(panicked(&*panic)));
                        continue;
                    }
                }
                // A method may panic while starting (most run to completion in `call`).
                let started =
                    std::panic::catch_unwind(AssertUnwindSafe(|| object.call(&method, args.into_owned(), caller)));
                let mut call = match started {
                    Ok(call) => crate::trace::instrumented!(
                        AssertUnwindSafe(call).catch_unwind(),
                        "ipc.manager.call",
                        object = object_id,
                        method = %method,
                        caller
                    ),
                    Err(panic) => {
                        reply(Err(panicked(&*panic)));
                        continue;
                    }
                };
                // First poll in place: calls that need not wait finish in order.
                match futures::poll!(&mut call) {
                    std::task::Poll::Ready(result) => reply(flatten(result)),
                    std::task::Poll::Pending if id == 0 => {
                        // Nobody waits for it (an undo): let it finish alone.
                        tokio::spawn(call);
                    }
                    std::task::Poll::Pending => {
                        let outbox = outbox.clone();
                        let table = waiting.clone();
                        let mut entries = waiting.lock().unwrap_or_else(|e| e.into_inner());
                        let task = tokio::spawn(async move {
                            let result = flatten(call.await);
                            // Reply only if not cancelled meanwhile.
                            let owned = table.lock().unwrap_or_else(|e| e.into_inner()).remove(&id).is_some();
                            if owned {
                                outbox.send(&Reply { id, result });
                            }
                        });
                        entries.insert(id, task.abort_handle());
                    }
                }
            }
            Op::Cancel { call } => {
                let task = waiting.lock().unwrap_or_else(|e| e.into_inner()).remove(&call);
                if let Some(task) = task {
                    task.abort();
                    outbox.push(&Reply { id: call, result: Err(RemoteError::Cancelled) });
                }
            }
            Op::Lend { object, token } => server.lend(object, token),
            Op::Adopt { object, token } => server.adopt(caller, object, token),
            Op::Pin { object, refs } => server.pin(object, refs),
            Op::Hold { object } => server.take_ref(caller, object),
            Op::Release { object } => server.release(caller, object),
            Op::Count => reply(encode(&(server.object_count() as u64))),
            Op::More => more_coming = true,
            Op::Shutdown => {
                reply(Ok(Vec::new()));
                outbox.flush();
                outbox.close();
                let _ = writing.await;
                let _ = server.stop.send(true);
                server.disconnected(caller);
                return;
            }
        }
    }
    for (_, task) in waiting.lock().unwrap_or_else(|e| e.into_inner()).drain() {
        task.abort();
    }
    server.disconnected(caller);
    outbox.flush();
    outbox.close();
    let _ = writing.await;
}

/// The most replies written in one system call while a burst of requests
/// is being handled. 100 pipelined calls: batches of 8 took three times the
/// writes and were 20–25% slower; one batch for all loses the overlap with
/// the caller, who decodes the first replies while the rest are made.
const REPLY_BATCH: usize = 32;

/// How long the server spins for requests a client said are on their way
/// (`Op::More`) before it parks as usual: twice the ~15 µs a caller takes
/// to make the next part, and short, since the one thread serves no other
/// connection meanwhile (a client that says "more" and sends nothing costs
/// the others at most this much each time).
const MORE_SPIN: std::time::Duration = std::time::Duration::from_micros(30);

/// Bytes of unwritten replies at which a connection's requests stop being
/// read until its client reads (one that never does cannot grow the
/// server's memory without bound).
const MAX_BACKLOG: usize = 4 << 20;

/// One connection's replies, in order. Replies to a burst of requests
/// (pipelined calls, read in one go) are batched and leave in one write
/// when the burst is handled; a batch is written at once when the socket
/// has room — the common case, which costs no task switch — otherwise the
/// connection's writer task writes it, so a client that stops reading
/// holds up only itself, never the server's one thread.
struct Outbox {
    conn: tokio::sync::Mutex<Connection>,
    queue: Mutex<Queued>,
    more: Notify,
    /// The writer task wrote a batch.
    written: Notify,
}

#[derive(Default)]
struct Queued {
    /// Framed replies not yet handed to the socket.
    bytes: Vec<u8>,
    /// How many.
    count: usize,
    /// No more replies: the writer ends once the queue is written.
    closed: bool,
}

impl Outbox {
    fn new(conn: Connection) -> Outbox {
        Outbox {
            conn: tokio::sync::Mutex::new(conn),
            queue: Mutex::default(),
            more: Notify::new(),
            written: Notify::new(),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a reply to the batch the next [`flush`](Outbox::flush) writes.
    fn push(&self, reply: &Reply) {
        let mut queue = self.queue();
        // Straight into the batch (replies carry no handles).
        if push_frame_with(&mut queue.bytes, |buf| codec::encode_into(reply, buf).map(drop)).is_ok() {
            queue.count += 1;
        }
    }

    /// How many replies wait to be written.
    fn batched(&self) -> usize {
        self.queue().count
    }

    /// Bytes of replies waiting to be written.
    fn backlog(&self) -> usize {
        self.queue().bytes.len()
    }

    /// Sends a reply now (behind any batch).
    fn send(&self, reply: &Reply) {
        self.push(reply);
        self.flush();
    }

    /// Writes the batch if the socket takes it now; otherwise leaves it to
    /// the writer task. Never past earlier replies: not while the writer
    /// holds the connection (it takes the queue after its write) nor while
    /// a tail is unsent (`Busy`).
    fn flush(&self) {
        let mut queue = self.queue();
        if queue.bytes.is_empty() {
            return;
        }
        let Ok(mut conn) = self.conn.try_lock() else {
            self.more.notify_one();
            return;
        };
        match conn.try_send_framed(&queue.bytes) {
            Ok(TrySend::Sent) => {}
            Ok(TrySend::Started) => {
                // The connection keeps the tail; the writer finishes it.
                self.more.notify_one();
            }
            Ok(TrySend::Busy) => {
                self.more.notify_one();
                return;
            }
            // The client is gone; its reading side ends the connection.
            Err(_) => {}
        }
        queue.bytes.clear();
        queue.count = 0;
    }

    fn close(&self) {
        self.queue().closed = true;
        self.more.notify_one();
    }
}

async fn write_replies(outbox: Arc<Outbox>) {
    loop {
        {
            let mut conn = outbox.conn.lock().await;
            if conn.flush().await.is_err() {
                return;
            }
            loop {
                let batch = {
                    let mut queue = outbox.queue();
                    queue.count = 0;
                    std::mem::take(&mut queue.bytes)
                };
                if batch.is_empty() {
                    break;
                }
                if conn.send_framed(&batch).await.is_err() {
                    return;
                }
                outbox.written.notify_one();
            }
        }
        let done = {
            let queue = outbox.queue();
            queue.closed && queue.bytes.is_empty()
        };
        if done {
            return;
        }
        outbox.more.notified().await;
    }
}

fn flatten(result: std::thread::Result<Result<Vec<u8>, RemoteError>>) -> Result<Vec<u8>, RemoteError> {
    result.unwrap_or_else(|panic| Err(panicked(&*panic)))
}

/// A method's panic, with where it happened when the server's panic hook
/// recorded it (a started server's does; an in-process one keeps the
/// program's hook).
fn panicked(panic: &(dyn std::any::Any + Send)) -> RemoteError {
    let message = crate::process::panic_message(panic);
    RemoteError::Panicked(match crate::process::take_panic_location() {
        Some(location) => format!("{message} at {location}"),
        None => message,
    })
}

//! `Connection` between two processes: 1-byte round trip (free, both on one
//! CPU, and each pinned to a CPU of its own), and throughput at
//! 64 KiB and 16 MiB, each beside the raw socket floor between two processes
//! and Python's `Pipe`, in the same run. The round trips' floors wait as
//! ours may: blocking, spinning on a non-blocking `recv` for ever, or for
//! 50 µs and then blocking (ours spins on `recvmsg` for a learned budget).

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use ipc::{Connection, Pipe, Process};

#[path = "support.rs"]
mod support;
use support::{Wait, read_byte};

/// Echoes byte messages until an empty one.
fn echo(mut conn: Connection) {
    while let Ok(m) = conn.blocking_recv_bytes(usize::MAX) {
        if m.is_empty() {
            return;
        }
        conn.blocking_send_bytes(&m).unwrap();
    }
}

/// Counts bytes until an empty message, then reports the total.
fn sink(mut conn: Connection) {
    let mut total = 0u64;
    while let Ok(m) = conn.blocking_recv_bytes(usize::MAX) {
        if m.is_empty() {
            conn.blocking_send(&total).unwrap();
            return;
        }
        total += m.len() as u64;
    }
}

/// [`sink`] for typed messages: `Vec<u8>`s through `recv`, until an empty one.
fn typed_sink(mut conn: Connection) {
    let mut total = 0u64;
    while let Ok(m) = conn.blocking_recv::<Vec<u8>>() {
        if m.is_empty() {
            conn.blocking_send(&total).unwrap();
            return;
        }
        total += m.len() as u64;
    }
}

/// The floor's child: a raw socket. With `Some(wait)` it echoes single
/// bytes until EOF, waiting for each as `wait` says; with `None` it reads an
/// 8-byte count, then that many bytes, and answers with one byte.
fn raw_peer((conn, echo): (Connection, Option<Wait>)) {
    if let Some(wait) = echo {
        return support::raw_echo((conn, wait));
    }
    let mut s = support::raw_stream(&conn);
    {
        let mut n = [0u8; 8];
        s.read_exact(&mut n).unwrap();
        let mut left = u64::from_le_bytes(n);
        let mut buf = vec![0u8; 1 << 20];
        while left > 0 {
            let got = s.read(&mut buf[..(left.min(1 << 20)) as usize]).unwrap();
            assert!(got > 0);
            left -= got as u64;
        }
        s.write_all(&[1]).unwrap();
    }
    drop(conn);
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// How a round trip's two processes are placed.
#[derive(Clone, Copy, PartialEq)]
enum Placement {
    /// Where the scheduler (or an earlier `pin_to`) puts them.
    Free,
    /// Each on a CPU of its own (`support::spawn_apart`).
    Apart,
}

fn spawn_placed<T>(placement: Placement, spawn: impl FnOnce() -> T) -> T {
    match placement {
        Placement::Free => spawn(),
        Placement::Apart => support::spawn_apart(spawn),
    }
}

/// 1-byte round trips to an echoing child over an `ipc` pipe, with the
/// blocking API and (if `with_async`) the async one.
fn ipc_round_trip(g: &mut Group<'_>, with_async: bool, placement: Placement) {
    let (mut near, far) = Pipe::duplex().unwrap();
    let mut child = spawn_placed(placement, || Process::spawn(echo, far).unwrap());
    g.bench_function("ipc Connection (blocking)", |b| {
        b.iter(|| {
            near.blocking_send_bytes(b"x").unwrap();
            near.blocking_recv_bytes(1).unwrap()
        })
    });
    if with_async {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        g.bench_function("ipc Connection (async)", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        near.send_bytes(b"x").await.unwrap();
                        near.recv_bytes(1).await.unwrap();
                    }
                    start.elapsed()
                })
            })
        });
    }
    near.blocking_send_bytes(b"").unwrap();
    child.blocking_join().unwrap();
}

/// The floor: 1-byte ping-pong over a raw socketpair between the same kind
/// of two processes, both sides waiting for their byte as `wait` says
/// (blocking, or spinning as our receive does).
fn raw_round_trip(g: &mut Group<'_>, placement: Placement, wait: Wait) {
    let (mut raw, far) = UnixStream::pair().unwrap();
    let far = Connection::from_fd(OwnedFd::from(far)).unwrap();
    let mut child = spawn_placed(placement, || Process::spawn(raw_peer, (far, Some(wait))).unwrap());
    g.bench_function(wait.label(), |b| {
        b.iter(|| {
            raw.write_all(b"x").unwrap();
            assert!(read_byte(&mut raw, wait));
        })
    });
    drop(raw);
    child.blocking_join().unwrap();
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("round_trip_1_byte");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    ipc_round_trip(&mut g, true, Placement::Free);
    for wait in [Wait::Block, Wait::Spin, Wait::SpinThenBlock] {
        raw_round_trip(&mut g, Placement::Free, wait);
    }
    if support::have_python() {
        g.sample_size(10);
        g.bench_function("python Pipe", |b| {
            b.iter_custom(support::python_fixed("pipe.py", 10_000, |n| vec!["rtt".into(), n.to_string()]))
        });
    }
    g.finish();
}

/// Both processes on one CPU: spinning cannot help (the peer cannot run
/// while we spin), so the learned spin must back off and cost no more than
/// parking, which is what the raw floor does.
fn round_trip_one_cpu(c: &mut Criterion) {
    support::pin_to(&[0]);
    let mut g = c.benchmark_group("round_trip_1_byte_same_cpu");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    ipc_round_trip(&mut g, false, Placement::Free);
    raw_round_trip(&mut g, Placement::Free, Wait::Block);
    g.finish();
    support::unpin();
}

/// Each process pinned to a CPU of its own (`taskset` per worker): the
/// spin must still pay across CPUs.
fn round_trip_apart(c: &mut Criterion) {
    let mut g = c.benchmark_group("round_trip_1_byte_pinned_apart");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    ipc_round_trip(&mut g, false, Placement::Apart);
    support::unpin();
    for wait in [Wait::Block, Wait::SpinThenBlock] {
        raw_round_trip(&mut g, Placement::Apart, wait);
        support::unpin();
    }
    g.finish();
}

fn throughput(c: &mut Criterion) {
    for (label, size) in [("64KiB", 64usize << 10), ("16MiB", 16 << 20)] {
        let mut g = c.benchmark_group(format!("throughput_{label}"));
        g.throughput(Throughput::Bytes(size as u64));
        g.sample_size(10).measurement_time(Duration::from_secs(3));
        let payload = vec![0xabu8; size];

        g.bench_function("ipc Connection::send_bytes", |b| {
            b.iter_custom(|iters| {
                let (mut near, far) = Pipe::duplex().unwrap();
                let mut child = Process::spawn(sink, far).unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    near.blocking_send_bytes(&payload).unwrap();
                }
                near.blocking_send_bytes(b"").unwrap();
                assert_eq!(near.blocking_recv::<u64>().unwrap(), iters * size as u64);
                let elapsed = start.elapsed();
                child.blocking_join().unwrap();
                elapsed
            })
        });
        // The same bytes as a serde value (a plain `Vec<u8>`, which serde
        // sees as a sequence of `u8`s): encoded and decoded as one block.
        g.bench_function("ipc Connection::send(&Vec<u8>)", |b| {
            b.iter_custom(|iters| {
                let (mut near, far) = Pipe::duplex().unwrap();
                let mut child = Process::spawn(typed_sink, far).unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    near.blocking_send(&payload).unwrap();
                }
                near.blocking_send(&Vec::<u8>::new()).unwrap();
                assert_eq!(near.blocking_recv::<u64>().unwrap(), iters * size as u64);
                let elapsed = start.elapsed();
                child.blocking_join().unwrap();
                elapsed
            })
        });
        g.bench_function("floor: raw socket writes", |b| {
            b.iter_custom(|iters| {
                let (mut near, far) = UnixStream::pair().unwrap();
                let conn = Connection::from_fd(OwnedFd::from(far)).unwrap();
                let mut child = Process::spawn(raw_peer, (conn, None)).unwrap();
                let start = Instant::now();
                near.write_all(&(iters * size as u64).to_le_bytes()).unwrap();
                for _ in 0..iters {
                    near.write_all(&payload).unwrap();
                }
                let mut ack = [0u8; 1];
                near.read_exact(&mut ack).unwrap();
                let elapsed = start.elapsed();
                child.blocking_join().unwrap();
                elapsed
            })
        });
        if support::have_python() {
            g.bench_function("python Pipe.send_bytes", |b| {
                // About 256 MiB a run, at least 16 messages.
                let n = (256u64 << 20).div_ceil(size as u64).max(16);
                b.iter_custom(support::python_fixed("pipe.py", n, |n| {
                    vec!["put".into(), size.to_string(), n.to_string()]
                }))
            });
        }
        g.finish();
    }
}

fn main() {
    ipc::init();
    let mut c = Criterion::default().configure_from_args();
    round_trip(&mut c);
    round_trip_one_cpu(&mut c);
    round_trip_apart(&mut c);
    throughput(&mut c);
    c.final_summary();
}

//! The process pool: 002's "two processes fill halves of a list"
//! (`../shared/reference/002_8c4ca20d7732724e.txt` lines 329–338, whose
//! comment says "a Pool might be more efficient") with a `Pool`, a
//! CPU-bound `map` and its speed-up over one process on this machine,
//! `imap_unordered` with a progress line, and a worker killed mid-run while
//! the rest of the work completes.
//!
//! Run: `cargo run --release --example pool`

use std::io::Write;
use std::time::Instant;

use futures::StreamExt;
use ipc::shared::Item;
use ipc::{Pool, ShareableList, TaskError};

/// 002's `do_work(sl, start, end)`: partial results into the shared list.
fn do_work((name, start, end): (String, usize, usize)) -> Result<(), String> {
    let sl = ShareableList::open(&name).map_err(|e| e.to_string())?;
    for i in start..end {
        sl.set(i as isize, (i * i) as i64).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Primes below `n`, the slow way (CPU-bound on purpose).
fn count_primes((from, to): (u64, u64)) -> u64 {
    (from.max(2)..to).filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)).count() as u64
}

#[ipc::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== 002 with a Pool: two workers fill halves of a ShareableList ==");
    let sl = ShareableList::create(None, (0..2000).map(Item::from))?;
    let pool = Pool::new(2).await?;
    let name = sl.shm().name().to_owned();
    for r in pool.starmap(do_work, [(name.clone(), 0, 1000), (name, 1000, 2000)]).await? {
        r?;
    }
    let mut total = 0i64;
    for item in sl.iter() {
        if let Item::Int(v) = item? {
            total += v;
        }
    }
    println!("total_result = {total}");
    assert_eq!(total, (0..2000i64).map(|i| i * i).sum());
    sl.shm().unlink()?;
    pool.close();
    pool.join().await?;

    println!("== a CPU-bound map: primes below 400,000 in 40 chunks ==");
    let chunks: Vec<(u64, u64)> = (0..40).map(|i| (i * 10_000, (i + 1) * 10_000)).collect();
    let start = Instant::now();
    let alone: u64 = chunks.iter().copied().map(count_primes).sum();
    let one = start.elapsed();
    let pool = Pool::new(ipc::cpu_count()).await?;
    let start = Instant::now();
    let together: u64 = pool.map(count_primes, chunks.clone()).await?.into_iter().sum();
    let many = start.elapsed();
    assert_eq!(alone, together);
    println!(
        "{together} primes; one process {one:.0?}, a pool of {} {many:.0?}: {:.1}x",
        pool.processes(),
        one.as_secs_f64() / many.as_secs_f64()
    );

    println!("== imap_unordered with a progress line ==");
    let mut done = 0;
    let mut results = pool.imap_unordered(count_primes, chunks.clone());
    while let Some(r) = results.next().await {
        r?;
        done += 1;
        print!("\r{done}/{} chunks done", chunks.len());
        std::io::stdout().flush()?;
    }
    println!();

    println!("== a worker killed mid-run: its task fails, the rest completes ==");
    let outcomes: Vec<Result<u64, TaskError>> = pool
        .imap(
            |i: u64| {
                if i == 7 {
                    // The worker running item 7 dies, as if the OOM killer chose it.
                    // SAFETY: sending SIGKILL to this very process.
                    unsafe { libc::kill(std::process::id() as i32, libc::SIGKILL) };
                }
                i * 2
            },
            0..20,
        )
        .collect()
        .await;
    for (i, o) in outcomes.iter().enumerate() {
        match o {
            Ok(v) => assert_eq!(*v, 2 * i as u64),
            Err(e) => println!("item {i}: {e}"),
        }
    }
    let ok = outcomes.iter().filter(|o| o.is_ok()).count();
    println!("{ok} of 20 items done; the pool replaced the dead worker");
    assert_eq!(ok, 19);
    assert_eq!(pool.apply(|x: u64| x + 1, 41).await?, 42);
    pool.terminate().await;
    Ok(())
}

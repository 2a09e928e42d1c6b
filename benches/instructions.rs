//! Instruction counts of the single-process fast paths, against budgets kept
//! in the repository: the regression guard wall-clock cannot be on a noisy
//! VM (issue 22's "Guarding it").
//!
//! `cargo bench --bench instructions` runs each case below in a child of this
//! program under valgrind's callgrind, counting only inside the case's own
//! function (`--toggle-collect`, so start-up and set-up are not counted),
//! divides by the iterations, and compares the count per operation with
//! `benches/instructions.budgets`. A case over its budget fails the run (CI
//! runs it); one far under it is reported, so that the budget can follow an
//! improvement down. Counts are the same from run to run for one build: the
//! cases make no system call that waits and no thread.
//!
//! Without valgrind the run says so and exits successfully, unless `CI` is
//! set (CI installs valgrind; a guard that quietly does not run is no
//! guard).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::process::{Command, ExitCode};

use ipc::{Event, Lock, Pipe, Queue, Value};

/// Operations each case's counted function runs.
const ITERATIONS: u64 = 2_000;

#[path = "record.rs"]
mod record;
use record::{Record, record};

// Each counted function is `ipc_guard_<case>`, never inlined, and runs its
// operation ITERATIONS times; set-up and a warm-up round happen outside it.

#[inline(never)]
fn ipc_guard_lock_unlock(lock: &Lock, n: u64) {
    for _ in 0..n {
        drop(black_box(lock.blocking_lock().unwrap()));
    }
}

#[inline(never)]
fn ipc_guard_event_set_clear(event: &Event, n: u64) {
    for _ in 0..n {
        event.set();
        black_box(event.is_set());
        event.clear();
    }
}

#[inline(never)]
fn ipc_guard_value_increment(value: &Value<u64>, n: u64) {
    for _ in 0..n {
        *value.blocking_get_lock().unwrap() += 1;
    }
}

#[inline(never)]
fn ipc_guard_queue_u64(q: &Queue<u64>, n: u64) {
    for i in 0..n {
        q.try_put(i).unwrap();
        black_box(q.try_get().unwrap());
    }
}

#[inline(never)]
fn ipc_guard_queue_record(q: &Queue<Record>, item: &Record, n: u64) {
    for _ in 0..n {
        q.try_put(item.clone()).unwrap();
        black_box(q.try_get().unwrap());
    }
}

#[inline(never)]
fn ipc_guard_pipe_u64(a: &mut ipc::Connection, b: &mut ipc::Connection, n: u64) {
    for i in 0..n {
        a.blocking_send(&i).unwrap();
        black_box(b.blocking_recv::<u64>().unwrap());
    }
}

#[inline(never)]
fn ipc_guard_pipe_record(a: &mut ipc::Connection, b: &mut ipc::Connection, item: &Record, n: u64) {
    for _ in 0..n {
        a.blocking_send(item).unwrap();
        black_box(b.blocking_recv::<Record>().unwrap());
    }
}

/// The cases: name and what the operation is.
const CASES: &[(&str, &str)] = &[
    ("lock_unlock", "uncontended Lock lock + drop"),
    ("event_set_clear", "Event set + is_set + clear"),
    ("value_increment", "Value<u64> get_lock() += 1"),
    ("queue_u64", "Queue<u64> try_put + try_get, one process"),
    ("queue_record", "Queue<~100-byte struct> clone + try_put + try_get"),
    ("pipe_u64", "Connection send + recv of a u64 (frame + encode + decode + 2 system calls)"),
    ("pipe_record", "Connection send + recv of a ~100-byte struct"),
];

/// Runs one case: set-up, one uncounted warm-up round, the counted function.
fn run_case(name: &str) {
    match name {
        "lock_unlock" => {
            let lock = Lock::new().unwrap();
            drop(lock.blocking_lock().unwrap());
            ipc_guard_lock_unlock(&lock, ITERATIONS);
        }
        "event_set_clear" => {
            let event = Event::new().unwrap();
            event.set();
            event.clear();
            ipc_guard_event_set_clear(&event, ITERATIONS);
        }
        "value_increment" => {
            let value = Value::new(0u64).unwrap();
            *value.blocking_get_lock().unwrap() += 1;
            ipc_guard_value_increment(&value, ITERATIONS);
            assert_eq!(value.blocking_load().unwrap(), ITERATIONS + 1);
        }
        "queue_u64" => {
            let q = Queue::unbounded().unwrap();
            q.try_put(0).unwrap();
            q.try_get().unwrap();
            ipc_guard_queue_u64(&q, ITERATIONS);
        }
        "queue_record" => {
            let (q, item) = (Queue::unbounded().unwrap(), record());
            q.try_put(item.clone()).unwrap();
            q.try_get().unwrap();
            ipc_guard_queue_record(&q, &item, ITERATIONS);
        }
        "pipe_u64" => {
            let (mut a, mut b) = Pipe::duplex().unwrap();
            a.blocking_send(&0u64).unwrap();
            b.blocking_recv::<u64>().unwrap();
            ipc_guard_pipe_u64(&mut a, &mut b, ITERATIONS);
        }
        "pipe_record" => {
            let ((mut a, mut b), item) = (Pipe::duplex().unwrap(), record());
            a.blocking_send(&item).unwrap();
            b.blocking_recv::<Record>().unwrap();
            ipc_guard_pipe_record(&mut a, &mut b, &item, ITERATIONS);
        }
        other => panic!("no case {other}"),
    }
}

/// Instructions counted in one case's function, from callgrind's output.
fn count(name: &str, out: &Path) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--toggle-collect=*ipc_guard_{name}*"))
        .arg("--quiet")
        .arg(&exe)
        .args(["--case", name])
        .status()
        .map_err(|e| format!("valgrind: {e}"))?;
    if !status.success() {
        return Err(format!("the case under valgrind: {status}"));
    }
    let text = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    // callgrind writes `summary: <Ir>` (and `totals:`) once collection ended.
    text.lines()
        .find_map(|line| line.strip_prefix("summary:").or_else(|| line.strip_prefix("totals:")))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no instruction total in {}", out.display()))
}

/// The budgets file: `case instructions-per-operation` lines, `#` comments.
fn budgets(path: &Path) -> Result<BTreeMap<String, u64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(name), Some(budget), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("{}:{}: expected `case budget`", path.display(), i + 1));
        };
        let budget = budget.parse().map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        map.insert(name.to_string(), budget);
    }
    Ok(map)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    ipc::init();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        run_case(&args[i + 1]);
        return ExitCode::SUCCESS;
    }
    // `cargo test --benches` runs bench targets with no `--bench`: nothing to count then.
    if !args.iter().any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    let in_ci = std::env::var_os("CI").is_some();
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("instructions: valgrind is not installed: the instruction-count guard did not run");
        return if in_ci { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    }
    let budget_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/instructions.budgets");
    let budgets = match budgets(&budget_file) {
        Ok(b) => b,
        Err(e) => {
            println!("instructions: {e}");
            return ExitCode::FAILURE;
        }
    };
    let filter: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with("--")).collect();
    let dir = std::env::temp_dir().join(format!("ipc-instructions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let mut failed = false;
    println!("{:<16} {:>10} {:>8}  operation", "case", "per op", "budget");
    for &(name, what) in CASES {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let Some(&budget) = budgets.get(name) else {
            println!("{name:<16} no budget in {}", budget_file.display());
            failed = true;
            continue;
        };
        match count(name, &dir.join(name)) {
            Ok(total) => {
                let per = total as f64 / ITERATIONS as f64;
                let verdict = if per > budget as f64 {
                    failed = true;
                    "OVER BUDGET"
                } else if per < budget as f64 / 1.5 {
                    "well under: lower the budget"
                } else {
                    "ok"
                };
                println!("{name:<16} {per:>10.1} {budget:>8}  {what}: {verdict}");
            }
            Err(e) => {
                println!("{name:<16} failed: {e}");
                failed = true;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

//! The process programs of tutorials 003 and 004, one section each, in
//! Rust. Python's `time.sleep(2)` becomes 200 ms so the whole file runs in
//! about a second. Covered, in `../shared/reference/`:
//!
//! - `004_9e3599775f03fa77.txt` lines 53–75 (`Process(target=task,
//!   args=...)`), 79–97 (pid and ppid), 102–120 (`join`, `x = 100` stays
//!   100 in the parent), 125–155 (`class MyProcess(Process)` with
//!   `self.name`), 164–186 (a daemon `MyProcess`), 191–217 (`terminate`,
//!   `is_alive`);
//! - `003_d4550083f0e1b2d6.txt` lines 9–19 (a daemon: "zi run", "主over",
//!   and never "zi over").
//!
//! Run: `cargo run --example processes`

#![allow(clippy::disallowed_types)] // the workspace rule is for the library's shared words

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ipc::Process;

const NAP: Duration = Duration::from_millis(200);

// 1. "Process(target=task, args=('t1',))": a target with an argument.
async fn task(name: String) {
    println!("{name} 开始运行");
    tokio::time::sleep(NAP).await;
    println!("{name} 运行结束");
}

// 2. The child's pid and its parent's pid.
fn show_ids(name: String) {
    println!("{name} 开始运行");
    let parent = ipc::parent_process().expect("a child has a parent");
    println!("子进程id:{},父进程id:{}", std::process::id(), parent.pid());
    std::thread::sleep(NAP);
    println!("{name} 运行结束");
}

// 3. "global x; x = 10" in the child does not change the parent's x.
static X: AtomicU32 = AtomicU32::new(100);

fn change() {
    X.store(10, Ordering::SeqCst);
    println!("子进程修改了x,子进程结束了");
    println!("{}", X.load(Ordering::SeqCst));
}

// 4. "class MyProcess(Process): def run(self)": in Rust the state is a value
// and `run` is a method; the target is a function that calls it.
#[derive(serde::Serialize, serde::Deserialize)]
struct MyProcess {
    name: String,
}

impl MyProcess {
    /// `run(self)`: the process's name is the one `__init__` set.
    fn run(self) -> String {
        let ppid = ipc::parent_process().map_or(0, |p| p.pid());
        println!("{} {}", std::process::id(), ppid);
        let me = ipc::current_process().name().to_owned();
        println!("{me} 正在打游戏..");
        assert_eq!(me, self.name);
        me
    }

    /// `p.start()`: a child named as the subclass's `self.name = name`
    /// names it (Python's `Process.name`).
    fn start(self) -> ipc::Result<Process<String>> {
        Ok(Process::builder().name(self.name.clone()).spawn(MyProcess::run, self)?)
    }
}

// 003's daemon: "zi run", three seconds of work it never finishes.
fn zi(reached_the_end: ipc::Event) {
    println!("zi run");
    std::thread::sleep(NAP * 3);
    reached_the_end.set(); // never: it dies with the main process first
    println!("zi over");
}

/// 003's whole program, run as a process of its own so that its "main"
/// can end while this example goes on: it starts the daemon, prints
/// "主over" and returns, and the daemon dies with it.
async fn program_003(reached_the_end: ipc::Event) {
    let _p = Process::builder().daemon(true).spawn(zi, reached_the_end).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await; // "zi run" first, as in Python's output
    println!("主over");
}

// 5 and 6: a long task to stop from outside.
fn play(name: String) {
    println!("{name} 正在打游戏");
    std::thread::sleep(Duration::from_secs(3));
    println!("{name} 还在打游戏");
}

fn sleeper() {
    println!("{} {}", std::process::id(), ipc::parent_process().map_or(0, |p| p.pid()));
    std::thread::sleep(NAP * 2);
    println!("子进程结束"); // never printed: the daemon dies with main
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    println!("== 1. 启动子进程 (start with arguments)");
    let mut p1 = Process::spawn(task, "t1".to_string())?;
    let mut p2 = Process::builder().name("t2").spawn(task, "t2".to_string())?;
    println!("---主进程---");
    p1.join().await?;
    p2.join().await?;

    println!("== 2. 进程id (pid and ppid)");
    println!("主进程id: {}", std::process::id());
    let mut p = Process::spawn(show_ids, "进程1".to_string())?;
    println!("---主进程运行结束---");
    p.join().await?;

    println!("== 3. join, 数据隔离 (data isolation)");
    let mut p = Process::spawn(|()| change(), ())?;
    p.join().await?; // waits for the child, no zombie left behind
    println!("{}", X.load(Ordering::SeqCst)); // still 100
    println!("主进程结束");

    println!("== 4. 继承Process类 (a struct with run())");
    let mut players = Vec::new();
    for name in ["fioman", "jingjing", "mengmeng"] {
        let p = MyProcess { name: name.to_string() }.start()?;
        assert_eq!(p.name(), name);
        players.push(p);
    }
    let mut names = Vec::new();
    for p in &mut players {
        names.push(p.join().await?);
    }
    assert_eq!(names, ["fioman", "jingjing", "mengmeng"]);
    println!("主线程");

    println!("== 5. terminate + is_alive");
    let p1 = Process::builder().name("Fioman").spawn(play, "Fioman".to_string())?;
    tokio::time::sleep(Duration::from_millis(50)).await; // let it print
    p1.terminate()?;
    // The signal is on its way, but the child may not have died yet.
    println!("{}", p1.is_alive());
    println!("开始");
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("{}", p1.is_alive()); // false
    println!("exitcode: {:?}", p1.exitcode()); // Some(-15): killed by SIGTERM

    println!("== 6. 003 守护进程 (a daemon dies with its main) ==");
    let reached_the_end = ipc::Event::new()?;
    let mut program = Process::spawn(program_003, reached_the_end.clone())?;
    program.join().await?;
    // The daemon's three "seconds" pass: it never gets to "zi over".
    assert!(!reached_the_end.wait_timeout(NAP * 4).await?, "the daemon outlived its main");

    println!("== 7. 004 守护进程 (daemon)");
    let _daemon = Process::builder().daemon(true).spawn(|()| sleeper(), ())?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    println!("主进程结束");
    // main returns: #[ipc::main] terminates daemon children (and waits for the
    // others), so "子进程结束" is never printed.
    Ok(())
}

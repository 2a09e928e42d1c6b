//! The process programs of tutorial 004 (`../shared/reference/004_*.txt`),
//! one section each, in Rust. Python's `time.sleep(2)` becomes 200 ms so the
//! whole file runs in about a second.
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
    fn run(self) {
        let ppid = ipc::parent_process().map_or(0, |p| p.pid());
        println!("{} {}", std::process::id(), ppid);
        println!("{} 正在打游戏..", self.name);
    }
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
    let mut p = Process::spawn(change, ())?;
    p.join().await?; // waits for the child, no zombie left behind
    println!("{}", X.load(Ordering::SeqCst)); // still 100
    println!("主进程结束");

    println!("== 4. 继承Process类 (a struct with run())");
    let mut players = Vec::new();
    for name in ["fioman", "jingjing", "mengmeng"] {
        players.push(Process::spawn(MyProcess::run, MyProcess { name: name.to_string() })?);
    }
    for p in &mut players {
        p.join().await?;
    }
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

    println!("== 6. 守护进程 (daemon)");
    let _daemon = Process::builder().daemon(true).spawn(sleeper, ())?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    println!("主进程结束");
    // main returns: #[ipc::main] terminates daemon children (and waits for the
    // others), so "子进程结束" is never printed.
    Ok(())
}

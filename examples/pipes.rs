//! The pipe programs of the tutorials, one section each, in Rust.
//! One-second sleeps become 100 ms. Covered, in `../shared/reference/`:
//!
//! - `002_8c4ca20d7732724e.txt` lines 43–51 (the minimal `Pipe()`: a child
//!   sends a list, the parent prints it);
//! - `001_9d74dbb9051f78ff.txt` ("(四)管道") lines 504–536 (producer and
//!   consumer until `EOFError`), 549–585 (several consumers on one end),
//!   602–639 (`recv_bytes_into` and `BufferTooShort`), 656–691 and 710–745
//!   (`poll(None)` before each `recv`, the producer closing with and without
//!   a pause).
//!
//! Run: `cargo run --example pipes`

use std::os::fd::AsRawFd;
use std::time::Duration;

use ipc::{Connection, Pipe, Process, RecvError};

const NAP: Duration = Duration::from_millis(100);

// 002's `myfunction(conn)`: sends a list, closes its end.
fn myfunction(mut conn: Connection) {
    conn.blocking_send(&vec!["hi!! I am Python"]).unwrap();
    conn.close().unwrap();
}

// The producer sends three buns, then closes its end.
async fn produce((mut right, name): (Connection, String)) {
    for i in 0..3 {
        println!("{name}生产第{}包子", i + 1);
        right.send(&"包子").await.unwrap();
        tokio::time::sleep(NAP).await;
    }
    right.close().unwrap();
}

// The consumer receives until the other end is closed (Python's EOFError).
async fn consume((mut left, name): (Connection, String)) {
    loop {
        match left.recv::<String>().await {
            Ok(goods) => println!("{name}消费了一个{goods}"),
            Err(RecvError::Eof) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

// Bytes: three short messages, then one too long for a 10-byte buffer.
async fn produce_bytes((mut right, name): (Connection, String)) {
    for i in 0..3 {
        println!("{name}生产第{}包子", i + 1);
        right.send_bytes("包子".as_bytes()).await.unwrap();
        tokio::time::sleep(NAP).await;
    }
    right.send_bytes("包子包子包子".as_bytes()).await.unwrap();
}

async fn consume_bytes((mut left, name): (Connection, String)) {
    loop {
        let mut buf = [0u8; 10];
        match left.recv_bytes_into(&mut buf).await {
            Ok(n) => {
                println!("{name}消费了一个{}", String::from_utf8_lossy(&buf[..n]));
                println!("接收了{n}个数据");
            }
            Err(RecvError::BufferTooShort { message, .. }) => {
                println!("数据太长,完整数据为:{}", String::from_utf8_lossy(&message));
            }
            Err(RecvError::Eof) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

// poll(None) before each recv: the producer closes with or without a pause.
async fn produce_then_close((mut right, pause): (Connection, bool)) {
    for i in 0..3 {
        println!("生产者1生产第{}包子", i + 1);
        right.send(&"包子").await.unwrap();
    }
    if pause {
        tokio::time::sleep(NAP * 3).await;
    }
    right.close().unwrap();
    println!("right已关闭");
}

async fn consume_with_poll(mut left: Connection) {
    loop {
        println!("poll阻塞");
        // Python's poll(None): wait as long as it takes. True also at the end
        // of the stream (there is something to "read": the end).
        let ready = left.poll(None).await.unwrap();
        println!("是否有可供读取的数据:{}", if ready { "True" } else { "False" });
        match left.recv::<String>().await {
            Ok(goods) => println!("消费者1消费了一个{goods}"),
            Err(RecvError::Eof) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    println!("== 0. 002 Pipe(): a child sends a list");
    let (mut parent_conn, child_conn) = Pipe::duplex()?;
    let mut p = Process::spawn(myfunction, child_conn)?;
    let got: Vec<String> = parent_conn.recv().await?;
    println!("{got:?}");
    assert_eq!(got, ["hi!! I am Python"]);
    p.join().await?;

    println!("== 1. 生产消费者模型 (producer/consumer until EOF)");
    let (left, right) = Pipe::duplex()?;
    println!("文件描述符:{}", left.as_raw_fd());
    let mut p = Process::spawn(produce, (right, "生产者1".to_string()))?;
    let mut c = Process::spawn(consume, (left, "消费者1".to_string()))?;
    // Python closes its copies of both ends here ("right.close(); left.close()");
    // ours were moved into the children's arguments and are already closed.
    p.join().await?;
    c.join().await?;

    println!("== 2. 多个消费者 (several consumers on one end)");
    let (left, right) = Pipe::duplex()?;
    let mut p = Process::spawn(produce, (right, "生产者1".to_string()))?;
    let mut consumers = Vec::new();
    for i in 1..=3 {
        consumers.push(Process::spawn(consume, (left.try_clone()?, format!("消费者{i}")))?);
    }
    drop(left);
    p.join().await?;
    for c in &mut consumers {
        c.join().await?;
    }
    // Unlike Python's stream pipes, our pipe ends keep messages of up to
    // 64 KiB whole even with several readers, so this cannot corrupt data.

    println!("== 3. 传输字节 (recv_bytes_into and BufferTooShort)");
    let (left, right) = Pipe::duplex()?;
    let mut p = Process::spawn(produce_bytes, (right, "生产者1".to_string()))?;
    let mut c = Process::spawn(consume_bytes, (left, "消费者1".to_string()))?;
    p.join().await?;
    c.join().await?;

    for (title, pause) in [("== 4a. poll(), 生产者关闭前暂停", true), ("== 4b. poll(), 生产者立即关闭", false)]
    {
        println!("{title}");
        let (left, right) = Pipe::duplex()?;
        let mut p = Process::spawn(produce_then_close, (right, pause))?;
        let mut c = Process::spawn(consume_with_poll, left)?;
        p.join().await?;
        c.join().await?;
    }
    // On Linux (and with ipc everywhere) poll reports the closed end as
    // readable and recv then ends the loop; the tutorial's BrokenPipeError is
    // a Windows behaviour of Python's.
    Ok(())
}

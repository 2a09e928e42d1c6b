//! The queue programs of the tutorials (`../shared/reference/`), one section
//! each, in Rust. Python's random sleeps of up to a second become up to
//! 20 ms. Covered:
//!
//! - `000_0763bbd677041fc8.txt` lines 23–32 (the `Queue(5)` tour), 35–49
//!   (two processes), 62–104 (producer/consumer with one `None` per
//!   consumer), 107–143 (with a `JoinableQueue`);
//! - `001_9d74dbb9051f78ff.txt` lines 850–899 (three producers and two
//!   consumers with sentinels — and with `close()`, no sentinels needed),
//!   949–993 (the `JoinableQueue` version), 1026–1044 (the "deadlock": a big
//!   put, `join`, then `get`, which cannot deadlock here);
//! - `002_8c4ca20d7732724e.txt` lines 81–112 (the producer that checks
//!   `full()`);
//! - `003_d4550083f0e1b2d6.txt` lines 119–126 (`Queue(2)`: two puts, two
//!   gets, then `get(timeout=3)` raising `queue.Empty`);
//! - `004_9e3599775f03fa77.txt` lines 511–542 (the `Queue(3)` tour), 545–562
//!   (a child puts a list), 565–606 (ten putters and ten getters on a
//!   `Queue(3)`), 622–667 (`Queue(20)` with `None` sentinels), 681–763
//!   (`JoinableQueue(20)` with daemon consumers).
//!
//! Run: `cargo run --example queues`

use std::time::Duration;

use futures::StreamExt;
use ipc::{GetError, JoinableQueue, Process, Queue};

async fn nap() {
    tokio::time::sleep(Duration::from_millis(fastrand::u64(0..20))).await;
}

fn pid() -> u32 {
    std::process::id()
}

// ----- 000 --------------------------------------------------------------

async fn tour_000() -> ipc::Result<()> {
    println!("== 000 Queue(5) ==");
    let q = Queue::bounded(5)?;
    for i in 0..5 {
        q.put(i).await?; // put: waits when full
    }
    println!("full() = {}", q.is_full());
    println!("get() = {}", q.get().await?);
    while q.try_get().is_ok() {}
    println!("empty() = {}", q.is_empty());
    match q.try_get() {
        Err(GetError::Empty) => println!("get_nowait() on an empty queue: Empty"),
        other => panic!("{other:?}"),
    }

    println!("== 003 Queue(2), then get(timeout=3) on an empty queue ==");
    let q = Queue::bounded(2)?;
    q.put(1).await?;
    q.put(2).await?;
    println!("{}", q.get().await?);
    println!("{}", q.get().await?);
    // Python raises queue.Empty after three seconds; here 300 ms.
    match q.get_timeout(Duration::from_millis(300)).await {
        Err(GetError::Empty) => println!("get(timeout=3): Empty"),
        other => panic!("{other:?}"),
    }

    println!("== 000 two processes ==");
    let q = Queue::bounded(5)?;
    let mut p1 = Process::spawn(|q: Queue<i32>| q.blocking_put(1).is_ok(), q.clone())?;
    let mut p2 = Process::spawn(|q: Queue<i32>| q.blocking_get().unwrap(), q.clone())?;
    assert!(p1.join().await?);
    assert_eq!(p2.join().await?, 1);
    Ok(())
}

/// 000's producer: ten 包子 with random pauses.
async fn producer_000(q: Queue<Option<String>>) {
    println!("我是生产者");
    for i in 0..10 {
        nap().await;
        let res = format!("包子{i}");
        q.put(Some(res.clone())).await.unwrap();
        println!("{}生产了{res}", pid());
    }
}

/// 000's consumer: eats until it gets the `None` sentinel.
async fn consumer_000(q: Queue<Option<String>>) {
    println!("我是消费者");
    while let Some(res) = q.get().await.unwrap() {
        nap().await;
        println!("{}消费了{res}", pid());
    }
}

async fn sentinels_000() -> ipc::Result<()> {
    println!("== 000 生产者消费者 (one None per consumer) ==");
    let q = Queue::unbounded()?;
    let mut p1 = Process::spawn(producer_000, q.clone())?;
    p1.join().await?; // 讯号必须等生产者运行结束后才能发
    let mut c1 = Process::spawn(consumer_000, q.clone())?;
    let mut c2 = Process::spawn(consumer_000, q.clone())?;
    q.put(None).await?;
    q.put(None).await?;
    println!("主");
    c1.join().await?;
    c2.join().await?;
    Ok(())
}

/// 000's JoinableQueue producer: puts, then waits until all is eaten.
async fn producer_joinable(q: JoinableQueue<String>) {
    for i in 0..10 {
        nap().await;
        let res = format!("包子{i}");
        q.put(res.clone()).await.unwrap();
        println!("生产者生产了一个{res}");
    }
    q.join().await.unwrap();
}

/// 000's JoinableQueue consumer: eats and marks done, forever (a daemon).
async fn consumer_joinable(q: JoinableQueue<String>) {
    while let Ok(res) = q.get().await {
        nap().await;
        q.task_done().unwrap();
        println!("消费者消费了一个{res}");
    }
}

async fn joinable_000() -> ipc::Result<()> {
    println!("== 000 JoinableQueue ==");
    let q = JoinableQueue::unbounded()?;
    let mut producers =
        vec![Process::spawn(producer_joinable, q.clone())?, Process::spawn(producer_joinable, q.clone())?];
    for _ in 0..2 {
        // 消费者应该随着主进程的结束而结束
        Process::builder().daemon(true).spawn(consumer_joinable, q.clone())?;
    }
    for p in &mut producers {
        p.join().await?;
    }
    assert_eq!(q.unfinished(), 0);
    println!("主");
    Ok(())
}

// ----- 001 --------------------------------------------------------------

async fn producer_001((food, q): (String, Queue<Option<String>>)) {
    for i in 0..2 {
        q.put(Some(food.clone())).await.unwrap();
        println!("生产者进程{}生产了 第{}个{food}", pid(), i + 1);
    }
    println!("生产者进程{}生产完成", pid());
}

async fn consumer_001(q: Queue<Option<String>>) -> u32 {
    let mut ate = 0;
    loop {
        println!("消费者进程{}等吃", pid());
        match q.get().await.unwrap() {
            None => {
                println!("消费者进程{}结束", pid());
                return ate;
            }
            Some(res) => {
                println!("消费者进程{}吃了{res}", pid());
                ate += 1;
            }
        }
    }
}

/// The same consumer without sentinels: the queue ends when it is closed.
async fn consumer_closed(q: Queue<String>) -> u32 {
    let mut ate = 0;
    let mut food = q.stream();
    while let Some(res) = food.next().await {
        println!("消费者进程{}吃了{}", pid(), res.unwrap());
        ate += 1;
    }
    println!("消费者进程{}结束 (the queue was closed)", pid());
    ate
}

async fn three_by_two_001() -> ipc::Result<()> {
    let foods = ["包子", "水果", "米饭"];

    println!("== 001 three producers, two consumers, None sentinels ==");
    let q = Queue::unbounded()?;
    let producers: Vec<_> =
        foods.iter().map(|f| Process::spawn(producer_001, (f.to_string(), q.clone()))).collect::<Result<_, _>>()?;
    let consumers: Vec<_> = (0..2).map(|_| Process::spawn(consumer_001, q.clone())).collect::<Result<_, _>>()?;
    for mut p in producers {
        p.join().await?;
    }
    // 有几个消费者就put几个None
    q.put(None).await?;
    q.put(None).await?;
    let mut ate = 0;
    for mut c in consumers {
        ate += c.join().await?;
    }
    assert_eq!(ate, 6);

    println!("== 001 the same with close(): no sentinels ==");
    let q = Queue::unbounded()?;
    let producers: Vec<_> = foods
        .iter()
        .map(|f| {
            Process::spawn(
                |(food, q): (String, Queue<String>)| async move {
                    for _ in 0..2 {
                        q.put(food.clone()).await.unwrap();
                    }
                },
                (f.to_string(), q.clone()),
            )
        })
        .collect::<Result<_, _>>()?;
    let consumers: Vec<_> = (0..2).map(|_| Process::spawn(consumer_closed, q.clone())).collect::<Result<_, _>>()?;
    for mut p in producers {
        p.join().await?;
    }
    q.close(); // every consumer drains what is left, then its stream ends
    let mut ate = 0;
    for mut c in consumers {
        ate += c.join().await?;
    }
    assert_eq!(ate, 6);

    println!("== 001 JoinableQueue ==");
    let q = JoinableQueue::unbounded()?;
    let producers: Vec<_> = foods
        .iter()
        .map(|f| {
            Process::spawn(
                |(food, q): (String, JoinableQueue<String>)| async move {
                    for i in 0..2 {
                        q.put(food.clone()).await.unwrap();
                        println!("生产者进程{}生产了 第{}个{food}", pid(), i + 1);
                    }
                    println!("生产者进程{}生产完成,等待消费者消费", pid());
                    q.join().await.unwrap(); // 等待消费者进程
                },
                (f.to_string(), q.clone()),
            )
        })
        .collect::<Result<_, _>>()?;
    for _ in 0..2 {
        let _daemon: Process<()> = Process::builder().daemon(true).spawn(
            |q: JoinableQueue<String>| async move {
                loop {
                    println!("消费者进程{}等吃", pid());
                    let res = q.get().await.unwrap();
                    q.task_done().unwrap();
                    println!("消费者进程{}吃了{res}", pid());
                }
            },
            q.clone(),
        )?;
    }
    for mut p in producers {
        p.join().await?;
    }
    Ok(())
}

async fn no_deadlock_001() -> ipc::Result<()> {
    println!("== 001 \"死锁\": put a 1 MB string, join the producer, then get ==");
    // Python deadlocks here: its feeder thread cannot finish writing until
    // someone reads. Here, when `put` returns the item is in shared memory,
    // so the producer exits and `join` returns. (A 1 MB item is more than
    // half the default 1 MiB ring, so it travels out of line, in a memfd of
    // its own; it works the same.)
    let queue = Queue::unbounded()?;
    let mut p = Process::spawn(|q: Queue<String>| q.blocking_put("X".repeat(1_000_000)).is_ok(), queue.clone())?;
    println!("join阻塞");
    assert!(p.join().await?);
    println!("get阻塞");
    let obj = queue.get().await?;
    println!("{}… ({} bytes)", &obj[..10], obj.len());
    Ok(())
}

// ----- 002 --------------------------------------------------------------

fn producer_002((numbers, q): (Vec<u32>, Queue<u32>)) {
    for x in numbers {
        if x % 2 == 0 {
            if q.is_full() {
                println!("queue is full");
                break;
            }
            q.blocking_put(x).unwrap();
            println!("put {x} in queue by producer");
        }
    }
}

fn consumer_002(q: Queue<u32>) {
    while !q.is_empty() {
        println!("take data {} from queue by consumer", q.blocking_get().unwrap());
    }
}

async fn full_and_empty_002() -> ipc::Result<()> {
    println!("== 002 producer checks full(), consumer checks empty() ==");
    let qu = Queue::bounded(5)?;
    let numbers: Vec<u32> = (0..10).map(|_| fastrand::u32(1..=100)).collect();
    let mut p5 = Process::builder().name("producer-1").spawn(producer_002, (numbers, qu.clone()))?;
    p5.join().await?;
    let mut p6 = Process::builder().name("consumer-1").spawn(consumer_002, qu.clone())?;
    p6.join().await?;
    println!("qsize after: {}", qu.qsize());
    Ok(())
}

// ----- 004 --------------------------------------------------------------

async fn tour_004() -> ipc::Result<()> {
    println!("== 004 Queue(3) ==");
    let q = Queue::bounded(3)?;
    for i in 1..=3 {
        q.put(i).await?;
    }
    if q.try_put(3).is_err() {
        println!("队列已经满了.");
    }
    println!("{}", q.is_full()); // True
    for _ in 0..3 {
        println!("{}", q.get().await?);
    }
    // Python's fourth `q.get()` would block forever here; wait a moment instead.
    assert!(q.get_timeout(Duration::from_millis(10)).await.is_err());
    if q.try_get().is_err() {
        println!("队列已经空了");
    }
    println!("{}", q.is_empty());

    println!("== 004 a child puts a list ==");
    let q = Queue::unbounded()?;
    let mut p = Process::spawn(
        |q: Queue<Vec<String>>| {
            let now = format!("{:?}", std::time::SystemTime::now());
            q.blocking_put(vec![now, "from Eva".into(), "hello".into()]).unwrap();
        },
        q.clone(),
    )?;
    println!("{:?}", q.get().await?);
    p.join().await?;

    println!("== 004 ten putters, ten getters, Queue(3) ==");
    let q = Queue::bounded(3)?;
    let record1: Vec<_> = (0..10)
        .map(|_| {
            Process::spawn(
                |q: Queue<String>| q.blocking_put(format!("{}put:{:?}", pid(), std::time::SystemTime::now())).unwrap(),
                q.clone(),
            )
        })
        .collect::<Result<_, _>>()?;
    let record2: Vec<_> = (0..10)
        .map(|_| {
            Process::spawn(
                |q: Queue<String>| println!("获取到的存放的数据是: {}", q.blocking_get().unwrap()),
                q.clone(),
            )
        })
        .collect::<Result<_, _>>()?;
    for mut p in record1.into_iter().chain(record2) {
        p.join().await?;
    }
    assert!(q.is_empty());
    Ok(())
}

async fn producer_004((name, food, q): (String, String, Queue<Option<String>>)) {
    for i in 0..10 {
        nap().await;
        let f = format!("{name}生产了{food}{i}");
        println!("{f}");
        q.put(Some(f)).await.unwrap();
    }
}

async fn consumer_004((q, name): (Queue<Option<String>>, String)) {
    while let Some(food) = q.get().await.unwrap() {
        println!("\x1b[31m{name}消费了{food}\x1b[0m");
        nap().await;
    }
    println!("接收到了一个空,生产者已经完事了");
}

async fn producer_consumer_004() -> ipc::Result<()> {
    println!("== 004 Queue(20) with None sentinels ==");
    let q = Queue::bounded(20)?;
    let mut p1 = Process::spawn(producer_004, ("fioman".into(), "包子".into(), q.clone()))?;
    let mut p2 = Process::spawn(producer_004, ("jingjing".into(), "馒头".into(), q.clone()))?;
    let mut c1 = Process::spawn(consumer_004, (q.clone(), "mengmeng".into()))?;
    let mut c2 = Process::spawn(consumer_004, (q.clone(), "xiaoxiao".into()))?;
    p1.join().await?;
    p2.join().await?;
    q.put(None).await?;
    q.put(None).await?;
    c1.join().await?;
    c2.join().await?;
    println!("主程序结束..........");

    println!("== 004 JoinableQueue(20) with daemon consumers ==");
    let q = JoinableQueue::bounded(20)?;
    let producer = |(name, food, q): (String, String, JoinableQueue<String>)| async move {
        for i in 0..10 {
            nap().await;
            let f = format!("{name}生产了{food}{i}");
            println!("{f}");
            q.put(f).await.unwrap();
        }
        q.join().await.unwrap(); // 当生产者生产完毕之后,会在这里阻塞.等待消费者的消费.
    };
    let mut p1 = Process::spawn(producer, ("fioman".into(), "包子".into(), q.clone()))?;
    let mut p2 = Process::spawn(producer, ("jingjing".into(), "馒头".into(), q.clone()))?;
    for name in ["mengmeng", "xiaoxiao"] {
        Process::builder().daemon(true).spawn(
            |(q, name): (JoinableQueue<String>, String)| async move {
                while let Ok(food) = q.get().await {
                    println!("\x1b[31m{name}消费了{food}\x1b[0m");
                    nap().await;
                    q.task_done().unwrap(); // 向生产者发送信号,表示消费了一个
                }
            },
            (q.clone(), name.to_string()),
        )?;
    }
    p1.join().await?;
    p2.join().await?;
    println!("主程序结束..........");
    Ok(())
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    tour_000().await?;
    sentinels_000().await?;
    joinable_000().await?;
    three_by_two_001().await?;
    no_deadlock_001().await?;
    full_and_empty_002().await?;
    tour_004().await?;
    producer_consumer_004().await?;
    Ok(())
}

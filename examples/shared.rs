//! The shared-data programs of tutorial 002, in Rust. Covered, in
//! `../shared/reference/002_8c4ca20d7732724e.txt`: lines 183–190
//! (`Value("d", 10.0)` changed by a child), 193–200 (`Array("i",
//! [1,2,3,4,5])` changed by a child), 214–233 (the `SharedMemory`
//! walk-through: create, write through one handle, read through another by
//! name, close, unlink), 238–276 (the `ShareableList` walk-through: types,
//! the too-long assignment, `index`, `count`, a second process changing
//! `[-1]`); and a Rust ↔ Python round trip (skipped if `python3` is not
//! installed).
//!
//! Run: `cargo run --example shared`

use ipc::shared::Item;
use ipc::{Array, Process, ShareableList, SharedMemory, Value};

async fn value_002() -> ipc::Result<()> {
    println!("== 002 Value(\"d\", 10.0) ==");
    let num = Value::new(10.0f64)?;
    // The child changes the value; the parent sees it.
    let mut p = Process::spawn(
        |num: Value<f64>| async move { num.store(10.78).await.map_err(|e| e.to_string()) },
        num.clone(),
    )?;
    p.join().await?.map_err(std::io::Error::other)?;
    println!("{}", num.load().await?);
    assert_eq!(num.load().await?, 10.78);
    Ok(())
}

async fn array_002() -> ipc::Result<()> {
    println!("== 002 Array(\"i\", [1,2,3,4,5]) ==");
    let num = Array::new(&[1i32, 2, 3, 4, 5])?;
    let mut p = Process::spawn(
        |num: Array<i32>| async move { num.set(2, 9999).await.map_err(|e| e.to_string()) },
        num.clone(),
    )?;
    p.join().await?.map_err(std::io::Error::other)?;
    let all = num.to_vec().await?;
    println!("{all:?}");
    assert_eq!(all, [1, 2, 9999, 4, 5]);
    Ok(())
}

fn shared_memory_002() -> ipc::Result<()> {
    println!("== 002 SharedMemory ==");
    let shm_a = SharedMemory::create(None, 10)?;
    println!("size {}", shm_a.size());
    shm_a.write_at(0, &[22, 33, 44, 55])?; // buffer[:4] = bytearray([22, 33, 44, 55])
    shm_a.write_at(4, &[100])?; // buffer[4] = 100
    // Attach to the existing block by name.
    let shm_b = SharedMemory::open(shm_a.name())?;
    let mut five = [0u8; 5];
    shm_b.read_at(0, &mut five)?;
    println!("array('b', {five:?})");
    assert_eq!(five, [22, 33, 44, 55, 100]);
    shm_b.write_at(0, b"howdy")?; // modify through shm_b
    shm_a.read_at(0, &mut five)?; // read through shm_a
    println!("{:?}", String::from_utf8_lossy(&five));
    assert_eq!(&five, b"howdy");
    shm_b.close(); // close each handle
    shm_a.unlink()?; // unlink once
    shm_a.close();
    Ok(())
}

async fn shareable_list_002() -> ipc::Result<()> {
    println!("== 002 ShareableList ==");
    let a = ShareableList::create(
        None,
        [Item::from("howdy"), b"HoWdY".into(), (-273.154).into(), 100.into(), Item::None, true.into(), 42.into()],
    )?;
    let kinds: Vec<&str> = a
        .iter()
        .map(|item| match item {
            Ok(Item::Str(_)) => "str",
            Ok(Item::Bytes(_)) => "bytes",
            Ok(Item::Float(_)) => "float",
            Ok(Item::Int(_)) => "int",
            Ok(Item::None) => "NoneType",
            Ok(Item::Bool(_)) => "bool",
            Err(_) => "?",
        })
        .collect();
    println!("{kinds:?}");
    println!("a[2] = {}", a.get(2)?);
    a.set(2, -78.5)?;
    println!("a[2] = {}", a.get(2)?);
    a.set(2, "dry ice")?; // changing the type is fine
    println!("a[2] = {}", a.get(2)?);
    match a.set(2, "larger than previously allocated storage space") {
        Err(e) => println!("ValueError: {e}"),
        Ok(()) => unreachable!("the slot holds 8 bytes"),
    }
    println!("a[2] = {}", a.get(2)?);
    println!("len = {}, index(42) = {:?}", a.len(), a.index(&42.into()));
    println!("count(b'howdy') = {}, count(b'HoWdY') = {}", a.count(&b"howdy".into()), a.count(&b"HoWdY".into()));
    a.shm().unlink()?;

    // In a first process, then in a second one that changes [-1].
    let b = ShareableList::create(None, 0..5)?;
    let mut second = Process::spawn(
        |name: String| -> Result<String, String> {
            let c = ShareableList::open(&name).map_err(|e| e.to_string())?;
            c.set(-1, -999).map_err(|e| e.to_string())?;
            Ok(format!("{:?}", c.iter().map(|i| i.map(|i| i.to_string())).collect::<Result<Vec<_>, _>>()))
        },
        b.shm().name().to_owned(),
    )?;
    println!("c = {}", second.join().await?.map_err(std::io::Error::other)?);
    println!("b[-1] = {}", b.get(-1)?);
    assert_eq!(b.get(-1)?, (-999).into());
    b.shm().unlink()?;
    Ok(())
}

fn with_python() -> ipc::Result<()> {
    println!("== Rust <-> Python ==");
    let list = ShareableList::create(None, [Item::from(1), 2.5.into(), "from rust".into()])?;
    let script = r#"
import sys
from multiprocessing import shared_memory, resource_tracker
a = shared_memory.ShareableList(name=sys.argv[1])
# Python < 3.13 tracks blocks it only attaches to; ours is not its to unlink.
resource_tracker.unregister(a.shm._name, "shared_memory")
print("python sees", list(a))
a[2] = "from python"
a.shm.close()
"#;
    match std::process::Command::new("python3").args(["-c", script, list.shm().name()]).status() {
        Ok(status) if status.success() => {
            println!("rust sees {}", list.get(2)?);
            assert_eq!(list.get(2)?, "from python".into());
        }
        _ => println!("(python3 is not available; skipped)"),
    }
    list.shm().unlink()?;
    Ok(())
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    value_002().await?;
    array_002().await?;
    shared_memory_002()?;
    shareable_list_002().await?;
    with_python()?;
    Ok(())
}

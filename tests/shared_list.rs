//! `ShareableList` and `SharedMemory` with CPython: its behaviours
//! (`_test_multiprocessing.py`, `test_shared_memory_ShareableList_basics`)
//! and interop both ways — Python attaches by name to what Rust made and
//! the other way round, reading and writing the same values.
//!
//! Every test that makes a block is an `#[ipc::test]`, so the resource
//! tracker unlinks what a failing test leaves.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use ipc::shared::{Item, ListError};
use ipc::{AccessError, Process, ShareableList, SharedMemory};
use support::bounded;

fn tutorial_items() -> Vec<Item> {
    vec!["howdy".into(), b"HoWdY".into(), (-273.154).into(), 100.into(), Item::None, true.into(), 42.into()]
}

#[ipc::test]
async fn the_tutorials_list() {
    let a = ShareableList::create(None, tutorial_items()).unwrap();
    let items: Vec<Item> = a.iter().map(Result::unwrap).collect();
    assert_eq!(items, tutorial_items());
    assert!(matches!(items[4], Item::None) && matches!(items[5], Item::Bool(true)));
    assert_eq!(a.get(2).unwrap(), Item::Float(-273.154));
    a.set(2, -78.5).unwrap();
    assert_eq!(a.get(2).unwrap(), Item::Float(-78.5));
    a.set(2, "dry ice").unwrap();
    assert_eq!(a.get(2).unwrap(), "dry ice".into());
    match a.set(2, "larger than previously allocated storage space") {
        Err(ListError::TooLarge { needed: 46, room: 8 }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(a.get(2).unwrap(), "dry ice".into(), "the slot is unchanged");
    assert_eq!(a.get(1).unwrap(), b"HoWdY".into(), "and so are its neighbours");
    assert_eq!(a.get(3).unwrap(), 100.into());
    assert_eq!(a.len(), 7);
    assert_eq!(a.index(&42.into()), Some(6));
    assert_eq!(a.count(&b"howdy".into()), 0);
    assert_eq!(a.count(&b"HoWdY".into()), 1);
    assert!(matches!(a.get(7), Err(ListError::OutOfRange { index: 7, len: 7 })));
    assert!(matches!(a.get(-8), Err(ListError::OutOfRange { index: -8, len: 7 })));
    assert_eq!(a.get(-7).unwrap(), "howdy".into());
    a.shm().unlink().unwrap();
}

#[ipc::test]
async fn a_second_process_changes_the_last_item() {
    let b = ShareableList::create(None, 0..5).unwrap();
    let mut p = Process::spawn(
        |name: String| {
            let c = ShareableList::open(&name).unwrap();
            assert_eq!(c.len(), 5);
            c.set(-1, -999).unwrap();
        },
        b.shm().name().to_owned(),
    )
    .unwrap();
    bounded(p.join()).await.unwrap();
    assert_eq!(b.get(-1).unwrap(), (-999).into());
    b.shm().unlink().unwrap();
}

#[ipc::test]
async fn a_block_that_is_no_list_is_refused() {
    let shm = SharedMemory::create(None, 64).unwrap();
    // A count far larger than the block, then offsets out of order.
    shm.write_at(0, &(1i64 << 40).to_ne_bytes()).unwrap();
    assert_eq!(ShareableList::open(shm.name()).unwrap_err().kind(), std::io::ErrorKind::InvalidData);
    shm.write_at(0, &1i64.to_ne_bytes()).unwrap();
    shm.write_at(8, &5i64.to_ne_bytes()).unwrap();
    assert_eq!(ShareableList::open(shm.name()).unwrap_err().kind(), std::io::ErrorKind::InvalidData);
    shm.unlink().unwrap();
    // A valid list whose slot format a peer garbled reads as Corrupt.
    let l = ShareableList::create(None, [1]).unwrap();
    l.shm().write_at(8 * 3 + 8, b"zz\0\0\0\0\0\0").unwrap();
    assert!(matches!(l.get(0), Err(ListError::Corrupt(0))));
    l.set(0, 2).unwrap();
    assert_eq!(l.get(0).unwrap(), 2.into(), "a set repairs the slot");
    l.shm().unlink().unwrap();
}

/// Runs `python3 -c script args...`, returning its stdout lines.
fn python(script: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3 runs");
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

/// Python < 3.13 registers blocks it merely attaches to with its own
/// resource tracker, which would unlink ours when the script exits.
const ATTACH: &str = r#"
import sys
from multiprocessing import shared_memory, resource_tracker
def attach_list(name):
    l = shared_memory.ShareableList(name=name)
    resource_tracker.unregister(l.shm._name, "shared_memory")
    return l
"#;

#[ipc::test]
async fn python_attaches_to_what_rust_made() {
    let shm = SharedMemory::create(None, 16).unwrap();
    shm.write_at(0, b"from rust").unwrap();
    let list = ShareableList::create(None, tutorial_items()).unwrap();
    let script = format!(
        "{ATTACH}
shm = shared_memory.SharedMemory(sys.argv[1])
resource_tracker.unregister(shm._name, 'shared_memory')
print(bytes(shm.buf[:9]).decode(), shm.size >= 16)
shm.buf[9:16] = b' python'
shm.close()
a = attach_list(sys.argv[2])
print(repr(list(a)))
print(a.format)
a[2] = 'dry ice'
a[-1] = -999
a[5] = None
a[4] = 2.5
a.shm.close()
"
    );
    let lines = python(&script, &[shm.name(), list.shm().name()]);
    assert_eq!(lines[0], "from rust True");
    assert_eq!(lines[1], "['howdy', b'HoWdY', -273.154, 100, None, True, 42]");
    assert_eq!(lines[2], "8s8sdqxxxxxx?xxxxxxxx?q");
    let mut buf = [0u8; 16];
    shm.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"from rust python");
    assert_eq!(list.get(2).unwrap(), "dry ice".into());
    assert_eq!(list.get(-1).unwrap(), (-999).into());
    assert!(matches!(list.get(5).unwrap(), Item::None));
    assert_eq!(list.get(4).unwrap(), Item::Float(2.5));
    shm.unlink().unwrap();
    list.shm().unlink().unwrap();
}

#[ipc::test]
async fn rust_attaches_to_what_python_made() {
    // Python makes the list, waits for Rust to change it, reads it back.
    let name = format!("ipc_py_{}", std::process::id());
    let script = r#"
import sys
from multiprocessing import shared_memory
a = shared_memory.ShareableList(['howdy', b'HoWdY', -273.154, 100, None, True, 42, 'x' * 20], name=sys.argv[1])
print("READY", flush=True)
sys.stdin.readline()
print(repr(list(a)), flush=True)
a.shm.close()
a.shm.unlink()
"#;
    let mut py = Command::new("python3")
        .args(["-c", script, &name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut out = BufReader::new(py.stdout.take().unwrap()).lines();
    assert_eq!(out.next().unwrap().unwrap(), "READY");
    let l = ShareableList::open(&name).unwrap();
    let mut expected = tutorial_items();
    expected.push(Item::Str("x".repeat(20)));
    assert_eq!(l.iter().map(Result::unwrap).collect::<Vec<_>>(), expected);
    l.set(-1, "from rust").unwrap();
    l.set(0, 1.5).unwrap();
    l.set(6, false).unwrap();
    assert!(l.set(7, "y".repeat(25)).is_err(), "the slot Python made holds 24 bytes");
    writeln!(py.stdin.take().unwrap()).unwrap();
    let back = out.next().unwrap().unwrap();
    assert_eq!(back, "[1.5, b'HoWdY', -273.154, 100, None, True, False, 'from rust']");
    assert!(py.wait().unwrap().success());
    assert_eq!(SharedMemory::open(&name).unwrap_err().kind(), std::io::ErrorKind::NotFound, "Python unlinked it");
}

#[ipc::test]
async fn a_block_python_shrinks_under_us_is_an_error_not_a_sigbus() {
    // Python truncates the blocks after Rust attached (the bug report:
    // the next read_at or get killed the process with SIGBUS).
    let shm = SharedMemory::create(None, 3 * 4096).unwrap();
    shm.write_at(0, &[7; 3 * 4096]).unwrap();
    let list = ShareableList::create(None, tutorial_items()).unwrap();
    let script = format!(
        "{ATTACH}
import os
shm = shared_memory.SharedMemory(sys.argv[1])
resource_tracker.unregister(shm._name, 'shared_memory')
os.ftruncate(shm._fd, 10)
shm.close()
a = attach_list(sys.argv[2])
os.ftruncate(a.shm._fd, 8)
a.shm.close()
print('shrunk')
"
    );
    assert_eq!(python(&script, &[shm.name(), list.shm().name()]), ["shrunk"]);
    let mut buf = [0u8; 100];
    assert!(matches!(shm.read_at(4096, &mut buf), Err(AccessError::Shrunk { size: 10 })));
    assert!(matches!(shm.write_at(2 * 4096, &buf), Err(AccessError::Shrunk { size: 10 })));
    assert_eq!(std::fs::metadata(format!("/dev/shm/{}", shm.name())).unwrap().len(), 10, "nothing grew it back");
    let mut head = [0u8; 10];
    shm.read_at(0, &mut head).unwrap();
    assert_eq!(head, [7; 10], "what is left still reads");
    for i in 0..list.len() as isize {
        assert!(matches!(list.get(i), Err(ListError::Corrupt(_))), "item {i} of a shrunk list");
        assert!(list.set(i, 1).is_err());
    }
    assert!(ShareableList::open(list.shm().name()).is_err(), "a shrunk list's layout lies: refused");
    shm.unlink().unwrap();
    list.shm().unlink().unwrap();
}

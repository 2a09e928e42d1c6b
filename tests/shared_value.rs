//! `Value` / `Array` across processes: CPython's sharedctypes behaviours
//! (`_test_multiprocessing.py`, `_TestValue`, `_TestArray`), exact totals
//! under the lock, a holder killed mid-update, cancel safety, handles.

mod support;

use std::time::Duration;

use ipc::{AccessError, Array, Event, LockError, Pipe, Process, RawArray, RawValue, ShmSafe, Value};
use support::bounded;

#[derive(Clone, Copy, Debug, PartialEq, ShmSafe)]
#[repr(C)]
struct Point {
    x: f64,
    y: f64,
    tag: [u8; 4],
}

#[ipc::test]
async fn a_child_changes_a_value_and_an_array_as_in_the_tutorial() {
    let num = Value::new(10.0f64).unwrap();
    let arr = Array::new(&[1i32, 2, 3, 4, 5]).unwrap();
    let mut p = Process::spawn(
        |(num, arr): (Value<f64>, Array<i32>)| async move {
            num.store(10.78).await.unwrap();
            arr.set(2, 9999).await.unwrap();
        },
        (num.clone(), arr.clone()),
    )
    .unwrap();
    bounded(p.join()).await.unwrap();
    assert_eq!(num.load().await.unwrap(), 10.78);
    assert_eq!(arr.to_vec().await.unwrap(), [1, 2, 9999, 4, 5]);
}

#[ipc::test]
async fn values_of_every_kind_and_derived_structs() {
    // _TestValue's codes: i, d, h, and a struct of our own.
    let i = Value::new(25i32).unwrap();
    let d = Value::new(1.625f64).unwrap();
    let h = Value::new(-1i16).unwrap();
    let p = Value::new(Point { x: 1.0, y: -2.0, tag: *b"abcd" }).unwrap();
    let mut child = Process::spawn(
        |(i, d, h, p): (Value<i32>, Value<f64>, Value<i16>, Value<Point>)| async move {
            assert_eq!((i.load().await.unwrap(), d.load().await.unwrap(), h.load().await.unwrap()), (25, 1.625, -1));
            i.store(-1).await.unwrap();
            d.store(-1.625).await.unwrap();
            h.store(2).await.unwrap();
            p.get_lock().await.unwrap().tag = *b"wxyz";
        },
        (i.clone(), d.clone(), h.clone(), p.clone()),
    )
    .unwrap();
    bounded(child.join()).await.unwrap();
    assert_eq!((i.load().await.unwrap(), d.load().await.unwrap(), h.load().await.unwrap()), (-1, -1.625, 2));
    assert_eq!(p.load().await.unwrap(), Point { x: 1.0, y: -2.0, tag: *b"wxyz" });
}

#[ipc::test]
async fn two_processes_incrementing_under_the_lock_reach_the_exact_total() {
    const EACH: u64 = 5_000;
    let total = Value::new(0u64).unwrap();
    let add = |v: Value<u64>| async move {
        for _ in 0..EACH {
            // Read, then write in a second step: without the lock between
            // them, increments would be lost.
            let mut g = v.get_lock().await.unwrap();
            let seen = *g;
            tokio::task::yield_now().await;
            *g = seen + 1;
        }
    };
    let mut a = Process::spawn(add, total.clone()).unwrap();
    let mut b = Process::spawn(add, total.clone()).unwrap();
    add(total.clone()).await;
    bounded(a.join()).await.unwrap();
    bounded(b.join()).await.unwrap();
    assert_eq!(total.load().await.unwrap(), 3 * EACH);
}

#[ipc::test]
async fn arrays_check_indices_and_lengths() {
    // _TestArray: zeroed arrays, slices, and errors for bad indices.
    let a = Array::<i64>::zeroed(10).unwrap();
    assert_eq!(a.len(), 10);
    assert_eq!(a.to_vec().await.unwrap(), [0; 10]);
    a.assign(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).await.unwrap();
    {
        let mut g = a.get_lock().await.unwrap();
        g[2..5].copy_from_slice(&[20, 30, 40]);
        assert_eq!(g.iter().sum::<i64>(), 45 - 9 + 90);
    }
    assert_eq!(a.get(3).await.unwrap(), 30);
    assert!(matches!(a.get(10).await, Err(AccessError::OutOfRange { index: 10, len: 10 })));
    assert!(matches!(a.set(11, 0).await, Err(AccessError::OutOfRange { index: 11, len: 10 })));
    assert!(matches!(a.assign(&[1, 2]).await, Err(AccessError::WrongLength { len: 10, got: 2 })));
    assert_eq!(a.get(9).await.unwrap(), 9, "a refused assignment writes nothing");
    let empty = Array::<u8>::zeroed(0).unwrap();
    assert!(empty.is_empty() && empty.to_vec().await.unwrap().is_empty());
}

#[ipc::test]
async fn raw_values_and_arrays_are_shared_without_a_lock() {
    let v = RawValue::new(7u32).unwrap();
    let a = RawArray::new(&[1.5f32, 2.5]).unwrap();
    let mut p = Process::spawn(
        |(v, a): (RawValue<u32>, RawArray<f32>)| {
            v.store(v.load() * 6);
            a.assign(&[a.get(1).unwrap(), a.get(0).unwrap()]).unwrap();
            a.get(2).is_err()
        },
        (v.clone(), a.clone()),
    )
    .unwrap();
    assert!(bounded(p.join()).await.unwrap(), "out of range in the child too");
    assert_eq!(v.load(), 42);
    assert_eq!(a.to_vec(), [2.5, 1.5]);
}

#[ipc::test]
async fn a_holder_killed_mid_update_is_reported_and_the_value_stays_usable() {
    let v = Value::new(Point { x: 0.0, y: 0.0, tag: [0; 4] }).unwrap();
    let holding = Event::new().unwrap();
    let mut child = Process::spawn(
        |(v, holding): (Value<Point>, Event)| async move {
            let mut g = v.get_lock().await.unwrap();
            g.x = 1.0; // half of an update
            holding.set();
            std::future::pending::<()>().await
        },
        (v.clone(), holding.clone()),
    )
    .unwrap();
    bounded(holding.wait()).await.unwrap();
    child.kill().unwrap();
    bounded(child.join()).await.unwrap_err();
    match bounded(v.get_lock()).await {
        Err(LockError::OwnerDied(g)) => {
            assert_eq!((g.x, g.y), (1.0, 0.0), "what the dead holder left");
            g.make_consistent();
        }
        other => panic!("expected OwnerDied, got {other:?}"),
    }
    assert!(bounded(v.get_lock()).await.is_ok(), "consistent again");
    assert_eq!(bounded(v.load()).await.unwrap().x, 1.0);
}

#[ipc::test]
async fn a_cancelled_get_lock_holds_nothing() {
    let v = Value::new(1u8).unwrap();
    let held = v.get_lock().await.unwrap();
    let v2 = v.clone();
    assert!(tokio::time::timeout(Duration::from_millis(20), v2.get_lock()).await.is_err());
    drop(held);
    // The cancelled waiter took nothing: the lock is free for the next.
    assert_eq!(*bounded(v.get_lock()).await.unwrap(), 1);
    assert!(!v.lock().is_locked());
}

#[ipc::test]
async fn values_and_arrays_travel_through_connections() {
    let (mut here, there) = Pipe::duplex().unwrap();
    let mut child = Process::spawn(
        |mut conn: ipc::Connection| async move {
            let (v, a): (Value<i64>, Array<u16>) = conn.recv().await.unwrap();
            *v.get_lock().await.unwrap() += 1;
            a.set(0, 65535).await.unwrap();
        },
        there,
    )
    .unwrap();
    let (v, a) = (Value::new(41i64).unwrap(), Array::new(&[0u16, 1]).unwrap());
    here.send(&(v.clone(), a.clone())).await.unwrap();
    bounded(child.join()).await.unwrap();
    assert_eq!(v.load().await.unwrap(), 42);
    assert_eq!(a.to_vec().await.unwrap(), [65535, 1]);
}

#[ipc::test]
async fn a_handle_of_another_element_size_is_refused() {
    let (mut here, mut there) = Pipe::duplex().unwrap();
    here.send(&Array::new(&[1u32, 2]).unwrap()).await.unwrap();
    assert!(there.recv::<Array<u64>>().await.is_err());
    here.send(&Value::new(1u32).unwrap()).await.unwrap();
    assert!(there.recv::<RawValue<u32>>().await.is_err(), "a locked value is not a raw one");
}

#[ipc::test]
async fn a_handle_decoded_as_another_kind_of_object_is_refused() {
    // Each case sends one kind of handle and decodes the bytes and
    // descriptors as another whose wire has the same shape. Before regions
    // carried their kind, an array of one element decoded as a `Lock` gave a
    // lock whose words were the elements, and a lock decoded as an `Event`
    // an event over the lock's words.
    let (mut here, mut there) = Pipe::duplex().unwrap();
    here.send(&Array::new(&[1u8]).unwrap()).await.unwrap();
    assert!(there.recv::<ipc::Lock>().await.is_err(), "an array is not a lock");
    here.send(&ipc::Lock::new().unwrap()).await.unwrap();
    assert!(there.recv::<Event>().await.is_err(), "a lock is not an event");
    here.send(&ipc::Lock::new().unwrap()).await.unwrap();
    assert!(there.recv::<ipc::RLock>().await.is_err(), "a lock is not a re-entrant lock");
    here.send(&RawArray::new(&[0u32; 4]).unwrap()).await.unwrap();
    assert!(there.recv::<RawArray<u32>>().await.is_ok(), "the right kind still decodes");
}

#[ipc::test]
async fn the_data_lock_is_held_for_as_long_as_a_guard_lives() {
    // The probe of the unsound release: take a guard, try every way the
    // array's own lock offers to free it, then ask for a second guard. The
    // lock offers only guards, so a second one waits (here: times out).
    let a = Array::new(&[10u8, 20]).unwrap();
    let mut g1 = a.get_lock().await.unwrap();
    g1[0] = 11;
    assert!(a.lock().is_locked());
    assert!(a.lock().try_lock().is_err());
    assert!(matches!(a.lock().lock_timeout(Duration::from_millis(10)).await, Err(ipc::TryLockError::WouldBlock)));
    assert!(tokio::time::timeout(Duration::from_millis(10), a.get_lock()).await.is_err());
    // A copy of the handle received through a connection shares the lock.
    let (mut here, mut there) = Pipe::duplex().unwrap();
    here.send(&a).await.unwrap();
    let b: Array<u8> = there.recv().await.unwrap();
    assert!(b.lock().try_lock().is_err(), "the received handle's lock is the same lock");
    g1[1] = 21;
    drop(g1);
    assert_eq!(*b.blocking_get_lock().unwrap(), [11, 21]);
}

#[derive(Clone, Copy, ipc::ShmSafe)]
#[repr(C, align(16))]
struct Sample {
    at: u64,
    values: [f32; 3],
}

#[derive(Clone, Copy, ipc::ShmSafe)]
#[repr(transparent)]
struct Meters(f64);

#[derive(Clone, Copy, ipc::ShmSafe)]
#[repr(C)]
struct Pair<T: Copy> {
    a: T,
    b: T,
}

fn main() {
    let _ = ipc::Array::<Sample>::zeroed(4).unwrap();
    let _ = ipc::Value::new(Meters(1.0)).unwrap();
    let _ = ipc::Value::new(Pair { a: 1u8, b: 2 }).unwrap();
}

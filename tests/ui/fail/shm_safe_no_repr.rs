#[derive(Clone, Copy, ipc::ShmSafe)]
struct Point {
    x: f64,
    y: f64,
}

fn main() {}

#[derive(Clone, Copy, ipc::ShmSafe)]
#[repr(C)]
enum Light {
    Red,
    Green,
}

fn main() {}

#[derive(Clone, Copy, ipc::ShmSafe)]
#[repr(C)]
struct Flags {
    count: u32,
    on: bool,
    name: &'static str,
}

fn main() {}

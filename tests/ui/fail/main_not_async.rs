#[ipc::main]
fn main() {}

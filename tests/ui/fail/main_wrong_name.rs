#[ipc::main]
async fn start() {}

fn main() {}

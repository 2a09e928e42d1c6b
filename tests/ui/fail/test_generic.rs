#[ipc::test]
async fn generic<T>() {}

fn main() {}

// Bad runtime options of #[ipc::main] and #[ipc::test], each spanned.
#[ipc::test(flavor = "single")]
async fn unknown_flavor() {}

#[ipc::test(worker_threads = 2)]
async fn workers_on_a_current_thread_test() {}

#[ipc::test(flavor = "multi_thread", worker_threads = 0)]
async fn no_workers() {}

#[ipc::main(flavor = "current_thread", worker_threads = 4)]
async fn main() {}

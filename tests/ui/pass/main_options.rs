// #[ipc::main] with runtime options: must build and run, on the runtime asked for.
use tokio::runtime::{Handle, RuntimeFlavor};

#[ipc::main(flavor = "current_thread")]
async fn main() -> ipc::Result<()> {
    assert_eq!(Handle::current().runtime_flavor(), RuntimeFlavor::CurrentThread);
    let mut p = ipc::Process::spawn(|x: u32| x + 1, 1)?;
    assert_eq!(p.join().await?, 2);
    Ok(())
}

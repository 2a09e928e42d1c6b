// A well-formed #[ipc::main] program that spawns a child: must build and run.
fn double(x: u32) -> u32 {
    x * 2
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    let mut p = ipc::Process::spawn(double, 21)?;
    assert_eq!(p.join().await?, 42);
    let mut q = ipc::Process::spawn(|s: String| async move { s.len() }, "four".to_string())?;
    assert_eq!(q.join().await?, 4);
    Ok(())
}

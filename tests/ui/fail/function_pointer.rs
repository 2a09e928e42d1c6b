// A function pointer is not a zero-sized target: the child could not know
// which function it points to.
fn double(x: u32) -> u32 {
    x * 2
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    let f: fn(u32) -> u32 = double;
    let mut p = ipc::Process::spawn(f, 1)?;
    p.join().await?;
    Ok(())
}

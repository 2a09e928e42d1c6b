// A child cannot receive captured state: only the argument travels.
#[ipc::main]
async fn main() -> ipc::Result<()> {
    let offset = 10u32;
    let mut p = ipc::Process::spawn(move |x: u32| x + offset, 1)?;
    p.join().await?;
    Ok(())
}

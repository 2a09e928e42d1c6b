struct NotSerde;

#[ipc::main]
async fn main() -> ipc::Result<()> {
    let mut p = ipc::Process::spawn(|_x: NotSerde| 1u8, NotSerde)?;
    let _: u8 = p.join().await?;
    Ok(())
}

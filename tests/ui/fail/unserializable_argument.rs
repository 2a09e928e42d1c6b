struct NotSerde;

fn take(_x: NotSerde) -> u8 {
    1
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    let mut p = ipc::Process::spawn(take, NotSerde)?;
    let _: u8 = p.join().await?;
    Ok(())
}

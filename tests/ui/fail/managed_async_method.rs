#[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
struct Slow;

#[ipc::managed]
impl Slow {
    #[expose]
    async fn wait(&self) {}
}

fn main() {}

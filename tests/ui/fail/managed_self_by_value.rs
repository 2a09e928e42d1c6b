#[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
struct Once;

#[ipc::managed]
impl Once {
    #[expose]
    fn consume(self) -> u8 {
        1
    }

    #[expose]
    fn make() -> u8 {
        2
    }
}

fn main() {}

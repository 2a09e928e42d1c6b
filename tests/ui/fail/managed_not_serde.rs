// A managed value travels to the server: it must be serde.
#[derive(ipc::Managed)]
struct Opaque {
    file: std::fs::File,
}

#[ipc::managed]
impl Opaque {
    #[expose]
    fn len(&self) -> u64 {
        self.file.metadata().map(|m| m.len()).unwrap_or(0)
    }
}

fn main() {}

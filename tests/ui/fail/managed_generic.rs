#[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
struct Holder<T> {
    value: T,
}

fn main() {}

// The derive without a #[ipc::managed] impl block: no methods to call.
#[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
struct Lonely;

fn main() {}

#[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
struct Greeter;

#[ipc::managed]
impl Greeter {
    #[expose]
    fn greet(&self, name: &str) -> String {
        format!("hello {name}")
    }

    #[expose]
    fn name(&self) -> &'static str {
        "greeter"
    }
}

fn main() {}

// 002's MathsClass, registered with a manager: must build and run.
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, ipc::Managed)]
pub struct MathsClass;

#[ipc::managed]
impl MathsClass {
    /// x + y
    #[expose]
    pub fn add(&self, x: i64, y: i64) -> i64 {
        x + y
    }

    #[expose]
    fn mul(&self, x: i64, y: i64) -> i64 {
        x * y
    }

    #[expose]
    fn nothing(&mut self) {}
}

#[derive(Serialize, Deserialize, ipc::Managed)]
#[ipc(name = "Renamed")]
enum Mode {
    On,
    Off,
}

#[ipc::managed]
impl Mode {
    #[expose]
    fn flip(&mut self) -> bool {
        *self = match self {
            Mode::On => Mode::Off,
            Mode::Off => Mode::On,
        };
        matches!(self, Mode::On)
    }
}

#[ipc::main]
async fn main() -> ipc::Result<()> {
    let manager = ipc::Manager::builder().register::<MathsClass>().register::<Mode>().start().await?;
    let maths: MathsClassProxy = manager.create(&MathsClass).await?;
    assert_eq!(maths.add(4, 3).await?, 7);
    assert_eq!(maths.mul(7, 8).await?, 56);
    maths.nothing().await?;
    let mode = manager.create(&Mode::Off).await?;
    assert!(mode.flip().await?);
    assert_eq!(<Mode as ipc::Managed>::NAME, "Renamed");
    Ok(())
}

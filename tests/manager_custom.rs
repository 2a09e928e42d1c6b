//! Custom managed types: 002's MathsClass through a registered manager,
//! state changed from several processes, only exposed methods callable,
//! errors and panics of methods reaching the caller, registration errors.

mod support;

use serde::{Deserialize, Serialize};

use ipc::{CallError, Manager, Process, RemoteError};
use support::bounded;

#[derive(Serialize, Deserialize, ipc::Managed)]
struct MathsClass;

#[ipc::managed]
impl MathsClass {
    #[expose]
    fn add(&self, x: i64, y: i64) -> i64 {
        x + y
    }

    #[expose]
    fn mul(&self, x: i64, y: i64) -> i64 {
        x * y
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum BankError {
    Insufficient { balance: u64 },
}

#[derive(Serialize, Deserialize, ipc::Managed)]
struct Account {
    balance: u64,
    history: Vec<String>,
}

#[ipc::managed]
impl Account {
    #[expose]
    fn deposit(&mut self, amount: u64, who: String) -> u64 {
        self.balance += amount;
        self.history.push(who);
        self.balance
    }

    #[expose]
    fn withdraw(&mut self, amount: u64) -> Result<u64, BankError> {
        if amount > self.balance {
            return Err(BankError::Insufficient { balance: self.balance });
        }
        self.balance -= amount;
        Ok(self.balance)
    }

    #[expose]
    fn history(&self) -> Vec<String> {
        self.history.clone()
    }

    #[expose]
    fn explode(&self) -> u8 {
        panic!("the account exploded")
    }

    /// Not exposed: no proxy may call it.
    #[allow(dead_code)]
    fn drain(&mut self) {
        self.balance = 0;
    }
}

async fn maths_in_a_child(maths: MathsClassProxy) -> (i64, i64) {
    (maths.add(4, 3).await.unwrap(), maths.mul(7, 8).await.unwrap())
}

#[ipc::test]
async fn a_registered_type_is_used_from_another_process() {
    let manager = bounded(Manager::builder().register::<MathsClass>().start()).await.unwrap();
    let maths = manager.create(&MathsClass).await.unwrap();
    assert_eq!(maths.add(4, 3).await.unwrap(), 7);
    let mut child = Process::spawn(maths_in_a_child, maths.clone()).unwrap();
    assert_eq!(bounded(child.join()).await.unwrap(), (7, 56));
    drop(maths);
    assert_eq!(manager.object_count().await.unwrap(), 0);
    bounded(manager.shutdown()).await.unwrap();
}

async fn deposit_from(args: (AccountProxy, String)) {
    let (account, who) = args;
    for _ in 0..10 {
        account.deposit(1, who.clone()).await.unwrap();
    }
}

#[ipc::test]
async fn state_changes_from_several_processes_and_errors_come_back() {
    let manager = bounded(Manager::builder().register::<Account>().register::<MathsClass>().start()).await.unwrap();
    let account = manager.create(&Account { balance: 5, history: vec![] }).await.unwrap();
    let mut children: Vec<_> =
        (0..3).map(|i| Process::spawn(deposit_from, (account.clone(), format!("p{i}"))).unwrap()).collect();
    for child in &mut children {
        bounded(child.join()).await.unwrap();
    }
    assert_eq!(account.withdraw(0).await.unwrap(), Ok(35));
    assert_eq!(account.history().await.unwrap().len(), 30);
    // The method's own error, typed.
    assert_eq!(account.withdraw(100).await.unwrap(), Err(BankError::Insufficient { balance: 35 }));
    // A panic is the caller's error; the object lives on.
    match account.explode().await {
        Err(CallError::Remote(RemoteError::Panicked(msg))) => assert!(msg.contains("exploded"), "{msg}"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    assert_eq!(account.withdraw(5).await.unwrap(), Ok(30));
    // Only exposed methods, with the right argument types.
    let refused = account.call_method::<_, ()>("drain", &()).await;
    assert!(matches!(refused, Err(CallError::Remote(RemoteError::NoSuchMethod { .. }))), "{refused:?}");
    let garbled = account.call_method::<_, u64>("withdraw", &("not a number",)).await;
    assert!(matches!(garbled, Err(CallError::Remote(RemoteError::BadRequest(_)))), "{garbled:?}");
    assert_eq!(account.withdraw(0).await.unwrap(), Ok(30));
    bounded(manager.shutdown()).await.unwrap();
}

#[derive(Serialize, Deserialize, ipc::Managed)]
#[ipc(name = "MathsClass")]
struct Impostor;

#[ipc::managed]
impl Impostor {}

#[derive(Serialize, Deserialize, ipc::Managed)]
#[ipc(name = "dict")]
struct NotADict;

#[ipc::managed]
impl NotADict {}

#[ipc::test]
async fn unregistered_and_clashing_types_are_errors() {
    let manager = bounded(Manager::start()).await.unwrap();
    let unknown = manager.create(&MathsClass).await;
    assert!(matches!(unknown, Err(CallError::Remote(RemoteError::NoSuchType(_)))), "{unknown:?}");
    bounded(manager.shutdown()).await.unwrap();

    let twice = bounded(Manager::builder().register::<MathsClass>().register::<Impostor>().start()).await;
    assert!(twice.unwrap_err().to_string().contains("MathsClass"));
    let builtin = bounded(Manager::builder().register::<NotADict>().start()).await;
    assert!(builtin.unwrap_err().to_string().contains("dict"));
    let listener = ipc::Listener::bind(ipc::Address::unique().unwrap()).unwrap();
    let served = Manager::builder().register::<NotADict>().serve(listener);
    assert_eq!(served.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
}

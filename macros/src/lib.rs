//! Procedural macros for [`ipc`](https://docs.rs/ipc): `#[ipc::main]`,
//! `#[ipc::test]`, `#[derive(ipc::ShmSafe)]`, `#[derive(ipc::Managed)]` and
//! `#[ipc::managed]`. Use them through the `ipc` crate, which re-exports them.
//!
//! This crate only forwards to `entry.rs`, `shm_safe.rs` and `managed.rs`; generated code calls
//! `::ipc::__private`, and `crate = "path"` overrides that path.

use proc_macro::TokenStream;

mod entry;
mod managed;
mod shm_safe;

/// Marks the `async fn main` of a program that spawns `ipc` processes.
///
/// In a child process it runs the child's target instead of `main` (before
/// any of your code); otherwise it builds a tokio runtime (multi-threaded,
/// as `#[tokio::main]`'s), runs `main` on it, then terminates daemon
/// children and waits for the others, as Python does at exit.
///
/// Arguments, as `#[tokio::main]`'s: `flavor = "current_thread"` or
/// `"multi_thread"`, `worker_threads = N` (multi-threaded only), and
/// `crate = "path"` where `ipc` is renamed.
///
/// ```ignore
/// #[ipc::main]
/// async fn main() -> ipc::Result<()> {
///     let mut p = ipc::Process::spawn(|x: u32| x * 2, 21)?;
///     assert_eq!(p.join().await?, 42);
///     Ok(())
/// }
/// ```
///
/// ```ignore
/// #[ipc::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() -> ipc::Result<()> {
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::main(entry::Scheduler::MultiThread, args.into(), item.into()).into()
}

/// Marks an `async fn` test that may spawn `ipc` processes.
///
/// Like `#[tokio::test]` (a current-thread runtime per test, or
/// `flavor = "multi_thread"` with optional `worker_threads = N`; and
/// `crate = "path"`), and a child spawned from the test re-executes the
/// test binary filtered to this one test, which then runs only the child's
/// target.
///
/// Spawn from the test's own thread or from its runtime's threads (tasks,
/// `spawn_blocking`); a `std::thread` you start yourself does not know which
/// test it belongs to, and spawning there is `ipc::SpawnError::NoDispatch`. In a
/// plain `#[test]`, spawning is always `NoDispatch`.
///
/// The test's own children die with the test binary (as daemons do), so a
/// failing test never leaves processes behind; their children in turn follow
/// the usual rules. What the children (and theirs) print goes through the
/// harness's capture, as the test's own output does: shown for a failing
/// test, or at once under `--nocapture`.
///
/// ```ignore
/// #[ipc::test]
/// async fn doubles() {
///     let mut p = ipc::Process::spawn(|x: u32| x * 2, 21).unwrap();
///     assert_eq!(p.join().await.unwrap(), 42);
/// }
///
/// #[ipc::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn on_two_workers() {
///     let mut p = ipc::Process::spawn(|x: u32| x + 1, 1).unwrap();
///     assert_eq!(p.join().await.unwrap(), 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::test(entry::Scheduler::MultiThread, args.into(), item.into()).into()
}

/// `#[ipc::main]` for an `ipc` built without its `rt-multi-thread` feature
/// (ipc re-exports it as `main` then): the same, except that the
/// multi-threaded flavor, the default, is a compile error naming the
/// feature.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn main_rt(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::main(entry::Scheduler::CurrentThreadOnly, args.into(), item.into()).into()
}

/// `#[ipc::test]` for an `ipc` built without its `rt-multi-thread` feature:
/// `flavor = "multi_thread"` is a compile error naming the feature.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn test_rt(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::test(entry::Scheduler::CurrentThreadOnly, args.into(), item.into()).into()
}

/// Derives `ipc::ShmSafe` for a `#[repr(C)]` (or `#[repr(transparent)]`)
/// struct whose every field is `ShmSafe`, so it may live in shared memory
/// (`ipc::Value`, `ipc::Array`).
///
/// A struct without such a `repr`, an enum, a union or a field that is not
/// `ShmSafe` (a `bool`, a reference, a `Box`) is a compile error pointing at
/// the culprit.
///
/// ```ignore
/// #[derive(Clone, Copy, ipc::ShmSafe)]
/// #[repr(C)]
/// struct Point {
///     x: f64,
///     y: f64,
/// }
/// ```
#[proc_macro_derive(ShmSafe)]
pub fn derive_shm_safe(item: TokenStream) -> TokenStream {
    shm_safe::derive(item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Derives `ipc::manager::Managed` for a type whose values live in a
/// manager server, and makes its proxy type, `<Type>Proxy` (with the
/// type's visibility). Pair it with `#[ipc::managed]` on an impl block that
/// marks the callable methods `#[expose]`. The type must be serde
/// (`Serialize` + `Deserialize`: it travels to the server when created)
/// and not generic; `#[ipc(name = "...")]` changes the name it is
/// registered under (the type's name by default).
///
/// ```ignore
/// #[derive(serde::Serialize, serde::Deserialize, ipc::Managed)]
/// struct MathsClass;
///
/// #[ipc::managed]
/// impl MathsClass {
///     #[expose]
///     fn add(&self, x: i64, y: i64) -> i64 { x + y }
/// }
/// // MathsClassProxy::add(&self, x: i64, y: i64) -> Result<i64, ipc::CallError>
/// ```
#[proc_macro_derive(Managed, attributes(ipc))]
pub fn derive_managed(item: TokenStream) -> TokenStream {
    managed::derive(item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Marks the impl block of a `#[derive(ipc::Managed)]` type whose
/// `#[expose]` methods a proxy may call; no other method is callable
/// remotely. Exposed methods are synchronous, take `&self` or `&mut self`
/// and owned serde arguments, and return an owned serde value (a `Result`
/// reaches the caller as that `Result`). For each, the proxy gets an
/// `async fn` of the same name and arguments returning
/// `Result<Output, ipc::CallError>`, with the method's docs.
///
/// ```ignore
/// #[ipc::managed]
/// impl MathsClass {
///     #[expose]
///     fn mul(&self, x: i64, y: i64) -> i64 { x * y }
///     fn private_helper(&self) {} // not callable through a proxy
/// }
/// ```
#[proc_macro_attribute]
pub fn managed(args: TokenStream, item: TokenStream) -> TokenStream {
    managed::attribute(args.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

//! Compile-time checks: misuse of the macros and of spawn targets gives a
//! spanned error.
//!
//! The `.stderr` files are the output of the rustc named in
//! `tests/ui/RUSTC_VERSION`. Under that rustc the whole text is compared.
//! Under another (a newer toolchain rewords notes and help lines), every
//! case must still pass or fail as pinned, and each failure's first error
//! line — our own message, or rustc's error code and summary — must be the
//! pinned one; the rest of the text is not compared.
//! `IPC_UI_LOOSE=1` runs the loose comparison under any rustc.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The first `error` line of a compiler output.
fn first_error(stderr: &str) -> Option<&str> {
    stderr.lines().find(|l| l.starts_with("error"))
}

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc).arg("--version").output().expect("rustc runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ui() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pinned = std::fs::read_to_string(root.join("tests/ui/RUSTC_VERSION")).unwrap();
    let pinned = pinned.trim();
    let loose = std::env::var_os("IPC_UI_LOOSE").is_some() || !rustc_version().starts_with(pinned);
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    if !loose {
        t.compile_fail("tests/ui/fail/*.rs");
        return;
    }
    // A copy without the pinned outputs, which trybuild fills in (the only
    // test in this binary, so setting the variable races with nothing).
    let copy = root.join("target/ui-loose/fail");
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).unwrap();
    let cases: Vec<PathBuf> = std::fs::read_dir(root.join("tests/ui/fail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    for case in &cases {
        std::fs::copy(case, copy.join(case.file_name().unwrap())).unwrap();
    }
    // SAFETY: this binary's one test; the harness's other thread waits for
    // it, and trybuild reads the variable through std.
    unsafe { std::env::set_var("TRYBUILD", "overwrite") };
    t.compile_fail(copy.join("*.rs"));
    drop(t); // runs the cases
    for case in &cases {
        let name = case.with_extension("stderr");
        let name = name.file_name().unwrap();
        let want = std::fs::read_to_string(root.join("tests/ui/fail").join(name)).unwrap();
        let got = std::fs::read_to_string(copy.join(name)).unwrap();
        assert_eq!(first_error(&got), first_error(&want), "{}: the first error changed", case.display());
    }
}

//! Compile-time checks: misuse of the macros and of spawn targets gives a
//! spanned error (the .stderr files are pinned to the toolchain in
//! rust-toolchain.toml's absence: the one on CI's machine, rustc 1.95).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

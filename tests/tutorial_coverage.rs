//! Every program of the tutorials (`../shared/reference/`) has a runnable
//! counterpart in `examples/`: each example's header cites the programs it
//! covers by file and line range, and every program found in a tutorial
//! must fall in a cited range.

use std::collections::HashMap;
use std::path::Path;

/// Where a program of a tutorial starts: the first of a run of lines that
/// open a Python program (an encoding line, an import, a REPL import).
fn program_starts(text: &str) -> Vec<usize> {
    let opens = |l: &str| {
        let l = l.trim_start_matches(">>> ");
        l.starts_with("# -*- coding")
            || l.starts_with("# encoding")
            || l.starts_with("import ")
            || (l.starts_with("from ") && l.contains(" import "))
    };
    let lines: Vec<&str> = text.lines().collect();
    (0..lines.len()).filter(|&i| opens(lines[i]) && (i == 0 || !opens(lines[i - 1]))).map(|i| i + 1).collect()
}

/// The ranges each example header cites, by tutorial file name.
fn cited(examples: &Path) -> HashMap<String, Vec<(usize, usize)>> {
    let mut out: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for entry in std::fs::read_dir(examples).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let header: String = text.lines().take_while(|l| l.starts_with("//!")).collect::<Vec<_>>().join(" ");
        let mut file: Option<String> = None;
        for word in header.split(|c: char| c.is_whitespace() || c == '`' || c == ',' || c == '(' || c == ')') {
            if word.ends_with(".txt") {
                file = Some(word.rsplit('/').next().unwrap().to_owned());
                continue;
            }
            let Some(f) = &file else { continue };
            if let Some((a, b)) = word.split_once('–') {
                if let (Ok(a), Ok(b)) = (a.parse(), b.trim_end_matches([';', ':', '.']).parse()) {
                    out.entry(f.clone()).or_default().push((a, b));
                }
            }
        }
    }
    out
}

#[test]
fn every_tutorial_program_is_cited_by_an_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference = root.join("../shared/reference");
    if !reference.is_dir() {
        eprintln!("no ../shared/reference beside the crate: nothing to check");
        return;
    }
    let cited = cited(&root.join("examples"));
    let mut uncovered = Vec::new();
    let mut programs = 0;
    for entry in std::fs::read_dir(&reference).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let ranges = cited.get(&name).cloned().unwrap_or_default();
        for start in program_starts(&std::fs::read_to_string(&path).unwrap()) {
            programs += 1;
            if !ranges.iter().any(|&(a, b)| a <= start && start <= b) {
                uncovered.push(format!("{name}:{start}"));
            }
        }
    }
    assert!(programs >= 47, "the scan found the tutorials' programs ({programs})");
    assert!(uncovered.is_empty(), "tutorial programs no example cites:\n{}", uncovered.join("\n"));
}

#!/usr/bin/env python3
"""The crate docs' Python-name -> Rust-name table must render as one table
on docs.rs: a blank `//!` line or a row with a stray `|` splits it, and the
rows after the break show as plain text. Counts the rows of the rendered
table (target/doc, built by `cargo doc` before this runs) against the rows
written in src/lib.rs."""
import re
import sys

source = open("src/lib.rs").read().splitlines()
start = next(i for i, l in enumerate(source) if l.startswith("//! | Python"))
written = 0
for line in source[start:]:
    if not line.startswith("//! |"):
        break
    written += 1
written -= 1  # the |---| separator
html = open("target/doc/ipc/index.html").read()
table = re.search(r"<table>(.*?)</table>", html, re.S)
rendered = len(re.findall(r"<tr>", table.group(1))) if table else 0
# The rows after the table in its own section (before the next heading):
# table rows the break cut off. Later sections have tables of their own.
section = []
for line in source[start + written + 1 :]:
    if line.startswith("//! #"):
        break
    section.append(line)
stray = [l for l in section if l.startswith("//! |")]
if rendered != written or stray:
    print(f"ci: the name table renders {rendered} of its {written} rows" + (f"; {len(stray)} rows stand apart" if stray else ""))
    sys.exit(1)
print(f"ci: the name table renders all {written} rows")

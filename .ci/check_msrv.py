#!/usr/bin/env python3
"""The crate's rust-version must be true: no dependency that a user of the
library builds (normal dependencies, transitively, as locked) may declare a
newer one. (Clippy's incompatible_msrv lint, run with the rest of clippy,
checks our own code's use of std against the same number.)"""
import json
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in (v.split(".") + ["0", "0"])[:3])


host = subprocess.check_output(["rustc", "-vV"], text=True).split("host: ")[1].split()[0]
# Linux is the platform the crate supports; other targets' dependencies are
# pruned by --filter-platform.
meta = json.loads(
    subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", host])
)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
ours = [packages[i] for i in meta["workspace_members"] if packages[i]["name"] == "ipc"][0]
msrv = version(ours["rust_version"])

seen, stack, bad = set(), [ours["id"]], []
while stack:
    pid = stack.pop()
    if pid in seen:
        continue
    seen.add(pid)
    for dep in nodes[pid]["deps"]:
        # Normal (kind None) and build dependencies reach a user's build;
        # dev-dependencies (benches, tests) do not.
        # loom (under `--cfg ipc_loom`) builds only the model checks.
        if any(k["kind"] in (None, "build") and k.get("target") != "cfg(ipc_loom)" for k in dep["dep_kinds"]):
            stack.append(dep["pkg"])
for pid in sorted(seen):
    p = packages[pid]
    if p.get("rust_version") and version(p["rust_version"]) > msrv:
        bad.append(f"{p['name']} {p['version']} needs rust {p['rust_version']}")
if bad:
    print(f"ci: rust-version {ours['rust_version']} is not true:", *bad, sep="\n  ")
    sys.exit(1)
print(f"ci: rust-version {ours['rust_version']} holds for {len(seen) - 1} dependencies")

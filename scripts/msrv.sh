#!/usr/bin/env bash
# The minimum supported Rust version is what the lockfile really needs: the workspace's
# `rust-version` must be at least every resolved package's own `rust-version` (clippy's
# `incompatible_msrv` lint, on in `cargo clippy`, then checks zcred's own use of the standard
# library against it). Prints both and fails when the declared one is lower.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
meta = json.load(sys.stdin)
def version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
members = set(meta["workspace_members"])
declared = {version(p["rust_version"]) for p in meta["packages"] if p["id"] in members and p.get("rust_version")}
needed = max((version(p["rust_version"]), p["name"]) for p in meta["packages"] if p.get("rust_version") and p["id"] not in members)
fmt = lambda v: ".".join(map(str, v))
if len(declared) != 1:
    sys.exit("msrv: the workspace members declare different rust-versions: %s" % sorted(map(fmt, declared)))
(have,) = declared
print("msrv: declared %s; the lockfile needs %s (%s)" % (fmt(have), fmt(needed[0]), needed[1]))
if have < needed[0]:
    sys.exit("msrv: rust-version %s is below what %s needs (%s): raise it" % (fmt(have), needed[1], fmt(needed[0])))
'

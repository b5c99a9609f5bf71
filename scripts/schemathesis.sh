#!/usr/bin/env bash
# Property-based HTTP fuzzing of `zcred serve` against its own contract (GET /openapi.json) with
# schemathesis: no answer may be a 5xx, have a status the document does not list for its route,
# or have a content type, headers or a body that the document does not describe.
#
#     bash scripts/schemathesis.sh
#
# It installs schemathesis (pinned) into a virtualenv under ~/.cache/zcred/ when missing,
# builds `zcred` (the debug profile: CI's `cargo test` has already built its dependencies
# there), starts `zcred serve` on a free loopback port over a fresh SQLite data directory with
# an admin token, seeds it with real records (scripts/schemathesis_setup.py: an approved issuer
# with an issuer-bound key on the `unlimited` plan, a template, credentials in every state,
# open blobs, a presentation), then runs every operation of the document, with the issuer's key
# on API-key routes and the admin token on the operator's routes; the same Python file, loaded
# by schemathesis as hooks, puts the real credential and presentation into some of the bodies
# of the presentation endpoints. Exit status 1 on any failure.
#
# Settings (environment):
#   ZCRED_FUZZ_EXAMPLES  examples per operation and phase (default 150: about two minutes)
#   ZCRED_FUZZ_SEED      the random seed (default 20250601; the same seed replays the same run)
#   ZCRED_FUZZ_WORKERS   concurrent schemathesis workers (default 1: as fast on two cores, and
#                        with two, Python 3.11 was seen to fail at random in its `ast` module,
#                        "AST constructor recursion depth mismatch", a test-side error)
#   ZCRED_FUZZ_CHECKS    the schemathesis checks, comma-separated (default: no 5xx, and status,
#                        content type, headers and body as documented)
#   ZCRED_FUZZ_MAX_TIME  a time budget in seconds for the run, when set (then the number of
#                        examples depends on the machine's speed)
#   ZCRED_FUZZ_REPORT    a directory to keep the NDJSON event log, the JUnit report and the
#                        server's log in
#   CARGO_TARGET_DIR     where the build goes (default: the workspace's target/)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
examples="${ZCRED_FUZZ_EXAMPLES:-150}"
seed="${ZCRED_FUZZ_SEED:-20250601}"
workers="${ZCRED_FUZZ_WORKERS:-1}"
checks="${ZCRED_FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance}"
started=$(date +%s)
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ beside the helper in the work tree

log() { printf '\n==> %s\n' "$*" >&2; }

venv="${HOME}/.cache/zcred/schemathesis-${SCHEMATHESIS_VERSION}"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    log "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

log "cargo build -p zcred-cli"
cargo build -q -p zcred-cli
zcred="${CARGO_TARGET_DIR:-$PWD/target}/debug/zcred"

work=$(mktemp -d "${TMPDIR:-/tmp}/zcred-schemathesis.XXXXXX")
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/admin-token")
# 2048-bit /enc/ keys: the admin rotation is fuzzed too, and each makes a key.
"$zcred" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
    --admin-token-file "$work/admin-token" --enc-rsa-bits 2048 \
    >"$work/ready" 2>"$work/server.log" &
server_pid=$!
address=""
for _ in $(seq 1 100); do
    address=$(sed -n 's/.*"listening":"\([^"]*\)".*/\1/p' "$work/ready")
    [ -n "$address" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$address" ] || { echo "zcred serve did not start" >&2; cat "$work/server.log" >&2; exit 1; }
base="http://$address"
log "zcred serve on $base; seeding it"

"$venv/bin/python" scripts/schemathesis_setup.py --zcred "$zcred" --server "$base" \
    --admin-token-file "$work/admin-token" --work "$work" --config "$work/schemathesis.toml"

report_args=()
if [ -n "${ZCRED_FUZZ_REPORT:-}" ]; then
    mkdir -p "$ZCRED_FUZZ_REPORT"
    report_args=(--report ndjson,junit --report-dir "$ZCRED_FUZZ_REPORT")
fi
time_args=()
if [ -n "${ZCRED_FUZZ_MAX_TIME:-}" ]; then
    time_args=(--max-time "$ZCRED_FUZZ_MAX_TIME")
fi

log "schemathesis $SCHEMATHESIS_VERSION: $examples examples per operation, seed $seed"
set +e
(
    cd "$work" # its example database and caches stay in the scratch directory
    ZCRED_FUZZ_WORK="$work" "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" --no-color run "$base/openapi.json" \
        --checks "$checks" \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$examples" --seed "$seed" --workers "$workers" \
        --generation-database none --request-timeout 30 \
        "${time_args[@]}" "${report_args[@]}"
) | tee "$work/schemathesis.out"
status=${PIPESTATUS[0]}
set -e

errors=$(grep -c '"status":5[0-9][0-9]\|status=5[0-9][0-9]' "$work/server.log" || true)
cases=$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$work/schemathesis.out" | tail -n 1)
operations=$(sed -n 's/^ *Tested: *\([0-9][0-9]*\).*/\1/p' "$work/schemathesis.out" | tail -n 1)
if [ -n "${ZCRED_FUZZ_REPORT:-}" ]; then
    cp "$work/server.log" "$ZCRED_FUZZ_REPORT/server.log"
fi
if [ "$status" -ne 0 ]; then
    tail -n 50 "$work/server.log" >&2
fi
verdict=$([ "$status" -eq 0 ] && [ "$errors" -eq 0 ] && echo passed || echo failed)
printf '\nschemathesis %s: %s operations, %s test cases, seed %s, %s 5xx logged by the server, %s in %ss\n' \
    "$SCHEMATHESIS_VERSION" "${operations:-?}" "${cases:-?}" "$seed" "$errors" "$verdict" "$(($(date +%s) - started))"
[ "$verdict" = passed ]

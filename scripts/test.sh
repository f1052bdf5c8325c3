#!/usr/bin/env bash
# Runs the whole test suite: starts the test environment (real PostgreSQL), then every
# test of the workspace with nextest, against both SQLite and PostgreSQL.
#   scripts/test.sh [extra nextest args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cloud/target}
envdir=${CLOUD_TESTENV_DIR:-/var/tmp/cloud-testenv}

scripts/testenv.sh up "$envdir"
# shellcheck disable=SC1091
. "$envdir/env"
trap 'scripts/testenv.sh down "$envdir"' EXIT

cargo fmt --all -- --check
if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
cargo nextest run --workspace --profile ci "$@"

#!/usr/bin/env bash
# make bench: start the servers the backend suites need (PostgreSQL and
# FerretDB, on loopback, in a run dir of their own), run build/earnorm_bench,
# stop the servers. The ratios are printed and written to build/bench.json.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
export EARNORM_RUN_DIR="${EARNORM_RUN_DIR:-/tmp/earnorm-bench}"
# PostgreSQL and FerretDB (the MongoDB suite). A failed start stops what it
# started, so if both together fail, try each alone: one server's suites
# still run without the other's.
if env_lines=$(scripts/services.sh start pg mongo); then
    eval "$env_lines"
elif env_lines=$(scripts/services.sh start pg); then
    eval "$env_lines"
    echo "bench: FerretDB (MongoDB) did not start; its suite is skipped" >&2
elif env_lines=$(scripts/services.sh start mongo); then
    eval "$env_lines"
    echo "bench: PostgreSQL did not start; its suites are skipped" >&2
else
    echo "bench: neither PostgreSQL nor FerretDB (MongoDB) started; their suites are skipped" >&2
fi
trap 'scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
# In a subshell: the trap runs from here, where scripts/ is (it used to find
# no scripts/ in $BUILD and leave the servers running).
(cd "$BUILD" && ./earnorm_bench --out bench.json)

#!/usr/bin/env bash
# make bench: start the servers the backend suites need (on loopback, in a
# run dir of their own), run build/earnorm_bench, stop the servers. The
# ratios are printed and written to build/bench.json.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
export EARNORM_RUN_DIR="${EARNORM_RUN_DIR:-/tmp/earnorm-bench}"
if env_lines=$(scripts/services.sh start pg); then
    eval "$env_lines"
else
    echo "bench: PostgreSQL did not start; its suites are skipped" >&2
fi
trap 'scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
cd "$BUILD" && ./earnorm_bench --out bench.json

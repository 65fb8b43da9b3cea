#!/usr/bin/env bash
# make bench-peers: the workloads of `make bench` (bulk create, search_read,
# the parent_id.name loop; ROWS rows, 100k by default) through EarnORM and
# its raw C drivers (build/earnorm_bench) and through Python's and Node's
# ORMs and their raw drivers, on SQLite, PostgreSQL and MongoDB (FerretDB),
# in one run. Not part of make test.
#
#   1. installs the peers into the build dir: a venv ($BUILD/peers/venv:
#      SQLAlchemy 2.x, Peewee, psycopg2, pymongo, MongoEngine) and
#      node_modules ($BUILD/peers/node: Mongoose and the mongodb driver it
#      runs on); a package that does not install is named in the table
#      ("not installed: ..."), the rest still run
#   2. starts PostgreSQL and FerretDB (scripts/services.sh, as
#      scripts/bench.sh), stops them at the end
#   3. runs earnorm_bench --only <backend> per backend (its bench.json per
#      backend in $BUILD/peers/), bench/peers/peers.py per backend and
#      bench/peers/mongoose.js
#   4. prints one table (bench/peers/table.py) and writes it to
#      $BUILD/bench-peers.json
#
# Environment: ROWS (100000), RUNS (best of, 3), MONGO_RUNS (best of, on
# MongoDB: FerretDB takes seconds per pass at 100k rows; 1), BUDGET
# (seconds: a peer whose runs of a workload took that long is not run
# again, 10),
# EARNORM_RUN_DIR (the servers' run dir, /tmp/earnorm-bench-peers).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
ROWS="${ROWS:-100000}"
RUNS="${RUNS:-3}"
MONGO_RUNS="${MONGO_RUNS:-1}"
BUDGET="${BUDGET:-10}"
PEERS="$BUILD/peers"
export EARNORM_RUN_DIR="${EARNORM_RUN_DIR:-/tmp/earnorm-bench-peers}"
export MONGOC_DISABLE_SHM=1
started=$(date +%s)
mkdir -p "$PEERS"
rm -f "$PEERS"/earnorm-*.json "$PEERS"/py-*.json "$PEERS"/node-*.json "$PEERS"/status-*.txt "$PEERS"/pip-missing.tsv \
    "$PEERS"/loadavg.txt

# each step's line also keeps the machine's load average (the table says
# how busy the machine was: the numbers of a shared machine vary with it)
log() {
    printf 'bench-peers: [%4d s] %s\n' "$(($(date +%s) - started))" "$*" >&2
    cut -d' ' -f1 /proc/loadavg >>"$PEERS/loadavg.txt" 2>/dev/null || true
}
# status NAME TEXT: why the runner NAME has no result (the table shows it)
status() { printf '%s\n' "$2" >"$PEERS/status-$1.txt"; log "$1: $2"; }

# ---- 1. the peers
PY="$PEERS/venv/bin/python"
if [[ ! -x "$PY" ]] && ! python3 -m venv "$PEERS/venv" >"$PEERS/venv.log" 2>&1; then
    why="no venv: $(tail -n 1 "$PEERS/venv.log")"
    for b in sqlite postgresql mongodb; do status "py-$b" "not installed: $why"; done
fi
if [[ -x "$PY" ]]; then
    # one package at a time: one that fails is named, the others install
    for spec in 'sqlalchemy>=2,<3' 'peewee>=3.17' 'psycopg2-binary>=2.9' 'pymongo>=4' 'mongoengine>=0.27'; do
        name="${spec%%[<>=]*}"
        if ! "$PY" -m pip install -q "$spec" >"$PEERS/pip-$name.log" 2>&1; then
            why="$(grep -m1 -E 'ERROR|error' "$PEERS/pip-$name.log" || tail -n 1 "$PEERS/pip-$name.log")"
            printf '%s\t%s\n' "$name" "$why" >>"$PEERS/pip-missing.tsv"
            log "pip could not install $spec: $why"
        fi
    done
fi
NODE_MISSING=""
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    NODE_MISSING="no node/npm on PATH"
    status node-mongodb "not installed: $NODE_MISSING"
elif [[ ! -d "$PEERS/node/node_modules/mongoose" || ! -d "$PEERS/node/node_modules/mongodb" ]]; then
    mkdir -p "$PEERS/node"
    [[ -f "$PEERS/node/package.json" ]] ||
        printf '{ "name": "earnorm-bench-peers", "private": true }\n' >"$PEERS/node/package.json"
    # Mongoose, and the mongodb driver it depends on, hoisted beside it (the
    # raw side runs on the same driver); the driver alone if that failed
    if ! (cd "$PEERS/node" && npm install --no-audit --no-fund --loglevel=error mongoose) >"$PEERS/npm.log" 2>&1; then
        NODE_MISSING="npm: $(grep -m1 -i 'err' "$PEERS/npm.log" || tail -n 1 "$PEERS/npm.log")"
        log "npm could not install mongoose: $NODE_MISSING"
    fi
    if [[ ! -d "$PEERS/node/node_modules/mongodb" ]] &&
        ! (cd "$PEERS/node" && npm install --no-audit --no-fund --loglevel=error mongodb) >>"$PEERS/npm.log" 2>&1; then
        log "npm could not install mongodb"
    fi
fi

# ---- 2. the servers
if env_lines=$(scripts/services.sh start pg mongo); then
    eval "$env_lines"
elif env_lines=$(scripts/services.sh start pg); then
    eval "$env_lines"
    log "FerretDB (MongoDB) did not start; its runs are skipped"
elif env_lines=$(scripts/services.sh start mongo); then
    eval "$env_lines"
    log "PostgreSQL did not start; its runs are skipped"
else
    log "neither PostgreSQL nor FerretDB (MongoDB) started; their runs are skipped"
fi
trap 'scripts/services.sh stop >/dev/null 2>&1 || true' EXIT
PG_URL="${EARNORM_TEST_PG_URL:-}"
MONGO_URL="${EARNORM_TEST_MONGO_URL:-}"

# ---- 3. the runs: each backend's EarnORM bench, then its peers
run_earnorm() { # backend runs [url flag]
    local b="$1" runs="$2"
    shift 2
    log "earnorm_bench --only $b"
    if ! (cd "$BUILD" && ./earnorm_bench --rows "$ROWS" --runs "$runs" --only "$b" --skip-loops "$@" \
        --sqlite "peers/earnorm.db" --out "peers/earnorm-$b.json") >"$PEERS/earnorm-$b.log" 2>&1; then
        status "earnorm-$b" "failed: $(tail -n 1 "$PEERS/earnorm-$b.log")"
    fi
    rm -f "$PEERS/earnorm.db" "$PEERS/earnorm.db-wal" "$PEERS/earnorm.db-shm"
}
run_py() { # backend runs url
    [[ -x "$PY" ]] || return 0
    log "peers.py --backend $1"
    if ! "$PY" bench/peers/peers.py --backend "$1" --url "$3" --rows "$ROWS" --runs "$2" \
        --budget "$BUDGET" --out "$PEERS/py-$1.json" --install-log "$PEERS/pip-missing.tsv" 2>"$PEERS/py-$1.err"; then
        status "py-$1" "failed: $(tail -n 1 "$PEERS/py-$1.err")"
    fi
}
# MongoDB: a database of the peers' own beside the test one, <db>_peers
peers_url() { printf '%s_peers' "${1%%\?*}"; }

run_earnorm sqlite "$RUNS"
run_py sqlite "$RUNS" "$PEERS/peers.db"
rm -f "$PEERS/peers.db" "$PEERS/peers.db-wal" "$PEERS/peers.db-shm"

if [[ -n "$PG_URL" ]]; then
    run_earnorm postgresql "$RUNS" --pg "$PG_URL"
    run_py postgresql "$RUNS" "$PG_URL" # in a database of its own beside it (peers.py)
else
    status earnorm-postgresql "not run: PostgreSQL did not start"
    status py-postgresql "not run: PostgreSQL did not start"
fi

if [[ -n "$MONGO_URL" ]]; then
    run_earnorm mongodb "$MONGO_RUNS" --mongo "$MONGO_URL"
    run_py mongodb "$MONGO_RUNS" "$(peers_url "$MONGO_URL")"
    if [[ -z "$NODE_MISSING" || -d "$PEERS/node/node_modules/mongodb" ]] && command -v node >/dev/null; then
        log "mongoose.js"
        if ! NODE_PATH="$(cd "$PEERS/node" && pwd)/node_modules" PEERS_NPM_MISSING="$NODE_MISSING" \
            node bench/peers/mongoose.js "$(peers_url "$MONGO_URL")" "$ROWS" "$MONGO_RUNS" \
            "$PEERS/node-mongodb.json" "$BUDGET" 2>"$PEERS/node-mongodb.err"; then
            status node-mongodb "failed: $(tail -n 1 "$PEERS/node-mongodb.err")"
        fi
    elif [[ ! -f "$PEERS/status-node-mongodb.txt" ]]; then
        status node-mongodb "not installed: $NODE_MISSING"
    fi
else
    for n in earnorm-mongodb py-mongodb node-mongodb; do status "$n" "not run: FerretDB (MongoDB) did not start"; done
fi

# ---- 4. the table
python3 bench/peers/table.py "$PEERS" "$BUILD/bench-peers.json" "$ROWS" "$RUNS" "$MONGO_RUNS"
log "done in $(($(date +%s) - started)) s"

#!/usr/bin/env bash
# Start/stop the servers EarnORM's integration tests talk to, all on 127.0.0.1
# with free ports and data under one run directory. There is no systemd on our
# machines (nor in CI), so every server is tracked and stopped by PID.
#
# Usage:
#   scripts/services.sh start [pg|redis|mongo ...]   fresh start (default: all three);
#                                                   prints the env.sh export lines on stdout
#   scripts/services.sh stop                         stop everything recorded in env.sh
#   scripts/services.sh status                       one line per service; non-zero if any is down
#   scripts/services.sh env                          print <rundir>/env.sh
#   scripts/services.sh restart-one pg|redis|mongo   stop + start one service, same port and data
#   scripts/services.sh stop-one    pg|redis|mongo   stop one service (for fault injection)
#   scripts/services.sh start-one   pg|redis|mongo   bring it back on the same port and data
#
# Typical use:  eval "$(scripts/services.sh start)"   or   . "$RUN_DIR/env.sh"
#
# Environment: EARNORM_RUN_DIR (default /tmp/earnorm-services),
#   EARNORM_FERRETDB_BIN (default: built/cached by scripts/build-ferretdb.sh),
#   EARNORM_SERVICE_TIMEOUT (seconds to wait for each server, default 30),
#   EARNORM_PG_BIN (default /usr/lib/postgresql/15/bin, else the newest installed).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN_DIR="${EARNORM_RUN_DIR:-/tmp/earnorm-services}"
RUN_DIR="${RUN_DIR%/}"
TIMEOUT="${EARNORM_SERVICE_TIMEOUT:-30}"
# Debian 12 ships PostgreSQL 15; take the newest installed major if 15 is absent.
PG_BIN="${EARNORM_PG_BIN:-/usr/lib/postgresql/15/bin}"
if [[ -z "${EARNORM_PG_BIN:-}" && ! -x "$PG_BIN/initdb" ]]; then
    PG_BIN="$(find /usr/lib/postgresql -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)"
    PG_BIN="${PG_BIN%/initdb}"
fi
PG_DB=earnorm_test
ENV_FILE="$RUN_DIR/env.sh"
MARKER="$RUN_DIR/.earnorm-services" # proves the dir is ours before we wipe it
ALL_SERVICES=(pg redis mongo)

log() { printf 'services: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

# Absolute path: postgres runs from / (see as_pg) and env.sh must work from anywhere.
case "$RUN_DIR" in
/*) ;;
*) RUN_DIR="$PWD/$RUN_DIR" ENV_FILE="$RUN_DIR/env.sh" MARKER="$RUN_DIR/.earnorm-services" ;;
esac

# Substrings of each server's command line, for pid_is (see there).
PG_TAG="-D $RUN_DIR/pg/data"
REDIS_TAG="redis-server"
MONGO_TAG="--sqlite-url=file:$RUN_DIR/mongo/data/"

# State, filled from env.sh and written back by write_env.
PG_PORT="" PG_PID="" REDIS_PORT="" REDIS_PID="" MONGO_PORT="" MONGO_PID=""

canon() { # accept a few aliases for service names
    case "$1" in
    pg | postgres | postgresql) echo pg ;;
    redis) echo redis ;;
    mongo | mongodb | ferretdb) echo mongo ;;
    *) die "unknown service '$1' (expected pg, redis or mongo)" ;;
    esac
}

load_env() {
    if [[ -f "$ENV_FILE" ]]; then
        PG_PORT="$(sed -n 's/^export EARNORM_TEST_PG_PORT=//p' "$ENV_FILE")"
        PG_PID="$(sed -n 's/^export EARNORM_TEST_PG_PID=//p' "$ENV_FILE")"
        REDIS_PORT="$(sed -n 's/^export EARNORM_TEST_REDIS_PORT=//p' "$ENV_FILE")"
        REDIS_PID="$(sed -n 's/^export EARNORM_TEST_REDIS_PID=//p' "$ENV_FILE")"
        MONGO_PORT="$(sed -n 's/^export EARNORM_TEST_MONGO_PORT=//p' "$ENV_FILE")"
        MONGO_PID="$(sed -n 's/^export EARNORM_TEST_MONGO_PID=//p' "$ENV_FILE")"
    fi
}

write_env() {
    local tmp="$ENV_FILE.tmp.$$"
    {
        echo "# Written by scripts/services.sh; source it to reach the test servers."
        echo "export EARNORM_RUN_DIR=$RUN_DIR"
        if [[ -n "$PG_PORT" ]]; then
            echo "export EARNORM_TEST_PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/$PG_DB"
            echo "export EARNORM_TEST_PG_PORT=$PG_PORT"
            echo "export EARNORM_TEST_PG_PID=$PG_PID"
            echo "export EARNORM_TEST_PG_SOCKET_DIR=$RUN_DIR/pg/sock"
        fi
        if [[ -n "$REDIS_PORT" ]]; then
            echo "export EARNORM_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
            echo "export EARNORM_TEST_REDIS_PORT=$REDIS_PORT"
            echo "export EARNORM_TEST_REDIS_PID=$REDIS_PID"
        fi
        if [[ -n "$MONGO_PORT" ]]; then
            echo "export EARNORM_TEST_MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/earnorm_test"
            echo "export EARNORM_TEST_MONGO_PORT=$MONGO_PORT"
            echo "export EARNORM_TEST_MONGO_PID=$MONGO_PID"
        fi
    } >"$tmp"
    mv -f "$tmp" "$ENV_FILE" # atomic: a test reading env.sh never sees half a file
}

# N distinct free ports, chosen below the kernel's ephemeral range: a port from
# that range could be taken as the local port of some client connection while
# its server is down (stop-one/restart-one), and the server could not come back.
free_ports() {
    python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
candidates = list(range(20000, lo)) if lo > 21000 else []
random.shuffle(candidates)
socks = []  # hold them all open so the N ports are distinct
for port in candidates:
    if len(socks) == n:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        socks.append(s)
    except OSError:
        s.close()
while len(socks) < n:  # fallback: let the kernel pick
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Is something LISTENing on 127.0.0.1:PORT? Reads /proc/net/tcp instead of
# connecting: a probe connection that is closed at once makes FerretDB log a warning.
port_open() {
    local hex
    hex="$(printf '0100007F:%04X' "$1")"
    awk -v a="$hex" '$2 == a && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp
}

# Is PID alive and really the expected program (its command line contains NAME,
# "" = any)? Guards against stale PIDs in an env.sh left from an earlier boot,
# which may now belong to something else. The NAMEs below contain this run
# dir's paths or ports, so they never match another instance's servers.
pid_is() {
    local pid="$1" name="$2" cmd
    pid_alive "$pid" || return 1
    [[ -n "$name" ]] || return 0
    cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
    [[ "$cmd" == *"$name"* ]]
}

# Alive = exists and is not a zombie. Not judged from /proc/PID/cmdline, which
# reads empty for a moment while a fresh child execs.
pid_alive() {
    local stat
    [[ "$1" =~ ^[0-9]+$ ]] || return 1
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }" # the state letter follows the ")" that ends the command name
    [[ -n "$stat" && "${stat:0:1}" != Z ]]
}

kill_wait() { # kill_wait PID NAME [SIGNAL]: signal, wait up to TIMEOUT, then SIGKILL
    local pid="$1" name="$2" sig="${3:-TERM}" i
    pid_is "$pid" "$name" || return 0
    kill "-$sig" "$pid" 2>/dev/null || return 0
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        pid_is "$pid" "$name" || return 0
        sleep 0.1
    done
    log "$name (pid $pid) ignored SIG$sig for ${TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        pid_is "$pid" "$name" || return 0
        sleep 0.1
    done
    die "could not kill $name (pid $pid)"
}

fail_with_log() { # fail_with_log SERVICE LOGFILE MESSAGE
    log "ERROR: $1: $3"
    if [[ -f "$2" ]]; then
        log "---- last lines of $2 ----"
        tail -n 30 "$2" >&2 || true
        log "----"
    fi
    exit 1
}

# ---------------------------------------------------------------- PostgreSQL
# initdb refuses to run as root, and the data dir must belong to the server's
# user, so as root everything PostgreSQL runs as the postgres user.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        # cd /: postgres cannot read root's cwd and would warn or fail.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

pg_init() {
    local d="$RUN_DIR/pg"
    mkdir -p "$d/data" "$d/sock"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres: "$d"
        as_pg test -x "$d" || die "user postgres cannot reach $d; use an EARNORM_RUN_DIR whose parents are world-searchable"
    fi
    chmod 700 "$d/data"
    # -N: skip fsync, the cluster is throwaway. Trust auth: tests connect without a password.
    as_pg "$PG_BIN/initdb" -D "$d/data" -A trust -U postgres --encoding=UTF8 --locale=C -N \
        >"$d/initdb.log" 2>&1 || fail_with_log pg "$d/initdb.log" "initdb failed"
}

pg_start() {
    local d="$RUN_DIR/pg" port="$PG_PORT"
    # Unix socket paths are limited to 107 bytes.
    ((${#d} + 25 < 107)) || die "run dir path too long for a PostgreSQL socket: $d"
    # Durability off: tests are faster and the data is throwaway.
    as_pg "$PG_BIN/pg_ctl" -w -t "$TIMEOUT" -D "$d/data" -l "$d/postgres.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $d/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >"$d/pg_ctl.log" 2>&1 ||
        { cat "$d/pg_ctl.log" >>"$d/postgres.log" 2>/dev/null || true; fail_with_log pg "$d/postgres.log" "pg_ctl start failed on port $port"; }
    PG_PID="$(head -n 1 "$d/data/postmaster.pid")"
    port_open "$port" || fail_with_log pg "$d/postgres.log" "started but port $port is not accepting connections"
}

pg_create_db() {
    "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE $PG_DB" >"$RUN_DIR/pg/createdb.log" 2>&1 ||
        fail_with_log pg "$RUN_DIR/pg/createdb.log" "could not create database $PG_DB"
}

pg_stop() {
    local d="$RUN_DIR/pg"
    if [[ -f "$d/data/postmaster.pid" ]] && pid_is "$(head -n 1 "$d/data/postmaster.pid")" "$PG_TAG"; then
        as_pg "$PG_BIN/pg_ctl" -w -t "$TIMEOUT" -D "$d/data" -m fast stop >/dev/null 2>&1 ||
            log "pg_ctl stop failed; killing pid $PG_PID"
    fi
    # Fallback (and for a data dir that vanished): SIGINT is PostgreSQL's fast shutdown.
    kill_wait "$PG_PID" "$PG_TAG" INT
}

# --------------------------------------------------------------------- Redis
redis_start() {
    local d="$RUN_DIR/redis" port="$REDIS_PORT" i
    mkdir -p "$d"
    rm -f "$d/redis.pid"
    # No saving while running (throwaway data, no fsync stalls); redis_stop saves
    # once at shutdown so that restart-one keeps the data.
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$d/redis.pid" --logfile "$d/redis.log" --dir "$d" \
        >"$d/redis-start.log" 2>&1 || fail_with_log redis "$d/redis-start.log" "redis-server failed to start"
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        if [[ -s "$d/redis.pid" ]] && [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]; then
            REDIS_PID="$(cat "$d/redis.pid")"
            return 0
        fi
        sleep 0.1
    done
    fail_with_log redis "$d/redis.log" "no PONG on port $port within ${TIMEOUT}s"
}

redis_stop() {
    # SHUTDOWN SAVE writes dump.rdb (even with --save ''), which the next start in
    # the same dir loads: restart-one keeps Redis data like it does for pg and mongo.
    # Full 'start' wipes the dir, so nothing leaks between runs.
    if [[ -z "$REDIS_PID" && -f "$RUN_DIR/redis/redis.pid" ]]; then # see mongo_stop
        REDIS_PID="$(cat "$RUN_DIR/redis/redis.pid")"
    fi
    if pid_is "$REDIS_PID" "$REDIS_TAG"; then
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown save >/dev/null 2>&1 || true
    fi
    kill_wait "$REDIS_PID" "$REDIS_TAG"
}

# ------------------------------------------------------------ FerretDB (mongo)
FERRETDB_BIN=""
find_ferretdb() {
    [[ -z "$FERRETDB_BIN" ]] || return 0
    if [[ -n "${EARNORM_FERRETDB_BIN:-}" ]]; then
        FERRETDB_BIN="$EARNORM_FERRETDB_BIN"
    else
        # Builds once (about a minute), then just prints the cached path.
        FERRETDB_BIN="$("$SCRIPT_DIR/build-ferretdb.sh" | tail -n 1)" ||
            die "could not build FerretDB (see scripts/build-ferretdb.sh)"
    fi
    [[ -x "$FERRETDB_BIN" ]] || die "FerretDB binary not executable: $FERRETDB_BIN"
}

mongo_start() {
    local d="$RUN_DIR/mongo" port="$MONGO_PORT" bin i rc
    find_ferretdb
    bin="$FERRETDB_BIN"
    mkdir -p "$d/data"
    # setsid: detach like pg_ctl and redis --daemonize do, so the server outlives
    # this script and is not hit by signals sent to the caller's process group.
    # The sqlite URL must name an existing directory and end in '/'.
    setsid "$bin" --handler=sqlite --sqlite-url="file:$d/data/" \
        --listen-addr="127.0.0.1:$port" --state-dir=- --debug-addr=- \
        --telemetry=disable --log-level=warn \
        </dev/null >>"$d/ferretdb.log" 2>&1 &
    MONGO_PID=$!
    # FerretDB writes no pidfile; ours lets 'stop' find it even if this script dies now.
    echo "$MONGO_PID" >"$d/ferretdb.pid"
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        if ! pid_alive "$MONGO_PID"; then # (a zombie child until wait reaps it)
            wait "$MONGO_PID" && rc=0 || rc=$?
            fail_with_log mongo "$d/ferretdb.log" "FerretDB ($bin) exited during startup with status $rc"
        fi
        if port_open "$port"; then break; fi
        sleep 0.1
    done
    # "" (any command line): this is the PID we just started, whatever the binary is called.
    port_open "$port" || { kill_wait "$MONGO_PID" ""; fail_with_log mongo "$d/ferretdb.log" "port $port not open within ${TIMEOUT}s"; }
    # An open port is not proof the backend works: do a real round trip.
    if ! mongo_ping "$port" 2>>"$d/ferretdb.log"; then
        kill_wait "$MONGO_PID" ""
        fail_with_log mongo "$d/ferretdb.log" "FerretDB listens on $port but does not answer ping"
    fi
}

mongo_ping() {
    if python3 -c 'import pymongo' 2>/dev/null; then
        python3 - "$1" "$TIMEOUT" <<'EOF'
import os, sys, pymongo
c = pymongo.MongoClient("127.0.0.1", int(sys.argv[1]), directConnection=True,
                        serverSelectionTimeoutMS=int(sys.argv[2]) * 1000)
c.admin.command("ping")
# Skip interpreter shutdown: joining pymongo's monitor thread costs ~0.5 s.
sys.stdout.flush()
os._exit(0)
EOF
    else
        log "warning: pymongo not importable (run scripts/install-deps.sh); only checked the port"
    fi
}

mongo_stop() {
    # The pidfile covers a start that died before it could record the PID in env.sh.
    if [[ -z "$MONGO_PID" && -f "$RUN_DIR/mongo/ferretdb.pid" ]]; then
        MONGO_PID="$(cat "$RUN_DIR/mongo/ferretdb.pid")"
    fi
    kill_wait "$MONGO_PID" "$MONGO_TAG"
}

# ------------------------------------------------------------------ dispatch
port_of() {
    case "$1" in pg) echo "$PG_PORT" ;; redis) echo "$REDIS_PORT" ;; mongo) echo "$MONGO_PORT" ;; esac
}

stop_svc() {
    case "$1" in pg) pg_stop ;; redis) redis_stop ;; mongo) mongo_stop ;; esac
}

start_svc() { # start on the already-chosen port, keeping any data already there
    preflight "$1"
    case "$1" in pg) pg_start ;; redis) redis_start ;; mongo) mongo_start ;; esac
}

preflight() { # fail before anything starts if a service's programs are missing
    local b
    case "$1" in
    pg)
        for b in initdb pg_ctl psql; do
            [[ -x "$PG_BIN/$b" ]] || die "PostgreSQL $b not found (looked in ${PG_BIN:-/usr/lib/postgresql/*/bin}); run scripts/install-deps.sh"
        done
        if [[ $(id -u) -eq 0 ]]; then
            id postgres >/dev/null 2>&1 || die "no 'postgres' user to run PostgreSQL as"
            as_pg test -x "$(dirname "$RUN_DIR")" ||
                die "user postgres cannot reach $(dirname "$RUN_DIR"); use an EARNORM_RUN_DIR whose parents are world-searchable (e.g. under /tmp)"
        fi
        ;;
    redis)
        for b in redis-server redis-cli; do
            command -v "$b" >/dev/null || die "$b not found; run scripts/install-deps.sh"
        done
        ;;
    mongo) find_ferretdb ;;
    esac
}

cmd_stop() {
    load_env
    stop_all
    # Keep ports (start-one can bring a service back), forget the dead PIDs.
    if [[ -f "$ENV_FILE" ]]; then write_env; fi
}

stop_all() { # stop every service that has a port in the current state
    local svc
    for svc in "${ALL_SERVICES[@]}"; do
        [[ -n "$(port_of "$svc")" ]] || continue
        stop_one "$svc"
    done
}

stop_one() { # stop one service, clear its PID, say what happened
    local svc="$1" pid
    case "$svc" in pg) pid="$PG_PID" ;; redis) pid="$REDIS_PID" ;; mongo) pid="$MONGO_PID" ;; esac
    if svc_running "$svc"; then
        stop_svc "$svc"
        log "$svc stopped"
    else
        stop_svc "$svc" # still: a server may be half up, e.g. listening on no port
        if [[ -n "$pid" ]]; then log "$svc was not running"; fi
    fi
    case "$svc" in pg) PG_PID="" ;; redis) REDIS_PID="" ;; mongo) MONGO_PID="" ;; esac
}

svc_running() { # is the recorded PID alive, ours, and listening on its port?
    local port
    port="$(port_of "$1")"
    case "$1" in
    pg) pid_is "$PG_PID" "$PG_TAG" && port_open "$port" ;;
    redis) pid_is "$REDIS_PID" "$REDIS_TAG" && port_open "$port" ;;
    mongo) pid_is "$MONGO_PID" "$MONGO_TAG" && port_open "$port" ;;
    esac
}

INIT_PID="" # background initdb of a running 'start'

start_failed() { # EXIT trap of cmd_start
    trap - EXIT
    log "start failed; stopping what was started (logs kept in $RUN_DIR)"
    # Let a running initdb finish rather than leave it behind; pg is not started yet.
    if [[ -n "$INIT_PID" ]]; then wait "$INIT_PID" 2>/dev/null || true; fi
    stop_all >/dev/null 2>&1 || true
    write_env 2>/dev/null || true # ports kept, PIDs cleared
}

cmd_start() {
    local want=() svc ports t0
    t0=$(date +%s%N)
    if (($# == 0)); then set -- "${ALL_SERVICES[@]}"; fi
    for svc in "$@"; do
        svc="$(canon "$svc")"
        [[ " ${want[*]} " == *" $svc "* ]] || want+=("$svc")
    done
    for svc in "${want[@]}"; do preflight "$svc"; done
    # A fresh start: stop whatever an earlier start left running, then wipe its data.
    if [[ -f "$ENV_FILE" ]]; then cmd_stop; fi
    if [[ -e "$RUN_DIR" ]]; then
        if [[ -f "$MARKER" ]] || [[ -z "$(ls -A "$RUN_DIR")" ]]; then
            rm -rf "$RUN_DIR"
        else
            die "$RUN_DIR exists and was not made by this script; refusing to wipe it"
        fi
    fi
    mkdir -p "$RUN_DIR"
    chmod 755 "$RUN_DIR" # the postgres user must be able to reach its data dir
    touch "$MARKER"
    PG_PORT="" PG_PID="" REDIS_PORT="" REDIS_PID="" MONGO_PORT="" MONGO_PID=""

    # Stop whatever this invocation started if a later service fails: no leftovers.
    trap start_failed EXIT

    read -r -a ports <<<"$(free_ports "${#want[@]}")"
    local i=0
    for svc in "${want[@]}"; do
        case "$svc" in
        pg) PG_PORT="${ports[i]}" ;;
        redis) REDIS_PORT="${ports[i]}" ;;
        mongo) MONGO_PORT="${ports[i]}" ;;
        esac
        i=$((i + 1))
    done
    write_env # ports first, so a cleanup after a failure knows what to stop

    # initdb is the slowest step (~1 s); run it while the other servers start.
    if [[ -n "$PG_PORT" ]]; then
        pg_init &
        INIT_PID=$!
    fi
    for svc in "${want[@]}"; do
        case "$svc" in
        pg) continue ;; # last, after its initdb
        redis) redis_start ;;
        mongo) mongo_start ;;
        esac
        write_env # record each PID as soon as it exists
        log "$svc up on 127.0.0.1:$(port_of "$svc")"
    done
    if [[ -n "$INIT_PID" ]]; then
        wait "$INIT_PID" || { INIT_PID="" && exit 1; } # pg_init already printed why
        INIT_PID=""
        pg_start
        pg_create_db
        write_env
        log "pg up on 127.0.0.1:$PG_PORT"
    fi
    trap - EXIT
    log "started ${want[*]} in $((($(date +%s%N) - t0) / 1000000)) ms; env: $ENV_FILE"
    cat "$ENV_FILE"
}

cmd_one() { # cmd_one stop|start|restart SERVICE
    local action="$1" svc
    svc="$(canon "$2")"
    load_env
    [[ -n "$(port_of "$svc")" ]] || die "$svc was not started by 'services.sh start' (no port in $ENV_FILE)"
    if [[ "$action" != start ]]; then
        stop_one "$svc"
        write_env
    fi
    if [[ "$action" != stop ]]; then
        case "$svc" in
        pg) pid_is "$PG_PID" "$PG_TAG" && die "pg is already running (pid $PG_PID)" ;;
        redis) pid_is "$REDIS_PID" "$REDIS_TAG" && die "redis is already running (pid $REDIS_PID)" ;;
        mongo) pid_is "$MONGO_PID" "$MONGO_TAG" && die "mongo is already running (pid $MONGO_PID)" ;;
        esac
        start_svc "$svc"
        log "$svc up again on 127.0.0.1:$(port_of "$svc")"
    fi
    write_env
}

cmd_status() {
    load_env
    [[ -f "$ENV_FILE" ]] || { echo "no services started (no $ENV_FILE)"; return 1; }
    local svc port pid rc=0 state
    for svc in "${ALL_SERVICES[@]}"; do
        port="$(port_of "$svc")"
        [[ -n "$port" ]] || continue
        case "$svc" in pg) pid="$PG_PID" ;; redis) pid="$REDIS_PID" ;; mongo) pid="$MONGO_PID" ;; esac
        if svc_running "$svc"; then state=running; else state=DOWN rc=1; fi
        printf '%-6s %-8s port=%s pid=%s\n' "$svc" "$state" "$port" "$pid"
    done
    return "$rc"
}

case "${1:-}" in
start) shift && cmd_start "$@" ;;
stop) cmd_stop ;;
status) cmd_status ;;
env)
    [[ -f "$ENV_FILE" ]] || die "no $ENV_FILE; run 'services.sh start' first"
    cat "$ENV_FILE"
    ;;
restart-one | stop-one | start-one)
    [[ $# -eq 2 ]] || die "usage: services.sh $1 pg|redis|mongo"
    cmd_one "${1%-one}" "$2"
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

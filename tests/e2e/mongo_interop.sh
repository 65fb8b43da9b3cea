#!/usr/bin/env bash
# MongoDB interop (issue 3): records written through EarnORM are read by an
# independent client (pymongo) and the reverse, for every field type, plus
# operator injection. Prints TAP; exits non-zero on any failure.
#
# Usage: mongo_interop.sh EARNORM_BINARY SOURCE_DIR   (EARNORM_TEST_DB=mongodb://...)
#
# The steps alternate between the two clients and share ids through a state
# file; each prints unnumbered "ok - ..." / "not ok - ..." lines that this
# script numbers. The test uses its own database (<db>_interop on the same
# server) and drops its two collections first, so reruns start clean.
set -u
bin="$1"
src="$2"
here="$src/tests/e2e"
url="${EARNORM_TEST_DB:-}"
n=0
failed=0

emit() { # emit ok|not-ok NAME
    n=$((n + 1))
    if [ "$1" = ok ]; then
        echo "ok $n - $2"
    else
        failed=$((failed + 1))
        echo "not ok $n - $2"
    fi
}

# step NAME COMMAND...: run one step, number its TAP lines, and count a
# failure when it exits non-zero or reports nothing; true when it passed.
step() {
    local name="$1" line out rc seen=0 bad=0
    shift
    out=$("$@" 2>&1)
    rc=$?
    while IFS= read -r line; do
        case "$line" in
        "ok - "*) emit ok "${line#ok - }"; seen=1 ;;
        "not ok - "*) emit not "${line#not ok - }"; seen=1; bad=1 ;;
        "") ;;
        "#"*) echo "$line" ;;
        *) echo "# $line" ;;
        esac
    done <<<"$out"
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        emit not "$name exited with status $rc"
    elif [ "$seen" -eq 0 ]; then
        emit not "$name reported no check"
    fi
    [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$seen" -eq 1 ]
}

if [ -z "$url" ]; then
    emit not "EARNORM_TEST_DB is not set (a mongodb:// URL)"
    echo "1..$n"
    exit 1
fi
case "$url" in
mongodb://* | mongodb+srv://*) ;;
*)
    emit not "EARNORM_TEST_DB is not a mongodb:// URL: $url"
    echo "1..$n"
    exit 1
    ;;
esac

if ! python3 -c 'import pymongo' 2>/dev/null; then
    emit not "python3 with pymongo is available (scripts/install-deps.sh installs it)"
    echo "1..$n"
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
state="$work/state"
: >"$state"
db=$(python3 "$here/mongo_interop.py" url "$url")
echo "# database: $db"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
lua="$here/mongo_interop.lua"
py="$here/mongo_interop.py"

# Run EarnORM from the scratch dir: no ./models there to load.
earnorm() { (cd "$work" && "$bin" "$lua" "$@"); }

if ! step "pymongo reset" python3 "$py" reset "$db" "$state"; then
    echo "# the server does not answer: the other steps are not run"
    echo "1..$n"
    exit 1
fi
# 1. EarnORM writes, pymongo reads the raw BSON
step "EarnORM write" earnorm write "$db" "$state"
step "pymongo check" python3 "$py" check "$db" "$state"
# 2. pymongo writes, EarnORM reads, searches and writes back; pymongo checks
#    (3. operator injection is checked in both halves)
step "pymongo insert" python3 "$py" insert "$db" "$state"
step "EarnORM read" earnorm read "$db" "$state"
step "pymongo updates" python3 "$py" updates "$db" "$state"

echo "1..$n"
[ "$failed" -eq 0 ]

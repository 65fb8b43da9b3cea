#!/usr/bin/env bash
# Run one test program and make sure its result is counted: the program
# prints TAP ("ok N - name" / "not ok N - name"); when it fails without
# printing a "not ok" line (a crash, a failed start), this adds one; when
# it printed one but exited 0, it fails all the same.
# Usage: tap-run.sh NAME COMMAND [ARGS...]
name="$1"
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$out"; then
    echo "not ok - $name exited with status $rc"
fi
if [ "$rc" -eq 0 ] && ! grep -Eq '^ok' "$out"; then
    echo "not ok - $name ran no test"
    exit 1
fi
# a program that printed a failure fails, whatever its exit status (the
# count of make test reads the same lines)
if [ "$rc" -eq 0 ] && grep -Eq '^not ok( |$)' "$out"; then
    exit 1
fi
exit "$rc"

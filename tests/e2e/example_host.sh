#!/usr/bin/env bash
# Run the C host example end to end and check what it printed (TAP).
set -u
bin="$1"
src="$2"
rm -f host.db host.db-wal host.db-shm
out=$("$bin" "$src/models" "sqlite://host.db" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
n=0
check() { # description, extended regex that must match the output
    n=$((n + 1))
    if echo "$out" | grep -Eq -- "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
}
check "exits 0" "^eval count" && [ "$rc" -eq 0 ] || echo "not ok - exit status $rc"
check "creates two records" '^created ids: \[ *[0-9]+, *[0-9]+ *\]$'
check "search_read returns the adult, lowered by a Lua event" '"email" *: *"ann@example.com"'
check "search_read leaves out minors" '^adults: .*"Ann"' 
check "write then count" '^aged 32 after write: 2$'
check "Lua validator runs for C callers" '^company with an age: EVALIDATE \(a company has no age\)$'
check "unknown field is named" "^unknown field: EINVAL \(res.partner has no field 'agee'"
check "eval returns JSON" '^eval count: 2$'
check "unlink deletes" '^left after unlink: 0$'
echo "1..$n"

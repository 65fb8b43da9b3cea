#!/usr/bin/env bash
# Run examples/quickstart.lua with the earnorm interpreter, as `make demo`
# does, and check its output (TAP).
set -u
bin="$1"
src="$2"
rm -f qs.db qs.db-wal qs.db-shm
out=$("$bin" --db sqlite://qs.db --models "$src/models" "$src/examples/quickstart.lua" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
n=0
check() {
    n=$((n + 1))
    if echo "$out" | grep -Eq -- "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
}
n=$((n + 1)); if [ "$rc" -eq 0 ]; then echo "ok $n - exits 0"; else echo "not ok $n - exits $rc"; fi
check "migrates" '^migrate:	CREATE TABLE "res_partner"'
check "creates" '^created res.partner\(1\) and res.partner\(2, 3, 4\)$'
check "stored computed field" '^computed display:	Ann <ann@example.com>$'
check "search with a domain" '^search: 1 records, first Cy$'
check "mapped" '^adults:	Ann, Cy$'
check "many2one read" "^Bob's parent:	Ann$"
check "json field" '^JSON field:	gold	12$'
# Cy (age 64) was archived above: searches and groups leave archived records out
check "group" '^group kind=person count=2 avg age=24.0'
check "failed batch names the record" 'maximum 150 \(record 2 of 2\)$'
check "failed batch writes nothing" '^Dee was not written:	true$'
check "validator" '^validator:	false	EVALIDATE: a company has no age$'
check "transaction rollback" '^rolled back:	true$'
check "stats" '^stats: [0-9]+ queries on sqlite'
[ -f qs.db ] && echo "ok $((n + 1)) - database file written" || echo "not ok $((n + 1)) - database file written"
n=$((n + 1))
# and as `make demo` runs it: scripts/demo.sh with this binary's build dir
build=$(cd "$(dirname "$bin")" && pwd)
demo=$("$src/scripts/demo.sh" "$build" 2>&1)
demo_rc=$?
echo "$demo" | sed 's/^/# demo: /'
n=$((n + 1))
if [ "$demo_rc" -eq 0 ] && echo "$demo" | grep -Eq '^stats: [0-9]+ queries on sqlite'; then
    echo "ok $n - make demo's script runs the quickstart to the end"
else
    echo "not ok $n - make demo's script exited $demo_rc"
    rc=1
fi
echo "1..$n"
[ "$rc" -eq 0 ]

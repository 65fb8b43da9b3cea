#!/usr/bin/env bash
# make bench's SQLite suites on a few hundred rows (TAP): each one runs,
# checks that the ORM and the raw driver read the same values (the bench
# dies when they differ) and writes its row to bench.json. Times are not
# judged here (machines are shared and noisy): `make bench` reports them.
set -u
bin="$1"
rm -f smoke.db* bench.json
out=$("$bin" --rows 300 --runs 1 --only sqlite --sqlite smoke.db --out bench.json 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
n=1
if [ "$rc" -eq 0 ]; then echo "ok $n - exits 0"; else echo "not ok $n - exits $rc"; fi
for row in sqlite.create sqlite.search_read sqlite.read_field sqlite.loop_30 sqlite.parent_30 \
           sqlite.loop_300 sqlite.parent_300 sqlite.loop_3k sqlite.parent_3k sqlite.stream_3k sqlite.parent_name_loop; do
    n=$((n + 1))
    if grep -q "\"$row\": {" bench.json 2>/dev/null; then echo "ok $n - $row in bench.json"
    else echo "not ok $n - $row in bench.json"; fi
done
# the loop over 3k records: one search and one load per field read
n=$((n + 1))
if grep -Eq '"sqlite.loop_3k": \{[^}]*"queries": 2[,} ]' bench.json; then echo "ok $n - the 3k loop costs 2 queries"
else echo "not ok $n - the 3k loop costs 2 queries"; fi
# streaming 3k records in batches of 2000: the cursor's open and 2 reads,
# a load per batch
n=$((n + 1))
if grep -Eq '"sqlite.stream_3k": \{[^}]*"queries": 5[,} ]' bench.json; then echo "ok $n - streaming 3k costs 5 queries"
else echo "not ok $n - streaming 3k costs 5 queries"; fi
rm -f smoke.db*

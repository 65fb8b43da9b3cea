#!/usr/bin/env bash
# A column made as an Integer and migrated into a Many2one (TAP): a create
# naming a target that does not exist is refused, naming the field, on
# SQLite (which cannot add a foreign key to the column: the engine asks)
# and on PostgreSQL (migrate adds the key). Two processes, as two releases
# of a project would be. Usage: with-service.sh EARNORM_TEST_PG_URL m2o_retyped.sh EARNORM
set -u
bin="$1"
pg="${EARNORM_TEST_DB:-}" # (with-service.sh: the PostgreSQL URL)
cat > before.lua <<'LUA'
local orm = require "earnorm"
local f = orm.fields
orm.model("rt2.p", { name = f.Char{} })
orm.model("rt2.c", { name = f.Char{}, p = f.Integer{} })
LUA
cat > after.lua <<'LUA'
local orm = require "earnorm"
local f = orm.fields
orm.model("rt2.p", { name = f.Char{} })
orm.model("rt2.c", { name = f.Char{}, p = f.Many2one{ "rt2.p" } })
LUA
n=0
run() { # name url
    local name="$1" url="$2" out
    "$bin" --db "$url" --models before.lua -e 'env:migrate(); env["rt2.c"]:search{}:unlink(); env["rt2.p"]:search{}:unlink()' >/dev/null 2>&1
    out=$("$bin" --db "$url" --models after.lua -e '
env:migrate()
local ok, err = pcall(function() return env["rt2.c"]:create{ name = "x", p = 999999 } end)
print(ok, err and err.code, err and err.message)
print("rows", env["rt2.c"]:search_count{})
local p = env["rt2.p"]:create{ name = "ok" }
print("good", env["rt2.c"]:create{ name = "y", p = p.id }.p.name)' 2>&1)
    echo "$out" | sed 's/^/# /'
    n=$((n + 1))
    if echo "$out" | grep -q "^false	EVALIDATE	rt2.c.p: rt2.p(999999) does not exist"; then
        echo "ok $n - $name: a missing target is refused, naming the field"
    else
        echo "not ok $n - $name: a missing target is refused, naming the field"
    fi
    n=$((n + 1))
    if echo "$out" | grep -q "^rows	0$"; then echo "ok $n - $name: nothing written"
    else echo "not ok $n - $name: nothing written"; fi
    n=$((n + 1))
    if echo "$out" | grep -q "^good	ok$"; then echo "ok $n - $name: an existing target is accepted"
    else echo "not ok $n - $name: an existing target is accepted"; fi
}
rm -f retyped.db*
run sqlite "sqlite://retyped.db"
if [ -z "$pg" ]; then
    echo "not ok - EARNORM_TEST_PG_URL is not set: start the test services or run make test"
else
    run postgresql "$pg"
fi

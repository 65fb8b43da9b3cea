#!/usr/bin/env bash
# cmake --install into a temporary prefix, then build the C host example
# against the installed headers, library and pkg-config file, and run it.
set -u
build="$1"
src="$2"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); echo "not ok $n - $1"; }

if cmake --install "$build" --prefix "$prefix" >install.log 2>&1; then ok "cmake --install"; else no "cmake --install"; sed 's/^/# /' install.log; fi
for f in bin/earnorm include/earnorm/earnorm.h include/earnorm/engine.h include/earnorm/sys/adapter.h; do
    if [ -e "$prefix/$f" ]; then ok "installs $f"; else no "installs $f"; fi
done
pc=$(find "$prefix" -name earnorm.pc | head -1)
if [ -n "$pc" ]; then ok "installs earnorm.pc"; else no "installs earnorm.pc"; fi
libdir=$(dirname "$(find "$prefix" -name 'libearnorm.so' | head -1)")
if [ -f "$libdir/libearnorm.so" ] && [ -f "$libdir/libearnorm.a" ]; then ok "installs libearnorm.so and .a"; else no "installs libearnorm.so and .a"; fi
export PKG_CONFIG_PATH="$(dirname "$pc")"
# the installed .pc names the real prefix; point it at the temporary one
sed -i "s|^prefix=.*|prefix=$prefix|" "$pc"
if cc -o host "$src/examples/host.c" $(pkg-config --cflags --libs earnorm) >cc.log 2>&1; then
    ok "a host compiles with pkg-config earnorm"
else
    no "a host compiles with pkg-config earnorm"; sed 's/^/# /' cc.log
fi
rm -f host.db*
if out=$(LD_LIBRARY_PATH="$libdir" ./host "$src/models" sqlite://host.db 2>&1) &&
    echo "$out" | grep -q '^left after unlink: 0$'; then
    ok "the installed library runs the host"
else
    no "the installed library runs the host"; echo "$out" | sed 's/^/# /'
fi
if "$prefix/bin/earnorm" -e 'print(orm.VERSION)' | grep -q '^0\.'; then ok "installed earnorm runs"; else no "installed earnorm runs"; fi
echo "1..$n"

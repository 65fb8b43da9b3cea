#!/usr/bin/env bash
# Each public header compiles on its own (libgit2's headertest), as C11
# with every warning an error, and as C++ where a compiler exists.
set -u
src="$1"
n=0
fails=0
for h in $(cd "$src/core/include" && find earnorm -name '*.h' | sort); do
    n=$((n + 1))
    printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$h" "$h" >ht.c
    if cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$src/core/include" -c ht.c -o ht.o 2>ht.log; then
        echo "ok $n - $h compiles alone (C11)"
    else
        echo "not ok $n - $h compiles alone (C11)"; sed 's/^/# /' ht.log; fails=1
    fi
    if command -v c++ >/dev/null 2>&1; then
        n=$((n + 1))
        cp ht.c ht.cpp
        if c++ -std=c++11 -Wall -Wextra -Werror -I"$src/core/include" -c ht.cpp -o ht.o 2>ht.log; then
            echo "ok $n - $h compiles alone (C++)"
        else
            echo "not ok $n - $h compiles alone (C++)"; sed 's/^/# /' ht.log; fails=1
        fi
    fi
done
echo "1..$n"
exit $fails

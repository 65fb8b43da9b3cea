#!/usr/bin/env bash
# make test: build (plain and ASan+UBSan), start the services, run every
# suite in both builds, stop the services, and end with one line
# "N passed, N failed" counting individual test cases (TAP lines).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD="${BUILD:-build}"
ASAN_BUILD="${ASAN_BUILD:-build-asan}"
JOBS="${JOBS:-2}"
GEN=$(command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")

fail_setup() {
    echo "run-tests: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

scripts/install-deps.sh || fail_setup "installing dependencies failed"

for spec in "$BUILD:RelWithDebInfo:OFF" "$ASAN_BUILD:Debug:ON"; do
    IFS=: read -r dir type san <<<"$spec"
    rm -rf "$dir/tests/work" # fresh scratch dirs: configuring makes them again
    cmake -S . -B "$dir" -G "$GEN" -DCMAKE_BUILD_TYPE="$type" -DEARNORM_SANITIZE="$san" >/dev/null ||
        fail_setup "cmake failed for $dir"
    cmake --build "$dir" --parallel || fail_setup "build failed in $dir"
done

# The fuzz pass (tests/fuzz, docs/fuzzing.md): a clang build of the
# libFuzzer harnesses. A build that fails is one failure, not the end of
# the run.
FUZZ_BUILD="${FUZZ_BUILD:-build-fuzz}"
fuzz_dirs=()
fuzz_setup_failed=0
if CC=clang cmake -S . -B "$FUZZ_BUILD" -G "$GEN" -DCMAKE_BUILD_TYPE=Debug -DEARNORM_FUZZ=ON >/dev/null &&
    cmake --build "$FUZZ_BUILD" --target fuzzers --parallel; then
    fuzz_dirs=("$FUZZ_BUILD")
else
    echo "run-tests: the fuzz build ($FUZZ_BUILD) failed" >&2
    fuzz_setup_failed=1
fi

# The services every backend suite needs; a service that cannot start is a
# failure, never a skip.
services_up=0
if env_lines=$(scripts/services.sh start); then
    eval "$env_lines"
    services_up=1
else
    echo "run-tests: the test services did not start" >&2
fi
trap 'scripts/services.sh stop >/dev/null 2>&1 || true' EXIT

# libmongoc keeps counters in /dev/shm/mongoc-<pid>; a process the suites
# kill on purpose (faults, fuzz timeouts) leaves its file, and a later
# process given that pid warns on stderr, which specs that check stderr
# would take for a failure (docs/backends.md). Counters in memory instead.
export MONGOC_DISABLE_SHM=1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
for dir in "$BUILD" "$ASAN_BUILD"; do
    echo "== ctest in $dir"
    rm -f "$dir/Testing/Temporary/LastTestsFailed.log" "$dir/test.log" # a stale list would count
    (cd "$dir" && ctest --output-on-failure -j "$JOBS" --timeout 600) || status=1
    # every test's full output: the TAP lines counted below
    cp "$dir/Testing/Temporary/LastTest.log" "$dir/test.log" 2>/dev/null
done
# Each harness: seeds, regressions and deep inputs once, then
# FUZZ_TEST_SECONDS of fuzzing; any crash, leak, sanitizer report or
# timeout fails its TAP line. The fuzzing lines give the executions.
for dir in "${fuzz_dirs[@]}"; do
    echo "== fuzz pass in $dir (${FUZZ_TEST_SECONDS:-30} s of fuzzing per target)"
    rm -f "$dir/Testing/Temporary/LastTestsFailed.log" "$dir/test.log"
    (cd "$dir" && FUZZ_SECONDS="${FUZZ_TEST_SECONDS:-30}" ctest --output-on-failure -j "$JOBS" --timeout 900) || status=1
    cp "$dir/Testing/Temporary/LastTest.log" "$dir/test.log" 2>/dev/null
    grep -hE '^(not )?ok [0-9]+ - fuzz_[a-z_]+ fuzzing' "$dir/test.log" 2>/dev/null | sed 's/^/  /'
done

passed=0
failed=0
for dir in "$BUILD" "$ASAN_BUILD" "${fuzz_dirs[@]}"; do
    if [ -f "$dir/test.log" ]; then
        p=$(grep -cE '^ok( |$)' "$dir/test.log")
        f=$(grep -cE '^not ok( |$)' "$dir/test.log")
        passed=$((passed + p))
        failed=$((failed + f))
        # a failed test that printed no "not ok" (it did not even start) counts once
        if [ -f "$dir/Testing/Temporary/LastTestsFailed.log" ]; then
            while IFS=: read -r _ name; do
                [ -n "$name" ] || continue
                if ! awk -v t="$name" '$0 ~ "Testing: "t"$" {on=1} on && /^not ok/ {found=1} $0 ~ "^\""t"\" end time" {on=0} END {exit !found}' "$dir/test.log"; then
                    echo "run-tests: $name failed without a TAP line (see $dir/test.log)" >&2
                    failed=$((failed + 1))
                fi
            done <"$dir/Testing/Temporary/LastTestsFailed.log"
        fi
    else
        failed=$((failed + 1))
    fi
done
failed=$((failed + fuzz_setup_failed))
if [ "$services_up" -eq 0 ]; then
    failed=$((failed + 1))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # ctest failed in a way no test reported
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

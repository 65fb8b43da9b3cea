#!/usr/bin/env bash
# One fuzz target's pass, as TAP (one ctest test per target; see
# tests/fuzz/CMakeLists.txt and docs/fuzzing.md):
#   1. the seed corpus once: every corpus/<target>/ok-* input must go
#      through the whole pipeline, every err-* input must be refused
#      (EARNORM_FUZZ_EXPECT), so a harness that stops reaching the code
#      under test fails;
#   2. each regressions/<target>/* input once;
#   3. each deep input of gen-deep.py once (domain harnesses on a 512 KiB
#      thread stack: 256 KiB in a release build, see below);
#   4. fuzzing from the seeds for FUZZ_SECONDS; the line gives the number
#      of executions.
# A crash, a sanitizer report, a leak, a timeout (FUZZ_TIMEOUT seconds for
# one input, FUZZ_DEEP_TIMEOUT for a deep one) or RSS past FUZZ_RSS_MB
# fails its line.
# Usage: run.sh TARGET BINARY WORKDIR
# Environment: FUZZ_SECONDS (30), FUZZ_TIMEOUT (20: a 4 KiB input can build a
# domain at the engine's limits, one list used in 256 places being 10M
# values, which takes 4-7 s of linear work in this build), FUZZ_DEEP_TIMEOUT
# (20: a 100,000-leaf input takes 1-6 s here when the work is linear, so only
# super-linear work reaches it), FUZZ_RSS_MB (2048; deep inputs get twice
# that), FUZZ_KEEP_CORPUS=1 to keep WORKDIR/corpus between runs (make
# fuzz), FUZZ_FORK=N to fuzz in N processes that go on after a crash and
# collect every artifact (make fuzz).
set -u
target="$1"
bin="$2"
work="$3"
src=$(cd "$(dirname "$0")" && pwd)
seconds="${FUZZ_SECONDS:-30}"
to="${FUZZ_TIMEOUT:-20}"
deep_to="${FUZZ_DEEP_TIMEOUT:-20}"
rss="${FUZZ_RSS_MB:-2048}"
fork="${FUZZ_FORK:-0}"
big=67108864 # -max_len for whole files: none of them is cut

# Later options win: whatever the caller set, leaks and UB are fatal.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:halt_on_error=1:abort_on_error=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"

mkdir -p "$work/logs"
rm -f "$work/logs"/*.log
log="$work/logs/setup.log" # each step writes its own
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - fuzz_$target $1"; }
no() {
    n=$((n + 1))
    failed=1
    echo "not ok $n - fuzz_$target $1"
    # what failed, where: the harness's message, the sanitizer's report and
    # the top of its stack
    # (a frame is shown once: a recursion would fill the page)
    grep -E '^fuzz: |ERROR: |SUMMARY: |runtime error|ALARM|out-of-memory|^Running: |Test unit written|^ +#[0-9]+ 0x' "$log" |
        grep -v -E 'in (fuzzer::|__sanitizer_print|__interceptor|__asan_|__libc_start|_start|abort|raise|__pthread_kill)|/libc\.so' |
        awk '/^ +#[0-9]+ 0x/ { f = $0; sub(/^ +#[0-9]+ 0x[0-9a-f]+ /, "", f); if (seen[f]++) next; if (++frames > 12) next }
             { print }' |
        head -30 | sed 's/^/# /'
    echo "# full log: $log"
}
executed_ms() { grep -o 'Executed .* in [0-9]* ms' "$log" | awk '{ s += $(NF - 1) } END { print s + 0 }'; }

# Run files once each, in one process. $1 log name, $2 label, $3 expect
# (ok, error or ""), $4 stack KiB ("" for the main thread), $5 RSS MiB,
# then the files.
run_files() {
    local name="$1" label="$2" expect="$3" kb="$4" mb="$5" to="${run_to:-$to}" rc
    shift 5
    local limit=$((to * $# + 120))
    log="$work/logs/$name.log"
    EARNORM_FUZZ_EXPECT="$expect" EARNORM_FUZZ_STACK_KB="$kb" \
        timeout --foreground -k 10 "$limit" "$bin" -runs=1 -timeout="$to" -rss_limit_mb="$mb" -max_len="$big" "$@" \
        >"$log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        ok "$label ($(executed_ms) ms)"
        return
    fi
    if [ -n "$kb" ] && grep -q 'ERROR: libFuzzer: timeout' "$log"; then
        # the alarm is taken on the main thread, which only waits: the
        # same input there shows where the time goes (the first seconds
        # are enough for that)
        log="$work/logs/$name.main-thread.log"
        EARNORM_FUZZ_EXPECT="$expect" timeout --foreground -k 10 "$limit" "$bin" -runs=1 \
            -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="$mb" -max_len="$big" "$@" >"$log" 2>&1
    fi
    no "$label (exit $rc)"
}

[ -x "$bin" ] || {
    echo "not ok 1 - fuzz_$target: no harness at $bin"
    exit 1
}

# 1. seeds
shopt -s nullglob
seeds_ok=("$src/corpus/$target"/ok-*)
seeds_err=("$src/corpus/$target"/err-*)
others=()
for f in "$src/corpus/$target"/*; do
    case "$(basename "$f")" in ok-* | err-*) ;; *) others+=("$f") ;; esac
done
if [ ${#others[@]} -gt 0 ]; then
    n=$((n + 1))
    failed=1
    echo "not ok $n - fuzz_$target corpus files must be named ok-* or err-*: ${others[*]}"
fi
if [ ${#seeds_ok[@]} -eq 0 ] || [ ${#seeds_err[@]} -eq 0 ]; then
    n=$((n + 1))
    failed=1
    echo "not ok $n - fuzz_$target has no ok-* or no err-* seeds in $src/corpus/$target"
else
    run_files seeds-ok "seeds: ${#seeds_ok[@]} ok-* inputs go through" ok "" "$rss" "${seeds_ok[@]}"
    run_files seeds-err "seeds: ${#seeds_err[@]} err-* inputs are refused" error "" "$rss" "${seeds_err[@]}"
fi

# 2. regressions: each alone, so each has its line
for f in "$src/regressions/$target"/*; do
    run_files "regression-$(basename "$f")" "regression $(basename "$f")" "" "" "$rss" "$f"
done

# 3. deep inputs, generated: megabytes, not committed
# The domain code must not exhaust a 256 KiB thread stack in a release
# build. ASan's redzones make frames 2-4 times larger (bindings/lua/value.c:
# 288 bytes a level with gcc -O2, about 1 KiB here), so this build's
# threads get 512 KiB, twice the release bound.
stack=""
case "$target" in domain_*) stack=512 ;; esac
rm -rf "$work/deep"
log="$work/logs/gen-deep.log"
if python3 "$src/gen-deep.py" deep "$target" "$work/deep" >"$log" 2>&1; then
    for f in "$work/deep"/*; do
        run_to="$deep_to" run_files "deep-$(basename "$f")" "deep $(basename "$f") ($(($(stat -c %s "$f") / 1024)) KiB${stack:+, $stack KiB stack})" \
            "" "$stack" $((rss * 2)) "$f"
    done
else
    no "gen-deep.py deep $target"
fi

# 4. fuzzing: new inputs go into the work corpus (the first directory),
# never into the committed seeds
[ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] || rm -rf "$work/corpus"
rm -rf "$work/artifacts" # the last run's findings were reported then
mkdir -p "$work/corpus" "$work/artifacts"
dict=()
[ -f "$src/$target.dict" ] && dict=(-dict="$src/$target.dict")
forkopts=()
log="$work/logs/fuzz.log"
[ "$fork" -gt 0 ] && forkopts=(-fork="$fork" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
timeout --foreground -k 10 $((seconds + to * 3 + 120)) "$bin" "$work/corpus" "$src/corpus/$target" "${dict[@]}" \
    "${forkopts[@]}" -max_total_time="$seconds" -timeout="$to" -rss_limit_mb="$rss" -max_len=4096 \
    -print_final_stats=1 -close_fd_mask=1 -artifact_prefix="$work/artifacts/" >"$log" 2>&1
rc=$?
execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{ print $2 }')
if [ -z "$execs" ]; then # fork mode: the last "#N: cov: ..." line
    execs=$(grep -o '^#[0-9]*: cov' "$log" | tail -1 | tr -dc 0-9)
fi
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{ print $2 }')
artifacts=("$work/artifacts"/*)
if [ "$rc" -eq 0 ] && [ "${execs:-0}" -gt 0 ] && [ ${#artifacts[@]} -eq 0 ]; then
    ok "fuzzing ${seconds} s: ${execs} execs, cov ${cov:-?}"
else
    no "fuzzing ${seconds} s: ${execs:-0} execs, exit $rc, ${#artifacts[@]} artifact(s)"
    for a in "${artifacts[@]}"; do echo "# reproduce: $bin $a"; done
fi

echo "1..$n"
exit "$failed"

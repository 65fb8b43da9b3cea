# EarnORM - the two commands (see README.md):
#   make demo   install what is missing, build, run examples/quickstart.lua on SQLite
#   make test   install, build (plain and ASan+UBSan), start the test services,
#               run every suite, stop the services; last line "N passed, N failed"
# and: make build, make bench, make bench-peers, make install, make fuzz, make clean.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_JOBS  ?= 2
GENERATOR  := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan build-fuzz demo test bench bench-peers install fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) --parallel

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Debug -DEARNORM_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) --parallel

demo: build
	@scripts/demo.sh $(BUILD)

test: deps
	@scripts/run-tests.sh

bench: build
	@scripts/bench.sh $(BUILD)

# make bench's workloads through SQLAlchemy, Peewee, pymongo, MongoEngine and
# Mongoose too (installed into $(BUILD)/peers/), one table of ratios vs each
# raw driver beside EarnORM's: $(BUILD)/bench-peers.json. ROWS=, RUNS=, MONGO_RUNS=.
bench-peers: build
	@scripts/bench-peers.sh $(BUILD)

install: build
	@cmake --install $(BUILD)

# The libFuzzer harnesses of tests/fuzz (clang; docs/fuzzing.md).
build-fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Debug -DEARNORM_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) --target fuzzers --parallel

# Each harness: its seeds, regressions and deep inputs, then FUZZ_SECONDS of
# fuzzing (keeping what it found in $(FUZZ_BUILD)/tests/fuzz/work/<target>/
# corpus, going on after a crash); one line per target with its executions.
fuzz: build-fuzz
	@cd $(FUZZ_BUILD) && FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_KEEP_CORPUS=1 FUZZ_FORK=1 \
		ctest --output-on-failure -j $(FUZZ_JOBS) --timeout $$(( $(FUZZ_SECONDS) + 1800 )); \
		status=$$?; grep -hE '^(not )?ok [0-9]+ - fuzz_[a-z_]+ fuzzing' Testing/Temporary/LastTest.log; exit $$status

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

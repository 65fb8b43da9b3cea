# EarnORM - the two commands (see README.md):
#   make demo   install what is missing, build, run examples/quickstart.lua on SQLite
#   make test   install, build (plain and ASan+UBSan), start the test services,
#               run every suite, stop the services; last line "N passed, N failed"
# and: make build, make bench, make install, make clean.
BUILD      ?= build
ASAN_BUILD ?= build-asan
GENERATOR  := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan demo test bench install clean

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

install: build
	@cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

#!/usr/bin/env bash
# Install the Debian packages and Python modules EarnORM's build and tests need.
# Idempotent and fast when everything is already present: machines are not kept
# between sessions, so CI and every session run this first.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config
    liblua5.4-dev lua5.4 lua-busted
    libcmocka-dev
    libsqlite3-dev sqlite3
    libpq-dev postgresql
    libmongoc-dev libbson-dev
    libhiredis-dev redis-server
    python3 python3-pip
    clang libclang-rt-14-dev llvm # libFuzzer + sanitizer runtimes, llvm-symbolizer (tests/fuzz)
)
PY_MODULES=(pymongo) # used by scripts/services.sh and tests to talk to FerretDB

log() { printf 'install-deps: %s\n' "$*" >&2; }

# Only use sudo when we are not already root (CI and sessions run as root).
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    SUDO=(sudo)
fi

missing=() status=""
for pkg in "${PACKAGES[@]}"; do
    # Like `dpkg -s`, but also treats removed-not-purged ("deinstall") as missing.
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} > 0)); then
    log "installing: ${missing[*]}"
    # One update per run: apt lists may be absent or stale on a fresh machine.
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# python3 may be a pyenv interpreter rather than Debian's, so go through
# `python3 -m pip` for the interpreter that our scripts will actually run.
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 # quiet as root
for mod in "${PY_MODULES[@]}"; do
    if python3 -c "import $mod" >/dev/null 2>&1; then
        continue
    fi
    log "pip installing $mod"
    # Debian's system python refuses plain pip installs (PEP 668); fall back.
    if ! python3 -m pip install --quiet "$mod"; then
        python3 -m pip install --quiet --break-system-packages "$mod"
    fi
    python3 -c "import $mod" || { log "python module $mod still not importable"; exit 1; }
done

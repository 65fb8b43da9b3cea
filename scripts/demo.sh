#!/usr/bin/env bash
# Run the quickstart with the earnorm interpreter on the embedded default
# (SQLite, in-process cache): no server needed. The database is a fresh
# file under the build directory so the demo can run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
DB="$BUILD/demo.db"
rm -f "$DB" "$DB-wal" "$DB-shm"
echo "== earnorm examples/quickstart.lua  (database: sqlite://$DB)"
exec "$BUILD/earnorm" --db "sqlite://$DB" --models models examples/quickstart.lua

#!/usr/bin/env bash
# Run a test against a service the test-services script started: the URL is
# read from VAR at run time and handed over as EARNORM_TEST_DB. When VAR is
# unset the test fails (it never passes by skipping).
# Usage: with-service.sh VAR COMMAND [ARGS...]
var="$1"
shift
url="${!var:-}"
if [ -z "$url" ]; then
    echo "not ok - $var is not set: start the test services (scripts/services.sh start) or run make test"
    exit 1
fi
export EARNORM_TEST_DB="$url"
exec "$@"

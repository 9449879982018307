#!/usr/bin/env bash
# The one test command (README Quick start; .ci/run calls it): sets up, starts the
# real services the tests need (Kafka, Elasticsearch, PostgreSQL), runs the whole
# suite, and stops the services again.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
Q=.venv/bin/qinglang
export QINGLANG_TEST_PG="postgresql+psycopg://qinglang:qinglang@127.0.0.1:5432/qinglang"
cleanup() { $Q services stop all >/dev/null 2>&1 || true; }
trap cleanup EXIT
if ! $Q services start all; then
  echo "!! services failed to start; integration tests will report why" >&2
fi
mkdir -p test-artifacts
.venv/bin/python -m pytest -q -p no:cacheprovider --junitxml=test-artifacts/junit.xml "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "no tests collected" >&2; exit 1; fi
exit "$rc"

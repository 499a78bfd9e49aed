#!/usr/bin/env bash
# Install certledger with its test dependencies into .venv and run the whole suite.
# PostgreSQL: $CERTLEDGER_TEST_DATABASE_URL, else localhost:5432, else a throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
exec .venv/bin/python -m pytest -q "$@"

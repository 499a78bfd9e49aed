#!/usr/bin/env bash
# Install certledger with its test dependencies into .venv and run the whole suite.
# PostgreSQL: $CERTLEDGER_TEST_DATABASE_URL, else localhost:5432, else a throwaway cluster.
# Chromium (the what-if report's charts are drawn in it): installed from the system's
# packages when missing and this user may (root, apt-get); else those tests say how.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test.sh: installing chromium for the what-if report's browser tests" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "test.sh: could not install chromium" >&2
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
# Two workers (pytest-xdist), each test given to whichever is free: the what-if acceptance
# test alone takes 2.5 to 6 minutes (10,000 certifications, appended through the import
# path), and the rest of the suite runs beside it. Serial, the suite took 15 min on a slow
# 2-core host; in two workers 8 min 30 s. Pass -n 0 to run it in one process.
exec .venv/bin/python -m pytest -q -n 2 --dist worksteal "$@"

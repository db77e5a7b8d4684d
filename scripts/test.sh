#!/usr/bin/env bash
# The test command: setup, lint, format check, typecheck, schema golden check, then every test
# (unit and integration against a real nats-server). Ends with "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --for-tests

echo "▸ lint (oxlint, type-aware)"
npx --no-install oxlint --type-aware --deny-warnings --quiet
echo "▸ format (prettier --check)"
npx --no-install prettier --check . --log-level warn
echo "▸ typecheck (tsc, sources and tests)"
npx --no-install tsc -p tsconfig.check.json
echo "▸ protocol JSON Schemas match docs/schemas"
node protocol/dist/export-schemas.js --check

echo "▸ tests (vitest)"
mkdir -p test-output
status=0
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest.json "$@" || status=$?
node -e '
  const r = require("./test-output/vitest.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit $status

#!/usr/bin/env bash
# The main job: sets up, then runs the demo fleet (`switchyard demo`); extra arguments go to it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node cli/dist/main.js demo "$@"

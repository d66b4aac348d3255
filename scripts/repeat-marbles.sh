#!/usr/bin/env bash
# Runs the virtual-time marble suites (spec/rx/virtual-time.spec.ts, and the fallback chains' in
# spec/par/operators/fallbackChain.spec.ts) RUNS times over (default 20),
# each in a fresh jest process, and fails on the first failing run, printing its output: a marble
# test that depends on real time or on ordering luck shows up here. CI runs it as `npm run test:marbles`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${RUNS:-20}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

for ((run = 1; run <= runs; run++)); do
  # jest exits non-zero on a failure, and also when the pattern matches no test file.
  if ! npx jest --ci --testPathPatterns 'spec/rx/virtual-time|spec/par/operators/fallbackChain' >"$log" 2>&1; then
    cat "$log"
    echo "test:marbles: run ${run} of ${runs} failed"
    exit 1
  fi
  echo "test:marbles: run ${run} of ${runs} passed"
done
echo "test:marbles: all ${runs} runs passed"

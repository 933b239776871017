#!/bin/sh
# tests/e2e/scenarios/bench_smoke.sh — the short bench of `make test`: the
# bench scenario as is (1 s per test via bench_t=1 on the command line);
# tests/bench/check.sh then asserts every cell was measured and plausible.
. /tests/scenarios/bench.sh

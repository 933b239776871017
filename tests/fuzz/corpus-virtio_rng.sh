#!/bin/sh
# Seed corpus for fuzz_virtio_rng: the target writes its own (Linux's
# bring-up order, 64-byte requests kicked one at a time, a split and
# indirect chain, the loop pumped and the timer woken early, then a chain
# with a readable buffer and a reset; on each rate-limit set-up).
#   corpus-virtio_rng.sh OUTDIR SPARSE_PACK FUZZER
set -e
FUZZ_WRITE_SEEDS=$1 "$3"

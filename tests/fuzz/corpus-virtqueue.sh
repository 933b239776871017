#!/bin/sh
# Seed corpus for fuzz_virtqueue: the target writes its own (rings of 256
# with direct and indirect chains, with and without event-idx, popped,
# pushed and un-popped as the devices do).
#   corpus-virtqueue.sh OUTDIR SPARSE_PACK FUZZER
set -e
FUZZ_WRITE_SEEDS=$1 "$3"

#!/bin/sh
# Seed corpus for fuzz_virtio_blk: the target writes its own (Linux's
# bring-up order, then requests of every type and shape kicked in
# batches, a failing disk; broken chains followed by a reset; on a
# writable, a read-only, a 2^64-byte and a tiny disk).
#   corpus-virtio_blk.sh OUTDIR SPARSE_PACK FUZZER
set -e
FUZZ_WRITE_SEEDS=$1 "$3"

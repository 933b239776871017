#!/bin/sh
# Seed corpus for fuzz_control: the target writes its own (each request
# the server knows, and some it refuses, with a snapshot after them).
#   corpus-control.sh OUTDIR SPARSE_PACK FUZZER
set -e
FUZZ_WRITE_SEEDS=$1 "$3"

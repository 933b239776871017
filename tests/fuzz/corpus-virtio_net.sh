#!/bin/sh
# Seed corpus for fuzz_virtio_net: the target writes its own (Linux's
# bring-up order, receive buffers, a frame sent, a control command,
# frames received, a full backend; three feature sets, and a multiqueue
# bring-up with VQ_PAIRS_SET and traffic on both pairs).
#   corpus-virtio_net.sh OUTDIR SPARSE_PACK FUZZER
set -e
FUZZ_WRITE_SEEDS=$1 "$3"

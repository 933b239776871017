#!/bin/sh
# Seed corpus for fuzz_platform: the target writes its own (Linux's PCI
# enumeration and BAR sizing; virtio_pci_modern's bring-up with MSI-X and
# with INTx, kicks at the doorbell, a vector masked and unmasked, BAR 0
# moved and decoding toggled; the UART, i8042, RTC and ACPI registers as
# their Linux drivers use them; the test function's BARs moved onto
# others and out of their windows).
#   corpus-platform.sh OUTDIR SPARSE_PACK FUZZER
set -e
FUZZ_WRITE_SEEDS=$1 "$3"

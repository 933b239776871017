#!/bin/sh
# run-in-l1.sh — the tiny-guest tests as run inside the nested test host
# (the L1 image carries the guests at /tests/guests/build and vmm at
# /usr/bin/vmm).
exec /tests/guests/run.sh /tests/guests/build /usr/bin/vmm

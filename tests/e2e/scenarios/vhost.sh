#!/bin/sh
# tests/e2e/scenarios/vhost.sh — the net scenario with --vhost on: the same
# guest checks, plus vmm holding /dev/vhost-net and a vhost-PID kernel
# thread doing the work.
NET_MODE=on
. /tests/scenarios/net.sh

/* dsdt.h — the AML inside the x86 guest's DSDT: \_S5 and, when the VM has
 * PCI, the root bridge of bus 0 (\_SB.PCI0). acpi.c wraps it in the table
 * header. */
#ifndef X86_DSDT_H
#define X86_DSDT_H

#include <stddef.h>

#include "arch/x86/acpi.h"

/* Room that is always enough for dsdt__build(). */
#define DSDT_AML_MAX	8192

struct devreg;

/* Write the DSDT's definition blocks (no header) into buf, PCI0 and MRES
 * from the PCI host in 'devs' the firmware describes (none: \_S5 only).
 * Returns the number of bytes, or -1 if the PCI host's windows cannot be
 * described, there are two, or 'size' is too small (reason printed). */
long dsdt__build(void *buf, size_t size, const struct devreg *devs);

#endif

/* dsdt.h — the AML inside the x86 guest's DSDT: \_S5 and, when the VM has
 * PCI, the root bridge of bus 0 (\_SB.PCI0). acpi.c wraps it in the table
 * header. */
#ifndef X86_DSDT_H
#define X86_DSDT_H

#include <stddef.h>

#include "arch/x86/acpi.h"

/* Room that is always enough for dsdt__build(). */
#define DSDT_AML_MAX	8192

/* Write the DSDT's definition blocks (no header) into buf. Returns the
 * number of bytes, or -1 if the configuration is out of range or 'size'
 * is too small (reason printed). */
long dsdt__build(void *buf, size_t size, const struct acpi_config *cfg);

#endif

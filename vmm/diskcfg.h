/* diskcfg.h — the --disk option:
 * "PATH[,format=raw|qcow2][,ro][,serial=S][,backing=off]" (or
 * "file=PATH,..."). Parsed here, opened by vmm/disks.c. */
#ifndef DEVICES_DISKCFG_H
#define DEVICES_DISKCFG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "devices/block/disk.h"

struct disk_config {
	char path[PATH_MAX];
	enum disk_format format;   /* DISK_FORMAT_AUTO unless format= */
	bool read_only;            /* ro (or readonly, ro=on) */
	char serial[21];           /* serial=, at most 20 bytes; "" = default */
	bool no_backing;           /* backing=off: the image must not name a backing file */
};

/* Parse the value of --disk. On error writes one line naming the culprit
 * to 'err' and returns -1. */
int diskcfg__parse(const char *value, struct disk_config *out, char *err, size_t errlen);

#endif

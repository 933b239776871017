/* disk_raw.h — a raw image: a plain file or a block device, byte for byte. */
#ifndef DEVICES_DISK_RAW_H
#define DEVICES_DISK_RAW_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/block/disk.h"

/* Take over 'fd' (opened on 'path'; closed on failure and by close()).
 * NULL with one line in err. */
struct disk *disk_raw__open(int fd, const char *path, bool read_only, char *err, size_t errlen);

#endif

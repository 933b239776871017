/* bootfiles.h — the files a user names for a direct boot (--kernel,
 * --initrd), read whole before KVM is touched, with the one-line error
 * each architecture would otherwise word on its own. */
#ifndef VMM_BOOTFILES_H
#define VMM_BOOTFILES_H

#include <stddef.h>
#include <stdint.h>

struct vm_config;

/* Read 'path' (a "kernel", "initrd", ... named by 'what' in the error)
 * into a malloc()ed buffer of at most 'limit' bytes. 0, or -1 after one
 * line naming the file and the reason. */
int bootfiles__read(const char *what, const char *path, size_t limit, uint8_t **buf, size_t *len);

/* cfg->initrd, when given: read it and check that it fits in guest RAM
 * (*buf NULL and *len 0 without one). 0, or -1 after one line. */
int bootfiles__read_initrd(const struct vm_config *cfg, uint8_t **buf, size_t *len);

#endif

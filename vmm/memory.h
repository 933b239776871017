/* memory.h — guest RAM: the regions, and the one checked way to reach them.
 *
 * Every access to guest memory from device code goes through
 * guest_mem__ptr() (or the read/write helpers built on it), which returns a
 * host pointer only when [gpa, gpa+len) lies wholly inside one RAM region.
 * A guest-supplied address therefore can never make the VMM touch memory
 * outside guest RAM.
 */
#ifndef VMM_MEMORY_H
#define VMM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 8

struct mem_region {
	uint64_t gpa;   /* guest-physical start */
	uint64_t size;  /* bytes */
	uint8_t *hva;   /* host mapping */
};

struct guest_mem {
	struct mem_region region[GUEST_MEM_MAX_REGIONS];
	int nr;
	uint64_t ram_size;   /* sum of region sizes */
	void *mapping;       /* one mmap() backing all regions */
	size_t mapping_size;
};

/* Where a platform puts RAM: from 'base' (x86: 0; arm64 virt: 1 GiB),
 * skipping [hole_start, hole_end) if it gets that far (x86: the 32-bit
 * MMIO hole; hole_start == hole_end: none). */
struct mem_layout {
	uint64_t base;
	uint64_t hole_start, hole_end;
};

/* Lay 'ram_size' bytes of RAM out as 'l' says (NULL: from 0, no hole) and
 * back it with anonymous memory. Returns 0, -EINVAL for no RAM or a
 * layout that is not 4 KiB aligned, overflows or puts the hole below the
 * base, or -errno. */
int guest_mem__init(struct guest_mem *m, uint64_t ram_size, const struct mem_layout *l);
/* Describe caller-owned memory (unit tests: a ring built in a buffer). */
int guest_mem__init_from(struct guest_mem *m, const struct mem_region *r, int nr);
void guest_mem__destroy(struct guest_mem *m);

/* Host pointer for [gpa, gpa+len), or NULL if any byte is outside RAM or
 * the range straddles two regions. len == 0 is treated as len 1. */
void *guest_mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
bool guest_mem__contains(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy in or out; -EFAULT if the range is not RAM. */
int guest_mem__read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len);
int guest_mem__write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len);

/* Highest guest-physical address + 1 of RAM below 4 GiB. */
uint64_t guest_mem__low_end(const struct guest_mem *m);

#endif

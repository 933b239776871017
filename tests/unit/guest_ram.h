/* guest_ram.h — "guest RAM" for the unit tests that build rings the way
 * a guest driver would (test_virtqueue.c, test_virtio_*.c): a zeroed,
 * page-aligned malloc'd buffer that 'mem' describes as one region at
 * 'gpa'. The test frees it itself. Include after <cmocka.h>. */
#ifndef TESTS_UNIT_GUEST_RAM_H
#define TESTS_UNIT_GUEST_RAM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/memory.h"

static inline uint8_t *guest_ram_new(struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	struct mem_region r = { .gpa = gpa, .size = size };
	uint8_t *ram = aligned_alloc(4096, size);

	assert_non_null(ram);
	memset(ram, 0, size);
	r.hva = ram;
	assert_int_equal(guest_mem__init_from(mem, &r, 1), 0);
	return ram;
}

#endif

/* memory.c — guest RAM regions and bounds-checked translation. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/util.h"

static int add_region(struct guest_mem *m, uint64_t gpa, uint64_t size, uint8_t *hva)
{
	if (m->nr >= GUEST_MEM_MAX_REGIONS)
		return -E2BIG;
	m->region[m->nr++] = (struct mem_region){ .gpa = gpa, .size = size, .hva = hva };
	m->ram_size += size;
	return 0;
}

#define PAGE_MASK_4K 0xfffULL
#define HUGE_ALIGN (2u << 20)   /* a transparent huge page, a stage-2 / EPT block */

static bool layout_ok(uint64_t ram_size, const struct mem_layout *l)
{
	bool hole = l->hole_start != l->hole_end;
	uint64_t span = ram_size + (hole ? l->hole_end - l->hole_start : 0);

	return ram_size != 0 && !(l->base & PAGE_MASK_4K) &&
	       l->hole_end >= l->hole_start &&
	       !(hole && (l->hole_start < l->base || (l->hole_start & PAGE_MASK_4K) ||
			  (l->hole_end & PAGE_MASK_4K))) &&
	       span >= ram_size && l->base + span >= l->base;
}

int guest_mem__init(struct guest_mem *m, uint64_t ram_size, const struct mem_layout *l)
{
	static const struct mem_layout flat;
	uint8_t *base;
	uint64_t below;

	memset(m, 0, sizeof(*m));
	if (!l)
		l = &flat;
	if (!layout_ok(ram_size, l) || ram_size > SIZE_MAX - HUGE_ALIGN)
		return -EINVAL;
	/* 2 MiB aligned (mapped 2 MiB larger, the slop unmapped): a huge
	 * page can only back an aligned 2 MiB of the host's address space,
	 * and KVM maps a 2 MiB block of guest memory in one go only where the
	 * guest address and the host address agree modulo 2 MiB. Linux
	 * aligns large anonymous mappings itself only from 6.7. */
	base = mmap(NULL, ram_size + HUGE_ALIGN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	{
		uint8_t *aligned = (uint8_t *)ALIGN_UP((uintptr_t)base, HUGE_ALIGN);
		size_t head = (size_t)(aligned - base), tail = HUGE_ALIGN - head;

		if (head)
			munmap(base, head);
		if (tail)
			munmap(aligned + ram_size, tail);
		base = aligned;
	}
	/* Transparent huge pages make guest page walks and copies cheaper. */
	madvise(base, ram_size, MADV_HUGEPAGE);
	m->mapping = base;
	m->mapping_size = ram_size;
	below = l->hole_start - l->base;	/* RAM that fits under the hole */
	if (l->hole_start == l->hole_end || ram_size <= below)
		return add_region(m, l->base, ram_size, base);
	add_region(m, l->base, below, base);
	return add_region(m, l->hole_end, ram_size - below, base + below);
}

int guest_mem__init_from(struct guest_mem *m, const struct mem_region *r, int nr)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < nr; i++) {
		int err = add_region(m, r[i].gpa, r[i].size, r[i].hva);
		if (err)
			return err;
	}
	return 0;
}

void guest_mem__destroy(struct guest_mem *m)
{
	if (m->mapping)
		munmap(m->mapping, m->mapping_size);
	memset(m, 0, sizeof(*m));
}

void *guest_mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (int i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->region[i];
		/* Written so that no sum can overflow. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

bool guest_mem__contains(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	return guest_mem__ptr(m, gpa, len) != NULL;
}

int guest_mem__read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len)
{
	void *p = guest_mem__ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int guest_mem__write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len)
{
	void *p = guest_mem__ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

uint64_t guest_mem__low_end(const struct guest_mem *m)
{
	uint64_t end = 0;

	for (int i = 0; i < m->nr; i++) {
		uint64_t e = m->region[i].gpa + m->region[i].size;
		if (m->region[i].gpa < (1ULL << 32) && e > end)
			end = e > (1ULL << 32) ? (1ULL << 32) : e;
	}
	return end;
}

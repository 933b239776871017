/* kvm_stats.c — read KVM's binary statistics (Documentation/virt/kvm/
 * api.rst, KVM_GET_STATS_FD): a header, descriptors named by string, and
 * the u64 values at data_offset + desc.offset. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/kvm_stats.h"
#include "vmm/log.h"

const char *const kvm_stats__name[KVM_STAT_NR] = {
	[KVM_STAT_EXITS] = "exits",
	[KVM_STAT_IO_EXITS] = "io_exits",
	[KVM_STAT_MMIO_EXITS] = "mmio_exits",
	[KVM_STAT_HALT_EXITS] = "halt_exits",
	[KVM_STAT_IRQ_EXITS] = "irq_exits",
	[KVM_STAT_IRQ_WINDOW_EXITS] = "irq_window_exits",
	[KVM_STAT_SIGNAL_EXITS] = "signal_exits",
};

#define STATS_MAX_SIZE (1 << 20)

int kvm_stats__parse(struct kvm_stats *s, const void *buf, size_t len)
{
	const struct kvm_stats_header *h = buf;
	size_t desc_size;

	memset(s->offset, 0, sizeof(s->offset));
	if (len < sizeof(*h) || h->name_size == 0 || h->name_size > 4096)
		return -1;
	desc_size = sizeof(struct kvm_stats_desc) + h->name_size;
	if (h->desc_offset > len || h->num_desc > (len - h->desc_offset) / desc_size)
		return -1;
	for (uint32_t i = 0; i < h->num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)((const char *)buf + h->desc_offset +
								 i * desc_size);
		size_t nlen = strnlen(d->name, h->name_size);

		if (nlen == h->name_size || d->size != 1)
			continue;  /* unterminated name, or a histogram */
		for (int k = 0; k < KVM_STAT_NR; k++)
			if (!strcmp(d->name, kvm_stats__name[k]))
				s->offset[k] = h->data_offset + d->offset;
	}
	return 0;
}

int kvm_stats__open(struct kvm_stats *s, int kvm_object_fd)
{
	struct kvm_stats_header h;
	char *buf;
	size_t len;
	int err = -1;

	memset(s, 0, sizeof(*s));
	s->fd = ioctl(kvm_object_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0)
		return -1;  /* older kernel: vmm's own counters remain */
	if (pread(s->fd, &h, sizeof(h), 0) != sizeof(h) || h.desc_offset > STATS_MAX_SIZE ||
	    h.data_offset > STATS_MAX_SIZE)
		goto fail;
	len = h.data_offset > h.desc_offset ? h.data_offset : STATS_MAX_SIZE;
	buf = malloc(len);
	if (!buf)
		goto fail;
	if (pread(s->fd, buf, len, 0) >= (ssize_t)sizeof(h))
		err = kvm_stats__parse(s, buf, len);
	free(buf);
	if (!err)
		return 0;
fail:
	close(s->fd);
	s->fd = -1;
	return -1;
}

void kvm_stats__read(const struct kvm_stats *s, uint64_t val[KVM_STAT_NR])
{
	for (int k = 0; k < KVM_STAT_NR; k++) {
		val[k] = 0;
		if (s->fd >= 0 && s->offset[k] &&
		    pread(s->fd, &val[k], sizeof(val[k]), s->offset[k]) != sizeof(val[k]))
			val[k] = 0;
	}
}

int kvm_stats__format_all(const void *buf, size_t len, char *out, size_t outlen)
{
	const struct kvm_stats_header *h = buf;
	size_t desc_size, used = 0;

	if (outlen)
		out[0] = '\0';
	if (len < sizeof(*h) || h->name_size == 0 || h->name_size > 4096)
		return -1;
	desc_size = sizeof(struct kvm_stats_desc) + h->name_size;
	if (h->desc_offset > len || h->num_desc > (len - h->desc_offset) / desc_size ||
	    h->data_offset > len)
		return -1;
	for (uint32_t i = 0; i < h->num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)((const char *)buf + h->desc_offset +
								 i * desc_size);
		size_t nlen = strnlen(d->name, h->name_size);
		uint64_t v;
		int n;

		if (nlen == h->name_size || d->size != 1 ||
		    d->offset > len - h->data_offset || len - h->data_offset - d->offset < sizeof(v))
			continue;  /* unterminated name, histogram, or out of the buffer */
		memcpy(&v, (const char *)buf + h->data_offset + d->offset, sizeof(v));
		if (!v)
			continue;
		n = snprintf(out + used, outlen - used, "%s%s=%llu", used ? " " : "", d->name,
			     (unsigned long long)v);
		if (n < 0 || (size_t)n >= outlen - used) {
			out[used] = '\0';  /* whole entries only */
			break;
		}
		used += (size_t)n;
	}
	return 0;
}

int kvm_stats__dump(const struct kvm_stats *s, char *out, size_t outlen)
{
	struct kvm_stats_header h;
	char *buf;
	size_t len;
	ssize_t n;
	int r = -1;

	if (outlen)
		out[0] = '\0';
	if (s->fd < 0 || pread(s->fd, &h, sizeof(h), 0) != sizeof(h) ||
	    h.desc_offset > STATS_MAX_SIZE || h.data_offset > STATS_MAX_SIZE)
		return -1;
	len = STATS_MAX_SIZE + 65536;
	buf = calloc(1, len);
	if (!buf)
		return -1;
	n = pread(s->fd, buf, len, 0);
	if (n >= (ssize_t)sizeof(h))
		r = kvm_stats__format_all(buf, (size_t)n, out, outlen);
	free(buf);
	return r;
}

void kvm_stats__close(struct kvm_stats *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

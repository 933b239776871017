/* net_ctrl.c — virtio-net control queue (spec 5.1.6.5) and the receive
 * filter it programs.
 *
 * A command is { u8 class; u8 command; data[] } in device-readable buffers
 * followed by a device-writable ack byte. A command we do not understand,
 * or whose data has the wrong size, is answered VIRTIO_NET_ERR; only a
 * chain with no writable byte for the ack is a protocol violation.
 *
 * Filter defaults follow QEMU: promiscuous until the driver says
 * otherwise (a driver without VIRTIO_NET_F_CTRL_RX cannot, and must still
 * receive everything); broadcast accepted.
 */
#include <endian.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "virtio/net_priv.h"
#include "vmm/iov.h"
#include "vmm/log.h"

void net_ctrl__reset(struct net_dev *nd)
{
	memset(&nd->filter, 0, sizeof(nd->filter));
	nd->filter.promisc = true;
}

/* Reads through the command's device-readable part. Everything is copied
 * out before use: the guest may change its buffers while we look. */
struct cursor {
	const struct iovec *iov;
	unsigned int cnt;
	size_t off, left;
};

static bool cur_read(struct cursor *c, void *buf, size_t len)
{
	if (len > c->left)
		return false;
	iov__to_buf(c->iov, (int)c->cnt, c->off, buf, len);
	c->off += len;
	c->left -= len;
	return true;
}

/* One table of VIRTIO_NET_CTRL_MAC_TABLE_SET: le32 entries + 6 * entries
 * bytes. More entries than we keep: remember the overflow (accept all of
 * that kind, as the spec allows) and skip them. */
static bool read_table(struct cursor *c, uint8_t (*tab)[6], unsigned int *n,
		       bool *overflow)
{
	uint32_t entries;

	if (!cur_read(c, &entries, sizeof(entries)))
		return false;
	entries = le32toh(entries);
	if ((uint64_t)entries * 6 > c->left)
		return false;  /* the count lies about the data */
	*overflow = entries > NET_MAC_TABLE;
	*n = *overflow ? 0 : entries;
	if (*n && !cur_read(c, tab, (size_t)*n * 6))
		return false;
	if (*overflow) {
		c->off += (size_t)entries * 6;
		c->left -= (size_t)entries * 6;
	}
	return true;
}

static uint8_t ctrl_rx(struct net_dev *nd, uint8_t cmd, struct cursor *c)
{
	struct net_filter *f = &nd->filter;
	bool extra = nd->features & (1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA);
	uint8_t on;

	if (!(nd->features & (1ULL << VIRTIO_NET_F_CTRL_RX)) || c->left != 1 ||
	    !cur_read(c, &on, 1))
		return VIRTIO_NET_ERR;
	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC:  f->promisc = on; break;
	case VIRTIO_NET_CTRL_RX_ALLMULTI: f->allmulti = on; break;
	case VIRTIO_NET_CTRL_RX_ALLUNI:   if (!extra) return VIRTIO_NET_ERR; f->alluni = on; break;
	case VIRTIO_NET_CTRL_RX_NOMULTI:  if (!extra) return VIRTIO_NET_ERR; f->nomulti = on; break;
	case VIRTIO_NET_CTRL_RX_NOUNI:    if (!extra) return VIRTIO_NET_ERR; f->nouni = on; break;
	case VIRTIO_NET_CTRL_RX_NOBCAST:  if (!extra) return VIRTIO_NET_ERR; f->nobcast = on; break;
	default: return VIRTIO_NET_ERR;
	}
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_mac(struct net_dev *nd, uint8_t cmd, struct cursor *c)
{
	struct net_filter *f = &nd->filter, t;

	switch (cmd) {
	case VIRTIO_NET_CTRL_MAC_TABLE_SET:
		if (!(nd->features & (1ULL << VIRTIO_NET_F_CTRL_RX)))
			return VIRTIO_NET_ERR;
		/* Parse both tables into a copy: all or nothing. */
		t = *f;
		if (!read_table(c, t.uni, &t.n_uni, &t.uni_overflow) ||
		    !read_table(c, t.multi, &t.n_multi, &t.multi_overflow) ||
		    c->left != 0)
			return VIRTIO_NET_ERR;
		*f = t;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (!(nd->features & (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR)) ||
		    c->left != 6 || !cur_read(c, nd->mac, 6))
			return VIRTIO_NET_ERR;
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR;
	}
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET: exactly a le16 pair count. RSS and
 * the hash configuration are not offered, so their commands fail. */
static uint8_t ctrl_mq(struct net_dev *nd, uint8_t cmd, struct cursor *c)
{
	uint16_t pairs;

	if (cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || c->left != sizeof(pairs) ||
	    !cur_read(c, &pairs, sizeof(pairs)))
		return VIRTIO_NET_ERR;
	return net_mq__set_pairs(nd, le16toh(pairs));
}

static uint8_t ctrl_command(struct net_dev *nd, const struct vq_chain *ch)
{
	struct cursor c = { ch->iov, ch->out_num, 0, ch->out_len };
	uint8_t hdr[2];

	if (!cur_read(&c, hdr, sizeof(hdr)))
		return VIRTIO_NET_ERR;
	switch (hdr[0]) {
	case VIRTIO_NET_CTRL_RX:  return ctrl_rx(nd, hdr[1], &c);
	case VIRTIO_NET_CTRL_MAC: return ctrl_mac(nd, hdr[1], &c);
	case VIRTIO_NET_CTRL_MQ:  return ctrl_mq(nd, hdr[1], &c);
	default:                  return VIRTIO_NET_ERR;
	}
}

void net_ctrl__run(struct net_dev *nd)
{
	int q = net_mq__ctrl_queue(nd);
	struct virtqueue *vq = &nd->vdev.vq[q];
	struct vq_chain *ch = &nd->chain;
	unsigned int done = 0;
	int rc;

	if (!nd->running || nd->broken)
		return;
	nd->ctrl_more = false;
	while ((rc = virtqueue__pop(vq, ch)) == 1) {
		uint8_t ack;

		if (ch->in_num == 0) {
			net__violation(nd, "control command without a writable ack byte");
			return;
		}
		ack = ctrl_command(nd, ch);
		*(uint8_t *)ch->iov[ch->out_num].iov_base = ack;
		virtqueue__fill(vq, ch->head, 1);
		if (++done == NET_BUDGET) {
			nd->ctrl_more = true;
			net__resched(nd);
			break;
		}
	}
	if (rc < 0) {
		net__violation(nd, vq->err);
		return;
	}
	virtqueue__flush(vq);
	net__signal(nd, q);
}

static bool in_table(const uint8_t (*tab)[6], unsigned int n, const uint8_t *a)
{
	for (unsigned int i = 0; i < n; i++)
		if (!memcmp(tab[i], a, 6))
			return true;
	return false;
}

bool net_ctrl__accept(const struct net_dev *nd, const uint8_t *dst)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const struct net_filter *f = &nd->filter;

	if (f->promisc)
		return true;
	if (!memcmp(dst, bcast, 6))
		return !f->nobcast;
	if (dst[0] & 1) {
		if (f->nomulti)
			return false;
		if (f->allmulti || f->multi_overflow)
			return true;
		return in_table(f->multi, f->n_multi, dst);
	}
	if (f->nouni)
		return false;
	if (f->alluni || f->uni_overflow)
		return true;
	if (!memcmp(dst, nd->mac, 6))
		return true;
	return in_table(f->uni, f->n_uni, dst);
}

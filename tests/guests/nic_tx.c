/* nic_tx.c — a tiny freestanding 64-bit test guest (entry in start64.S)
 * that drives vmm's virtio-net NIC the way a real driver would, with no
 * interrupts: it finds the NIC by scanning PCI bus 0 through config
 * mechanism #1, walks its capability list for the virtio structures,
 * initialises the device (virtio 1.x, 3.1.1) with only VIRTIO_F_VERSION_1,
 * sets up the TX queue in its own RAM, sends one broadcast Ethernet frame
 * (ethertype 0x88b5, payload "vmm-nic-tx-test " + the kernel command line,
 * so each test run can send its own token) and polls the used ring until
 * the device has consumed it. Progress goes to COM1; the test
 * (tests/guests/run.sh) receives the frame on the host tap with frame_recv.
 * Every UART write is preceded by an LSR read, as a real driver does. */
#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define PAYLOAD_TAG	"vmm-nic-tx-test "
#define TOKEN_MAX	64		/* command line bytes put in the frame */
#define ETH_TYPE_TEST	0x88b5		/* IEEE 802 local experimental */
#define ETH_MIN_FRAME	60		/* without the FCS */
#define VIRTIO_VENDOR	0x1af4
#define VIRTIO_NET_PCI	0x1041		/* 0x1040 + device id 1, modern */
#define TX_QUEUE	1
#define QSIZE		8
#define COM1		0x3f8
#define POLL_LIMIT_S	10		/* RTC seconds to wait for the used ring */

void guest_main(void *zero_page);

/* ---- port and MMIO access --------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

/* Orders ring stores before the index store, and the index store before
 * reading the device's notification flags (virtio 2.7.13). */
static inline void mb(void)
{
	asm volatile("mfence" : : : "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

/* ---- COM1 ------------------------------------------------------------- */

static void putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))	/* LSR: THR empty */
		;
	outb(COM1, (uint8_t)c);
}

static void puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc('\r');
		putc(*s);
	}
}

static void puthex(uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = digits - 1; i >= 0; i--)
		putc(hex[(v >> (4 * i)) & 0xf]);
}

static void putx(uint64_t v)	/* 0x-prefixed, no leading zeros */
{
	int digits = 1;

	while (digits < 16 && (v >> (4 * digits)))
		digits++;
	puts("0x");
	puthex(v, digits);
}

static void putdec(uint64_t v)
{
	char buf[24];
	int i = sizeof(buf);

	buf[--i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts(&buf[i]);
}

/* ---- PCI configuration mechanism #1, bus 0 ---------------------------- */

static void pci_select(unsigned slot, unsigned off)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
}

static uint32_t pci_read32(unsigned slot, unsigned off)
{
	pci_select(slot, off);
	return inl(0xcfc);
}

static uint16_t pci_read16(unsigned slot, unsigned off)
{
	return (uint16_t)(pci_read32(slot, off) >> (8 * (off & 2)));
}

static uint8_t pci_read8(unsigned slot, unsigned off)
{
	return (uint8_t)(pci_read32(slot, off) >> (8 * (off & 3)));
}

static void pci_write16(unsigned slot, unsigned off, uint16_t v)
{
	pci_select(slot, off);
	outw((uint16_t)(0xcfc + (off & 2)), v);
}

/* A memory BAR's address (32- or 64-bit); 0 if it is an I/O BAR, not
 * assigned, or outside the identity-mapped first 4 GiB. */
static uint64_t pci_bar(unsigned slot, unsigned bar)
{
	uint32_t lo = pci_read32(slot, PCI_BASE_ADDRESS_0 + 4 * bar);
	uint64_t a = lo & PCI_BASE_ADDRESS_MEM_MASK;

	if (lo & PCI_BASE_ADDRESS_SPACE_IO)
		return 0;
	if ((lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64) {
		if (bar >= 5)
			return 0;
		a |= (uint64_t)pci_read32(slot, PCI_BASE_ADDRESS_0 + 4 * (bar + 1)) << 32;
	}
	return a < 0x100000000ULL ? a : 0;
}

/* ---- virtio structures ------------------------------------------------ */

struct vcap {
	int found;
	uint8_t bar;
	uint32_t offset, length;
	uint64_t addr;		/* BAR address + offset */
};

/* The common configuration structure, once mapped. */
static uint64_t common_cfg;
#define COMMON(field) (common_cfg + offsetof(struct virtio_pci_common_cfg, field))

/* The split virtqueue (virtio 2.7), little-endian as VERSION_1 requires. */
static struct vring_desc desc[QSIZE] __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx, ring[QSIZE], used_event;
} avail __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx;
	struct vring_used_elem ring[QSIZE];
	uint16_t avail_event;
} used __attribute__((aligned(4096)));
static uint8_t txbuf[2048] __attribute__((aligned(64)));

static int fail(const char *why)
{
	puts("nic_tx: FAIL ");
	puts(why);
	puts("\n");
	return -1;
}

static uint8_t rtc_seconds(void)
{
	outb(0x70, 0x00);
	return inb(0x71);
}

static int find_nic(unsigned *slot)
{
	for (unsigned s = 0; s < 32; s++) {
		uint32_t id = pci_read32(s, PCI_VENDOR_ID);

		if ((id & 0xffff) == VIRTIO_VENDOR && id >> 16 == VIRTIO_NET_PCI) {
			*slot = s;
			puts("nic_tx: found 1af4:1041 at 00:");
			puthex(s, 2);
			puts(".0\n");
			return 0;
		}
	}
	return fail("no virtio-net (1af4:1041) on PCI bus 0");
}

static void put_cap(const char *name, const struct vcap *c)
{
	puts("nic_tx: cap ");
	puts(name);
	puts(" bar ");
	putdec(c->bar);
	puts(" off ");
	putx(c->offset);
	puts(" len ");
	putx(c->length);
	puts("\n");
}

/* Walk the capability list for the first COMMON, NOTIFY and DEVICE
 * virtio structures (a driver uses the first of each it understands). */
static int find_caps(unsigned slot, struct vcap *common, struct vcap *notify,
		     uint32_t *mult, struct vcap *devcfg)
{
	unsigned ptr;

	if (!(pci_read16(slot, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return fail("no capability list");
	ptr = pci_read8(slot, PCI_CAPABILITY_LIST) & 0xfc;
	for (int n = 0; ptr >= 0x40 && n < 48; n++) {
		if (pci_read8(slot, ptr) == PCI_CAP_ID_VNDR) {
			uint8_t type = pci_read8(slot, ptr + offsetof(struct virtio_pci_cap, cfg_type));
			struct vcap *c = type == VIRTIO_PCI_CAP_COMMON_CFG ? common :
					 type == VIRTIO_PCI_CAP_NOTIFY_CFG ? notify :
					 type == VIRTIO_PCI_CAP_DEVICE_CFG ? devcfg : NULL;

			if (c && !c->found) {
				c->found = 1;
				c->bar = pci_read8(slot, ptr + offsetof(struct virtio_pci_cap, bar));
				c->offset = pci_read32(slot, ptr + offsetof(struct virtio_pci_cap, offset));
				c->length = pci_read32(slot, ptr + offsetof(struct virtio_pci_cap, length));
				if (c == notify)
					*mult = pci_read32(slot, ptr + offsetof(struct virtio_pci_notify_cap,
									     notify_off_multiplier));
			}
		}
		ptr = pci_read8(slot, ptr + 1) & 0xfc;
	}
	if (!common->found || !notify->found || !devcfg->found)
		return fail("missing virtio common/notify/device capability");
	put_cap("common", common);
	put_cap("notify", notify);
	put_cap("device", devcfg);
	puts("nic_tx: notify_off_multiplier ");
	putdec(*mult);
	puts("\n");
	return 0;
}

static int map_cap(unsigned slot, struct vcap *c)
{
	uint64_t bar;

	if (c->bar > 5)
		return fail("virtio capability names a BAR > 5");
	bar = pci_bar(slot, c->bar);
	if (!bar)
		return fail("virtio BAR unassigned, I/O or above 4 GiB");
	c->addr = bar + c->offset;
	return 0;
}

static void set_status(uint8_t s)
{
	mmio_write8(COMMON(device_status), s);
}

static void read_mac(const struct vcap *devcfg, uint8_t mac[6])
{
	uint8_t gen;

	/* virtio 4.1.4.3.1: re-read until config_generation is stable. */
	do {
		gen = mmio_read8(COMMON(config_generation));
		for (int i = 0; i < 6; i++)
			mac[i] = mmio_read8(devcfg->addr + offsetof(struct virtio_net_config, mac) + i);
	} while (gen != mmio_read8(COMMON(config_generation)));
}

static void put_mac(const uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (i)
			putc(':');
		puthex(mac[i], 2);
	}
}

static int send_frame(const struct vcap *notify, uint32_t mult,
		      uint16_t notify_off, const uint8_t mac[6], const char *token)
{
	static const char tag[] = PAYLOAD_TAG;
	const unsigned hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	uint8_t *eth = txbuf + hdr;
	unsigned len = 14;
	uint64_t doorbell = notify->addr + (uint64_t)notify_off * mult;
	uint8_t sec;
	unsigned ticks = 0;

	if ((uint64_t)notify_off * mult + 2 > notify->length)
		return fail("queue notify address outside the notify structure");
	for (unsigned i = 0; i < sizeof(txbuf); i++)
		txbuf[i] = 0;			/* vnet header: no offloads, num_buffers 0 */
	for (int i = 0; i < 6; i++) {
		eth[i] = 0xff;			/* broadcast */
		eth[6 + i] = mac[i];
	}
	eth[12] = ETH_TYPE_TEST >> 8;
	eth[13] = ETH_TYPE_TEST & 0xff;
	for (unsigned i = 0; i < sizeof(tag) - 1; i++)
		eth[len++] = (uint8_t)tag[i];
	for (unsigned i = 0; token[i]; i++)
		eth[len++] = (uint8_t)token[i];
	if (len < ETH_MIN_FRAME)
		len = ETH_MIN_FRAME;		/* zero padding */

	desc[0].addr = (uint64_t)(uintptr_t)txbuf;
	desc[0].len = hdr + len;
	desc[0].flags = 0;			/* device-readable, no next */
	desc[0].next = 0;
	avail.ring[0] = 0;
	mb();
	avail.idx = 1;
	mb();
	if (!(*(volatile uint16_t *)&used.flags & VRING_USED_F_NO_NOTIFY)) {
		mmio_write16(doorbell, TX_QUEUE);
		puts("nic_tx: notified queue 1 at ");
		putx(doorbell);
		puts("\n");
	} else {
		puts("nic_tx: device suppressed the notification\n");
	}

	sec = rtc_seconds();
	for (uint64_t i = 0; *(volatile uint16_t *)&used.idx != 1; i++) {
		cpu_relax();
		if ((i & 0x3ff) == 0 && rtc_seconds() != sec) {
			sec = rtc_seconds();
			if (++ticks > POLL_LIMIT_S) {
				puts("nic_tx: TIMEOUT waiting for the used ring\n");
				return -1;
			}
		}
	}
	mb();
	if (used.ring[0].id != 0)
		return fail("used ring returned a descriptor we did not post");
	puts("nic_tx: frame sent, used len=");
	putdec(used.ring[0].len);
	puts("\n");
	return 0;
}

static int run(const char *token)
{
	struct vcap common = { 0 }, notify = { 0 }, devcfg = { 0 };
	uint32_t mult = 0;
	unsigned slot;
	uint16_t cmd, qmax, qsize, notify_off;
	uint64_t features;
	uint8_t status, mac[6];

	if (find_nic(&slot) < 0 || find_caps(slot, &common, &notify, &mult, &devcfg) < 0)
		return -1;
	cmd = pci_read16(slot, PCI_COMMAND);
	if (!(cmd & PCI_COMMAND_MEMORY) || !(cmd & PCI_COMMAND_MASTER)) {
		puts("nic_tx: enabling memory space and bus mastering\n");
		pci_write16(slot, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
		if (!(pci_read16(slot, PCI_COMMAND) & PCI_COMMAND_MEMORY))
			return fail("memory space stays disabled");
	}
	if (map_cap(slot, &common) < 0 || map_cap(slot, &notify) < 0 || map_cap(slot, &devcfg) < 0)
		return -1;
	common_cfg = common.addr;
	puts("nic_tx: BAR");
	putdec(common.bar);
	puts(" at ");
	putx(pci_bar(slot, common.bar));
	puts("\n");

	/* virtio 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
	set_status(0);
	for (int i = 0; mmio_read8(COMMON(device_status)) != 0; i++)
		if (i > 1000000)
			return fail("device does not finish its reset");
	status = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	set_status(status);
	status |= VIRTIO_CONFIG_S_DRIVER;
	set_status(status);
	mmio_write32(COMMON(device_feature_select), 0);
	features = mmio_read32(COMMON(device_feature));
	mmio_write32(COMMON(device_feature_select), 1);
	features |= (uint64_t)mmio_read32(COMMON(device_feature)) << 32;
	puts("nic_tx: device features ");
	putx(features);
	puts("\n");
	if (!(features & (1ULL << VIRTIO_F_VERSION_1)))
		return fail("device does not offer VIRTIO_F_VERSION_1");
	mmio_write32(COMMON(guest_feature_select), 0);
	mmio_write32(COMMON(guest_feature), 0);
	mmio_write32(COMMON(guest_feature_select), 1);
	mmio_write32(COMMON(guest_feature), 1u << (VIRTIO_F_VERSION_1 - 32));
	status |= VIRTIO_CONFIG_S_FEATURES_OK;
	set_status(status);
	if (!(mmio_read8(COMMON(device_status)) & VIRTIO_CONFIG_S_FEATURES_OK))
		return fail("device did not accept FEATURES_OK with VERSION_1 only");
	puts("nic_tx: features ok (VERSION_1 only)\n");

	read_mac(&devcfg, mac);
	puts("nic_tx: mac ");
	put_mac(mac);
	puts("\n");

	/* The TX queue: a small ring in our own RAM, no MSI-X vector. */
	if (mmio_read16(COMMON(num_queues)) <= TX_QUEUE)
		return fail("device has no TX queue");
	mmio_write16(COMMON(queue_select), TX_QUEUE);
	qmax = mmio_read16(COMMON(queue_size));
	if (qmax == 0)
		return fail("TX queue unavailable (size 0)");
	for (qsize = QSIZE; qsize > qmax; qsize >>= 1)
		;
	mmio_write16(COMMON(queue_size), qsize);
	mmio_write32(COMMON(queue_desc_lo), (uint32_t)(uintptr_t)desc);
	mmio_write32(COMMON(queue_desc_hi), (uint32_t)((uint64_t)(uintptr_t)desc >> 32));
	mmio_write32(COMMON(queue_avail_lo), (uint32_t)(uintptr_t)&avail);
	mmio_write32(COMMON(queue_avail_hi), (uint32_t)((uint64_t)(uintptr_t)&avail >> 32));
	mmio_write32(COMMON(queue_used_lo), (uint32_t)(uintptr_t)&used);
	mmio_write32(COMMON(queue_used_hi), (uint32_t)((uint64_t)(uintptr_t)&used >> 32));
	mmio_write16(COMMON(queue_msix_vector), VIRTIO_MSI_NO_VECTOR);
	avail.flags = VRING_AVAIL_F_NO_INTERRUPT;	/* we poll */
	notify_off = mmio_read16(COMMON(queue_notify_off));
	mmio_write16(COMMON(queue_enable), 1);
	if (mmio_read16(COMMON(queue_enable)) != 1)
		return fail("TX queue not enabled");
	puts("nic_tx: TX queue 1 size ");
	putdec(qsize);
	puts(" (max ");
	putdec(qmax);
	puts("), notify_off ");
	putdec(notify_off);
	puts("\n");

	status |= VIRTIO_CONFIG_S_DRIVER_OK;
	set_status(status);
	if (mmio_read8(COMMON(device_status)) & VIRTIO_CONFIG_S_NEEDS_RESET)
		return fail("device needs reset after DRIVER_OK");
	puts("nic_tx: driver ok\n");

	if (send_frame(&notify, mult, notify_off, mac, token) < 0)
		return -1;
	set_status(0);	/* reset: the device lets go of our rings */
	return 0;
}

/* The token: the command line up to its first space or control
 * character, at most TOKEN_MAX bytes; "none" when empty. */
static void get_token(const struct boot_params *bp, char token[TOKEN_MAX + 1])
{
	const char *cmdline = (const char *)(uintptr_t)bp->hdr.cmd_line_ptr;
	int n = 0;

	if (bp->hdr.cmd_line_ptr)
		while (n < TOKEN_MAX && cmdline[n] > ' ' && cmdline[n] < 0x7f) {
			token[n] = cmdline[n];
			n++;
		}
	if (n == 0)
		for (const char *d = "none"; *d; d++)
			token[n++] = *d;
	token[n] = '\0';
}

void guest_main(void *zero_page)
{
	char token[TOKEN_MAX + 1];

	puts("nic_tx: start\n");
	get_token(zero_page, token);
	puts("nic_tx: token ");
	puts(token);
	puts("\n");
	if (run(token) == 0)
		puts("nic_tx: done\n");
}

/* i8042.c — the PS/2 keyboard controller (see i8042.h).
 *
 * The controller side follows what Linux's i8042 driver does during probe
 * and reboot: the command byte (internal RAM byte 0) read/written with
 * 0x20/0x60 (and RAM bytes 1-31 with 0x21-0x3f/0x61-0x7f), self test 0xaa
 * -> 0x55, interface tests 0xab/0xa9 -> 0x00, port enable/disable
 * 0xad/0xae/0xa7/0xa8 (reflected in the command byte), output port
 * read/write 0xd0/0xd1, "write output buffer as if from keyboard/aux"
 * 0xd2/0xd3 (aux bytes carry the AUXDATA status bit), and the pulse
 * commands 0xf0-0xff, where a clear bit 0 (e.g. 0xfe) pulses the CPU reset
 * line: the reset callback runs. Clearing bit 0 of the output port with
 * 0xd1 does the same.
 *
 * No aux device (mouse) is present: bytes sent to it with 0xd4 are
 * discarded. Bytes written to the data port with no controller command
 * waiting go to the keyboard, which behaves like an idle MF2 keyboard that
 * never has a key pressed: ACK (0xfa) for the commands it knows and their
 * parameter bytes, 0xff reset -> 0xfa 0xaa, 0xf2 identify -> 0xfa 0xab 0x83
 * (0x41 in place of 0x83 while the command byte asks for translation),
 * 0xee echo -> 0xee, 0xfe resend -> its last byte again, anything else ->
 * 0xfe (resend). Replies wait in an 8-byte output FIFO and are visible
 * through the status register's OBF bit and raise IRQ 1 (keyboard byte)
 * or IRQ 12 (aux byte) while the command byte enables that interrupt, as
 * Linux's probe expects (it waits for the aux loopback interrupt).
 *
 * IBF never reads as set: every write is consumed at once.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "devices/pc/i8042.h"
#include "vmm/log.h"

#define STR_OBF		0x01	/* output buffer full */
#define STR_SYS		0x04	/* system flag, copy of CTR bit 2 */
#define STR_CMD		0x08	/* last write went to the command port */
#define STR_KEYLOCK	0x10	/* set: keyboard not inhibited */
#define STR_AUXDATA	0x20	/* output buffer holds aux data */

#define CTR_KBDINT	0x01
#define CTR_AUXINT	0x02
#define CTR_SYS		0x04
#define CTR_KBDDIS	0x10
#define CTR_AUXDIS	0x20
#define CTR_XLATE	0x40

#define CMD_READ_RAM	0x20	/* 0x20-0x3f */
#define CMD_WRITE_RAM	0x60	/* 0x60-0x7f */
#define CMD_AUX_DISABLE	0xa7
#define CMD_AUX_ENABLE	0xa8
#define CMD_AUX_TEST	0xa9
#define CMD_SELF_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_KBD_DISABLE	0xad
#define CMD_KBD_ENABLE	0xae
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_WRITE_KBD_OBUF 0xd2
#define CMD_WRITE_AUX_OBUF 0xd3
#define CMD_WRITE_AUX	0xd4
#define CMD_PULSE	0xf0	/* 0xf0-0xff */

#define OUTPORT_RESET	0x01	/* 0 asserts the CPU reset line */
#define OUTPORT_A20	0x02

#define KBD_ACK		0xfa
#define KBD_RESEND	0xfe
#define KBD_BAT_OK	0xaa

#define OBUF_SIZE	8	/* below the 16 bytes Linux's i8042_flush tolerates */

struct obuf_entry {
	uint8_t byte;
	bool aux;
};

struct i8042 {
	pthread_mutex_t lock;
	struct i8042_ops ops;
	void *opaque;
	int irq_level[2];	/* last level driven: [0] IRQ 1, [1] IRQ 12 */

	uint8_t ram[32];	/* ram[0] is the command byte (CTR) */
	uint8_t outport;
	bool last_was_cmd;	/* STR_CMD */
	uint8_t pending;	/* controller command awaiting its data byte */

	uint8_t kbd_pending;	/* keyboard command awaiting its parameter */
	uint8_t kbd_scanset;
	uint8_t kbd_last;	/* last byte the keyboard sent, for 0xfe */

	struct obuf_entry obuf[OBUF_SIZE];
	unsigned obuf_head, obuf_count;
	uint8_t last_read;	/* data port when the buffer is empty */
};

static void obuf_put(struct i8042 *k, uint8_t byte, bool aux)
{
	if (k->obuf_count == OBUF_SIZE) {
		pr_debug("i8042: output buffer full, byte 0x%02x dropped", byte);
		return;
	}
	k->obuf[(k->obuf_head + k->obuf_count) % OBUF_SIZE] =
		(struct obuf_entry){ byte, aux };
	k->obuf_count++;
}

static void kbd_send(struct i8042 *k, uint8_t byte)
{
	k->kbd_last = byte;
	obuf_put(k, byte, false);
}

static bool translating(const struct i8042 *k)
{
	return k->ram[0] & CTR_XLATE;
}

/* The parameter byte of a two-byte keyboard command. */
static void kbd_param(struct i8042 *k, uint8_t cmd, uint8_t val)
{
	/* Scan code set numbers as they come through the translator. */
	static const uint8_t xlate_set[4] = { 0, 0x43, 0x41, 0x3f };

	if (cmd != 0xf0) {	/* 0xed LEDs, 0xf3 typematic rate */
		kbd_send(k, KBD_ACK);
		return;
	}
	if (val > 3) {
		kbd_send(k, KBD_RESEND);
		return;
	}
	kbd_send(k, KBD_ACK);
	if (val == 0)
		kbd_send(k, translating(k) ? xlate_set[k->kbd_scanset] :
					     k->kbd_scanset);
	else
		k->kbd_scanset = val;
}

static void kbd_write(struct i8042 *k, uint8_t val)
{
	if (k->kbd_pending) {
		uint8_t cmd = k->kbd_pending;

		k->kbd_pending = 0;
		kbd_param(k, cmd, val);
		return;
	}
	switch (val) {
	case 0xed:	/* set LEDs */
	case 0xf0:	/* get/set scan code set */
	case 0xf3:	/* set typematic rate */
		k->kbd_pending = val;
		kbd_send(k, KBD_ACK);
		break;
	case 0xee:	/* echo */
		kbd_send(k, 0xee);
		break;
	case 0xf2:	/* identify */
		kbd_send(k, KBD_ACK);
		kbd_send(k, 0xab);
		kbd_send(k, translating(k) ? 0x41 : 0x83);
		break;
	case 0xf4:	/* enable scanning */
	case 0xf5:	/* disable scanning, restore defaults */
	case 0xf6:	/* restore defaults */
	case 0xf7: case 0xf8: case 0xf9: case 0xfa:	/* set-3 key modes */
		if (val == 0xf5 || val == 0xf6)
			k->kbd_scanset = 2;
		kbd_send(k, KBD_ACK);
		break;
	case 0xfe:	/* resend */
		if (k->kbd_last)
			obuf_put(k, k->kbd_last, false);
		break;
	case 0xff:	/* reset and self test */
		k->kbd_scanset = 2;
		kbd_send(k, KBD_ACK);
		kbd_send(k, KBD_BAT_OK);
		break;
	default:
		kbd_send(k, KBD_RESEND);
		break;
	}
}

/* Data byte for a controller command; returns true to pulse reset. */
static bool command_data(struct i8042 *k, uint8_t cmd, uint8_t val)
{
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
		k->ram[cmd & 0x1f] = val;
		return false;
	}
	switch (cmd) {
	case CMD_WRITE_OUTPORT:
		k->outport = val | OUTPORT_RESET;
		return !(val & OUTPORT_RESET);
	case CMD_WRITE_KBD_OBUF:
		obuf_put(k, val, false);
		break;
	case CMD_WRITE_AUX_OBUF:
		obuf_put(k, val, true);
		break;
	case CMD_WRITE_AUX:
		pr_debug("i8042: no aux device, byte 0x%02x dropped", val);
		break;
	}
	return false;
}

/* A byte written to the command port; returns true to pulse reset. */
static bool command(struct i8042 *k, uint8_t cmd)
{
	k->pending = 0;
	if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + 0x20) {
		obuf_put(k, k->ram[cmd & 0x1f], false);
		return false;
	}
	if ((cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) ||
	    (cmd >= CMD_WRITE_OUTPORT && cmd <= CMD_WRITE_AUX)) {
		k->pending = cmd;
		return false;
	}
	if (cmd >= CMD_PULSE)
		return !(cmd & OUTPORT_RESET);
	switch (cmd) {
	case CMD_AUX_DISABLE:
		k->ram[0] |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ram[0] &= ~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		obuf_put(k, 0x00, false);	/* no clock/data line stuck */
		break;
	case CMD_SELF_TEST:
		k->ram[0] |= CTR_SYS;
		obuf_put(k, 0x55, false);
		break;
	case CMD_KBD_DISABLE:
		k->ram[0] |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ram[0] &= ~CTR_KBDDIS;
		break;
	case CMD_READ_OUTPORT:
		obuf_put(k, k->outport, false);
		break;
	default:
		pr_debug("i8042: command 0x%02x ignored", cmd);
		break;
	}
	return false;
}

static uint8_t read_status(const struct i8042 *k)
{
	uint8_t val = STR_KEYLOCK;

	if (k->obuf_count) {
		val |= STR_OBF;
		if (k->obuf[k->obuf_head].aux)
			val |= STR_AUXDATA;
	}
	if (k->ram[0] & CTR_SYS)
		val |= STR_SYS;
	if (k->last_was_cmd)
		val |= STR_CMD;
	return val;
}

static uint8_t read_data(struct i8042 *k)
{
	if (k->obuf_count) {
		k->last_read = k->obuf[k->obuf_head].byte;
		k->obuf_head = (k->obuf_head + 1) % OBUF_SIZE;
		k->obuf_count--;
	}
	return k->last_read;
}

/* Drive the interrupt lines from the head of the output buffer. */
static void update_irqs(struct i8042 *k)
{
	bool has = k->obuf_count != 0;
	bool aux = has && k->obuf[k->obuf_head].aux;
	int want[2] = {
		has && !aux && (k->ram[0] & CTR_KBDINT),
		aux && (k->ram[0] & CTR_AUXINT),
	};
	static const int irq[2] = { I8042_KBD_IRQ, I8042_AUX_IRQ };

	for (int i = 0; i < 2; i++) {
		if (want[i] == k->irq_level[i])
			continue;
		k->irq_level[i] = want[i];
		if (k->ops.set_irq)
			k->ops.set_irq(k->opaque, irq[i], want[i]);
	}
}

static void port_read(struct i8042 *k, bool cmd_port, uint8_t *data,
		      uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0xff;
	if (len != 1)
		return;
	pthread_mutex_lock(&k->lock);
	data[0] = cmd_port ? read_status(k) : read_data(k);
	update_irqs(k);
	pthread_mutex_unlock(&k->lock);
}

static void port_write(struct i8042 *k, bool cmd_port, const uint8_t *data,
		       uint32_t len)
{
	bool reset;

	if (len != 1)
		return;
	pthread_mutex_lock(&k->lock);
	k->last_was_cmd = cmd_port;
	if (cmd_port) {
		reset = command(k, data[0]);
	} else if (k->pending) {
		uint8_t cmd = k->pending;

		k->pending = 0;
		reset = command_data(k, cmd, data[0]);
	} else {
		kbd_write(k, data[0]);
		reset = false;
	}
	update_irqs(k);
	pthread_mutex_unlock(&k->lock);
	/* Outside the lock: the callback may stop vCPUs or tear down the VM. */
	if (reset && k->ops.reset)
		k->ops.reset(k->opaque);
}

static void data_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	port_read(dev, false, data, len);
}

static void data_write(void *dev, uint64_t offset, const uint8_t *data,
		       uint32_t len)
{
	port_write(dev, false, data, len);
}

static void cmd_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	port_read(dev, true, data, len);
}

static void cmd_write(void *dev, uint64_t offset, const uint8_t *data,
		      uint32_t len)
{
	port_write(dev, true, data, len);
}

static const struct bus_dev_ops i8042_data_ops = {
	.read = data_read,
	.write = data_write,
};

static const struct bus_dev_ops i8042_cmd_ops = {
	.read = cmd_read,
	.write = cmd_write,
};

struct i8042 *i8042__create(const struct i8042_ops *ops, void *opaque)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int err;

	if (!k) {
		pr_err("i8042: out of memory");
		return NULL;
	}
	err = pthread_mutex_init(&k->lock, NULL);
	if (err) {
		pr_err("i8042: mutex init failed (error %d)", err);
		free(k);
		return NULL;
	}
	if (ops)
		k->ops = *ops;
	k->opaque = opaque;
	/* As a BIOS leaves it: keyboard interrupt on, POST passed,
	 * translation on, no mouse. */
	k->ram[0] = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;
	k->outport = OUTPORT_RESET | OUTPORT_A20;
	k->kbd_scanset = 2;
	return k;
}

void i8042__free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

int i8042__register(struct i8042 *k, struct bus *pio)
{
	int err;

	err = bus__register(pio, I8042_DATA_PORT, 1, &i8042_data_ops, k);
	if (err) {
		pr_err("i8042: cannot register port 0x%x (error %d)",
		       I8042_DATA_PORT, err);
		return err;
	}
	err = bus__register(pio, I8042_COMMAND_PORT, 1, &i8042_cmd_ops, k);
	if (err) {
		pr_err("i8042: cannot register port 0x%x (error %d)",
		       I8042_COMMAND_PORT, err);
		bus__unregister(pio, I8042_DATA_PORT);
		return err;
	}
	return 0;
}

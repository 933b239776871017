/* rtc.c — the MC146818 CMOS clock at ports 0x70/0x71 (see rtc.h).
 *
 * Port 0x70 selects a CMOS byte (bit 7, the NMI mask, is ignored; the
 * port reads 0xff as it is write-only), port 0x71 reads or writes it.
 *
 * The clock registers (0 seconds, 2 minutes, 4 hours, 6 day of week,
 * 7 day of month, 8 month, 9 year, 0x32 century) are the host's UTC time
 * taken at each read, in BCD unless register B's DM bit selects binary,
 * and in 24-hour form unless register B's 24/12 bit is clear (then hours
 * are 1-12 with bit 7 meaning PM). Writes to them are ignored: the guest
 * cannot set the host's clock and the clock does not keep an offset.
 *
 * Register A reads UIP = 0 always (the time is read atomically here, never
 * mid-update) with the divider/rate bits as written (0x26 at reset);
 * register B holds what was written (0x02 at reset: 24-hour, BCD);
 * register C reads 0 (no IRQ 8 is wired, so no interrupt flag is ever set);
 * register D reads 0x80 (valid RAM and time). Alarm registers (1, 3, 5) and
 * the rest of the 128 bytes are plain RAM.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "devices/pc/rtc.h"
#include "vmm/log.h"

#define RTC_SECONDS	0x00
#define RTC_MINUTES	0x02
#define RTC_HOURS	0x04
#define RTC_DAY_OF_WEEK	0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32

#define RTC_A_UIP	0x80
#define RTC_B_24H	0x02
#define RTC_B_DM_BINARY	0x04
#define RTC_D_VRT	0x80
#define RTC_HOURS_PM	0x80

#define CMOS_SIZE	128

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[CMOS_SIZE];
};

static bool is_clock_reg(uint8_t index)
{
	switch (index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	}
	return false;
}

static uint8_t encode(const struct rtc *r, int val)
{
	if (r->cmos[RTC_REG_B] & RTC_B_DM_BINARY)
		return (uint8_t)val;
	return (uint8_t)(((val / 10) << 4) | (val % 10));
}

static uint8_t clock_read(const struct rtc *r, uint8_t index)
{
	struct tm tm;
	time_t now = time(NULL);
	int hour;

	if (!gmtime_r(&now, &tm)) {
		pr_guest("rtc: host time not representable");
		return 0;
	}
	switch (index) {
	case RTC_SECONDS:
		/* A leap second (60) shows as 59. */
		return encode(r, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case RTC_MINUTES:
		return encode(r, tm.tm_min);
	case RTC_HOURS:
		if (r->cmos[RTC_REG_B] & RTC_B_24H)
			return encode(r, tm.tm_hour);
		hour = tm.tm_hour % 12;
		return encode(r, hour ? hour : 12) |
		       (tm.tm_hour >= 12 ? RTC_HOURS_PM : 0);
	case RTC_DAY_OF_WEEK:
		return encode(r, tm.tm_wday + 1);	/* Sunday = 1 */
	case RTC_DAY_OF_MONTH:
		return encode(r, tm.tm_mday);
	case RTC_MONTH:
		return encode(r, tm.tm_mon + 1);
	case RTC_YEAR:
		return encode(r, (tm.tm_year + 1900) % 100);
	case RTC_CENTURY:
		return encode(r, ((tm.tm_year + 1900) / 100) % 100);
	}
	return 0xff;
}

static uint8_t read_locked(struct rtc *r)
{
	uint8_t index = r->index;

	if (is_clock_reg(index))
		return clock_read(r, index);
	switch (index) {
	case RTC_REG_A:
		return r->cmos[RTC_REG_A] & ~RTC_A_UIP;
	case RTC_REG_C:
		return 0;
	case RTC_REG_D:
		return RTC_D_VRT;
	}
	return r->cmos[index];
}

static void write_locked(struct rtc *r, uint8_t val)
{
	uint8_t index = r->index;

	if (is_clock_reg(index))
		return;
	switch (index) {
	case RTC_REG_A:
		r->cmos[RTC_REG_A] = val & ~RTC_A_UIP;
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;	/* read-only */
	default:
		r->cmos[index] = val;
		break;
	}
}

static void rtc_bus_read(void *dev, uint64_t offset, uint8_t *data,
			 uint32_t len)
{
	struct rtc *r = dev;

	for (uint32_t i = 0; i < len; i++)
		data[i] = 0xff;
	if (len != 1 || offset != 1)
		return;	/* the index port is write-only */
	pthread_mutex_lock(&r->lock);
	data[0] = read_locked(r);
	pthread_mutex_unlock(&r->lock);
}

static void rtc_bus_write(void *dev, uint64_t offset, const uint8_t *data,
			  uint32_t len)
{
	struct rtc *r = dev;

	if (len != 1 || offset > 1)
		return;
	pthread_mutex_lock(&r->lock);
	if (offset == 0)
		r->index = data[0] & 0x7f;	/* bit 7: NMI mask, ignored */
	else
		write_locked(r, data[0]);
	pthread_mutex_unlock(&r->lock);
}

static const struct bus_dev_ops rtc_bus_ops = {
	.read = rtc_bus_read,
	.write = rtc_bus_write,
};

uint8_t rtc__read_reg(struct rtc *r, uint8_t index)
{
	uint8_t val;

	pthread_mutex_lock(&r->lock);
	r->index = index & 0x7f;
	val = read_locked(r);
	pthread_mutex_unlock(&r->lock);
	return val;
}

struct rtc *rtc__create(void)
{
	struct rtc *r = calloc(1, sizeof(*r));
	int err;

	if (!r) {
		pr_err("rtc: out of memory");
		return NULL;
	}
	err = pthread_mutex_init(&r->lock, NULL);
	if (err) {
		pr_err("rtc: mutex init failed (error %d)", err);
		free(r);
		return NULL;
	}
	r->cmos[RTC_REG_A] = 0x26;	/* 32.768 kHz time base, 1024 Hz rate */
	r->cmos[RTC_REG_B] = RTC_B_24H;
	return r;
}

void rtc__free(struct rtc *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int rtc__register(struct rtc *r, struct bus *pio)
{
	int err = bus__register(pio, RTC_PORT, RTC_NR_PORTS, &rtc_bus_ops, r);

	if (err)
		pr_err("rtc: cannot register ports 0x%x-0x%x (error %d)",
		       RTC_PORT, RTC_PORT + RTC_NR_PORTS - 1, err);
	return err;
}

/* rtc.h — the MC146818 CMOS real-time clock at ports 0x70/0x71: the host's
 * UTC time in BCD, status registers A-D (no UIP stalls), CMOS RAM. */
#ifndef DEVICES_RTC_H
#define DEVICES_RTC_H

#include "vmm/bus.h"

#define RTC_PORT 0x70
#define RTC_NR_PORTS 2		/* index, data */

struct rtc;

struct rtc *rtc__create(void);
void rtc__free(struct rtc *r);
int rtc__register(struct rtc *r, struct bus *pio);
/* Register access for tests: select 'index' then read. */
uint8_t rtc__read_reg(struct rtc *r, uint8_t index);

#endif

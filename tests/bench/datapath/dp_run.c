/* dp_run.c — one cell: a sender and a receiver thread for 'seconds', the
 * counters read around the measured part, then a drain and the checks.
 *
 * Timeline: receiver up (the sink listening, or the guest's buffers
 * posted), sender up, a warm-up (a tenth of the time, 50-300 ms, so ring
 * and socket state are steady), sample, the measured interval, sample,
 * stop the sender, let the receiver take what is still in flight (the
 * window bounds it), end both. The figures come from the two samples
 * only; the checks from the whole cell.
 */
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/bench/datapath/dp.h"

static void sleep_s(double s)
{
	struct timespec t = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static double per(uint64_t v, uint64_t pkts)
{
	return pkts ? (double)v / (double)pkts : 0;
}

static void figures(const struct dp_cell *c, const struct dp_sample *a, const struct dp_sample *b,
		    struct dp_result *r)
{
	uint64_t pk = c->dir == DP_TX ? b->nic.tx_packets - a->nic.tx_packets
				      : b->nic.rx_packets - a->nic.rx_packets;
	uint64_t by = c->dir == DP_TX ? b->nic.tx_bytes - a->nic.tx_bytes
				      : b->nic.rx_bytes - a->nic.rx_bytes;
	uint64_t kicks = (b->nic.tx_kicks + b->nic.rx_kicks) - (a->nic.tx_kicks + a->nic.rx_kicks);
	uint64_t irqs = (b->nic.tx_interrupts + b->nic.rx_interrupts) -
			(a->nic.tx_interrupts + a->nic.rx_interrupts);

	r->packets = pk;
	r->seconds = (double)(b->wall_ns - a->wall_ns) / 1e9;
	r->pps = (double)pk / r->seconds;
	r->gbps = (double)by * 8 / r->seconds / 1e9;
	r->io_ns = per(b->io_cpu_ns - a->io_cpu_ns, pk);
	r->proc_ns = per(b->proc_cpu_ns - a->proc_cpu_ns, pk);
	r->io_busy = (double)(b->io_cpu_ns - a->io_cpu_ns) / (double)(b->wall_ns - a->wall_ns);
	r->syscalls = a->have_syscalls && b->have_syscalls ?
		      per(b->io_syscalls - a->io_syscalls, pk) : -1;
	r->epolls = a->have_epoll && b->have_epoll ? per(b->io_epoll_waits - a->io_epoll_waits, pk) : -1;
	r->wakeups = per(b->io_wakeups - a->io_wakeups, pk);
	r->preempted = per(b->io_preempted - a->io_preempted, pk);
	r->kicks = per(kicks, pk);
	r->irqs = per(irqs, pk);
}

#define FAIL(...) do { if (!r->failure[0]) snprintf(r->failure, sizeof(r->failure), __VA_ARGS__); } while (0)

static void check(struct dp_machine *m, const struct dp_cell *c, const struct dp_flow *f,
		  const struct dp_sample *a, const struct dp_sample *b, uint64_t slow_msis,
		  struct dp_result *r)
{
	uint64_t dev = c->dir == DP_TX ? b->nic.tx_packets - a->nic.tx_packets
				       : b->nic.rx_packets - a->nic.rx_packets;

	r->checked = true;
	if (f->err)
		FAIL("a socket call failed: %s", strerror(f->err));
	if (!f->sent)
		FAIL("nothing was sent");
	if (c->tso && c->dir == DP_RX) {
		/* a TCP stream: bytes, and frames as the guest saw them */
		if (f->bytes_got != f->sent)
			FAIL("%llu bytes sent, %llu received in order",
			     (unsigned long long)f->sent, (unsigned long long)f->bytes_got);
	} else if (f->got != f->sent)
		FAIL("%llu frames sent, %llu received", (unsigned long long)f->sent,
		     (unsigned long long)f->got);
	if (f->out_of_order || f->bad)
		FAIL("%llu frames out of order, %llu with a wrong length or header",
		     (unsigned long long)f->out_of_order, (unsigned long long)f->bad);
	/* vmm's own count: every frame of ours, and strays on RX only */
	if (c->dir == DP_TX ? dev != f->got : dev != f->got + f->strays)
		FAIL("vmm counted %llu packets, the ends %llu (+%llu strays)",
		     (unsigned long long)dev, (unsigned long long)f->got,
		     (unsigned long long)f->strays);
	if (b->nic.tx_dropped != a->nic.tx_dropped || b->nic.rx_dropped != a->nic.rx_dropped ||
	    b->nic.needs_reset != a->nic.needs_reset)
		FAIL("vmm dropped frames or the device needs a reset");
	if (c->tso && c->dir == DP_RX && f->max_nbuf < 2)
		FAIL("64 KiB frames took %llu buffer(s): not merged", (unsigned long long)f->max_nbuf);
	if (m->slow_msis != slow_msis)
		FAIL("interrupts went around their irqfd");
}

int dp_run_cell(struct dp_machine *m, struct dp_counters *ctr, const struct dp_cell *c,
		double seconds, bool do_check, struct dp_result *r)
{
	struct dp_flow f = { .cell = c, .m = m };
	struct dp_sample begin, s0, s1, end;
	pthread_t snd, rcv;
	double warm = seconds / 10 < 0.05 ? 0.05 : seconds / 10 > 0.3 ? 0.3 : seconds / 10;
	uint64_t slow = m->slow_msis;

	memset(r, 0, sizeof(*r));
	/* what may be in flight: below the tap's 1000-frame queue and the
	 * sink's socket buffer, above what one vmm wakeup moves */
	f.credit.window = c->tso ? (c->dir == DP_RX ? UINT32_MAX : 64) : 512;
	dp_counters_read(ctr, m, &begin);
	if (c->dir == DP_TX) {
		if (pthread_create(&rcv, NULL, dp_peer_sink, &f))
			return -1;
		while (!__atomic_load_n(&f.ready, __ATOMIC_ACQUIRE))
			sleep_s(0.001);
		if (pthread_create(&snd, NULL, dp_guest_tx, &f)) {
			f.quit = true;
			pthread_join(rcv, NULL);
			return -1;
		}
	} else {
		if (pthread_create(&rcv, NULL, dp_guest_rx, &f))
			return -1;
		if (pthread_create(&snd, NULL, c->tso ? dp_peer_tcp_source : dp_peer_source, &f)) {
			f.quit = true;
			pthread_join(rcv, NULL);
			return -1;
		}
	}
	sleep_s(warm);
	dp_counters_read(ctr, m, &s0);
	sleep_s(seconds);
	dp_counters_read(ctr, m, &s1);
	f.stop = true;
	pthread_join(snd, NULL);
	for (int i = 0; i < 2000 && __atomic_load_n(&f.credit.done, __ATOMIC_ACQUIRE) !=
				       f.credit.sent; i++)
		sleep_s(0.001);
	sleep_s(0.02);          /* stragglers (the TCP reset) are counted as strays */
	f.quit = true;
	pthread_join(rcv, NULL);
	dp_counters_read(ctr, m, &end);
	figures(c, &s0, &s1, r);
	if (do_check)
		check(m, c, &f, &begin, &end, slow, r);
	return 0;
}

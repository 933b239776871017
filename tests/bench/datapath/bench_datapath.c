/* bench_datapath.c — `make bench-datapath`: vmm's userspace virtio-net
 * datapath measured natively, with no KVM, TCG or guest kernel between
 * the code and the clock (dp.h says what is real and what synthetic).
 *
 *   build/bench-datapath [--time S] [--rounds N] [--quick] [--check] [--tx uring|writev]
 *
 * Six cells (guest->host and host->guest; 64 B, 1 KiB and 64 KiB TSO
 * frames), each measured N times for S seconds; rounds run the cells in
 * turn (all six, then all six again), so slow drift of the machine's load
 * spreads over every cell instead of biasing one. Per cell: the median of
 * the rounds and their spread, (max - min) / median. --quick: one round
 * of 0.2 s (the make unit test runs the same with --check). --check:
 * also assert that every frame sent arrived once, in order, intact, and
 * that vmm counted exactly those; exit 1 otherwise. --tx: how the NIC
 * writes TX batches to the tap (as --net tx=; default: vmm's default).
 *
 * Runs as root (a network namespace of its own, a tap in it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/net/netcfg.h"
#include "tests/bench/datapath/dp.h"
#include "vmm/log.h"

#define NCELLS 6
#define MAX_ROUNDS 50

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median and spread of one metric over the rounds (offset into struct
 * dp_result of a double). */
static double stat(struct dp_result *res, int n, size_t off, double *spread)
{
	double v[MAX_ROUNDS], med;

	for (int i = 0; i < n; i++)
		v[i] = *(double *)((char *)&res[i] + off);
	qsort(v, (size_t)n, sizeof(v[0]), cmp);
	med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	if (spread)
		*spread = med > 0 ? (v[n - 1] - v[0]) / med * 100 : 0;
	return med;
}

#define M(field) offsetof(struct dp_result, field)

static void loadavg(char *out, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "re");
	double a = 0, b = 0, c = 0;

	if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(out, len, "%.2f %.2f %.2f", a, b, c);
	else
		snprintf(out, len, "?");
	if (f)
		fclose(f);
}

/* Minimum of one metric over the rounds: for a CPU cost, the round the
 * machine's other load disturbed least. */
static double lowest(struct dp_result *res, int n, size_t off)
{
	double v = *(double *)((char *)&res[0] + off);

	for (int i = 1; i < n; i++)
		if (*(double *)((char *)&res[i] + off) < v)
			v = *(double *)((char *)&res[i] + off);
	return v;
}

static void print_table(struct dp_result res[NCELLS][MAX_ROUNDS], int rounds, bool syscalls)
{
	printf("%-22s %15s %7s %15s %7s %15s %5s %11s %8s %9s %7s %7s %9s\n", "cell", "kpps",
	       "Gbit/s", "io-thread ns/p", "(min)", "process ns/p", "busy", "syscalls/p", "epoll/p",
	       "wakeups/p", "kicks/p", "irqs/p", "preempt/p");
	for (int c = 0; c < NCELLS; c++) {
		struct dp_result *r = res[c];
		double sp, sio, spr, ssy;
		double pps = stat(r, rounds, M(pps), &sp);
		double io = stat(r, rounds, M(io_ns), &sio), pr = stat(r, rounds, M(proc_ns), &spr);
		double sy = stat(r, rounds, M(syscalls), &ssy);
		char kp[32], ios[32], prs[32], sys[32], ep[16];

		snprintf(kp, sizeof(kp), "%.1f [%.0f%%]", pps / 1e3, sp);
		snprintf(ios, sizeof(ios), "%.0f [%.0f%%]", io, sio);
		snprintf(prs, sizeof(prs), "%.0f [%.0f%%]", pr, spr);
		if (syscalls) {
			snprintf(sys, sizeof(sys), "%.3f [%.0f%%]", sy, ssy);
			snprintf(ep, sizeof(ep), "%.4f", stat(r, rounds, M(epolls), NULL));
		} else {
			snprintf(sys, sizeof(sys), "n/a");
			snprintf(ep, sizeof(ep), "n/a");
		}
		printf("%-22s %15s %7.2f %15s %7.0f %15s %4.0f%% %11s %8s %9.4f %7.4f %7.4f %9.4f\n",
		       dp_cells[c].name, kp, stat(r, rounds, M(gbps), NULL), ios,
		       lowest(r, rounds, M(io_ns)), prs, stat(r, rounds, M(io_busy), NULL) * 100, sys,
		       ep, stat(r, rounds, M(wakeups), NULL), stat(r, rounds, M(kicks), NULL),
		       stat(r, rounds, M(irqs), NULL), stat(r, rounds, M(preempted), NULL));
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-datapath [--time SECONDS] [--rounds N] [--quick] [--check] "
		"[--tx uring|writev]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct dp_result res[NCELLS][MAX_ROUNDS];
	static struct dp_machine m;
	double seconds = 2;
	int rounds = 5, failed = 0;
	bool check = false, have_sys;
	struct dp_counters *ctr;
	char err[256], why[160], la0[64], la1[64];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--time") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--quick"))
			seconds = 0.2, rounds = 1;
		else if (!strcmp(argv[i], "--check"))
			check = true;
		else if (!strcmp(argv[i], "--tx") && i + 1 < argc && !strcmp(argv[i + 1], "uring"))
			dp_tx_mode = NET_TX_URING, (void)i++;
		else if (!strcmp(argv[i], "--tx") && i + 1 < argc && !strcmp(argv[i + 1], "writev"))
			dp_tx_mode = NET_TX_WRITEV, (void)i++;
		else
			usage();
	}
	if (seconds <= 0 || rounds < 1 || rounds > MAX_ROUNDS)
		usage();
	log__verbosity = LOG_WARN;
	if (dp_enter_netns(err, sizeof(err)) < 0 || dp_machine_up(&m, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-datapath: %s\n", err);
		return 1;
	}
	ctr = dp_counters_open(dp_io_tid(&m), why, sizeof(why));
	if (!ctr) {
		fprintf(stderr, "bench-datapath: out of memory\n");
		return 1;
	}
	have_sys = !why[0];
	loadavg(la0, sizeof(la0));
	printf("vmm userspace datapath, native (no KVM): tap %s, %ld CPUs, features 0x%llx, "
	       "%d round(s) x %.2f s per cell\n", m.tap, sysconf(_SC_NPROCESSORS_ONLN),
	       (unsigned long long)m.features, rounds, seconds);
	if (!have_sys)
		printf("syscall counts unavailable: %s\n", why);
	fflush(stdout);
	for (int rd = 0; rd < rounds; rd++) {
		for (int c = 0; c < NCELLS; c++) {
			struct dp_result *r = &res[c][rd];

			if (dp_run_cell(&m, ctr, &dp_cells[c], seconds, check, r) < 0) {
				fprintf(stderr, "bench-datapath: cannot start the threads\n");
				return 1;
			}
			if (check && r->failure[0]) {
				printf("FAIL %s (round %d): %s\n", dp_cells[c].name, rd + 1, r->failure);
				failed++;
			}
		}
	}
	loadavg(la1, sizeof(la1));
	printf("median [spread = (max-min)/median over the rounds]; per packet (/p) of the cell's "
	       "direction; load average %s at start, %s at end\n", la0, la1);
	print_table(res, rounds, have_sys);
	if (check)
		printf("check: %s\n", failed ? "FAILED" : "every frame sent arrived once, in order, "
		       "intact, and vmm counted exactly those");
	dp_counters_close(ctr);
	dp_machine_down(&m);
	return failed ? 1 : 0;
}

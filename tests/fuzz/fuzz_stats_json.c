/* fuzz_stats_json.c — libFuzzer target for vmm/stats_parse.c, the JSON
 * parser `vmm list` and `vmm stat` run on what a control socket answers
 * (any process that owns a socket in the runtime directory can answer).
 * The input is the reply text. What parses must stay in its bounds (NIC,
 * disk and per-NIC queue pair counts), also print (the human and list
 * views, to /dev/null) and survive round trips: written back
 * with stats__json() it fits STATS_JSON_MAX and parses again; from the
 * second round on the text stays the same (the first may turn bytes that
 * are not UTF-8 into \ufffd, which reads back as '?'). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "vmm/stats.h"

static FILE *devnull;
static struct vm_snapshot s;
static char j1[STATS_JSON_MAX], j2[STATS_JSON_MAX];

/* Written text -> snapshot -> text again. */
static int round_trip(const char *in, char *out)
{
	int n;

	memset(&s, 0, sizeof(s));
	FUZZ_CHECK(stats__from_json(in, &s) == 0, "stats__json() output does not parse: %s", in);
	n = stats__json(&s, out, STATS_JSON_MAX);
	FUZZ_CHECK(n > 0, "a parsed snapshot does not fit STATS_JSON_MAX");
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	devnull = fopen("/dev/null", "w");
	return devnull ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz__strndup(data, size);
	int n1, n2;

	if (!text)
		return 0;
	memset(&s, 0, sizeof(s));
	if (stats__from_json(text, &s) < 0) {
		free(text);
		return 0;
	}
	free(text);
	FUZZ_CHECK(s.nr_nics >= 0 && s.nr_nics <= STATS_MAX_NICS, "nr_nics %d", s.nr_nics);
	FUZZ_CHECK(s.nr_disks >= 0 && s.nr_disks <= STATS_MAX_DISKS, "nr_disks %d", s.nr_disks);
	for (int i = 0; i < STATS_MAX_NICS; i++)
		FUZZ_CHECK(s.nic[i].nr_queues >= 0 && s.nic[i].nr_queues <= STATS_MAX_QUEUES,
			   "nic %d: nr_queues %d", i, s.nic[i].nr_queues);
	stats__print_human(devnull, &s);
	stats__print_list_row(devnull, &s);
	n1 = stats__json(&s, j2, sizeof(j2));
	FUZZ_CHECK(n1 > 0, "a parsed snapshot does not fit STATS_JSON_MAX");
	n1 = round_trip(j2, j1);
	n2 = round_trip(j1, j2);
	FUZZ_CHECK(n1 == n2 && !memcmp(j1, j2, (size_t)n1),
		   "a round trip changed the text:\n%s\n%s", j1, j2);
	return 0;
}

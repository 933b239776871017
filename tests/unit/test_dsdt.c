/* test_dsdt.c — the DSDT's AML (arch/x86/dsdt.c), built from a device
 * registry (vmm/devreg.h): \_S5 alone without a PCI host; with one the
 * \_SB.PCI0 root bridge walked byte by byte (_HID, _UID, _SEG, _BBN, the
 * _CRS windows and config ports from the host's entry, all 124 _PRT
 * entries against the INTx formula), optional windows, rejected
 * configurations (by the registry or by the DSDT); and, when iasl
 * (acpica-tools) is installed, the whole DSDT as vmm writes it
 * disassembled with `iasl -d` without errors or warnings and recompiled
 * to the same bytes (skipped without iasl). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/dsdt.h"
#include "arch/x86/irq.h"
#include "devices/pci/pci.h"
#include "vmm/devreg.h"
#include "vmm/log.h"
#include "devreg_pc.h"

#define BASE_GPA	0xe0000u
#define TABLES_SIZE	0x10000

static uint8_t aml[DSDT_AML_MAX];

static const uint8_t s5[] = {
	0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, ACPI_S5_SLP_TYP,
	0x00, 0x00, 0x00,
};

/* A registry whose PCI host has the windows 'w' (devreg_pc.h). */
static struct devreg regs;

static struct acpi_config config_with(const struct devreg_pci_host *w)
{
	assert_int_equal(devreg_pc__fill(&regs, w), 0);
	return (struct acpi_config){
		.nr_cpus = 2,
		.lapic_addr = 0xfee00000u,
		.ioapic_addr = 0xfec00000u,
		.devs = &regs,
	};
}

static long build(const struct devreg_pci_host *w)
{
	assert_int_equal(devreg_pc__fill(&regs, w), 0);
	return dsdt__build(aml, sizeof(aml), &regs);
}

/* What the registry says of a PCI host with windows 'w'. */
static int add_host(const struct devreg_pci_host *w)
{
	return devreg_pc__fill(&regs, w);
}

static int pkglength(const uint8_t *p, size_t *length)
{
	int n = (p[0] >> 6) + 1;

	*length = n == 1 ? p[0] & 0x3fu : p[0] & 0x0fu;
	for (int i = 1; i < n; i++)
		*length |= (size_t)p[i] << (4 + 8 * (i - 1));
	return n;
}

/* Expect 'n' bytes at *at and step over them. */
static void expect(const uint8_t *p, size_t *at, const void *bytes, size_t n)
{
	assert_memory_equal(p + *at, bytes, n);
	*at += n;
}

#define EXPECT(p, at, ...) do {						\
	static const uint8_t b_[] = { __VA_ARGS__ };			\
	expect(p, at, b_, sizeof(b_));					\
} while (0)

static void test_no_pci(void **state)
{
	const struct devreg_pci_host w = devreg_pc__windows();
	struct devreg_entry host = devreg_pc__host(&w);

	assert_int_equal(build(NULL), sizeof(s5));
	assert_memory_equal(aml, s5, sizeof(s5));
	assert_int_equal(dsdt__build(aml, sizeof(aml), NULL), sizeof(s5));
	/* A host the firmware does not describe: no PCI0 either. */
	host.firmware = false;
	assert_int_equal(devreg__add(&regs, &host), 0);
	assert_int_equal(dsdt__build(aml, sizeof(aml), &regs), sizeof(s5));
}

/* Two PCI hosts for one PCI0: refused. */
static void test_two_hosts(void **state)
{
	const struct devreg_pci_host w = devreg_pc__windows();
	struct devreg_entry other = devreg_pc__host(&(struct devreg_pci_host){ 0 });
	int saved = log__verbosity;

	assert_true(build(&w) > 0);
	strcpy(other.name, "pci1");
	other.pio[0].base = 0x2000000;		/* out of everyone's way */
	assert_int_equal(devreg__add(&regs, &other), 0);
	log__verbosity = -1;
	assert_int_equal(dsdt__build(aml, sizeof(aml), &regs), -1);
	log__verbosity = saved;
}

/* The ECAM window as a PNP0C02 motherboard resource after PCI0, so Linux
 * accepts the MCFG's window; refused inside a BAR window or unaligned. */
static void test_ecam_reservation(void **state)
{
	static const uint8_t mres[] = {
		'M', 'R', 'E', 'S',
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0c, 0x02,
		0x08, '_', 'U', 'I', 'D', 0x01,
		0x08, '_', 'C', 'R', 'S', 0x11,
	};
	static const uint8_t window[] = {	/* DWordMemory min, max */
		0x00, 0x00, 0xb0, 0xfe, 0xff, 0xff, 0xbf, 0xfe,
	};
	struct devreg_pci_host w = devreg_pc__windows();
	long len, plain;
	const uint8_t *at;
	int saved = log__verbosity;

	plain = build(&w);
	assert_true(plain > 0);
	w.mmio32_end = 0xfeb00000u;
	w.ecam_base = 0xfeb00000u;
	w.ecam_size = PCI_ECAM_SIZE;
	len = build(&w);
	assert_true(len > plain);
	at = memmem(aml, (size_t)len, mres, sizeof(mres));
	assert_non_null(at);
	assert_non_null(memmem(at, (size_t)(aml + len - at), window, sizeof(window)));
	/* inside Scope (\_SB): "_SB_", DeviceOp 5B 82, PkgLength, "MRES" */
	assert_memory_equal(at - 7, "_SB_\x5b\x82", 6);
	/* refused: unaligned, not 1 MiB, above 4 GiB (the DSDT); inside
	 * the 32-bit or 64-bit BAR window (the registry) */
	log__verbosity = -1;
	w.ecam_base = 0xfeb80000u;
	assert_int_equal(build(&w), -1);
	w.ecam_base = 0xfeb00000u;
	w.ecam_size = 2 * PCI_ECAM_SIZE;
	assert_int_equal(build(&w), -1);
	w.ecam_base = 0x100000000ull;
	w.ecam_size = PCI_ECAM_SIZE;
	assert_int_equal(build(&w), -1);
	w.ecam_base = 0xfe000000u;
	assert_int_equal(add_host(&w), -EBUSY);
	w.ecam_base = 0xfeb00000u;
	w.mmio64_base = 0xf0000000u;
	w.mmio64_end = 0x100000000u;
	assert_int_equal(add_host(&w), -EBUSY);
	log__verbosity = saved;
}

/* The PC's INTx map that _PRT (below), the MP table and devices/pci/pci.c
 * (through arch/x86/vm.c) share. */
static void test_x86_intx(void **state)
{
	assert_int_equal(x86_irq__pci_intx(1, 1), 17);
	assert_int_equal(x86_irq__pci_intx(7, 2), 16);
	assert_int_equal(x86_irq__pci_intx(0, 4), 19);
	assert_int_equal(x86_irq__pci_intx(31, 4), 18);
	assert_int_equal(x86_irq__pci_intx(1, 0), -1);
	assert_int_equal(x86_irq__pci_intx(1, 5), -1);
	assert_int_equal(x86_irq__pci_intx(32, 1), -1);
}

static void test_pci0(void **state)
{
	const struct devreg_pci_host w = devreg_pc__windows();
	long len = build(&w);
	size_t at = 0, length, end;
	int n;

	assert_true(len > (long)sizeof(s5));
	expect(aml, &at, s5, sizeof(s5));

	/* Scope (\_SB) and Device (PCI0) both run to the end. */
	EXPECT(aml, &at, 0x10);
	n = pkglength(aml + at, &length);
	assert_int_equal(at + length, (size_t)len);
	at += (size_t)n;
	EXPECT(aml, &at, 0x5c, '_', 'S', 'B', '_', 0x5b, 0x82);
	n = pkglength(aml + at, &length);
	assert_int_equal(at + length, (size_t)len);
	at += (size_t)n;
	EXPECT(aml, &at, 'P', 'C', 'I', '0');
	EXPECT(aml, &at, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03);
	EXPECT(aml, &at, 0x08, '_', 'U', 'I', 'D', 0x00);
	EXPECT(aml, &at, 0x08, '_', 'S', 'E', 'G', 0x00);
	EXPECT(aml, &at, 0x08, '_', 'B', 'B', 'N', 0x00);

	/* _CRS: bus 0, the config ports, I/O 0x1000-0xFFFF, memory
	 * 0xC0000000-0xFEBFFFFF, End Tag. */
	EXPECT(aml, &at, 0x08, '_', 'C', 'R', 'S', 0x11, 0x48, 0x04, 0x0a, 0x44,
	       0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
	       0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	       0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
	       0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x10,
	       0xff, 0xff, 0x00, 0x00, 0x00, 0xf0,
	       0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00,
	       0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe, 0x00, 0x00,
	       0x00, 0x00, 0x00, 0x00, 0xc0, 0x3e,
	       0x79, 0x00);

	/* _PRT: 31 slots x 4 pins, in order. */
	EXPECT(aml, &at, 0x08, '_', 'P', 'R', 'T', 0x12);
	n = pkglength(aml + at, &length);
	assert_int_equal(at + length, (size_t)len);
	at += (size_t)n;
	EXPECT(aml, &at, 124);
	for (unsigned slot = 1; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			unsigned gsi = 16 + (slot + pin) % 8;

			assert_int_equal(gsi, x86_irq__pci_intx(slot, pin + 1));
			assert_int_equal(aml[at++], 0x12);
			n = pkglength(aml + at, &length);
			end = at + length;
			at += (size_t)n;
			EXPECT(aml, &at, 4, 0x0c, 0xff, 0xff);
			assert_int_equal(aml[at++], slot);
			assert_int_equal(aml[at++], 0);
			if (pin <= 1) {
				assert_int_equal(aml[at++], pin);	/* Zero, One */
			} else {
				EXPECT(aml, &at, 0x0a);
				assert_int_equal(aml[at++], pin);
			}
			EXPECT(aml, &at, 0x00, 0x0a);			/* Source */
			assert_int_equal(aml[at++], gsi);
			assert_int_equal(at, end);
		}
	}
	assert_int_equal(at, (size_t)len);
}

static const uint8_t *find(const uint8_t *p, size_t len, const void *what, size_t n)
{
	return memmem(p, len, what, n);
}

static void test_windows(void **state)
{
	static const uint8_t word_io[] = { 0x88, 0x0d, 0x00, 0x01 };
	static const uint8_t dword_mem[] = { 0x87, 0x17, 0x00, 0x00 };
	static const uint8_t qword_mem[] = {
		0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01,
		0, 0, 0, 0, 0, 0, 0, 0,			/* granularity */
		0, 0, 0, 0, 0x10, 0, 0, 0,		/* 0x10_0000_0000 */
		0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0, 0,	/* 0x1f_ffff_ffff */
		0, 0, 0, 0, 0, 0, 0, 0,			/* translation */
		0, 0, 0, 0, 0x10, 0, 0, 0,		/* 64 GiB */
	};
	struct devreg_pci_host w = devreg_pc__windows();
	long len;

	len = build(&w);
	assert_true(len > 0);
	assert_non_null(find(aml, (size_t)len, word_io, sizeof(word_io)));
	assert_non_null(find(aml, (size_t)len, dword_mem, sizeof(dword_mem)));
	assert_null(find(aml, (size_t)len, qword_mem, 4));

	/* Empty I/O and 32-bit windows are left out; a 64-bit one added. */
	w.io_base = w.io_end = 0x1000;
	w.mmio32_base = w.mmio32_end = 0;
	w.mmio64_base = 0x1000000000ull;
	w.mmio64_end = 0x2000000000ull;
	len = build(&w);
	assert_true(len > 0);
	assert_null(find(aml, (size_t)len, word_io, sizeof(word_io)));
	assert_null(find(aml, (size_t)len, dword_mem, sizeof(dword_mem)));
	assert_non_null(find(aml, (size_t)len, qword_mem, sizeof(qword_mem)));
}

/* The config ports in _CRS are the host's pio[0]: a host without port
 * I/O (ECAM only) has no IO descriptor. */
static void test_config_ports(void **state)
{
	static const uint8_t io_cf8[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
	struct devreg_pci_host w = devreg_pc__windows();
	struct devreg_entry host;
	long len;

	w.io_base = w.io_end = 0;
	w.ecam_base = 0xfeb00000u;
	w.ecam_size = PCI_ECAM_SIZE;
	w.mmio32_end = 0xfeb00000u;
	len = build(&w);
	assert_true(len > 0);
	assert_non_null(find(aml, (size_t)len, io_cf8, sizeof(io_cf8)));

	assert_int_equal(devreg_pc__fill(&regs, NULL), 0);
	host = devreg_pc__host(&w);
	host.nr_pio = 0;
	assert_int_equal(devreg__add(&regs, &host), 0);
	len = dsdt__build(aml, sizeof(aml), &regs);
	assert_true(len > 0);
	assert_null(find(aml, (size_t)len, io_cf8, 2));
	assert_non_null(find(aml, (size_t)len, "PCI0", 4));
	assert_non_null(find(aml, (size_t)len, "MRES", 4));
}

static void test_rejects(void **state)
{
	static uint8_t tables[TABLES_SIZE];
	const struct devreg_pci_host good = devreg_pc__windows();
	struct devreg_pci_host w;
	struct acpi_config c;
	int verbosity = log__verbosity;
	long len;

	log__verbosity = -1;
	/* What a WordIO or DWordMemory cannot hold: the DSDT refuses. */
	w = good;
	w.io_end = 0x10001;
	assert_int_equal(build(&w), -1);
	w = good;
	w.mmio32_end = 0x100000001ull;
	assert_int_equal(build(&w), -1);
	/* What no platform can have: the registry refuses. An I/O window
	 * over the config ports, a reversed window. */
	w = good;
	w.io_base = 0xc00;			/* covers 0xCF8..0xCFF */
	w.io_end = 0xd00;
	assert_int_equal(add_host(&w), -EBUSY);
	w.io_base = 0xcfc;
	w.io_end = 0xd00;
	assert_int_equal(add_host(&w), -EBUSY);
	w.io_base = 0xd00;			/* just above: fine */
	w.io_end = 0x1000;
	assert_true(build(&w) > 0);
	w.io_base = 0x800;			/* just below: fine */
	w.io_end = 0xcf8;
	assert_true(build(&w) > 0);
	w = good;
	w.io_base = 0x2000;
	w.io_end = 0x1000;
	assert_int_equal(add_host(&w), -EINVAL);
	w = good;
	w.mmio64_base = 0x2000000000ull;
	w.mmio64_end = 0x1000000000ull;
	assert_int_equal(add_host(&w), -EINVAL);
	/* A refused DSDT leaves the caller's buffer untouched. */
	w = good;
	w.mmio32_end = 0x100000001ull;
	c = config_with(&w);
	memset(tables, 0xcc, sizeof(tables));
	assert_int_equal(acpi__write_tables(tables, sizeof(tables), BASE_GPA, &c), -1);
	for (size_t i = 0; i < sizeof(tables); i++)
		assert_int_equal(tables[i], 0xcc);

	/* Too little room, by one byte. */
	len = build(&good);
	assert_true(len > 0);
	assert_int_equal(dsdt__build(aml, (size_t)len - 1, &regs), -1);
	assert_int_equal(dsdt__build(aml, (size_t)len, &regs), len);
	log__verbosity = verbosity;
}

/* --- iasl ------------------------------------------------------------ */

static bool have_iasl(void)
{
	const char *path = getenv("PATH");
	char dir[4096];

	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (n && n + sizeof("/iasl") <= sizeof(dir)) {
			memcpy(dir, path, n);
			strcpy(dir + n, "/iasl");
			if (access(dir, X_OK) == 0)
				return true;
		}
		path += n + (path[n] == ':');
	}
	return false;
}

/* Run argv in 'dir' under timeout(1), stdout and stderr to dir/log;
 * returns the exit status. */
static int run_in(const char *dir, const char *const argv[])
{
	const char *full[16] = { "timeout", "60" };
	int status, i;
	pid_t pid;

	for (i = 0; argv[i]; i++) {
		assert_true(i + 3 < 16);
		full[i + 2] = argv[i];
	}
	full[i + 2] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		if (chdir(dir) < 0)
			_exit(126);
		fd = open("log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(full[0], (char *const *)full);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	uint8_t *data;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return data;
}

static void test_iasl_roundtrip(void **state)
{
	static uint8_t tables[TABLES_SIZE];
	static const char *const want[] = {
		"Device (PCI0)",
		"Name (_HID, EisaId (\"PNP0A03\")",
		"WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
		"IO (Decode16,",
		"WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,",
		"0xFEBFFFFF,",
		"QWordMemory (ResourceProducer,",
		"Name (_PRT, Package (0x7C)",
		"0x001FFFFF,",
	};
	const char *const disasm[] = { "iasl", "-d", "dsdt.dat", NULL };
	const char *const compile[] = { "iasl", "-oa", "-p", "again", "dsdt.dsl", NULL };
	struct devreg_pci_host w = devreg_pc__windows();
	struct acpi_config c;
	char dir[] = "/tmp/test_dsdt.XXXXXX";
	uint8_t *dsl, *log, *again;
	size_t dsl_len, log_len, again_len;
	const uint8_t *dsdt = NULL;
	uint32_t dsdt_len;
	char path[64];
	FILE *f;
	int used;

	if (!have_iasl()) {
		fprintf(stderr, "test_dsdt: iasl not found (apt-get install acpica-tools): skipped\n");
		skip();
	}
	w.mmio64_base = 0x1000000000ull;
	w.mmio64_end = 0x2000000000ull;
	c = config_with(&w);
	used = acpi__write_tables(tables, sizeof(tables), BASE_GPA, &c);
	assert_true(used > 0);
	for (int off = 0; off < used; off += 16) {
		if (!memcmp(tables + off, "DSDT", 4)) {
			dsdt = tables + off;
			break;
		}
	}
	assert_non_null(dsdt);
	memcpy(&dsdt_len, dsdt + 4, 4);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(dsdt, 1, dsdt_len, f), dsdt_len);
	assert_int_equal(fclose(f), 0);

	/* Disassembly: clean, and the objects are there. */
	assert_int_equal(run_in(dir, disasm), 0);
	log = slurp(dir, "log", &log_len);
	assert_null(strstr((char *)log, "Error"));
	assert_null(strstr((char *)log, "Warning"));
	free(log);
	dsl = slurp(dir, "dsdt.dsl", &dsl_len);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr((char *)dsl, want[i]))
			fail_msg("'%s' not in the disassembly", want[i]);
	}
	free(dsl);

	/* Recompiled without optimisations: the same AML. */
	assert_int_equal(run_in(dir, compile), 0);
	log = slurp(dir, "log", &log_len);
	assert_non_null(strstr((char *)log, "0 Errors, 0 Warnings"));
	free(log);
	again = slurp(dir, "again.aml", &again_len);
	assert_int_equal(again_len, dsdt_len);
	assert_memory_equal(again + 36, dsdt + 36, dsdt_len - 36);
	free(again);

	{
		static const char *const files[] = { "dsdt.dat", "dsdt.dsl", "again.aml", "log" };

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			unlink(path);
		}
		assert_int_equal(rmdir(dir), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_pci),
		cmocka_unit_test(test_two_hosts),
		cmocka_unit_test(test_config_ports),
		cmocka_unit_test(test_x86_intx),
		cmocka_unit_test(test_pci0),
		cmocka_unit_test(test_ecam_reservation),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_iasl_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

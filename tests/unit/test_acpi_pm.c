/* test_acpi_pm.c — the ACPI PM1a register block (devices/pc/acpi_pm.c)
 * behind a real port-I/O bus, at the ports the FADT names: reset state,
 * status and enable bits with the SCI, power-off through SLP_TYP/SLP_EN
 * (word, byte and stored-type writes), other sleep types ignored with one
 * warning, and what acpi_pm__create/register refuse. The tables that
 * describe it: test_acpi.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "devices/pc/acpi_pm.h"
#include "vmm/bus.h"

#define EVT_PORT	0x600
#define CNT_PORT	0x604

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* The PM1a block behind a port-I/O bus. */
struct pm_fixture {
	struct bus pio;
	struct acpi_pm *pm;
	int poweroffs;
	int sci;
	int sci_changes;
};

static void on_poweroff(void *opaque)
{
	struct pm_fixture *f = opaque;

	f->poweroffs++;
}

static void on_sci(void *opaque, int level)
{
	struct pm_fixture *f = opaque;

	assert_int_not_equal(f->sci, level);	/* only on changes */
	f->sci = level;
	f->sci_changes++;
}

static int pm_setup(void **state)
{
	static const struct acpi_pm_ops ops = {
		.poweroff = on_poweroff,
		.set_sci = on_sci,
	};
	struct pm_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bus__init(&f->pio, "pio"), 0);
	f->pm = acpi_pm__create(&ops, f, ACPI_S5_SLP_TYP);
	assert_non_null(f->pm);
	assert_int_equal(acpi_pm__register(f->pm, &f->pio, EVT_PORT, CNT_PORT), 0);
	*state = f;
	return 0;
}

static int pm_teardown(void **state)
{
	struct pm_fixture *f = *state;

	acpi_pm__free(f->pm);
	bus__destroy(&f->pio);
	free(f);
	return 0;
}

static uint32_t in(struct pm_fixture *f, uint16_t port, uint32_t len)
{
	uint8_t d[4] = { 0 };

	assert_true(bus__read(&f->pio, port, d, len));
	return le32(d);
}

static void out(struct pm_fixture *f, uint16_t port, uint32_t len, uint32_t val)
{
	uint8_t d[4] = { (uint8_t)val, (uint8_t)(val >> 8), (uint8_t)(val >> 16),
			 (uint8_t)(val >> 24) };

	assert_true(bus__write(&f->pio, port, d, len));
}

static void test_pm_reset_state(void **state)
{
	struct pm_fixture *f = *state;

	assert_int_equal(in(f, EVT_PORT, 2), 0);		/* status */
	assert_int_equal(in(f, EVT_PORT + 2, 2), 0);		/* enable */
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN);
	/* SCI_EN stays 1 whatever is written. */
	out(f, CNT_PORT, 2, 0);
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN);
	/* A dword at the control block runs past it: not claimed. */
	{
		uint8_t d[4];

		assert_false(bus__read(&f->pio, CNT_PORT, d, 4));
	}
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(f->sci_changes, 0);
}

static void test_pm_status_enable(void **state)
{
	struct pm_fixture *f = *state;

	/* Enable register holds the defined bits only. */
	out(f, EVT_PORT + 2, 2, 0xffff);
	assert_int_equal(in(f, EVT_PORT + 2, 2), 0x4721);
	out(f, EVT_PORT + 2, 2, 0);
	assert_int_equal(in(f, EVT_PORT + 2, 2), 0);
	assert_int_equal(f->sci_changes, 0);

	/* A button press with the event disabled: status only, and the
	 * press says nobody listens. */
	assert_false(acpi_pm__power_button(f->pm));
	assert_int_equal(in(f, EVT_PORT, 2), ACPI_PM1_PWRBTN_STS);
	assert_int_equal(f->sci, 0);
	/* Enabling it raises the SCI. */
	out(f, EVT_PORT + 2, 2, ACPI_PM1_PWRBTN_STS);
	assert_int_equal(f->sci, 1);
	/* Writing 0s (and 1s to clear bits) changes nothing. */
	out(f, EVT_PORT, 2, 0);
	out(f, EVT_PORT, 2, ACPI_PM1_WAK_STS | ACPI_PM1_TMR_STS);
	assert_int_equal(in(f, EVT_PORT, 2), ACPI_PM1_PWRBTN_STS);
	assert_int_equal(f->sci, 1);
	/* Dword read of the block: status | enable << 16. */
	assert_int_equal(in(f, EVT_PORT, 4),
			 ACPI_PM1_PWRBTN_STS | ACPI_PM1_PWRBTN_STS << 16);
	/* Write 1 to clear, through the high byte alone. */
	out(f, EVT_PORT + 1, 1, ACPI_PM1_PWRBTN_STS >> 8);
	assert_int_equal(in(f, EVT_PORT, 2), 0);
	assert_int_equal(f->sci, 0);
	assert_int_equal(f->sci_changes, 2);

	/* Dword write: clears status and sets enable in one go. */
	assert_true(acpi_pm__power_button(f->pm));
	assert_int_equal(f->sci, 1);
	out(f, EVT_PORT, 4, ACPI_PM1_PWRBTN_STS | (uint32_t)ACPI_PM1_RTC_STS << 16);
	assert_int_equal(in(f, EVT_PORT, 2), 0);
	assert_int_equal(in(f, EVT_PORT + 2, 2), ACPI_PM1_RTC_STS);
	assert_int_equal(f->sci, 0);
	/* Byte lanes of the enable register. */
	out(f, EVT_PORT + 2, 1, ACPI_PM1_TMR_STS);
	assert_int_equal(in(f, EVT_PORT + 2, 2), ACPI_PM1_RTC_STS | ACPI_PM1_TMR_STS);
	assert_int_equal(in(f, EVT_PORT + 3, 1), ACPI_PM1_RTC_STS >> 8);
	assert_int_equal(in(f, EVT_PORT + 1, 2),
			 (ACPI_PM1_TMR_STS << 8) | 0);	/* sts high, en low */
	assert_int_equal(f->poweroffs, 0);
}

static uint16_t slp(unsigned typ)
{
	return (uint16_t)(typ << ACPI_PM1_SLP_TYP_SHIFT);
}

static void test_pm_poweroff(void **state)
{
	struct pm_fixture *f = *state;

	/* Linux: write SLP_TYP first, then SLP_TYP | SLP_EN. */
	out(f, CNT_PORT, 2, ACPI_PM1_SCI_EN | slp(ACPI_S5_SLP_TYP));
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN | slp(ACPI_S5_SLP_TYP));
	out(f, CNT_PORT, 2, ACPI_PM1_SCI_EN | slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->poweroffs, 1);
	/* SLP_EN reads 0. */
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN | slp(ACPI_S5_SLP_TYP));
	/* Linux writes SLP_EN again after a while: the callback ran once. */
	out(f, CNT_PORT, 2, ACPI_PM1_SLP_EN);
	out(f, CNT_PORT, 2, slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->poweroffs, 1);
}

static void test_pm_poweroff_byte(void **state)
{
	struct pm_fixture *f = *state;

	/* SLP_TYP and SLP_EN are both in the high byte. */
	out(f, CNT_PORT + 1, 1, (slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN) >> 8);
	assert_int_equal(f->poweroffs, 1);
}

static void test_pm_poweroff_stored_typ(void **state)
{
	struct pm_fixture *f = *state;

	/* SLP_TYP stored by a word write; a low-byte write of all ones
	 * cannot reach SLP_EN (it only sets BM_RLD); SLP_EN then comes in
	 * a write of the high byte alone. */
	out(f, CNT_PORT, 2, slp(ACPI_S5_SLP_TYP));
	out(f, CNT_PORT, 1, 0xff);
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(in(f, CNT_PORT, 2), slp(ACPI_S5_SLP_TYP) | ACPI_PM1_BM_RLD |
					     ACPI_PM1_SCI_EN);
	out(f, CNT_PORT + 1, 1, (slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN) >> 8);
	assert_int_equal(f->poweroffs, 1);
}

/* Run vmm's stderr into a temporary file from here to stderr_end(). */
static int stderr_begin(FILE **tmp)
{
	int saved = dup(STDERR_FILENO);

	*tmp = tmpfile();
	assert_non_null(*tmp);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(*tmp), STDERR_FILENO) >= 0);
	return saved;
}

/* Restore stderr; return how many captured lines contain 'what'. */
static int stderr_end(FILE *tmp, int saved, const char *what)
{
	char line[512];
	int n = 0;

	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	while (fgets(line, sizeof(line), tmp))
		n += strstr(line, what) != NULL;
	fclose(tmp);
	return n;
}

static void test_pm_other_sleep_types(void **state)
{
	struct pm_fixture *f = *state;
	FILE *log;
	int saved = stderr_begin(&log);

	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_SLP_TYP)
			continue;
		out(f, CNT_PORT, 2, slp(typ) | ACPI_PM1_SLP_EN);
		out(f, CNT_PORT + 1, 1, (slp(typ) | ACPI_PM1_SLP_EN) >> 8);
		assert_int_equal(in(f, CNT_PORT, 2), slp(typ) | ACPI_PM1_SCI_EN);
	}
	/* Seven refused sleep types, one message. */
	assert_int_equal(stderr_end(log, saved, "sleep type"), 1);
	assert_int_equal(f->poweroffs, 0);
	/* S5 type without SLP_EN, in every width. */
	out(f, CNT_PORT, 2, slp(ACPI_S5_SLP_TYP));
	out(f, CNT_PORT + 1, 1, slp(ACPI_S5_SLP_TYP) >> 8);
	assert_int_equal(f->poweroffs, 0);
	/* And then it works. */
	out(f, CNT_PORT, 2, slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->poweroffs, 1);
}

static void test_pm_create_rejects(void **state)
{
	assert_null(acpi_pm__create(NULL, NULL, 8));
	acpi_pm__free(NULL);
}

static void test_pm_register_conflict(void **state)
{
	struct pm_fixture *f = *state;
	struct acpi_pm *other = acpi_pm__create(NULL, NULL, ACPI_S5_SLP_TYP);

	assert_non_null(other);
	/* The event block collides: nothing of 'other' stays registered. */
	assert_int_equal(acpi_pm__register(other, &f->pio, EVT_PORT + 2, 0x700), -1);
	/* The control block collides: the event block is rolled back. */
	assert_int_equal(acpi_pm__register(other, &f->pio, 0x680, CNT_PORT), -1);
	assert_int_equal(acpi_pm__register(other, &f->pio, 0x680, 0x684), 0);
	bus__unregister(&f->pio, 0x680);
	bus__unregister(&f->pio, 0x684);
	acpi_pm__free(other);
	/* The original is untouched. */
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pm_reset_state, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_status_enable, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_poweroff, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_poweroff_byte, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_poweroff_stored_typ, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_other_sleep_types, pm_setup, pm_teardown),
		cmocka_unit_test(test_pm_create_rejects),
		cmocka_unit_test_setup_teardown(test_pm_register_conflict, pm_setup, pm_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

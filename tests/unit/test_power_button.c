/* test_power_button.c — `vmm stop`'s way to the guest, without KVM: a
 * "powerdown" request on a VM's control socket, served by the real
 * control thread with the VM's own control ops (vmm/vm_control.c), goes
 * through the arch hook (arch__power_button, arch/x86/vm.c) to the ACPI
 * PM1a block (devices/pc/acpi_pm.c) behind a port-I/O bus, where a fake
 * guest reads and clears PWRBTN_STS and the SCI is recorded instead of
 * being raised in KVM. The reply names the VMM's pid and whether the
 * guest listens; a VM that is stopping, or has no power button, refuses
 * with one line. */
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
#include "arch/x86/arch_vm.h"
#include "devices/pc/acpi_pm.h"
#include "vmm/arch.h"
#include "vmm/control.h"
#include "vmm/vm.h"

#define EVT_PORT	0x600
#define CNT_PORT	0x604

static char dir[64];

/* A VM with nothing but its arch state, a PM block and a control socket. */
struct fixture {
	struct vm vm;
	struct arch_vm arch;
	struct bus pio;
	int sci, sci_changes, poweroffs;     /* written on the control thread */
};

static void on_sci(void *opaque, int level)
{
	struct fixture *f = opaque;

	__atomic_store_n(&f->sci, level, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&f->sci_changes, 1, __ATOMIC_SEQ_CST);
}

static void on_poweroff(void *opaque)
{
	struct fixture *f = opaque;

	__atomic_add_fetch(&f->poweroffs, 1, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
	static const struct acpi_pm_ops ops = { .poweroff = on_poweroff, .set_sci = on_sci };
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(dir, sizeof(dir), "/tmp/vmmpwr-XXXXXX");
	assert_non_null(mkdtemp(dir));
	setenv("VMM_RUNTIME_DIR", dir, 1);
	assert_int_equal(bus__init(&f->pio, "pio"), 0);
	f->arch.acpi_pm = acpi_pm__create(&ops, f, ACPI_S5_SLP_TYP);
	assert_non_null(f->arch.acpi_pm);
	assert_int_equal(acpi_pm__register(f->arch.acpi_pm, &f->pio, EVT_PORT, CNT_PORT), 0);
	f->vm.arch = &f->arch;
	if (control__open(&f->vm.control, "pwr", &vm_control__ops, &f->vm, err, sizeof(err)) < 0)
		fail_msg("control__open: %s", err);
	assert_int_equal(control__start_thread(&f->vm.control), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	control__stop_thread(&f->vm.control);
	control__close(&f->vm.control);
	acpi_pm__free(f->arch.acpi_pm);
	bus__destroy(&f->pio);
	free(f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static uint16_t in16(struct fixture *f, uint16_t port)
{
	uint8_t d[2] = { 0 };

	assert_true(bus__read(&f->pio, port, d, 2));
	return (uint16_t)(d[0] | d[1] << 8);
}

static void out16(struct fixture *f, uint16_t port, uint16_t val)
{
	uint8_t d[2] = { (uint8_t)val, (uint8_t)(val >> 8) };

	assert_true(bus__write(&f->pio, port, d, 2));
}

static int sci(struct fixture *f)
{
	return __atomic_load_n(&f->sci, __ATOMIC_SEQ_CST);
}

/* "powerdown" to VM pwr: 0 with the reply, or -1 with err. */
static int powerdown(char *reply, size_t len, char *err, size_t errlen)
{
	return control__request("pwr", "powerdown", reply, len, NULL, err, errlen);
}

static void test_press_reaches_the_pm_block(void **state)
{
	struct fixture *f = *state;
	char reply[256], want[128], err[256];

	/* Before the guest's ACPI driver enabled the event: the press is
	 * recorded, no interrupt, and the reply says nobody listens. */
	if (powerdown(reply, sizeof(reply), err, sizeof(err)) < 0)
		fail_msg("powerdown: %s", err);
	snprintf(want, sizeof(want), "{\"ok\":true,\"pid\":%d,\"listening\":false}", getpid());
	assert_string_equal(reply, want);
	assert_int_equal(in16(f, EVT_PORT), ACPI_PM1_PWRBTN_STS);
	assert_int_equal(sci(f), 0);
	/* The driver enables the button: the pending press raises the SCI;
	 * its handler clears the status (write 1), and the line drops. */
	out16(f, EVT_PORT + 2, ACPI_PM1_PWRBTN_STS);
	assert_int_equal(sci(f), 1);
	out16(f, EVT_PORT, ACPI_PM1_PWRBTN_STS);
	assert_int_equal(sci(f), 0);
	assert_int_equal(in16(f, EVT_PORT), 0);

	/* A press now interrupts the guest at once. */
	if (powerdown(reply, sizeof(reply), err, sizeof(err)) < 0)
		fail_msg("powerdown: %s", err);
	snprintf(want, sizeof(want), "{\"ok\":true,\"pid\":%d,\"listening\":true}", getpid());
	assert_string_equal(reply, want);
	assert_int_equal(sci(f), 1);
	assert_int_equal(in16(f, EVT_PORT), ACPI_PM1_PWRBTN_STS);
	/* ...and the guest answers with S5: the VM's usual poweroff. */
	out16(f, EVT_PORT, ACPI_PM1_PWRBTN_STS);
	out16(f, CNT_PORT, (uint16_t)(ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
	assert_int_equal(__atomic_load_n(&f->poweroffs, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(f->sci_changes, 4);
	assert_int_equal(f->vm.control.served, 2);
}

static void test_refusals(void **state)
{
	struct fixture *f = *state;
	char reply[256], err[256];

	/* A VM already on its way out: no press. */
	atomic_store(&f->vm.exiting, true);
	assert_int_equal(powerdown(reply, sizeof(reply), err, sizeof(err)), -1);
	assert_string_equal(err, "the VM is already stopping");
	atomic_store(&f->vm.exiting, false);
	assert_int_equal(in16(f, EVT_PORT), 0);
	/* No power button on the platform: the hook says so, and so does
	 * the reply, naming the way out. */
	f->vm.arch = NULL;
	assert_int_equal(arch__power_button(&f->vm), -1);
	assert_int_equal(powerdown(reply, sizeof(reply), err, sizeof(err)), -1);
	assert_string_equal(err, "this platform has no power button (use vmm stop --force)");
	f->vm.arch = &f->arch;
	assert_int_equal(arch__power_button(&f->vm), 0);
	assert_int_equal(f->vm.control.rejected, 2);
	assert_int_equal(f->sci_changes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_press_reaches_the_pm_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

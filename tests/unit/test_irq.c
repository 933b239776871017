/* test_irq.c — the KVM forms of an MSI (vmm/irq.c): the device id reaches
 * KVM, flagged KVM_MSI_VALID_DEVID, only when the arch asks for it, and
 * x86 does not (its LAPIC takes address and data only); x86's
 * KVM_IRQ_LINE number is the GSI itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/arch.h"
#include "vmm/irq.h"

static const struct msi_msg msg = {
	.addr = 0x12345678fee01000ULL, .data = 0x4021, .devid = 3 << 3,
};

static void test_route(void **state)
{
	struct kvm_irq_routing_entry e;

	memset(&e, 0xa5, sizeof(e));
	e.gsi = 40;
	e.type = KVM_IRQ_ROUTING_MSI;
	irq__msi_route(&e, &msg, false);
	assert_int_equal(e.gsi, 40);
	assert_int_equal(e.type, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(e.flags, 0);
	assert_int_equal(e.u.msi.address_lo, 0xfee01000u);
	assert_int_equal(e.u.msi.address_hi, 0x12345678u);
	assert_int_equal(e.u.msi.data, 0x4021);
	assert_int_equal(e.u.msi.devid, 0);

	irq__msi_route(&e, &msg, true);
	assert_int_equal(e.flags, KVM_MSI_VALID_DEVID);
	assert_int_equal(e.u.msi.devid, 0x18);
	assert_int_equal(e.u.msi.data, 0x4021);
}

static void test_signal(void **state)
{
	struct kvm_msi k;

	memset(&k, 0xa5, sizeof(k));
	irq__kvm_msi(&k, &msg, false);
	assert_int_equal(k.address_lo, 0xfee01000u);
	assert_int_equal(k.address_hi, 0x12345678u);
	assert_int_equal(k.data, 0x4021);
	assert_int_equal(k.flags, 0);
	assert_int_equal(k.devid, 0);
	for (size_t i = 0; i < sizeof(k.pad); i++)
		assert_int_equal(k.pad[i], 0);	/* KVM rejects nonzero padding */

	irq__kvm_msi(&k, &msg, true);
	assert_int_equal(k.flags, KVM_MSI_VALID_DEVID);
	assert_int_equal(k.devid, 0x18);
}

static void test_x86_no_devid(void **state)
{
	assert_false(arch__msi_needs_devid());
	assert_int_equal(arch__irq_line(9), 9);		/* KVM_IRQ_LINE takes the GSI */
	assert_int_equal(arch__irq_line(23), 23);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_x86_no_devid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

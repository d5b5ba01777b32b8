/* test_modbus_rtu.c - grouping of adjacent channels into one request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "drivers/modbus_rtu.h"

#define CH(tbl, r, t) { .table = (tbl), .reg = (r), .type = (t) }

static void test_adjacent_channels_one_request(void **state)
{
	struct cfg_channel ch[] = {
		CH(TABLE_HOLDING, 2, VT_FLOAT32), CH(TABLE_HOLDING, 0, VT_FLOAT32),
		CH(TABLE_HOLDING, 4, VT_FLOAT32), CH(TABLE_HOLDING, 6, VT_UINT16),
	};
	struct cfg_sensor s = { .channels = ch, .n_channels = 4 };
	int order[CFG_MAX_CHANNELS], starts[CFG_MAX_CHANNELS + 1];

	(void)state;
	assert_int_equal(modbus_rtu_plan(&s, order, starts), 1);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 0);
	assert_int_equal(order[2], 2);
	assert_int_equal(order[3], 3);
	assert_int_equal(starts[0], 0);
	assert_int_equal(starts[1], 4);
}

static void test_gaps_and_tables_split(void **state)
{
	/* 0x1010 flow, 0x1018 total: a gap; one input channel apart. */
	struct cfg_channel ch[] = {
		CH(TABLE_HOLDING, 0x1018, VT_UINT32), CH(TABLE_HOLDING, 0x1010, VT_FLOAT32),
		CH(TABLE_INPUT, 0x1012, VT_FLOAT32), CH(TABLE_HOLDING, 0x1012, VT_FLOAT32),
	};
	struct cfg_sensor s = { .channels = ch, .n_channels = 4 };
	int order[CFG_MAX_CHANNELS], starts[CFG_MAX_CHANNELS + 1];

	(void)state;
	assert_int_equal(modbus_rtu_plan(&s, order, starts), 3);
	/* holding 0x1010..0x1013 in one, holding 0x1018, then input */
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 0);
	assert_int_equal(order[3], 2);
	assert_int_equal(starts[0], 0);
	assert_int_equal(starts[1], 2);
	assert_int_equal(starts[2], 3);
	assert_int_equal(starts[3], 4);
}

static void test_request_size_capped(void **state)
{
	/* 16 adjacent float64 = 64 registers: one request, well under 125. */
	struct cfg_channel ch[CFG_MAX_CHANNELS];
	struct cfg_sensor s = { .channels = ch, .n_channels = CFG_MAX_CHANNELS };
	int order[CFG_MAX_CHANNELS], starts[CFG_MAX_CHANNELS + 1];

	(void)state;
	for (int i = 0; i < CFG_MAX_CHANNELS; i++)
		ch[i] = (struct cfg_channel)CH(TABLE_HOLDING, 4 * i, VT_FLOAT64);
	assert_int_equal(modbus_rtu_plan(&s, order, starts), 1);
	for (int i = 0; i < CFG_MAX_CHANNELS; i++)
		ch[i] = (struct cfg_channel)CH(TABLE_HOLDING, 8 * i, VT_FLOAT64);
	/* gaps of 4 registers: every channel alone */
	assert_int_equal(modbus_rtu_plan(&s, order, starts), CFG_MAX_CHANNELS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adjacent_channels_one_request),
		cmocka_unit_test(test_gaps_and_tables_split),
		cmocka_unit_test(test_request_size_capped),
	};
	return cmocka_run_group_tests_name("modbus_rtu", tests, NULL, NULL);
}

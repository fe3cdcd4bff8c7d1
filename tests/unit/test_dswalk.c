/*
 * gwfailover - unit tests of the judgement of a dispatcher walk.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_dswalk.h"

/* The tally of a dispatcher.list reply with <sets> sets of <per_set>
 * destinations each, of which <read> were read: the reader sees RECORDS,
 * then per set SET and TARGETS, and per destination DEST. */
static gwf_dswalk_tally_t listed(int sets, int per_set, int read)
{
	gwf_dswalk_tally_t t;

	gwf_dswalk_tally_init(&t);
	t.nrsets = sets;
	t.nested = 1 + (uint32_t)(sets * (2 + per_set));
	t.dests = (uint32_t)(sets * per_set);
	t.captured = (uint32_t)read;
	return t;
}

static void test_init(void **state)
{
	gwf_dswalk_tally_t t;

	(void)state;
	memset(&t, 0x5a, sizeof(t));
	gwf_dswalk_tally_init(&t);
	assert_int_equal(t.fault, 0);
	assert_int_equal(t.nrsets, -1);
	assert_int_equal(t.nested, 0);
	assert_int_equal(t.dests, 0);
	assert_int_equal(t.captured, 0);
	/* nothing at all: nothing to go by */
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_EMPTY);
}

static void test_normal_list_is_complete(void **state)
{
	gwf_dswalk_tally_t t = listed(2, 3, 6);

	(void)state;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_COMPLETE);
	t = listed(1, 1, 1);
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_COMPLETE);
	/* DEST renamed but URI and FLAGS still read: all that matters */
	t = listed(1, 2, 2);
	t.dests = 0;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_COMPLETE);
}

static void test_no_destination_sets(void **state)
{
	gwf_dswalk_tally_t t;

	(void)state;
	/* dispatcher.list with no sets: fault 500, nothing else */
	gwf_dswalk_tally_init(&t);
	t.fault = 500;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_EMPTY);
	/* a reply with RECORDS and no set in it */
	t = listed(0, 0, 0);
	assert_int_equal(t.nested, 1);
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_EMPTY);
}

static void test_renamed_fields_are_blind(void **state)
{
	gwf_dswalk_tally_t t;

	(void)state;
	/* URI or FLAGS renamed or retyped: sets and DESTs, nothing read */
	t = listed(2, 3, 0);
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_BLIND);
	/* NRSETS renamed as well: the DEST records tell */
	t.nrsets = -1;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_BLIND);
	/* every name changed: only the nesting tells */
	t.dests = 0;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_BLIND);
	/* NRSETS alone */
	gwf_dswalk_tally_init(&t);
	t.nrsets = 1;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_BLIND);
	/* a fault half-way, before any destination was read */
	t = listed(1, 2, 0);
	t.fault = 500;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_BLIND);
}

static void test_partial(void **state)
{
	gwf_dswalk_tally_t t = listed(2, 3, 4);

	(void)state;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_PARTIAL);
	/* all read, then a fault (internal error later in the reply) */
	t = listed(2, 3, 6);
	t.fault = 500;
	assert_int_equal(gwf_dswalk_judge(&t), GWF_DSWALK_PARTIAL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(
			gwf_dswalk_verdict_name(GWF_DSWALK_COMPLETE), "complete");
	assert_string_equal(gwf_dswalk_verdict_name(GWF_DSWALK_EMPTY), "empty");
	assert_string_equal(gwf_dswalk_verdict_name(GWF_DSWALK_BLIND), "blind");
	assert_string_equal(gwf_dswalk_verdict_name(GWF_DSWALK_PARTIAL), "partial");
	assert_string_equal(
			gwf_dswalk_verdict_name((gwf_dswalk_verdict_t)9), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_init),
			cmocka_unit_test(test_normal_list_is_complete),
			cmocka_unit_test(test_no_destination_sets),
			cmocka_unit_test(test_renamed_fields_are_blind),
			cmocka_unit_test(test_partial),
			cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

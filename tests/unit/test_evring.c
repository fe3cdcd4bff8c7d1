/*
 * gwfailover - unit tests of gwf_evring: the bounded event FIFO.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <stdio.h>
#include <stdlib.h>

#include "testhelp.h"

#include "gwf_evring.h"

typedef struct rec
{
	uint32_t id;
	char text[13]; /* odd size: records need not be aligned */
} rec_t;

static gwf_evring_t *new_ring(uint32_t cap)
{
	size_t bytes = gwf_evring_bytes(cap, sizeof(rec_t));
	gwf_evring_t *r;

	assert_true(bytes > 0);
	r = calloc(1, bytes);
	assert_non_null(r);
	gwf_evring_init(r, cap, sizeof(rec_t));
	return r;
}

static rec_t mk(uint32_t id)
{
	rec_t x;

	memset(&x, 0, sizeof(x));
	x.id = id;
	snprintf(x.text, sizeof(x.text), "ev%u", id);
	return x;
}

static void test_fifo_order(void **state)
{
	gwf_evring_t *r = new_ring(4);
	rec_t in, out;
	uint32_t i;

	(void)state;
	for(i = 1; i <= 3; i++) {
		in = mk(i);
		assert_int_equal(gwf_evring_push(r, &in), 0);
	}
	assert_int_equal(r->len, 3);
	for(i = 1; i <= 3; i++) {
		assert_int_equal(gwf_evring_pop(r, &out), 0);
		assert_int_equal(out.id, i);
		in = mk(i);
		assert_string_equal(out.text, in.text);
	}
	assert_int_equal(gwf_evring_pop(r, &out), -1);
	free(r);
}

static void test_full_drops_and_counts(void **state)
{
	gwf_evring_t *r = new_ring(2);
	rec_t in, out;

	(void)state;
	in = mk(1);
	assert_int_equal(gwf_evring_push(r, &in), 0);
	in = mk(2);
	assert_int_equal(gwf_evring_push(r, &in), 0);
	in = mk(3);
	assert_int_equal(gwf_evring_push(r, &in), -1);
	assert_int_equal(r->dropped, 1);
	assert_int_equal(r->pushed, 2);
	/* the dropped record did not overwrite the oldest */
	assert_int_equal(gwf_evring_pop(r, &out), 0);
	assert_int_equal(out.id, 1);
	/* room again */
	in = mk(4);
	assert_int_equal(gwf_evring_push(r, &in), 0);
	assert_int_equal(gwf_evring_pop(r, &out), 0);
	assert_int_equal(out.id, 2);
	assert_int_equal(gwf_evring_pop(r, &out), 0);
	assert_int_equal(out.id, 4);
	free(r);
}

static void test_wraps_many_times(void **state)
{
	gwf_evring_t *r = new_ring(3);
	rec_t in, out;
	uint32_t next_in = 0, next_out = 0, round;

	(void)state;
	/* interleave 2 pushes with 1..2 pops so head and tail wrap often */
	for(round = 0; round < 1000; round++) {
		in = mk(next_in);
		if(gwf_evring_push(r, &in) == 0)
			next_in++;
		in = mk(next_in);
		if(gwf_evring_push(r, &in) == 0)
			next_in++;
		assert_int_equal(gwf_evring_pop(r, &out), 0);
		assert_int_equal(out.id, next_out++);
		if(round % 2 == 0 && gwf_evring_pop(r, &out) == 0)
			assert_int_equal(out.id, next_out++);
	}
	while(gwf_evring_pop(r, &out) == 0)
		assert_int_equal(out.id, next_out++);
	assert_int_equal(next_out, next_in);
	assert_int_equal(r->pushed + r->dropped, 2000);
	free(r);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(gwf_evring_bytes(0, 8), 0);
	assert_int_equal(gwf_evring_bytes(8, 0), 0);
	assert_int_equal(gwf_evring_bytes(10, 16), sizeof(gwf_evring_t) + 10 * 16);
	if(sizeof(size_t) == 4)
		assert_int_equal(gwf_evring_bytes(UINT32_MAX, UINT32_MAX), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_fifo_order),
			cmocka_unit_test(test_full_drops_and_counts),
			cmocka_unit_test(test_wraps_many_times),
			cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * gwfailover - unit tests of the one-shot flags that tm callbacks in several
 * processes race for (gwf_claim.h): under contention, exactly one claimant
 * wins each flag, and a hand-over by atomic OR makes exactly one side act.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include <pthread.h>
#include <stdlib.h>

#include "testhelp.h"
#include "gwf_claim.h"

#define FLAGS 200000
#define THREADS 4

static uint8_t *_flags;
static pthread_barrier_t _start;

/* Each thread tries every flag, as workers handling copies of one 2xx
 * each try to credit the branch; returns how many it won. */
static void *claimer(void *arg)
{
	uintptr_t won = 0;
	int i;

	(void)arg;
	pthread_barrier_wait(&_start);
	for(i = 0; i < FLAGS; i++)
		won += (uintptr_t)gwf_claim(&_flags[i]);
	return (void *)won;
}

static void test_claim_once_under_contention(void **state)
{
	pthread_t th[THREADS];
	uintptr_t total = 0;
	void *won;
	int i, round;

	(void)state;
	_flags = calloc(FLAGS, 1);
	assert_non_null(_flags);
	for(round = 0; round < 5; round++) {
		memset(_flags, 0, FLAGS);
		total = 0;
		assert_int_equal(pthread_barrier_init(&_start, NULL, THREADS), 0);
		for(i = 0; i < THREADS; i++)
			assert_int_equal(pthread_create(&th[i], NULL, claimer, NULL), 0);
		for(i = 0; i < THREADS; i++) {
			assert_int_equal(pthread_join(th[i], &won), 0);
			total += (uintptr_t)won;
		}
		pthread_barrier_destroy(&_start);
		/* every flag won exactly once: never twice, never lost */
		assert_int_equal(total, FLAGS);
		for(i = 0; i < FLAGS; i++)
			assert_int_equal(_flags[i], 1);
	}
	free(_flags);
}

/* The branch set-up hand-over (gwfailover_txn.c): a sender sets READY, a
 * reply that may come first sets EARLY; each looks at the bits set before
 * its own. Whichever comes second must act, and only one. */
#define READY 1
#define EARLY 2
static uint8_t *_setup;
static uintptr_t _acted[2];

static void *hand_over(void *arg)
{
	uintptr_t side = (uintptr_t)arg, acted = 0;
	uint8_t mine = side == 0 ? READY : EARLY,
			theirs = side == 0 ? EARLY : READY;
	int i;

	pthread_barrier_wait(&_start);
	for(i = 0; i < FLAGS; i++)
		acted += (gwf_claim_or(&_setup[i], mine) & theirs) != 0;
	_acted[side] = acted;
	return NULL;
}

static void test_claim_or_hands_over_exactly_once(void **state)
{
	pthread_t th[2];
	uintptr_t i;
	int round;

	(void)state;
	_setup = calloc(FLAGS, 1);
	assert_non_null(_setup);
	for(round = 0; round < 5; round++) {
		memset(_setup, 0, FLAGS);
		assert_int_equal(pthread_barrier_init(&_start, NULL, 2), 0);
		for(i = 0; i < 2; i++)
			assert_int_equal(
					pthread_create(&th[i], NULL, hand_over, (void *)i), 0);
		for(i = 0; i < 2; i++)
			assert_int_equal(pthread_join(th[i], NULL), 0);
		pthread_barrier_destroy(&_start);
		/* each flag: one of the two saw the other's bit, never both */
		assert_int_equal(_acted[0] + _acted[1], FLAGS);
		for(i = 0; i < FLAGS; i++)
			assert_int_equal(_setup[i], READY | EARLY);
	}
	free(_setup);
}

static void test_claim_or_returns_the_bits_before(void **state)
{
	uint8_t f = 0;

	(void)state;
	assert_int_equal(gwf_claim_or(&f, 2), 0);
	assert_int_equal(gwf_claim_or(&f, 4), 2);
	assert_int_equal(gwf_claim_or(&f, 2), 6);
	assert_int_equal(f, 6);
}

static void test_claim_unclaim(void **state)
{
	uint8_t f = 0;

	(void)state;
	assert_false(gwf_claimed(&f));
	assert_true(gwf_claim(&f));
	assert_true(gwf_claimed(&f));
	assert_false(gwf_claim(&f));
	/* a suspended call: resumed or cancelled, only one counts */
	assert_true(gwf_unclaim(&f));
	assert_false(gwf_unclaim(&f));
	gwf_claim_store(&f, 1);
	assert_true(gwf_claimed(&f));
	gwf_claim_store(&f, 0);
	assert_false(gwf_claimed(&f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_claim_unclaim),
			cmocka_unit_test(test_claim_once_under_contention),
			cmocka_unit_test(test_claim_or_returns_the_bits_before),
			cmocka_unit_test(test_claim_or_hands_over_exactly_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

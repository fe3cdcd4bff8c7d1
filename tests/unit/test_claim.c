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

/* The branch set-up hand-over (gwf_setup_*): the sender records the
 * branch, a reply and the branch's failure handling may each come before
 * or after, in other processes. Every event must be acted on exactly once:
 * by its own side if the branch was recorded, else by the sender. */
static uint8_t *_setup;
static uint8_t *_reply_acted, *_final_acted, *_sender_saw;

static void *sender(void *arg)
{
	int i;

	(void)arg;
	pthread_barrier_wait(&_start);
	for(i = 0; i < FLAGS; i++)
		_sender_saw[i] = gwf_setup_ready(&_setup[i]);
	return NULL;
}

static void *replier(void *arg)
{
	int i;

	pthread_barrier_wait(&_start);
	for(i = 0; i < FLAGS; i++)
		_reply_acted[i] = (uint8_t)gwf_setup_reply(&_setup[i], arg != NULL);
	return NULL;
}

static void *finisher(void *arg)
{
	int i;

	(void)arg;
	pthread_barrier_wait(&_start);
	for(i = 0; i < FLAGS; i++)
		_final_acted[i] = (uint8_t)gwf_setup_final(&_setup[i]);
	return NULL;
}

/* What each side saw of one branch: the reply and the failure each acted
 * on exactly once, a 2xx handed over as a 2xx. */
static void check_once(
		uint8_t sender_saw, int reply_acted, int final_acted, int is_2xx)
{
	int reply_by_sender = (sender_saw & GWF_SETUP_EARLY_REPLY) != 0;
	int final_by_sender = (sender_saw & GWF_SETUP_EARLY_FINAL) != 0;

	assert_int_equal(reply_acted + reply_by_sender, 1);
	assert_int_equal(
			(sender_saw & GWF_SETUP_EARLY_2XX) != 0, reply_by_sender && is_2xx);
	assert_int_equal(final_acted + final_by_sender, 1);
}

/* Every order of the three, one after the other. */
static void test_setup_every_order(void **state)
{
	static const int order[6][3] = {
			{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	int o, k, is_2xx;

	(void)state;
	for(is_2xx = 0; is_2xx <= 1; is_2xx++) {
		for(o = 0; o < 6; o++) {
			uint8_t setup = 0, saw = 0;
			int reply = 0, fin = 0;

			for(k = 0; k < 3; k++) {
				if(order[o][k] == 0)
					saw = gwf_setup_ready(&setup);
				else if(order[o][k] == 1)
					reply = gwf_setup_reply(&setup, is_2xx);
				else
					fin = gwf_setup_final(&setup);
			}
			check_once(saw, reply, fin, is_2xx);
			/* the sender first: nothing is handed over */
			if(order[o][0] == 0)
				assert_int_equal(saw, 0);
			/* the sender last: both are */
			if(order[o][2] == 0)
				assert_int_equal(
						saw & (GWF_SETUP_EARLY_REPLY | GWF_SETUP_EARLY_FINAL),
						GWF_SETUP_EARLY_REPLY | GWF_SETUP_EARLY_FINAL);
		}
	}
}

/* The same with the three in threads at once, as in three processes. */
static void test_setup_hands_every_event_over_once(void **state)
{
	void *(*fn[3])(void *) = {sender, replier, finisher};
	pthread_t th[3];
	int i, round;

	(void)state;
	_setup = calloc(FLAGS, 1);
	_reply_acted = calloc(FLAGS, 1);
	_final_acted = calloc(FLAGS, 1);
	_sender_saw = calloc(FLAGS, 1);
	assert_true(_setup && _reply_acted && _final_acted && _sender_saw);
	for(round = 0; round < 6; round++) {
		memset(_setup, 0, FLAGS);
		assert_int_equal(pthread_barrier_init(&_start, NULL, 3), 0);
		for(i = 0; i < 3; i++)
			assert_int_equal(pthread_create(&th[i], NULL, fn[i],
									 i == 1 && (round & 1) ? (void *)1 : NULL),
					0);
		for(i = 0; i < 3; i++)
			assert_int_equal(pthread_join(th[i], NULL), 0);
		pthread_barrier_destroy(&_start);
		for(i = 0; i < FLAGS; i++)
			check_once(_sender_saw[i], _reply_acted[i], _final_acted[i],
					round & 1);
	}
	free(_setup);
	free(_reply_acted);
	free(_final_acted);
	free(_sender_saw);
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
			cmocka_unit_test(test_setup_every_order),
			cmocka_unit_test(test_setup_hands_every_event_over_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

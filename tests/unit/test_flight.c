/*
 * gwfailover - unit tests of the list of INVITEs in flight to a gateway
 * without a reply.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#include "testhelp.h"
#include "gwf_flight.h"

#define N 8

static uint8_t heard[N]; /* the owners' "a reply came" flags */

static void setup_nodes(gwf_flight_node_t *nodes, int n)
{
	int i;

	memset(nodes, 0, sizeof(*nodes) * (size_t)n);
	for(i = 0; i < n; i++) {
		nodes[i].tindex = 100u + (uint32_t)i;
		nodes[i].tlabel = 200u + (uint32_t)i;
		nodes[i].branch = (uint16_t)i;
		nodes[i].sent_ms = 1000u + (uint64_t)i;
		nodes[i].sent = 1;
		nodes[i].sample_ms = -1;
		heard[i] = 0;
		nodes[i].heard = &heard[i];
	}
}

/* N nodes, all on <l> in order. */
static void setup_listed(gwf_flight_node_t *nodes, gwf_flight_t *l)
{
	int i;

	setup_nodes(nodes, N);
	for(i = 0; i < N; i++)
		gwf_flight_push(l, &nodes[i]);
}

/* Walk <l> both ways and check it holds exactly <want> (indexes into
 * <nodes>), oldest first. */
static void check_list(const gwf_flight_t *l, const gwf_flight_node_t *nodes,
		const int *want, int n)
{
	const gwf_flight_node_t *p;
	int i = 0;

	assert_int_equal(l->n, n);
	for(p = l->head; p != NULL; p = p->next, i++) {
		assert_true(i < n);
		assert_ptr_equal(p, &nodes[want[i]]);
		assert_int_equal(p->linked, 1);
	}
	assert_int_equal(i, n);
	for(p = l->tail, i = n - 1; p != NULL; p = p->prev, i--)
		assert_ptr_equal(p, &nodes[want[i]]);
	assert_int_equal(i, -1);
}

static void test_push_and_unlink_anywhere(void **state)
{
	gwf_flight_node_t nodes[N];
	gwf_flight_t l = {NULL, NULL, 0};
	int i;

	(void)state;
	setup_nodes(nodes, N);
	for(i = 0; i < 5; i++)
		gwf_flight_push(&l, &nodes[i]);
	check_list(&l, nodes, (int[]){0, 1, 2, 3, 4}, 5);
	/* middle, head, tail */
	assert_int_equal(gwf_flight_unlink(&l, &nodes[2]), 1);
	check_list(&l, nodes, (int[]){0, 1, 3, 4}, 4);
	assert_int_equal(gwf_flight_unlink(&l, &nodes[0]), 1);
	check_list(&l, nodes, (int[]){1, 3, 4}, 3);
	assert_int_equal(gwf_flight_unlink(&l, &nodes[4]), 1);
	check_list(&l, nodes, (int[]){1, 3}, 2);
	/* a node that left already: nothing changes */
	assert_int_equal(gwf_flight_unlink(&l, &nodes[4]), 0);
	assert_int_equal(gwf_flight_unlink(&l, &nodes[7]), 0);
	check_list(&l, nodes, (int[]){1, 3}, 2);
	assert_int_equal(nodes[4].linked, 0);
	/* down to empty, and used again */
	gwf_flight_unlink(&l, &nodes[1]);
	gwf_flight_unlink(&l, &nodes[3]);
	assert_null(l.head);
	assert_null(l.tail);
	assert_int_equal(l.n, 0);
	gwf_flight_push(&l, &nodes[6]);
	check_list(&l, nodes, (int[]){6}, 1);
}

static void test_take_oldest_first_in_rounds(void **state)
{
	gwf_flight_node_t nodes[N];
	gwf_flight_t l = {NULL, NULL, 0};
	gwf_flight_ref_t out[3];

	(void)state;
	setup_listed(nodes, &l);
	gwf_flight_unlink(&l, &nodes[1]); /* answered meanwhile */
	assert_int_equal(gwf_flight_take(&l, out, 3), 3);
	assert_int_equal(out[0].tindex, 100);
	assert_int_equal(out[0].tlabel, 200);
	assert_int_equal(out[1].branch, 2);
	assert_int_equal(out[2].branch, 3);
	assert_int_equal(nodes[0].linked, 0);
	check_list(&l, nodes, (int[]){4, 5, 6, 7}, 4);
	assert_int_equal(gwf_flight_take(&l, out, 3), 3);
	assert_int_equal(gwf_flight_take(&l, out, 3), 1);
	assert_int_equal(out[0].branch, 7);
	assert_int_equal(gwf_flight_take(&l, out, 3), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.head);
}

/* Nodes are listed when the branch is forwarded, before tm sends the
 * INVITE: a walk takes only the sent ones, in order, and leaves the
 * others for a later walk. */
static void test_take_only_sent(void **state)
{
	gwf_flight_node_t nodes[N];
	gwf_flight_t l = {NULL, NULL, 0};
	gwf_flight_ref_t out[N];

	(void)state;
	setup_listed(nodes, &l);
	nodes[0].sent = nodes[3].sent = nodes[7].sent = 0;
	assert_int_equal(gwf_flight_take(&l, out, 2), 2);
	assert_int_equal(out[0].branch, 1);
	assert_int_equal(out[1].branch, 2);
	assert_int_equal(gwf_flight_take(&l, out, N), 3);
	assert_int_equal(out[0].branch, 4);
	assert_int_equal(out[2].branch, 6);
	check_list(&l, nodes, (int[]){0, 3, 7}, 3);
	assert_int_equal(gwf_flight_take(&l, out, N), 0);
	nodes[3].sent = 1;
	assert_int_equal(gwf_flight_take(&l, out, N), 1);
	assert_int_equal(out[0].branch, 3);
	check_list(&l, nodes, (int[]){0, 7}, 2);
}

static void test_oldest_trial(void **state)
{
	gwf_flight_node_t nodes[N];
	gwf_flight_t l = {NULL, NULL, 0};
	int i;

	(void)state;
	setup_nodes(nodes, N);
	assert_null(gwf_flight_oldest_trial(&l, 8));
	for(i = 0; i < 5; i++)
		gwf_flight_push(&l, &nodes[i]);
	assert_null(gwf_flight_oldest_trial(&l, 8));
	nodes[1].trial = 7; /* a stale token, of an earlier half-open period */
	nodes[2].trial = 8;
	nodes[3].trial = 8;
	nodes[4].trial = 8;
	assert_ptr_equal(gwf_flight_oldest_trial(&l, 8), &nodes[2]);
	assert_ptr_equal(gwf_flight_oldest_trial(&l, 7), &nodes[1]);
	assert_null(gwf_flight_oldest_trial(&l, 0));
	gwf_flight_unlink(&l, &nodes[2]);
	assert_ptr_equal(gwf_flight_oldest_trial(&l, 8), &nodes[3]);
	nodes[3].judged = 1;
	assert_ptr_equal(gwf_flight_oldest_trial(&l, 8), &nodes[4]);
	nodes[4].sent = 0; /* not on the wire yet: not judged */
	assert_null(gwf_flight_oldest_trial(&l, 8));
}

static uint32_t learnt[N];
static int nlearnt;

static void learn(void *arg, uint32_t ms)
{
	(void)arg;
	learnt[nlearnt++] = ms;
}

/* A reply only sets its owner's flag: heard nodes are skipped by every
 * walk and swept off in one batch, their samples learnt. */
static void test_heard_nodes_are_skipped_then_swept(void **state)
{
	gwf_flight_node_t nodes[N];
	gwf_flight_t l = {NULL, NULL, 0};
	gwf_flight_ref_t out[N];

	(void)state;
	setup_listed(nodes, &l);
	nodes[1].trial = nodes[2].trial = 9;
	heard[1] = 1; /* the trial's reply came */
	nodes[1].sample_ms = 120;
	heard[4] = 1; /* no sample: ambiguous (Karn) */
	heard[6] = 1;
	nodes[6].sample_ms = 0;
	assert_ptr_equal(gwf_flight_oldest_trial(&l, 9), &nodes[2]);
	nlearnt = 0;
	assert_int_equal(gwf_flight_unheard(&l), N - 3);
	assert_int_equal(gwf_flight_sweep(&l, learn, NULL), 3);
	assert_int_equal(gwf_flight_unheard(&l), N - 3);
	assert_int_equal(nlearnt, 2);
	assert_int_equal(learnt[0], 120);
	assert_int_equal(learnt[1], 0);
	check_list(&l, nodes, (int[]){0, 2, 3, 5, 7}, 5);
	assert_int_equal(gwf_flight_sweep(&l, learn, NULL), 0);
	/* heard between sweeps: a rescue does not take it */
	heard[3] = 1;
	assert_int_equal(gwf_flight_take(&l, out, N), 4);
	assert_int_equal(out[2].branch, 5);
	check_list(&l, nodes, (int[]){3}, 1);
	nodes[3].heard = NULL; /* an owner that never hears: never swept */
	assert_int_equal(gwf_flight_sweep(&l, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
			cmocka_unit_test(test_push_and_unlink_anywhere),
			cmocka_unit_test(test_take_oldest_first_in_rounds),
			cmocka_unit_test(test_take_only_sent),
			cmocka_unit_test(test_oldest_trial),
			cmocka_unit_test(test_heard_nodes_are_skipped_then_swept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

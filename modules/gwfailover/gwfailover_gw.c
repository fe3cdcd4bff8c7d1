/*
 * gwfailover - the gateway table in shared memory and its lock.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 */

#include "core/dprint.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"

#include "gwfailover_gw.h"

static gwf_gwtab_t *_gwf_gw_table = NULL;
static gen_lock_t *_gwf_gw_lock = NULL;

int gwf_gw_init(unsigned max_gw)
{
	size_t bytes = gwf_gwtab_bytes(max_gw);

	if(bytes == 0) {
		LM_ERR("gateway table for %u gateways is too large\n", max_gw);
		return -1;
	}
	_gwf_gw_table = shm_malloc(bytes);
	if(_gwf_gw_table == NULL) {
		SHM_MEM_ERROR_FMT("gateway table (%zu bytes)\n", bytes);
		return -1;
	}
	memset(_gwf_gw_table, 0, bytes);
	gwf_gwtab_init(_gwf_gw_table, max_gw);

	_gwf_gw_lock = lock_alloc();
	if(_gwf_gw_lock == NULL || lock_init(_gwf_gw_lock) == NULL) {
		SHM_MEM_ERROR_FMT("gateway table lock\n");
		gwf_gw_destroy();
		return -1;
	}
	return 0;
}

void gwf_gw_destroy(void)
{
	if(_gwf_gw_lock != NULL) {
		lock_destroy(_gwf_gw_lock);
		lock_dealloc(_gwf_gw_lock);
		_gwf_gw_lock = NULL;
	}
	if(_gwf_gw_table != NULL) {
		shm_free(_gwf_gw_table);
		_gwf_gw_table = NULL;
	}
}

void gwf_gw_lock(void)
{
	lock_get(_gwf_gw_lock);
}

void gwf_gw_unlock(void)
{
	lock_release(_gwf_gw_lock);
}

gwf_gwtab_t *gwf_gw_table(void)
{
	return _gwf_gw_table;
}

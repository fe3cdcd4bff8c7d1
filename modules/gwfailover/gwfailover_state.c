/*
 * gwfailover - the state file: the ejections and half-open trials of the
 * gateways, kept across a restart.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Who writes: the "gwfailover resume" process (it wakes at least once a
 * second for its dispatcher check), when what the file would say changed,
 * at most once a second; and the main process once at shutdown, after the
 * workers are gone. Never a SIP worker: the write (fsync) may take
 * milliseconds. The gateway table is copied under its lock into a buffer
 * of this process, and written with the lock released.
 *
 * How: the whole file goes to <path>.tmp, is fsync()ed, renamed over
 * <path> (atomic on POSIX file systems), and the directory fsync()ed, so
 * a crash or power loss at any point leaves the old file or the new one,
 * never a mix. The format is in gwf_state.h.
 *
 * Reading, at startup: a missing file is a first start (INFO). A file that
 * cannot be read, is larger than the table could ever write, is not ours,
 * is truncated or corrupt anywhere gives one WARNING naming the problem
 * and a clean start: nothing of it is applied, and Kamailio starts.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/dprint.h"
#include "core/mem/mem.h"

#include "gwf_state.h"
#include "gwfailover.h"
#include "gwfailover_gw.h"
#include "gwfailover_stats.h"
#include "gwfailover_state.h"

#define GWF_STATE_WRITE_MS 1000

static char *_gwf_state_path = NULL; /* NULL: off */
static char *_gwf_state_tmp = NULL;
/* main process: the file was read at startup, so shutdown may write it */
static int _gwf_state_armed = 0;
/* the writing process's own (pkg) */
static char *_gwf_state_buf = NULL;
static size_t _gwf_state_size = 0;
static uint64_t _gwf_state_hash = 0;
static int _gwf_state_written = 0; /* written once at least */
static uint64_t _gwf_state_next_ms = 0;
static int _gwf_state_failing = 0; /* last write failed (logged once) */

typedef struct gwf_state_counts
{
	uint64_t now_wall;
	unsigned rc[4]; /* by gwf_restore_rc_t */
} gwf_state_counts_t;

static uint64_t gwf_wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

const char *gwf_state_path(void)
{
	return _gwf_state_path != NULL ? _gwf_state_path : "";
}

int gwf_state_init(const char *path)
{
	struct stat st;
	char *slash;
	size_t n;

	if(path == NULL || path[0] == '\0')
		return 0;
	n = strlen(path);
	if(path[n - 1] == '/') {
		LM_ERR("modparam 'state_file' (%s) names a directory, not a file\n",
				path);
		return -1;
	}
	/* pkg of the main process: every child inherits the copy */
	_gwf_state_path = pkg_malloc(2 * n + 6);
	if(_gwf_state_path == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	memcpy(_gwf_state_path, path, n + 1);
	_gwf_state_tmp = _gwf_state_path + n + 1;
	memcpy(_gwf_state_tmp, path, n);
	memcpy(_gwf_state_tmp + n, ".tmp", 5);
	/* its directory must exist now: else every write would fail, found
	 * out only when it is too late */
	slash = strrchr(_gwf_state_path, '/');
	if(slash != NULL && slash != _gwf_state_path) {
		*slash = '\0';
		if(stat(_gwf_state_path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			LM_ERR("modparam 'state_file' (%s): directory %s does not"
				   " exist\n",
					path, _gwf_state_path);
			*slash = '/';
			return -1;
		}
		if(access(_gwf_state_path, W_OK | X_OK) < 0)
			LM_WARN("modparam 'state_file' (%s): directory %s is not"
					" writable now (%s): the state cannot be kept\n",
					path, _gwf_state_path, strerror(errno));
		*slash = '/';
	}
	return 0;
}

/* Most a file written by this table can hold, and a margin. */
static size_t gwf_state_max_bytes(void)
{
	return 64 + (size_t)_gwf_cfg.max_gateways * GWF_STATE_LINE_MAX + 64;
}

static void gwf_state_apply(void *arg, const gwf_state_ent_t *e)
{
	gwf_state_counts_t *c = (gwf_state_counts_t *)arg;
	gwf_restore_rc_t rc = gwf_gw_state_restore(e, c->now_wall);

	c->rc[rc]++;
	if(rc == GWF_RESTORE_OK)
		gwf_stat_inc(GWF_ST_STATE_RESTORED);
	else
		LM_INFO("state file %s: gateway %s (set %d) not restored: %s\n",
				_gwf_state_path, e->uri, e->set_id,
				rc == GWF_RESTORE_EXPIRED ? "its ejection has ended"
				: rc == GWF_RESTORE_UNKNOWN
						? "the dispatcher does not have it"
						: "the guard of its set keeps it in");
}

/* Read the whole file into a pkg buffer (*out, *len). 0, 1 (no file), or
 * -1 (logged). */
static int gwf_state_read(char **out, size_t *len)
{
	size_t max = gwf_state_max_bytes(), got = 0;
	struct stat st;
	char *buf;
	ssize_t r;
	int fd;

	/* O_NONBLOCK: a FIFO at that path must not hang the startup */
	fd = open(_gwf_state_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if(fd < 0 && errno == ENOENT)
		return 1;
	if(fd < 0 || fstat(fd, &st) < 0) {
		LM_WARN("state file %s cannot be read (%s): starting clean\n",
				_gwf_state_path, strerror(errno));
		if(fd >= 0)
			close(fd);
		return -1;
	}
	if(!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		LM_WARN("state file %s is %s: starting clean\n", _gwf_state_path,
				!S_ISREG(st.st_mode) ? "not a regular file"
									 : "larger than this gateway table can"
									   " write (max_gateways)");
		close(fd);
		return -1;
	}
	buf = pkg_malloc((size_t)st.st_size + 1);
	if(buf == NULL) {
		PKG_MEM_ERROR;
		close(fd);
		return -1;
	}
	while(got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if(r < 0 && errno == EINTR)
			continue;
		if(r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

void gwf_state_restore(void)
{
	gwf_state_counts_t c;
	unsigned version;
	gwf_err_t err;
	char *data;
	size_t len;
	int rc, n;

	if(_gwf_state_path == NULL)
		return;
	_gwf_state_armed = 1;
	/* left by a writer killed in the middle */
	unlink(_gwf_state_tmp);
	rc = gwf_state_read(&data, &len);
	if(rc == 1) {
		LM_INFO("state file %s does not exist yet: nothing to restore\n",
				_gwf_state_path);
		return;
	}
	if(rc < 0)
		return;
	memset(&c, 0, sizeof(c));
	c.now_wall = gwf_wall_ms();
	n = gwf_state_parse(data, len, gwf_state_apply, &c, &version, &err);
	pkg_free(data);
	if(n < 0) {
		LM_WARN("state file %s ignored, starting clean: %s at byte %zu"
				" ('%s')\n",
				_gwf_state_path, err.msg, err.offset, err.token);
		return;
	}
	if(version > GWF_STATE_VERSION)
		LM_WARN("state file %s was written by a newer gwfailover (format"
				" %u, this one writes %d): read what this version knows\n",
				_gwf_state_path, version, GWF_STATE_VERSION);
	LM_NOTICE("state file %s: %u gateway%s restored, %u ended while"
			  " down, %u no longer in the dispatcher, %u kept in by the"
			  " guard\n",
			_gwf_state_path, c.rc[GWF_RESTORE_OK],
			c.rc[GWF_RESTORE_OK] == 1 ? "" : "s", c.rc[GWF_RESTORE_EXPIRED],
			c.rc[GWF_RESTORE_UNKNOWN], c.rc[GWF_RESTORE_REFUSED]);
}

static int gwf_state_write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while(len > 0) {
		w = write(fd, buf, len);
		if(w < 0 && errno == EINTR)
			continue;
		if(w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write <len> bytes of <buf> as the new file. 0 or -1 (errno set). */
static int gwf_state_replace(const char *buf, size_t len)
{
	char *slash;
	int fd, e;

	fd = open(_gwf_state_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if(fd < 0)
		return -1;
	if(gwf_state_write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(_gwf_state_tmp);
		errno = e;
		return -1;
	}
	if(close(fd) < 0 || rename(_gwf_state_tmp, _gwf_state_path) < 0) {
		e = errno;
		unlink(_gwf_state_tmp);
		errno = e;
		return -1;
	}
	/* the rename itself must survive a power loss too */
	slash = strrchr(_gwf_state_path, '/');
	if(slash != NULL) {
		*slash = '\0';
		fd = open(slash == _gwf_state_path ? "/" : _gwf_state_path,
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*slash = '/';
	} else {
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if(fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}

/* Write the file if <force> or it changed. */
static void gwf_state_write(int force)
{
	uint64_t hash;
	unsigned count;
	size_t len;
	int n;

	if(_gwf_state_buf == NULL) {
		_gwf_state_size = gwf_state_max_bytes();
		_gwf_state_buf = pkg_malloc(_gwf_state_size);
		if(_gwf_state_buf == NULL) {
			PKG_MEM_ERROR_FMT(
					"state file buffer (%zu bytes)\n", _gwf_state_size);
			return;
		}
	}
	len = (size_t)gwf_state_format_header(_gwf_state_buf, _gwf_state_size);
	n = gwf_gw_state_dump(_gwf_state_buf + len, _gwf_state_size - len - 64,
			gwf_wall_ms(), &hash, &count, force ? 500 : -1);
	if(n == -2) {
		LM_WARN("state file %s not written at shutdown: the gateway table"
				" stayed locked (a process ended holding it); the file of"
				" the last second stays\n",
				_gwf_state_path);
		return;
	}
	if(n < 0) {
		LM_CRIT("BUG: state file buffer too small\n");
		return;
	}
	if(!force && _gwf_state_written && hash == _gwf_state_hash
			&& !_gwf_state_failing)
		return;
	len += (size_t)n;
	len += (size_t)gwf_state_format_end(
			count, _gwf_state_buf + len, _gwf_state_size - len);
	if(gwf_state_replace(_gwf_state_buf, len) < 0) {
		if(!_gwf_state_failing)
			LM_ERR("cannot write the state file %s: %s (tried again every"
				   " second)\n",
					_gwf_state_path, strerror(errno));
		_gwf_state_failing = 1;
		return;
	}
	if(_gwf_state_failing)
		LM_NOTICE("state file %s written again\n", _gwf_state_path);
	_gwf_state_failing = 0;
	_gwf_state_written = 1;
	_gwf_state_hash = hash;
	LM_DBG("state file %s: %u gateway%s\n", _gwf_state_path, count,
			count == 1 ? "" : "s");
}

void gwf_state_tick(uint64_t now_ms)
{
	if(_gwf_state_path == NULL || now_ms < _gwf_state_next_ms)
		return;
	_gwf_state_next_ms = now_ms + GWF_STATE_WRITE_MS;
	gwf_state_write(0);
}

void gwf_state_final(void)
{
	if(_gwf_state_path == NULL || !_gwf_state_armed)
		return;
	gwf_state_write(1);
}

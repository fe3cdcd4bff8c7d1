/*
 * gwfailover fuzzing - a strict JSON reader (RFC 8259) for checking what
 * the module writes: the whole text must be one JSON value, in UTF-8 as
 * RFC 3629 defines it (no overlong forms, no surrogates, nothing above
 * U+10FFFF), with no control character unescaped, no lone surrogate
 * escape, and no member name twice in an object. The members of the top
 * object are kept, strings decoded, so that a target can check values.
 *
 * Copyright (C) 2026 gwfailover authors
 *
 * This file is part of gwfailover, a module for Kamailio, licensed under the
 * GNU GPL version 2 or later with the OpenSSL exception.
 *
 * Kamailio-independent; do not include Kamailio headers.
 */

#ifndef GWF_JSON_CHECK_H
#define GWF_JSON_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 32
#define JSON_MAX_TOP 32 /* members of the top object kept */

typedef enum json_kind
{
	JSON_NULL = 0,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
} json_kind_t;

typedef struct json_member
{
	char *name;		  /* decoded, NUL-terminated (malloc) */
	size_t name_len;  /* may hold NUL bytes: the length counts */
	json_kind_t kind; /* of the value */
	char *str;		  /* JSON_STRING: decoded (malloc); else NULL */
	size_t str_len;
	double num;		  /* JSON_NUMBER */
	size_t elems;	  /* JSON_ARRAY: number of elements */
	double first[16]; /* JSON_ARRAY: the first numbers, if numbers */
} json_member_t;

typedef struct json_doc
{
	json_kind_t kind; /* of the top value */
	unsigned n;		  /* members of the top object kept */
	json_member_t m[JSON_MAX_TOP];
	const char *error; /* NULL: valid */
	size_t error_at;
} json_doc_t;

typedef struct json_rd
{
	const unsigned char *s;
	size_t len, pos;
	json_doc_t *doc;
} json_rd_t;

/* Length of the well-formed UTF-8 sequence at <s> (<n> bytes left), or 0
 * if there is none (RFC 3629 table 3.7 of Unicode). */
static inline size_t json_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t k, len;

	if(c < 0x80)
		return 1;
	if(c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if(c >= 0xe0 && c <= 0xef)
		len = 3;
	else if(c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if(n < len)
		return 0;
	if(c == 0xe0)
		lo = 0xa0; /* overlong */
	else if(c == 0xed)
		hi = 0x9f; /* surrogates */
	else if(c == 0xf0)
		lo = 0x90; /* overlong */
	else if(c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if(s[1] < lo || s[1] > hi)
		return 0;
	for(k = 2; k < len; k++)
		if(s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return len;
}

/* Is <s> (<n> bytes) well-formed UTF-8? */
static inline int json_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, k;

	while(i < n) {
		k = json_utf8_seq((const unsigned char *)s + i, n - i);
		if(k == 0)
			return 0;
		i += k;
	}
	return 1;
}

static inline int json_fail(json_rd_t *r, const char *why)
{
	if(r->doc->error == NULL) {
		r->doc->error = why;
		r->doc->error_at = r->pos;
	}
	return -1;
}

static inline void json_ws(json_rd_t *r)
{
	while(r->pos < r->len
			&& (r->s[r->pos] == ' ' || r->s[r->pos] == '\t'
					|| r->s[r->pos] == '\n' || r->s[r->pos] == '\r'))
		r->pos++;
}

static inline int json_hex4(json_rd_t *r, unsigned *v)
{
	unsigned i, c, d;

	*v = 0;
	if(r->len - r->pos < 4)
		return json_fail(r, "short \\u escape");
	for(i = 0; i < 4; i++) {
		c = r->s[r->pos++];
		if(c >= '0' && c <= '9')
			d = c - '0';
		else if(c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if(c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return json_fail(r, "bad hex digit in \\u escape");
		*v = (*v << 4) | d;
	}
	return 0;
}

static inline size_t json_put_utf8(char *o, unsigned cp)
{
	if(cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if(cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if(cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at r->pos (on its '"'). If <out> is not NULL, the decoded
 * bytes go to a malloc'ed buffer there (NUL-terminated, length in
 * <*outlen>). */
static inline int json_string(json_rd_t *r, char **out, size_t *outlen)
{
	char *o = NULL;
	size_t n = 0, k;
	unsigned cp, lo;
	unsigned char c;

	if(out != NULL) {
		/* decoding never makes a string longer */
		o = malloc(r->len - r->pos + 1);
		if(o == NULL)
			abort();
	}
	r->pos++; /* '"' */
	for(;;) {
		if(r->pos >= r->len) {
			free(o);
			return json_fail(r, "unterminated string");
		}
		c = r->s[r->pos];
		if(c == '"') {
			r->pos++;
			break;
		}
		if(c < 0x20) {
			free(o);
			return json_fail(r, "control character in a string");
		}
		if(c != '\\') {
			k = json_utf8_seq(r->s + r->pos, r->len - r->pos);
			if(k == 0) {
				free(o);
				return json_fail(r, "ill-formed UTF-8 in a string");
			}
			if(o != NULL)
				memcpy(o + n, r->s + r->pos, k);
			n += k;
			r->pos += k;
			continue;
		}
		r->pos++;
		if(r->pos >= r->len) {
			free(o);
			return json_fail(r, "unterminated escape");
		}
		c = r->s[r->pos++];
		cp = 0;
		switch(c) {
			case '"':
			case '\\':
			case '/':
				cp = c;
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case 'u':
				if(json_hex4(r, &cp) < 0) {
					free(o);
					return -1;
				}
				if(cp >= 0xdc00 && cp <= 0xdfff) {
					free(o);
					return json_fail(r, "lone low surrogate escape");
				}
				if(cp >= 0xd800 && cp <= 0xdbff) {
					if(r->len - r->pos < 2 || r->s[r->pos] != '\\'
							|| r->s[r->pos + 1] != 'u') {
						free(o);
						return json_fail(r, "lone high surrogate escape");
					}
					r->pos += 2;
					if(json_hex4(r, &lo) < 0) {
						free(o);
						return -1;
					}
					if(lo < 0xdc00 || lo > 0xdfff) {
						free(o);
						return json_fail(r, "bad low surrogate escape");
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				break;
			default:
				free(o);
				return json_fail(r, "unknown escape");
		}
		if(o != NULL)
			n += json_put_utf8(o + n, cp);
		else
			n += 4;
	}
	if(out != NULL) {
		o[n] = '\0';
		*out = o;
		*outlen = n;
	}
	return 0;
}

static inline int json_digits(json_rd_t *r)
{
	size_t b = r->pos;

	while(r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
		r->pos++;
	return r->pos > b ? 0 : json_fail(r, "digit expected");
}

static inline int json_number(json_rd_t *r, double *v)
{
	size_t b = r->pos;
	char buf[64];

	if(r->pos < r->len && r->s[r->pos] == '-')
		r->pos++;
	if(r->pos < r->len && r->s[r->pos] == '0')
		r->pos++; /* no leading zeros */
	else if(json_digits(r) < 0)
		return -1;
	if(r->pos < r->len && r->s[r->pos] == '.') {
		r->pos++;
		if(json_digits(r) < 0)
			return -1;
	}
	if(r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E')) {
		r->pos++;
		if(r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-'))
			r->pos++;
		if(json_digits(r) < 0)
			return -1;
	}
	if(r->pos - b >= sizeof(buf))
		return json_fail(r, "number too long to check");
	memcpy(buf, r->s + b, r->pos - b);
	buf[r->pos - b] = '\0';
	*v = strtod(buf, NULL);
	return 0;
}

static inline int json_literal(json_rd_t *r, const char *lit)
{
	size_t n = strlen(lit);

	if(r->len - r->pos < n || memcmp(r->s + r->pos, lit, n) != 0)
		return json_fail(r, "bad literal");
	r->pos += n;
	return 0;
}

static inline int json_value(
		json_rd_t *r, int depth, json_member_t *keep, json_kind_t *kind);

/* The members of an object are compared by decoded name: none twice. */
typedef struct json_names
{
	char *name;
	size_t len;
	struct json_names *next;
} json_names_t;

static inline void json_names_free(json_names_t *l)
{
	json_names_t *n;

	while(l != NULL) {
		n = l->next;
		free(l->name);
		free(l);
		l = n;
	}
}

static inline int json_object(json_rd_t *r, int depth, int top)
{
	json_names_t *names = NULL, *it;
	json_member_t *keep;
	char *name;
	size_t nlen;
	json_kind_t kind;

	r->pos++; /* '{' */
	json_ws(r);
	if(r->pos < r->len && r->s[r->pos] == '}') {
		r->pos++;
		return 0;
	}
	for(;;) {
		json_ws(r);
		if(r->pos >= r->len || r->s[r->pos] != '"') {
			json_names_free(names);
			return json_fail(r, "member name expected");
		}
		if(json_string(r, &name, &nlen) < 0) {
			json_names_free(names);
			return -1;
		}
		for(it = names; it != NULL; it = it->next) {
			if(it->len == nlen && memcmp(it->name, name, nlen) == 0) {
				free(name);
				json_names_free(names);
				return json_fail(r, "member name twice in an object");
			}
		}
		it = malloc(sizeof(*it));
		if(it == NULL)
			abort();
		it->name = name;
		it->len = nlen;
		it->next = names;
		names = it;
		json_ws(r);
		if(r->pos >= r->len || r->s[r->pos] != ':') {
			json_names_free(names);
			return json_fail(r, "':' expected");
		}
		r->pos++;
		keep = NULL;
		if(top && r->doc->n < JSON_MAX_TOP) {
			keep = &r->doc->m[r->doc->n];
			memset(keep, 0, sizeof(*keep));
		}
		if(json_value(r, depth + 1, keep, &kind) < 0) {
			json_names_free(names);
			return -1;
		}
		if(keep != NULL) {
			keep->name = malloc(nlen + 1);
			if(keep->name == NULL)
				abort();
			memcpy(keep->name, name, nlen + 1);
			keep->name_len = nlen;
			keep->kind = kind;
			r->doc->n++;
		}
		json_ws(r);
		if(r->pos < r->len && r->s[r->pos] == ',') {
			r->pos++;
			continue;
		}
		if(r->pos < r->len && r->s[r->pos] == '}') {
			r->pos++;
			break;
		}
		json_names_free(names);
		return json_fail(r, "',' or '}' expected");
	}
	json_names_free(names);
	return 0;
}

static inline int json_array(json_rd_t *r, int depth, json_member_t *keep)
{
	json_member_t elem;
	json_kind_t kind;
	size_t n = 0;

	r->pos++; /* '[' */
	json_ws(r);
	if(r->pos < r->len && r->s[r->pos] == ']') {
		r->pos++;
		return 0;
	}
	for(;;) {
		memset(&elem, 0, sizeof(elem));
		if(json_value(r, depth + 1, &elem, &kind) < 0)
			return -1;
		free(elem.str);
		if(keep != NULL && kind == JSON_NUMBER && n < 16)
			keep->first[n] = elem.num;
		n++;
		if(keep != NULL)
			keep->elems = n;
		json_ws(r);
		if(r->pos < r->len && r->s[r->pos] == ',') {
			r->pos++;
			continue;
		}
		if(r->pos < r->len && r->s[r->pos] == ']') {
			r->pos++;
			return 0;
		}
		return json_fail(r, "',' or ']' expected");
	}
}

static inline int json_value(
		json_rd_t *r, int depth, json_member_t *keep, json_kind_t *kind)
{
	double num;
	char *str;
	size_t slen;

	if(depth > JSON_MAX_DEPTH)
		return json_fail(r, "nested too deep");
	json_ws(r);
	if(r->pos >= r->len)
		return json_fail(r, "value expected");
	switch(r->s[r->pos]) {
		case '{':
			*kind = JSON_OBJECT;
			return json_object(r, depth, depth == 0);
		case '[':
			*kind = JSON_ARRAY;
			return json_array(r, depth, keep);
		case '"':
			*kind = JSON_STRING;
			if(json_string(r, &str, &slen) < 0)
				return -1;
			if(keep != NULL) {
				keep->str = str;
				keep->str_len = slen;
			} else {
				free(str);
			}
			return 0;
		case 't':
			*kind = JSON_TRUE;
			return json_literal(r, "true");
		case 'f':
			*kind = JSON_FALSE;
			return json_literal(r, "false");
		case 'n':
			*kind = JSON_NULL;
			return json_literal(r, "null");
		default:
			*kind = JSON_NUMBER;
			if(json_number(r, &num) < 0)
				return -1;
			if(keep != NULL)
				keep->num = num;
			return 0;
	}
}

/* Free what json_parse() kept. */
static inline void json_free(json_doc_t *doc)
{
	unsigned i;

	for(i = 0; i < doc->n; i++) {
		free(doc->m[i].name);
		free(doc->m[i].str);
	}
	doc->n = 0;
}

/* Read <s> (<len> bytes) as one JSON text into <doc>. Returns 0 if it is
 * valid, or -1 with doc->error and doc->error_at saying why and where.
 * json_free() it either way. */
static inline int json_parse(const char *s, size_t len, json_doc_t *doc)
{
	json_rd_t r;

	memset(doc, 0, sizeof(*doc));
	r.s = (const unsigned char *)s;
	r.len = len;
	r.pos = 0;
	r.doc = doc;
	if(json_value(&r, 0, NULL, &doc->kind) < 0)
		return -1;
	json_ws(&r);
	if(r.pos != len)
		return json_fail(&r, "bytes after the value");
	return 0;
}

/* The kept member <name> of the top object, or NULL. */
static inline const json_member_t *json_get(
		const json_doc_t *doc, const char *name)
{
	unsigned i;

	for(i = 0; i < doc->n; i++)
		if(doc->m[i].name_len == strlen(name)
				&& memcmp(doc->m[i].name, name, doc->m[i].name_len) == 0)
			return &doc->m[i];
	return NULL;
}

#endif

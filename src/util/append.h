/*
 * util/append.h: appendBinaryStringInfo, inlined.
 *
 * The JSON parser and the row splitter append a few bytes at a time, millions of times a pull;
 * the out-of-line call and its enlarge check cost more than the copy.
 */
#ifndef SLUICE_UTIL_APPEND_H
#define SLUICE_UTIL_APPEND_H

#include "lib/stringinfo.h"

static inline void
append(StringInfo buf, const char *data, int length)
{
	if (buf->len + length >= buf->maxlen)
		enlargeStringInfo(buf, length);
	memcpy(buf->data + buf->len, data, length);
	buf->len += length;
	buf->data[buf->len] = '\0';
}

static inline void
append_char(StringInfo buf, char c)
{
	append(buf, &c, 1);
}

#endif

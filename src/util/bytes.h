/*
 * util/bytes.h: helpers for the loops that see every byte of a pull (the JSON parser, the row
 * splitter).  They append a few bytes at a time, millions of times: the out-of-line call of
 * appendBinaryStringInfo costs more than the copy.
 */
#ifndef SLUICE_UTIL_BYTES_H
#define SLUICE_UTIL_BYTES_H

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

/* A byte that ends a run of plain characters in a JSON string. */
static inline bool
ends_plain_run(char c)
{
	return c == '"' || c == '\\' || (unsigned char) c < 0x20;
}

/*
 * Where the run of bytes from p that holds no quote, backslash or control character ends (at end
 * at most): in a JSON string, its plain characters; in a COPY text row, the bytes before a tab,
 * a newline or an escape.  Eight bytes at a time while none is found.
 */
static inline const char *
plain_run_end(const char *p, const char *end)
{
#define BYTES(b) (0x0101010101010101ULL * (b))
#define ANY_ZERO_BYTE(v) (((v) - BYTES(1)) & ~(v) & BYTES(0x80))
	while (end - p >= 8)
	{
		uint64		x;

		memcpy(&x, p, 8);
		if (ANY_ZERO_BYTE(x ^ BYTES('"')) | ANY_ZERO_BYTE(x ^ BYTES('\\')) |
			((x - BYTES(0x20)) & ~x & BYTES(0x80)))
			break;
		p += 8;
	}
#undef ANY_ZERO_BYTE
#undef BYTES
	while (p < end && !ends_plain_run(*p))
		p++;
	return p;
}

#endif

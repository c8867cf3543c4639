/*
 * json_stream.h: records out of a JSON body, as COPY text, in one pass and without a tree.
 *
 * The body may be fed in pieces of any size: a token cut between two pieces is carried over.
 * Scalars reach COPY as their own text (numbers are never reformatted); an object or array
 * wanted by a column reaches it as its raw JSON text.  Memory is one row's values plus the
 * nesting depth, however large the body.
 */
#ifndef SLUICE_JSON_STREAM_H
#define SLUICE_JSON_STREAM_H

#include "ingest/config.h"
#include "ingest/json_path.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

typedef struct JsonStream JsonStream;

/* What the values of a member were seen to be (bits). */
#define FIELD_NULL		0x01
#define FIELD_BOOLEAN	0x02
#define FIELD_INTEGER	0x04		/* fits a bigint */
#define FIELD_DECIMAL	0x08
#define FIELD_DATE		0x10		/* a string YYYY-MM-DD */
#define FIELD_TIMESTAMP 0x20		/* a string YYYY-MM-DD[T ]hh:mm[:ss[.f]][zone] */
#define FIELD_TEXT		0x40		/* any other string */
#define FIELD_CONTAINER 0x80		/* an object or array */

/* A member of records that no column reads. */
typedef struct FieldSeen
{
	char	   *name;
	int			kinds;			/* FIELD_* bits */
} FieldSeen;

/*
 * records: where the records are (an array of objects, or one object); columns: ColumnSpec,
 * each read at its path inside a record; page_path: a value of the page itself to keep (the
 * next page's URL or cursor), or NULL.  `who` names the definition in errors.
 */
extern JsonStream *json_stream_create(const JsonPath *records, List *columns,
									  const JsonPath *page_path, const char *who);

/* Reads one more column too (a path of $ reads the whole record as JSON text). */
extern void json_stream_add_column(JsonStream *s, ColumnSpec *column);

/* The body is a sequence of records, as in NDJSON, rather than one JSON value. */
extern void json_stream_set_sequence(JsonStream *s, bool sequence);

/* Keeps each record's JSON text too: appended to sink and a newline, its end offset to *ends. */
extern void json_stream_keep_records(JsonStream *s, StringInfo sink, List **ends);

/* Notes the members of records that no column reads (see json_stream_unknown_fields). */
extern void json_stream_track_fields(JsonStream *s, bool track);

/* FieldSeen of the unread members noted since the last json_stream_forget_fields. */
extern List *json_stream_unknown_fields(JsonStream *s);
extern void json_stream_forget_fields(JsonStream *s);

/* Starts a new body; `what` ("the response from <url>") and its content type go in errors. */
extern void json_stream_begin(JsonStream *s, const char *what, const char *content_type);

/*
 * Parses the next piece of the body, appending a COPY row to out for each record it ends;
 * returns the bytes read: all of them, or fewer when max_records (if > 0) records have ended.
 */
extern size_t json_stream_feed(JsonStream *s, const char *data, size_t length, StringInfo out,
							   int64 max_records);

/* Ends the body: errors if it is incomplete or has no records path. */
extern void json_stream_end(JsonStream *s);

/* Records in the body so far. */
extern int64 json_stream_records(JsonStream *s);

/* The text of the value at page_path (a string or a number), or NULL. */
extern const char *json_stream_page_value(JsonStream *s);

#endif

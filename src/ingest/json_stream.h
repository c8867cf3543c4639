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

#include "ingest/json_path.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

typedef struct JsonStream JsonStream;

/*
 * records: where the records are (an array of objects, or one object); columns: ColumnSpec,
 * each read at its path inside a record; page_path: a value of the page itself to keep (the
 * next page's URL or cursor), or NULL.  `who` names the definition in errors.
 */
extern JsonStream *json_stream_create(const JsonPath *records, List *columns,
									  const JsonPath *page_path, const char *who);

/* Starts a new body; `what` ("the response from <url>") and its content type go in errors. */
extern void json_stream_begin(JsonStream *s, const char *what, const char *content_type);

/* Parses the next piece of the body, appending a COPY row to out for each record it ends. */
extern void json_stream_feed(JsonStream *s, const char *data, size_t length, StringInfo out);

/* Ends the body: errors if it is incomplete or has no records path. */
extern void json_stream_end(JsonStream *s);

/* Records in the body so far. */
extern int64 json_stream_records(JsonStream *s);

/* The text of the value at page_path (a string or a number), or NULL. */
extern const char *json_stream_page_value(JsonStream *s);

#endif

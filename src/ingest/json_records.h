/*
 * json_records.h: JSON bodies (jansson), record paths and conversion of values to COPY text.
 */
#ifndef SLUICE_JSON_RECORDS_H
#define SLUICE_JSON_RECORDS_H

#include <jansson.h>

#include "lib/stringinfo.h"

/* A path such as $, $.data, $.user.login, $.items[0] or $["odd key"]. */
typedef struct JsonPathStep
{
	const char *key;			/* NULL for an array index */
	size_t		index;
} JsonPathStep;

typedef struct JsonPath
{
	const char *text;
	int			nsteps;
	JsonPathStep *steps;
} JsonPath;

/* Parses a path; `who` names the definition in the error raised for bad syntax. */
extern JsonPath *json_path_parse(const char *text, const char *who);

/* A path that reads one member of the record: $.name. */
extern JsonPath *json_path_member(const char *name);

/* The value at path, or NULL where the path leads nowhere. */
extern json_t *json_path_get(json_t *root, const JsonPath *path);

/*
 * Parses a JSON text.  The result is released when the current memory context is reset or
 * deleted.  `who` and `what` ("response from <url>") name it in the error raised for invalid
 * JSON; content_type, when known, is reported with it.
 */
extern json_t *json_parse_body(const char *body, size_t length, const char *who,
							   const char *what, const char *content_type);

/* Appends a JSON value in COPY text format: \N for null or absent, strings unquoted, escaped. */
extern void json_append_copy_value(StringInfo out, json_t *value);

#endif

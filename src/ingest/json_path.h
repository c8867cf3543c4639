/*
 * json_path.h: paths to values in JSON documents, as sources name them in their config.
 */
#ifndef SLUICE_JSON_PATH_H
#define SLUICE_JSON_PATH_H

/* A path such as $, $.data, $.user.login, $.items[0] or $["odd key"]. */
typedef struct JsonPathStep
{
	const char *key;			/* NULL for an array index */
	int			key_length;
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

#endif

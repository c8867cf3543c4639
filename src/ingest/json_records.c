/*
 * json_records.c: JSON paths and value conversion for loading records through COPY.
 */
#include "postgres.h"

#include <math.h>

#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "ingest/json_records.h"

static void
bad_path(const char *text, const char *who, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: invalid JSON path \"%s\": %s", who, text, why),
			 errhint("Paths look like $, $.data, $.user.login, $.items[0] or $[\"odd key\"].")));
}

JsonPath *
json_path_parse(const char *text, const char *who)
{
	JsonPath   *path = palloc0(sizeof(JsonPath));
	const char *p = text;
	List	   *steps = NIL;
	ListCell   *lc;
	int			i = 0;

	path->text = pstrdup(text);
	if (*p++ != '$')
		bad_path(text, who, "it must start with $");
	while (*p)
	{
		JsonPathStep *step = palloc0(sizeof(JsonPathStep));

		if (*p == '.')
		{
			const char *start = ++p;

			while (*p && *p != '.' && *p != '[')
				p++;
			if (p == start)
				bad_path(text, who, "empty member name");
			step->key = pnstrdup(start, p - start);
		}
		else if (p[0] == '[' && p[1] == '"')
		{
			StringInfoData key;

			initStringInfo(&key);
			for (p += 2; *p && *p != '"'; p++)
			{
				if (*p == '\\' && p[1])
					p++;
				appendStringInfoChar(&key, *p);
			}
			if (p[0] != '"' || p[1] != ']')
				bad_path(text, who, "unterminated [\"...\"]");
			p += 2;
			step->key = key.data;
		}
		else if (*p == '[')
		{
			char	   *end;
			long		index = strtol(p + 1, &end, 10);

			if (end == p + 1 || *end != ']' || index < 0)
				bad_path(text, who, "an index must be a whole number in [ ]");
			step->index = (size_t) index;
			p = end + 1;
		}
		else
			bad_path(text, who, "expected . or [ after a step");
		steps = lappend(steps, step);
	}
	path->nsteps = list_length(steps);
	path->steps = palloc(sizeof(JsonPathStep) * Max(path->nsteps, 1));
	foreach(lc, steps)
		path->steps[i++] = *(JsonPathStep *) lfirst(lc);
	return path;
}

JsonPath *
json_path_member(const char *name)
{
	JsonPath   *path = palloc0(sizeof(JsonPath));

	path->text = psprintf("$.%s", name);
	path->nsteps = 1;
	path->steps = palloc0(sizeof(JsonPathStep));
	path->steps[0].key = pstrdup(name);
	return path;
}

json_t *
json_path_get(json_t *root, const JsonPath *path)
{
	json_t	   *v = root;

	for (int i = 0; i < path->nsteps && v != NULL; i++)
	{
		const JsonPathStep *step = &path->steps[i];

		if (step->key)
			v = json_is_object(v) ? json_object_get(v, step->key) : NULL;
		else
			v = json_is_array(v) ? json_array_get(v, step->index) : NULL;
	}
	return v;
}

static void
release_json(void *arg)
{
	json_decref((json_t *) arg);
}

json_t *
json_parse_body(const char *body, size_t length, const char *who, const char *what,
				const char *content_type)
{
	json_error_t error;
	json_t	   *root = json_loadb(body, length, 0, &error);
	MemoryContextCallback *cb;

	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("%s: %s is not valid JSON", who, what),
				 errdetail("%s at line %d, column %d (content type %s, %zu bytes).",
						   error.text, error.line, error.column,
						   content_type ? content_type : "not given", length)));
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = release_json;
	cb->arg = root;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return root;
}

/* Appends s with COPY's text escapes; plain runs are copied whole. */
static void
append_copy_escaped(StringInfo out, const char *s, size_t length)
{
	size_t		run_start = 0;

	for (size_t i = 0; i < length; i++)
	{
		const char *escape;

		switch (s[i])
		{
			case '\\':
				escape = "\\\\";
				break;
			case '\n':
				escape = "\\n";
				break;
			case '\r':
				escape = "\\r";
				break;
			case '\t':
				escape = "\\t";
				break;
			default:
				continue;
		}
		appendBinaryStringInfo(out, s + run_start, i - run_start);
		appendBinaryStringInfo(out, escape, 2);
		run_start = i + 1;
	}
	appendBinaryStringInfo(out, s + run_start, length - run_start);
}

/* The shortest decimal text that reads back as the same double, as float8out would print. */
static void
append_real(StringInfo out, double value)
{
	char		buf[64];

	if (!isfinite(value))
	{
		appendStringInfoString(out, "\\N");
		return;
	}
	for (int precision = 15; precision <= 17; precision++)
	{
		snprintf(buf, sizeof(buf), "%.*g", precision, value);
		if (strtod(buf, NULL) == value)
			break;
	}
	appendStringInfoString(out, buf);
}

void
json_append_copy_value(StringInfo out, json_t *value)
{
	char	   *dumped;

	switch (value ? json_typeof(value) : JSON_NULL)
	{
		case JSON_NULL:
			appendBinaryStringInfo(out, "\\N", 2);
			break;
		case JSON_STRING:
			append_copy_escaped(out, json_string_value(value), json_string_length(value));
			break;
		case JSON_INTEGER:
			appendStringInfo(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
			break;
		case JSON_REAL:
			append_real(out, json_real_value(value));
			break;
		case JSON_TRUE:
			appendBinaryStringInfo(out, "true", 4);
			break;
		case JSON_FALSE:
			appendBinaryStringInfo(out, "false", 5);
			break;
		case JSON_OBJECT:
		case JSON_ARRAY:
			dumped = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
			if (dumped == NULL)
				ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
			append_copy_escaped(out, dumped, strlen(dumped));
			free(dumped);
			break;
	}
}

/*
 * json_path.c: parsing the JSON paths of source configs.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "ingest/json_path.h"

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
	{
		JsonPathStep *step = &path->steps[i++];

		*step = *(JsonPathStep *) lfirst(lc);
		step->key_length = step->key ? strlen(step->key) : 0;
	}
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
	path->steps[0].key_length = strlen(name);
	return path;
}

/*
 * config.c: parsing and validating source configuration.
 */
#include "postgres.h"

#include "commands/copy.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "util/builtins.h"
#include "utils/jsonb.h"

#include <jansson.h>

#include "ingest/config.h"
#include "ingest/http.h"

PG_FUNCTION_INFO_V1(sluice_check_source_config);

typedef struct ConfigReader
{
	const char *source;
	const char *who;			/* 'source "name"' */
} ConfigReader;

static void
release_json(void *arg)
{
	json_decref((json_t *) arg);
}

/* The config as a jansson tree, released with the current memory context. */
static json_t *
parse_config_json(ConfigReader *r, const char *config_json)
{
	json_error_t error;
	json_t	   *root = json_loads(config_json, 0, &error);
	MemoryContextCallback *cb;

	if (root == NULL)
		elog(ERROR, "%s: stored config is not JSON: %s", r->who, error.text);
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = release_json;
	cb->arg = root;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return root;
}

static void
config_error(ConfigReader *r, const char *message, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: %s", r->who, message),
			 hint ? errhint("%s", hint) : 0));
}

static void
only_keys(ConfigReader *r, json_t *object, const char *where, const char *const *allowed)
{
	const char *key;
	json_t	   *value;

	json_object_foreach(object, key, value)
	{
		bool		known = false;
		StringInfoData list;

		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (known)
			continue;
		initStringInfo(&list);
		for (const char *const *a = allowed; *a; a++)
			appendStringInfo(&list, "%s%s", list.len ? ", " : "", *a);
		config_error(r, psprintf("unknown key \"%s\" in %s", key, where),
					 psprintf("Known keys: %s.", list.data));
	}
}

static char *
string_member(ConfigReader *r, json_t *object, const char *key, const char *where, bool required)
{
	json_t	   *v = json_object_get(object, key);

	if (v == NULL || json_is_null(v))
	{
		if (required)
			config_error(r, psprintf("%s needs \"%s\"", where, key), NULL);
		return NULL;
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		config_error(r, psprintf("\"%s\" in %s must be a non-empty string", key, where), NULL);
	return pstrdup(json_string_value(v));
}

static long
integer_member(ConfigReader *r, json_t *object, const char *key, const char *where, long dflt,
			   long min)
{
	json_t	   *v = json_object_get(object, key);

	if (v == NULL)
		return dflt;
	if (!json_is_integer(v) || json_integer_value(v) < min)
		config_error(r, psprintf("\"%s\" in %s must be a whole number of at least %ld",
								 key, where, min), NULL);
	return (long) json_integer_value(v);
}

static List *
parse_columns(ConfigReader *r, json_t *columns)
{
	static const char *const keys[] = {"name", "type", "path", NULL};
	List	   *result = NIL;
	size_t		i;
	json_t	   *c;

	if (!json_is_array(columns) || json_array_size(columns) == 0)
		config_error(r, "\"columns\" must be a non-empty array",
					 "For example: [{\"name\": \"id\", \"type\": \"bigint\"}, "
					 "{\"name\": \"login\", \"type\": \"text\", \"path\": \"$.user.login\"}].");
	json_array_foreach(columns, i, c)
	{
		ColumnSpec *spec = palloc0(sizeof(ColumnSpec));
		char	   *where = psprintf("column %zu", i + 1);
		char	   *type;
		char	   *path;
		Oid			typid;
		int32		typmod;

		if (!json_is_object(c))
			config_error(r, psprintf("%s must be an object with \"name\" and \"type\"", where), NULL);
		only_keys(r, c, where, keys);
		spec->name = string_member(r, c, "name", where, true);
		type = string_member(r, c, "type", where, true);
		parseTypeString(type, &typid, &typmod, true);
		if (!OidIsValid(typid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("%s: column \"%s\" has unknown type \"%s\"", r->who, spec->name, type)));
		spec->type_sql = format_type_with_typemod(typid, typmod);
		path = string_member(r, c, "path", where, false);
		spec->path = path ? json_path_parse(path, r->who) : json_path_member(spec->name);
		result = lappend(result, spec);
	}
	return result;
}

static void
parse_pagination(ConfigReader *r, json_t *p, SourceConfig *cfg)
{
	static const char *const keys[] = {"type", "param", "start", "page_size_param", "page_size",
	"max_pages", "path", NULL};
	char	   *type;

	cfg->pagination = PAGINATE_NONE;
	cfg->max_pages = 1000;
	if (p == NULL)
		return;
	if (!json_is_object(p))
		config_error(r, "\"pagination\" must be an object",
					 "For example: {\"type\": \"page_number\", \"param\": \"page\"}.");
	only_keys(r, p, "pagination", keys);
	type = string_member(r, p, "type", "pagination", true);
	if (strcmp(type, "none") == 0)
		cfg->pagination = PAGINATE_NONE;
	else if (strcmp(type, "page_number") == 0)
		cfg->pagination = PAGINATE_PAGE_NUMBER;
	else if (strcmp(type, "offset") == 0)
		cfg->pagination = PAGINATE_OFFSET;
	else if (strcmp(type, "cursor") == 0)
		cfg->pagination = PAGINATE_CURSOR;
	else if (strcmp(type, "next_url") == 0)
		cfg->pagination = PAGINATE_NEXT_URL;
	else if (strcmp(type, "link_header") == 0)
		cfg->pagination = PAGINATE_LINK_HEADER;
	else
		config_error(r, psprintf("unknown pagination type \"%s\"", type),
					 "Known types: none, page_number, offset, cursor, next_url, link_header.");
	cfg->page_param = string_member(r, p, "param", "pagination", false);
	if (cfg->page_param == NULL)
		cfg->page_param = cfg->pagination == PAGINATE_OFFSET ? "offset" :
			cfg->pagination == PAGINATE_CURSOR ? "cursor" : "page";
	cfg->page_start = integer_member(r, p, "start", "pagination",
									 cfg->pagination == PAGINATE_OFFSET ? 0 : 1, 0);
	cfg->page_size_param = string_member(r, p, "page_size_param", "pagination", false);
	cfg->page_size = integer_member(r, p, "page_size", "pagination", 0, 1);
	if ((cfg->page_size_param == NULL) != (cfg->page_size == 0))
		config_error(r, "pagination needs both \"page_size_param\" and \"page_size\", or neither", NULL);
	if (cfg->pagination == PAGINATE_OFFSET && cfg->page_size == 0)
		config_error(r, "offset pagination needs \"page_size\" and \"page_size_param\"",
					 "For example: {\"type\": \"offset\", \"page_size_param\": \"limit\", \"page_size\": 100}.");
	cfg->max_pages = integer_member(r, p, "max_pages", "pagination", 1000, 1);
	if (cfg->pagination == PAGINATE_NEXT_URL || cfg->pagination == PAGINATE_CURSOR)
	{
		char	   *path = string_member(r, p, "path", "pagination", false);

		cfg->next_path = json_path_parse(path ? path :
										 cfg->pagination == PAGINATE_CURSOR ? "$.next_cursor" : "$.next",
										 r->who);
	}
}

static HeaderSpec *
header_from_value(ConfigReader *r, const char *what, const char *name, json_t *v)
{
	HeaderSpec *h = palloc0(sizeof(HeaderSpec));

	h->kind = HEADER_PLAIN;
	h->name = pstrdup(name);
	if (json_is_string(v))
		h->value = pstrdup(json_string_value(v));
	else if (json_is_object(v) && json_object_size(v) == 1 && json_is_string(json_object_get(v, "secret")))
		h->secret = pstrdup(json_string_value(json_object_get(v, "secret")));
	else
		config_error(r, psprintf("%s \"%s\" must be a string or {\"secret\": \"name\"}", what, name),
					 NULL);
	return h;
}

static List *
parse_pairs(ConfigReader *r, json_t *pairs, const char *key, const char *what)
{
	const char *name;
	json_t	   *v;
	List	   *result = NIL;

	if (pairs == NULL)
		return NIL;
	if (!json_is_object(pairs))
		config_error(r, psprintf("\"%s\" must be an object of names and values", key), NULL);
	json_object_foreach(pairs, name, v)
		result = lappend(result, header_from_value(r, what, name, v));
	return result;
}

/* An API key goes in a header or a query parameter; other kinds of auth are headers. */
static void
parse_auth(ConfigReader *r, json_t *a, SourceConfig *cfg)
{
	static const char *const keys[] = {"type", "secret", "username", "header", "param", NULL};
	HeaderSpec *h = palloc0(sizeof(HeaderSpec));
	char	   *type;

	if (!json_is_object(a))
		config_error(r, "\"auth\" must be an object",
					 "For example: {\"type\": \"bearer\", \"secret\": \"api_token\"}.");
	only_keys(r, a, "auth", keys);
	type = string_member(r, a, "type", "auth", true);
	h->secret = string_member(r, a, "secret", "auth", true);
	h->name = "Authorization";
	if (strcmp(type, "bearer") == 0)
		h->kind = HEADER_BEARER;
	else if (strcmp(type, "basic") == 0)
	{
		h->kind = HEADER_BASIC;
		h->username = string_member(r, a, "username", "auth", true);
	}
	else if (strcmp(type, "api_key") == 0)
	{
		char	   *param = string_member(r, a, "param", "auth", false);

		h->kind = HEADER_PLAIN;
		h->name = param ? param : string_member(r, a, "header", "auth", false);
		if (h->name == NULL || (param && json_object_get(a, "header")))
			config_error(r, "an api_key auth needs either \"header\" or \"param\"",
						 "For example: {\"type\": \"api_key\", \"header\": \"X-Api-Key\", \"secret\": \"key\"}.");
		if (param)
		{
			cfg->params = lappend(cfg->params, h);
			return;
		}
	}
	else
		config_error(r, psprintf("unknown auth type \"%s\"", type),
					 "Known types: bearer, basic, api_key.");
	cfg->headers = lappend(cfg->headers, h);
}

static void
parse_retry(ConfigReader *r, json_t *retry, SourceConfig *cfg)
{
	static const char *const keys[] = {"max_attempts", "initial_delay_ms", "max_delay_ms", NULL};

	cfg->retry_max_attempts = 4;
	cfg->retry_initial_delay_ms = 500;
	cfg->retry_max_delay_ms = 30000;
	if (retry == NULL)
		return;
	if (!json_is_object(retry))
		config_error(r, "\"retry\" must be an object",
					 "For example: {\"max_attempts\": 5, \"initial_delay_ms\": 500}.");
	only_keys(r, retry, "retry", keys);
	cfg->retry_max_attempts = (int) integer_member(r, retry, "max_attempts", "retry",
												   cfg->retry_max_attempts, 1);
	cfg->retry_initial_delay_ms = (int) integer_member(r, retry, "initial_delay_ms", "retry",
													   cfg->retry_initial_delay_ms, 0);
	cfg->retry_max_delay_ms = (int) integer_member(r, retry, "max_delay_ms", "retry",
												   cfg->retry_max_delay_ms, 0);
}

/* COPY's options for a CSV source, checked by COPY itself. */
static List *
parse_csv(ConfigReader *r, json_t *csv)
{
	static const char *const keys[] = {"header", "delimiter", "quote", "escape", "null",
	"encoding", NULL};
	List	   *options = list_make1(makeDefElem("format", (Node *) makeString("csv"), -1));
	json_t	   *header = csv ? json_object_get(csv, "header") : NULL;
	const char *header_value = "true";

	if (csv && !json_is_object(csv))
		config_error(r, "\"csv\" must be an object",
					 "For example: {\"header\": true, \"delimiter\": \";\"}.");
	if (csv)
		only_keys(r, csv, "csv", keys);
	if (header && json_is_string(header) && strcmp(json_string_value(header), "match") == 0)
		header_value = "match";
	else if (header && json_is_boolean(header))
		header_value = json_is_true(header) ? "true" : "false";
	else if (header)
		config_error(r, "\"header\" in csv must be true, false or \"match\"", NULL);
	options = lappend(options, makeDefElem("header", (Node *) makeString(pstrdup(header_value)), -1));
	for (const char *const *k = keys + 1; *k; k++)
	{
		json_t	   *v = json_object_get(csv, *k);

		if (v == NULL)
			continue;
		if (!json_is_string(v))
			config_error(r, psprintf("\"%s\" in csv must be a string", *k), NULL);
		options = lappend(options, makeDefElem(pstrdup(*k),
											   (Node *) makeString(pstrdup(json_string_value(v))), -1));
	}
	if (json_object_get(csv, "encoding") == NULL)
		options = lappend(options, makeDefElem("encoding", (Node *) makeString("UTF8"), -1));
	PG_TRY();
	{
		ProcessCopyOptions(NULL, NULL, true, options);
	}
	PG_CATCH();
	{
		ErrorData  *e = CopyErrorData();

		FlushErrorState();
		config_error(r, psprintf("bad csv options: %s", e->message), NULL);
	}
	PG_END_TRY();
	return options;
}

SourceConfig *
source_config_parse(const char *source, const char *kind, const char *config_json)
{
	static const char *const json_keys[] = {"url", "method", "params", "body", "records_path",
		"columns", "pagination", "headers", "auth", "retry", "format", "cursor_param", NULL};
	static const char *const csv_keys[] = {"url", "method", "params", "body", "columns",
	"pagination", "headers", "auth", "retry", "csv", "cursor_param", NULL};
	ConfigReader r = {source, psprintf("source \"%s\"", source)};
	SourceConfig *cfg = palloc0(sizeof(SourceConfig));
	json_t	   *root = parse_config_json(&r, config_json);
	char	   *records_path;
	char	   *format;

	if (!json_is_object(root))
		config_error(&r, "config must be a JSON object",
					 "For example: {\"url\": \"https://api.example.com/orders\"}.");
	cfg->csv = strcmp(kind, "http_csv") == 0;
	only_keys(&r, root, "config", cfg->csv ? csv_keys : json_keys);

	cfg->url = string_member(&r, root, "url", "config", true);
	http_check_url(r.who, cfg->url);
	records_path = string_member(&r, root, "records_path", "config", false);
	cfg->records_path = json_path_parse(records_path ? records_path : "$", r.who);
	format = string_member(&r, root, "format", "config", false);
	if (format && strcmp(format, "ndjson") == 0)
		cfg->ndjson = true;
	else if (format && strcmp(format, "json") != 0)
		config_error(&r, psprintf("unknown format \"%s\"", format), "Known formats: json, ndjson.");
	if (cfg->ndjson && cfg->records_path->nsteps > 0)
		config_error(&r, "an ndjson body has its records at the top level",
					 "Leave out \"records_path\".");
	if (cfg->csv)
		cfg->copy_options = parse_csv(&r, json_object_get(root, "csv"));
	cfg->cursor_param = string_member(&r, root, "cursor_param", "config", false);
	if (json_object_get(root, "columns"))
		cfg->columns = parse_columns(&r, json_object_get(root, "columns"));
	parse_pagination(&r, json_object_get(root, "pagination"), cfg);

	cfg->method = string_member(&r, root, "method", "config", false);
	if (cfg->method == NULL)
		cfg->method = "GET";
	if (strcmp(cfg->method, "GET") != 0 && strcmp(cfg->method, "POST") != 0)
		config_error(&r, psprintf("unknown method \"%s\"", cfg->method), "Use GET or POST.");
	if (json_object_get(root, "body"))
	{
		char	   *body;

		if (strcmp(cfg->method, "POST") != 0)
			config_error(&r, "a \"body\" needs \"method\": \"POST\"", NULL);
		body = json_dumps(json_object_get(root, "body"), JSON_COMPACT | JSON_ENCODE_ANY);
		if (body == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		cfg->body = pstrdup(body);
		free(body);
	}
	cfg->params = parse_pairs(&r, json_object_get(root, "params"), "params", "param");
	cfg->headers = parse_pairs(&r, json_object_get(root, "headers"), "headers", "header");
	if (json_object_get(root, "auth"))
		parse_auth(&r, json_object_get(root, "auth"), cfg);
	parse_retry(&r, json_object_get(root, "retry"), cfg);
	return cfg;
}

/* SQL: sluice._check_source_config(name, kind, config): raises the first problem found. */
Datum
sluice_check_source_config(PG_FUNCTION_ARGS)
{
	char	   *name = PG_ARGISNULL(0) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Jsonb	   *config;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("source \"%s\" needs a config", name)));
	config = PG_GETARG_JSONB_P(2);
	(void) source_config_parse(name, text_to_cstring(PG_GETARG_TEXT_PP(1)),
							   JsonbToCString(NULL, &config->root, VARSIZE(config)));
	PG_RETURN_VOID();
}

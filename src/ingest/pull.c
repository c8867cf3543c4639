/*
 * pull.c: sluice.pull(name): fetch a source's pages and load their records into its target
 * table, in the caller's transaction, as the source's owner.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "common/base64.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "util/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "ingest/config.h"
#include "ingest/http.h"
#include "ingest/json_stream.h"
#include "ingest/load.h"
#include "ingest/progress.h"
#include "util/redact.h"
#include "util/role.h"

PG_FUNCTION_INFO_V1(sluice_pull);

typedef struct Pull
{
	SourceDef  *source;
	SourceConfig *config;
	const char *who;			/* 'source "name"' */
	char	   *target;			/* quoted qualified name */
	HttpClient *http;
	List	   *secrets;		/* values to keep out of messages */
	List	   *params;			/* HeaderSpec with the values resolved */
	List	   *columns;		/* ColumnSpec of the columns loaded */
	JsonStream *stream;			/* turns each page's records into COPY rows */
	MemoryContext pull_context; /* lives as long as the pull */
	MemoryContext page_context; /* reset for every page */
	char	   *next_url;		/* NULL when no page is left */
	char	   *cursor;			/* cursor pagination: the token for the next page */
	long		pages;
	int64		records;
	int64		bytes;
	char	   *last_url;		/* as it may be shown */
	uint64		rows;
} Pull;

static char *
basic_credentials(const char *username, const char *password)
{
	char	   *plain = psprintf("%s:%s", username, password);
	int			len = strlen(plain);
	int			enc_len = pg_b64_enc_len(len);
	char	   *encoded = palloc(enc_len + 1);
	int			n = pg_b64_encode(plain, len, encoded, enc_len);

	explicit_bzero(plain, len);
	if (n < 0)
		elog(ERROR, "could not encode credentials");
	encoded[n] = '\0';
	return encoded;
}

/* The value of a header or parameter; a secret's value is remembered, to be kept out of sight. */
static char *
resolved_value(Pull *p, HeaderSpec *h)
{
	char	   *value;

	if (h->secret == NULL)
		return h->value;
	value = secret_value_for(h->secret, p->source->owner, "source", p->source->name);
	p->secrets = lappend(p->secrets, value);
	http_client_add_secret(p->http, value);
	return value;
}

/* Sets up the client's request: method, body, headers with their secrets filled in. */
static void
prepare_requests(Pull *p)
{
	ListCell   *lc;

	if (strcmp(p->config->method, "POST") == 0)
		http_client_set_json_body(p->http, p->config->body ? p->config->body : "");
	foreach(lc, p->config->headers)
	{
		HeaderSpec *h = lfirst(lc);
		char	   *value = resolved_value(p, h);

		if (h->kind == HEADER_BEARER)
			value = psprintf("Bearer %s", value);
		else if (h->kind == HEADER_BASIC)
		{
			value = basic_credentials(h->username, value);
			p->secrets = lappend(p->secrets, value);
			http_client_add_secret(p->http, value);
			value = psprintf("Basic %s", value);
		}
		http_client_add_header(p->http, h->name, value);
	}
	foreach(lc, p->config->params)
	{
		HeaderSpec *param = lfirst(lc);
		HeaderSpec *resolved = palloc(sizeof(HeaderSpec));

		*resolved = *param;
		resolved->value = resolved_value(p, param);
		p->params = lappend(p->params, resolved);
	}
}

/* The URL of the next page, with the configured query parameters. */
static char *
page_url(Pull *p)
{
	SourceConfig *cfg = p->config;
	char	   *url = p->next_url;
	ListCell   *lc;

	if (cfg->pagination == PAGINATE_PAGE_NUMBER || cfg->pagination == PAGINATE_OFFSET)
	{
		long		position = cfg->pagination == PAGINATE_PAGE_NUMBER
			? cfg->page_start + p->pages : cfg->page_start + p->pages * cfg->page_size;

		url = http_url_with_param(cfg->url, cfg->page_param, psprintf("%ld", position), false);
	}
	else if (cfg->pagination == PAGINATE_CURSOR && p->cursor)
		url = http_url_with_param(cfg->url, cfg->page_param, p->cursor, false);
	if (cfg->page_size_param)
		url = http_url_with_param(url, cfg->page_size_param, psprintf("%ld", cfg->page_size), true);
	/* A next-page URL from the server may carry them already. */
	foreach(lc, p->params)
	{
		HeaderSpec *param = lfirst(lc);

		url = http_url_with_param(url, param->name, param->value, true);
	}
	return url;
}

static void
fail_on_status(Pull *p, const HttpResponse *r)
{
	const char *hint = NULL;

	if (r->status < 300)
		return;
	if (r->status == 401 || r->status == 403)
		hint = "Check the source's auth and the secret it uses.";
	else if (r->status == 404)
		hint = "Check the source's url.";
	else if (r->status == 429 || r->status >= 500)
		hint = "The server may be overloaded or failing; pull again later.";
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 r->attempts > 1
			 ? errmsg("%s: %s answered HTTP %ld after %d attempts", p->who, p->last_url,
					  r->status, r->attempts)
			 : errmsg("%s: %s answered HTTP %ld", p->who, p->last_url, r->status),
			 errdetail("Response body: %s",
					   redact_secrets(pnstrdup(r->body, Min(r->length, 500)), p->secrets)),
			 hint ? errhint("%s", hint) : 0));
}

/* The COPY producer: fetches the next page and turns its records into COPY rows. */
static bool
produce_page(void *arg, StringInfo out)
{
	Pull	   *p = arg;
	SourceConfig *cfg = p->config;
	MemoryContext outer;		/* COPY's, short-lived */
	HttpResponse response;
	const char *next;
	int64		count;
	char	   *url;

	if (p->next_url == NULL || p->pages >= cfg->max_pages)
		return false;
	CHECK_FOR_INTERRUPTS();

	url = page_url(p);
	MemoryContextReset(p->page_context);
	outer = MemoryContextSwitchTo(p->page_context);

	p->last_url = MemoryContextStrdup(p->pull_context, http_client_shown_url(p->http, url));
	progress_update(p->pages, p->records, p->bytes, p->last_url);
	http_get(p->http, url, &response);
	fail_on_status(p, &response);

	json_stream_begin(p->stream, psprintf("the response from %s", p->last_url),
					  response.content_type);
	json_stream_feed(p->stream, response.body, response.length, out);
	json_stream_end(p->stream);
	count = json_stream_records(p->stream);
	next = json_stream_page_value(p->stream);

	p->pages++;
	p->records += count;
	p->bytes += response.length;
	progress_update(p->pages, p->records, p->bytes, NULL);

	/* Where the next page is, if anywhere: nowhere after an empty page, whatever the style. */
	if (count == 0)
		p->next_url = NULL;
	else
		switch (cfg->pagination)
		{
			case PAGINATE_NONE:
				p->next_url = NULL;
				break;
			case PAGINATE_PAGE_NUMBER:
				break;
			case PAGINATE_OFFSET:
				/* A short page is the last one. */
				if (count < cfg->page_size)
					p->next_url = NULL;
				break;
			case PAGINATE_CURSOR:
				if (next && next[0])
					p->cursor = MemoryContextStrdup(p->pull_context, next);
				else
					p->next_url = NULL;
				break;
			case PAGINATE_NEXT_URL:
				p->next_url = next && next[0] ? MemoryContextStrdup(p->pull_context, next) : NULL;
				break;
			case PAGINATE_LINK_HEADER:
				p->next_url = response.link_next
					? MemoryContextStrdup(p->pull_context, response.link_next) : NULL;
				break;
		}
	MemoryContextSwitchTo(outer);
	return true;
}

/* The target's columns, where the config declares none: each read from the member of its name. */
static List *
table_columns(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *columns = NIL;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ColumnSpec *col;

		if (att->attisdropped || att->attgenerated)
			continue;
		col = palloc0(sizeof(ColumnSpec));
		col->name = pstrdup(NameStr(att->attname));
		col->path = json_path_member(col->name);
		columns = lappend(columns, col);
	}
	return columns;
}

static void
create_target(Pull *p)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (", p->target);
	foreach(lc, p->config->columns)
	{
		ColumnSpec *col = lfirst(lc);

		appendStringInfo(&sql, "%s%s %s", foreach_current_index(lc) > 0 ? ", " : "",
						 quote_identifier(col->name), col->type_sql);
	}
	appendStringInfoChar(&sql, ')');
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create %s", p->target);
}

/* The part of a pull that must succeed or leave nothing behind. */
static void
pull_into_target(void *arg)
{
	Pull	   *p = arg;
	RoleSwitch rs;
	Oid			nsp;
	Oid			relid;
	Relation	rel;
	List	   *names = NIL;
	ListCell   *lc;

	p->http = http_client_create(p->who);
	http_client_set_retry(p->http, p->config->retry_max_attempts,
						  p->config->retry_initial_delay_ms, p->config->retry_max_delay_ms);
	prepare_requests(p);

	role_switch_enter(&rs, p->source->owner, true, NULL);

	nsp = get_namespace_oid(p->source->target_schema, false);
	relid = get_relname_relid(p->source->target_name, nsp);
	if (!OidIsValid(relid))
	{
		if (p->config->columns == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("%s: target table %s does not exist and the config declares no columns",
							p->who, p->target)));
		create_target(p);
		relid = get_relname_relid(p->source->target_name, nsp);
	}
	rel = table_open(relid, RowExclusiveLock);
	p->columns = p->config->columns ? p->config->columns : table_columns(rel);
	p->stream = json_stream_create(p->config->records_path, p->columns, p->config->next_path,
								   p->who);
	foreach(lc, p->columns)
		names = lappend(names, makeString(((ColumnSpec *) lfirst(lc))->name));

	if (strcmp(p->source->sync_mode, "full_refresh_overwrite") == 0)
	{
		/* DELETE, not TRUNCATE: readers keep seeing the old rows until this commits. */
		if (SPI_execute(psprintf("DELETE FROM %s", p->target), false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not empty %s", p->target);
	}
	p->rows = load_copy(rel, names, produce_page, p);
	table_close(rel, NoLock);

	role_switch_exit(&rs);
}

Datum
sluice_pull(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Pull		p = {0};
	RunRecord	run;
	ErrorData  *error;
	Datum		result;

	SPI_connect();
	p.source = source_load(name);
	p.who = psprintf("source \"%s\"", p.source->name);
	require_member_of_owner(p.source->owner, "source", p.source->name);
	p.config = source_config_parse(p.source->name, p.source->config);
	p.target = quote_qualified_identifier(p.source->target_schema, p.source->target_name);
	p.next_url = p.config->url;
	p.pull_context = CurrentMemoryContext;
	p.page_context = AllocSetContextCreate(CurrentMemoryContext, "sluice pull page",
										   ALLOCSET_DEFAULT_SIZES);
	run_begin(&run, "pull", p.source->name, p.source->owner);

	progress_start(run.id, p.source->name, p.source->owner);
	error = run_guarded(pull_into_target, &p);
	progress_end();
	run.rows = (int64) p.rows;
	run.bytes = p.bytes;
	run_detail(&run, "pages", psprintf("%ld", p.pages));
	run_detail(&run, "records", psprintf(INT64_FORMAT, p.records));
	if (p.http && http_client_retries(p.http)[0])
		run_detail(&run, "retries", psprintf("[%s]", http_client_retries(p.http)));
	if (p.last_url)
	{
		StringInfoData url;

		initStringInfo(&url);
		escape_json(&url, p.last_url);
		run_detail(&run, "last_url", url.data);
	}
	if (error)
	{
		char	   *message = redact_secrets(error->message, p.secrets);

		run.rows = 0;
		run_record_autonomously(&run, "failed", message, unpack_sql_state(error->sqlerrcode));
		ReThrowError(error);
	}

	source_state_save(p.source->name, run.id, psprintf("{\"pages\": %ld, \"records\": " INT64_FORMAT "}",
													   p.pages, p.records));
	lineage_replace_inputs("source", p.source->name, p.target, "table",
						   list_make1(http_url_for_display(p.config->url, false)),
						   list_make1("url"), run.id);
	result = run_finish(&run, "success", NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * pull.c: sluice.pull, sluice.pull_checkpointed and sluice.replay_quarantine.
 *
 * A source's pages are read as they arrive and their records go to the target in batches, as
 * the source's owner: JSON through the one-pass parser into COPY text, CSV straight into COPY.
 * Before a batch is loaded the target is made or grown to fit its records (schema inference and
 * drift); a batch is loaded whole, or taken apart to quarantine the records COPY refuses.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/base64.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "util/builtins.h"
#include <jansson.h>
#include "nodes/makefuncs.h"
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
#include "ingest/paginate.h"
#include "ingest/progress.h"
#include "ingest/schema.h"
#include "ingest/sync.h"
#include "quality/audit.h"
#include "util/redact.h"
#include "util/role.h"

PG_FUNCTION_INFO_V1(sluice_pull);
PG_FUNCTION_INFO_V1(sluice_pull_checkpointed);
PG_FUNCTION_INFO_V1(sluice_replay_quarantine);

/* A batch ends at whichever comes first; memory stays near this however large the pull. */
#define BATCH_RECORDS 10000
#define BATCH_BYTES (8 * 1024 * 1024)

typedef struct Pull
{
	SourceDef  *source;
	SourceConfig *config;
	const char *who;			/* 'source "name"' */
	char	   *target;			/* quoted qualified name */
	Oid			target_relid;	/* InvalidOid until the table exists */
	RunRecord	run;
	HttpClient *http;
	List	   *secrets;		/* values to keep out of messages */
	List	   *params;			/* HeaderSpec with the values resolved */
	Pager		pager;
	Sync		sync;
	int			every_pages;	/* checkpoint after this many pages; 0: one transaction */
	bool		checkpoint_due;
	bool		started;		/* the target is ready and the sync begun */
	long		resumed_at;		/* the page a checkpointed pull resumed at, or -1 */
	const char *replay;			/* replay_quarantine: the records, one per line */

	List	   *columns;		/* ColumnSpec of the columns loaded */
	List	   *column_names;	/* String, the same */
	bool		track_fields;	/* records' members are checked against the columns */
	JsonStream *stream;
	RecordBatch batch;

	bool		page_open;		/* a page's body is being read */
	HttpResponse response;
	const char *piece;			/* the piece of body being parsed */
	size_t		piece_length;
	size_t		piece_used;
	bool		first_piece;

	MemoryContext pull_context; /* lives as long as the pull */
	MemoryContext page_context; /* reset for every page */
	MemoryContext batch_context;	/* reset after every batch is loaded */

	int64		records;		/* records of the pages finished */
	int64		bytes;
	int64		loaded;			/* rows loaded (full refresh) */
	int64		loaded_committed;	/* rows committed at checkpoints */
	int64		quarantined;
	char	   *last_url;		/* as it may be shown */
	Audit		audit;			/* the target's expectations, checked on the batch */
	TransactionId batch_since;	/* the batch's first transaction id */
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

/* A JSON scalar as a query parameter value: a string without its quotes, anything else as is. */
static char *
json_scalar_text(const char *json)
{
	json_t	   *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char	   *text = pstrdup(json);

	if (v && json_is_string(v))
		text = pstrdup(json_string_value(v));
	json_decref(v);
	return text;
}

/* Sets up the client's requests: method, body, headers and parameters with secrets filled in. */
static void
prepare_requests(Pull *p)
{
	ListCell   *lc;

	p->http = http_client_create(p->who);
	http_client_set_retry(p->http, p->config->retry_max_attempts,
						  p->config->retry_initial_delay_ms, p->config->retry_max_delay_ms);
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
	if (p->config->cursor_param && p->sync.floor)
	{
		HeaderSpec *since = palloc0(sizeof(HeaderSpec));

		since->name = p->config->cursor_param;
		since->value = json_scalar_text(p->sync.floor);
		p->params = lappend(p->params, since);
	}
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

/* Refuses a body that says it is something else than the source reads (an HTML error page...). */
static void
check_content_type(Pull *p, const char *first, size_t length)
{
	const char *type = p->response.content_type;
	bool		ok;

	if (type == NULL)
		return;
	if (p->config->csv)
		ok = !(strstr(type, "html") || strstr(type, "json") || strstr(type, "xml"));
	else
		ok = strstr(type, "json") || pg_strncasecmp(type, "text/plain", 10) == 0 ||
			pg_strncasecmp(type, "application/octet-stream", 24) == 0;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("%s: %s answered with content type \"%s\", not %s", p->who, p->last_url,
						type, p->config->csv ? "CSV" : "JSON"),
				 errdetail("The body begins: %s",
						   redact_secrets(pnstrdup(first, Min(length, 200)), p->secrets)),
				 errhint("Check the source's url: an HTML page is often a login or error page.")));
}

static void
open_page(Pull *p)
{
	char	   *url;
	char	   *what;

	MemoryContextReset(p->page_context);
	MemoryContextSwitchTo(p->page_context);
	if (p->replay)
		what = "the quarantined records";
	else
	{
		url = pager_url(&p->pager, p->params);
		p->last_url = MemoryContextStrdup(p->pull_context, http_client_shown_url(p->http, url));
		progress_update(p->pager.pages, p->records, p->bytes, p->last_url);
		http_open(p->http, url, &p->response);
		fail_on_status(p, &p->response);
		what = psprintf("the response from %s", p->last_url);
	}
	if (!p->config->csv)
		json_stream_begin(p->stream, what, p->response.content_type);
	MemoryContextSwitchTo(p->pull_context);
	p->page_open = true;
	p->first_piece = true;
	p->piece_length = p->piece_used = 0;
}

/* The next piece of the page's body into p->piece; false at its end. */
static bool
next_piece(Pull *p)
{
	if (p->replay)
	{
		p->piece = p->replay;
		p->piece_length = p->first_piece ? strlen(p->replay) : 0;
	}
	else
		p->piece_length = http_read(p->http, &p->piece);
	p->piece_used = 0;
	if (p->piece_length > 0 && p->first_piece && !p->replay)
		check_content_type(p, p->piece, p->piece_length);
	p->first_piece = false;
	p->bytes += p->piece_length;
	progress_update(p->pager.pages, p->records + (p->config->csv ? 0 : json_stream_records(p->stream)),
					p->bytes, NULL);
	return p->piece_length > 0;
}

/* The page's body has been read: where is the next one, and is a checkpoint due? */
static void
close_page(Pull *p, int64 count)
{
	const char *page_value = NULL;

	if (!p->config->csv)
	{
		json_stream_end(p->stream);
		count = json_stream_records(p->stream);
		page_value = json_stream_page_value(p->stream);
	}
	p->records += count;
	p->page_open = false;
	if (p->replay)
	{
		p->pager.done = true;
		return;
	}
	pager_advance(&p->pager, count, page_value, p->response.link_next);
	progress_update(p->pager.pages, p->records, p->bytes, NULL);
	if (p->every_pages > 0 && !p->pager.done && p->pager.pages % p->every_pages == 0)
		p->checkpoint_due = true;
}

/* Parses pages into the batch until it is full, a checkpoint is due or no page is left. */
static void
fill_batch(Pull *p)
{
	while (p->batch.count < BATCH_RECORDS && p->batch.rows.len < BATCH_BYTES)
	{
		int64		before;

		CHECK_FOR_INTERRUPTS();
		if (!p->page_open)
		{
			if (p->pager.done || p->checkpoint_due)
				return;
			open_page(p);
		}
		if (p->piece_used == p->piece_length && !next_piece(p))
		{
			close_page(p, 0);
			continue;
		}
		before = json_stream_records(p->stream);
		p->piece_used += json_stream_feed(p->stream, p->piece + p->piece_used,
										  p->piece_length - p->piece_used, &p->batch.rows,
										  BATCH_RECORDS - p->batch.count);
		p->batch.count += json_stream_records(p->stream) - before;
	}
}

static void
add_column(Pull *p, ColumnSpec *col)
{
	p->columns = lappend(p->columns, col);
	p->column_names = lappend(p->column_names, makeString(col->name));
	json_stream_add_column(p->stream, col);
}

/* The batch's rows written again from its records, now that there are more columns. */
static void
rewrite_rows(Pull *p)
{
	JsonStream *again = json_stream_create(json_path_parse("$", p->who), p->columns, NULL, p->who);

	json_stream_set_sequence(again, true);
	json_stream_begin(again, "the records of a batch", NULL);
	resetStringInfo(&p->batch.rows);
	json_stream_feed(again, p->batch.records.data, p->batch.records.len, &p->batch.rows, 0);
	json_stream_end(again);
}

/* Makes the target fit the batch: creates it from the members seen, or adds the new ones. */
static void
fit_target(Pull *p)
{
	List	   *fields;
	List	   *columns;
	ListCell   *lc;
	StringInfoData names;

	if (!p->track_fields)
		return;
	fields = json_stream_unknown_fields(p->stream);
	if (fields == NIL)
		return;
	columns = schema_columns_for_fields(fields);
	if (OidIsValid(p->target_relid))
	{
		if (strcmp(p->source->schema_drift, "fail") == 0)
		{
			initStringInfo(&names);
			foreach(lc, fields)
				appendStringInfo(&names, "%s%s", names.len ? ", " : "",
								 quote_identifier(((FieldSeen *) lfirst(lc))->name));
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s: records have members that %s lacks: %s", p->who, p->target,
							names.data),
					 errhint("Add the columns, or redefine the source with schema_drift => 'add_columns' or 'ignore'.")));
		}
		schema_add_columns(p->target, columns);
	}
	else
	{
		schema_create_table(p->target, columns,
							p->sync.mode == SYNC_INCREMENTAL_DEDUP ? p->source->primary_key : NIL);
		p->target_relid = RangeVarGetRelid(makeRangeVar(p->source->target_schema,
														p->source->target_name, -1),
										   NoLock, false);
		/* An inferred table without drift tracking tracks no more. */
		p->track_fields = strcmp(p->source->schema_drift, "ignore") != 0;
		json_stream_track_fields(p->stream, p->track_fields);
	}
	foreach(lc, columns)
		add_column(p, lfirst(lc));
	json_stream_forget_fields(p->stream);
	rewrite_rows(p);
}

/*
 * The error a record caused, with the innermost line of its context (the column and value, as
 * the load names them); the callers' lines say nothing about the record.
 */
static char *
record_error_text(ErrorData *error)
{
	const char *context = error->context;

	if (context == NULL)
		return error->message;
	return psprintf("%s (%.*s)", error->message, (int) strcspn(context, "\n"), context);
}

static void
quarantine_record(void *arg, const char *record, ErrorData *error)
{
	Pull	   *p = arg;
	char	   *message = record_error_text(error);

	quarantine_save(p->source->name, p->run.id, record, redact_secrets(message, p->secrets),
					unpack_sql_state(error->sqlerrcode));
	p->quarantined++;
}

/* A record COPY refused fails the pull: the error names the source and says what to do. */
static void pg_attribute_noreturn()
refuse_record(Pull *p)
{
	MemoryContext cxt = MemoryContextSwitchTo(p->pull_context);
	ErrorData  *error = CopyErrorData();
	int			category = ERRCODE_TO_CATEGORY(error->sqlerrcode);

	MemoryContextSwitchTo(cxt);
	if (category != ERRCODE_DATA_EXCEPTION && category != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION)
		PG_RE_THROW();
	FlushErrorState();
	error->message = psprintf("%s: a record could not be loaded into %s: %s", p->who,
							  p->target, record_error_text(error));
	error->context = NULL;
	if (error->hint == NULL)
		error->hint = pstrdup("Fix the column's type or path, or redefine the source with on_error => 'quarantine' to set such records aside.");
	ReThrowError(error);
}

static bool produce_csv(void *arg, StringInfo out);

/*
 * Loads into relid as the owner, restricted: the page's CSV as it arrives, or the batch of JSON
 * records; returns the rows loaded.
 */
static uint64
load_as_owner(Pull *p, Oid relid)
{
	bool		quarantine = strcmp(p->source->on_error, "quarantine") == 0;
	RoleSwitch	rs;
	Relation	rel;
	uint64		n = 0;

	role_switch_enter(&rs, p->source->owner, true, NULL);
	rel = table_open(relid, RowExclusiveLock);
	PG_TRY();
	{
		if (p->config->csv)
			n = load_copy(rel, p->column_names, p->config->copy_options, produce_csv, p);
		else
			n = load_batch(rel, p->column_names, &p->batch, quarantine ? quarantine_record : NULL, p);
	}
	PG_CATCH();
	{
		refuse_record(p);
	}
	PG_END_TRY();
	table_close(rel, NoLock);
	role_switch_exit(&rs);
	return n;
}

/* Loads the batch into the target, or into staging and from there into the target. */
static void
flush_batch(Pull *p)
{
	Oid			relid;
	MemoryContext outer;

	if (p->batch.count == 0)
		return;
	fit_target(p);
	if (!OidIsValid(p->target_relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s: target table %s does not exist and its records have no members to make columns of",
						p->who, p->target)));
	outer = MemoryContextSwitchTo(p->batch_context);
	relid = sync_load_relation(&p->sync, p->target_relid, p->column_names);
	p->loaded += load_as_owner(p, relid);
	sync_merge(&p->sync, p->target_relid, p->column_names);
	MemoryContextSwitchTo(outer);
	MemoryContextReset(p->batch_context);
	batch_reset(&p->batch);
}

static bool
produce_csv(void *arg, StringInfo out)
{
	Pull	   *p = arg;

	if (!next_piece(p))
		return false;
	appendBinaryStringInfo(out, p->piece, p->piece_length);
	return true;
}

/* CSV pages go to COPY as they arrive, a COPY per page. */
static void
pull_csv_pages(Pull *p)
{
	while (!p->pager.done && !p->checkpoint_due)
	{
		Oid			relid = sync_load_relation(&p->sync, p->target_relid, p->column_names);
		uint64		n;

		open_page(p);
		n = load_as_owner(p, relid);
		p->loaded += n;
		sync_merge(&p->sync, p->target_relid, p->column_names);
		close_page(p, (int64) n);
	}
}

/* The target and the columns read from records: declared, the table's own, or yet to infer. */
static void
prepare_target(Pull *p)
{
	Oid			nsp = get_namespace_oid(p->source->target_schema, false);
	bool		declared = p->config->columns != NIL;
	ListCell   *lc;

	p->target_relid = get_relname_relid(p->source->target_name, nsp);
	if (!OidIsValid(p->target_relid) && declared)
	{
		schema_create_table(p->target, p->config->columns,
							p->sync.mode == SYNC_INCREMENTAL_DEDUP ? p->source->primary_key : NIL);
		p->target_relid = get_relname_relid(p->source->target_name, nsp);
	}
	p->track_fields = !declared && !p->config->csv &&
		(!OidIsValid(p->target_relid) || strcmp(p->source->schema_drift, "ignore") != 0);

	p->stream = json_stream_create(p->config->records_path, NIL, p->config->next_path, p->who);
	json_stream_set_sequence(p->stream, p->config->ndjson || p->replay != NULL);
	json_stream_track_fields(p->stream, p->track_fields);
	if (p->track_fields || strcmp(p->source->on_error, "quarantine") == 0)
		json_stream_keep_records(p->stream, &p->batch.records, &p->batch.record_ends);
	if (declared)
		foreach(lc, p->config->columns)
			add_column(p, lfirst(lc));
	else if (OidIsValid(p->target_relid))
	{
		Relation	rel = table_open(p->target_relid, AccessShareLock);

		foreach(lc, schema_table_columns(rel))
			add_column(p, lfirst(lc));
		table_close(rel, AccessShareLock);
	}
}

static int64
rows_loaded(Pull *p)
{
	return p->sync.mode == SYNC_INCREMENTAL_APPEND || p->sync.mode == SYNC_INCREMENTAL_DEDUP
		? p->sync.merged : p->loaded;
}

/*
 * Write, audit, commit: the target's expectations check the rows this transaction wrote (the
 * whole table for an overwrite) before they commit; a failing batch is rolled back with the
 * cursor that would have moved past it.
 */
static void
audit_batch(Pull *p)
{
	if (!OidIsValid(p->target_relid) || (rows_loaded(p) == 0 && p->sync.mode != SYNC_OVERWRITE))
		return;
	if (!audit_relation(p->target, p->target_relid, p->target_relid, p->batch_since, &p->run,
						&p->audit))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s: the pulled batch failed its expectations: %s", p->who, p->audit.failures),
				 errdetail("Nothing of the batch was loaded and the cursor did not move."),
				 errhint("See SELECT * FROM sluice.check_result WHERE run_id = " INT64_FORMAT ";",
						 p->run.id)));
}

/*
 * Pulls until no page is left or a checkpoint is due, as the source's owner (restricted wherever
 * the user's code can run: loads and merges).
 */
static void
pull_pages(void *arg)
{
	Pull	   *p = arg;
	RoleSwitch	rs;

	if (p->http == NULL && p->replay == NULL)
		prepare_requests(p);
	/* The batch: rows written from here on (this subtransaction has the newest id so far). */
	p->batch_since = GetCurrentTransactionId();
	role_switch_enter(&rs, p->source->owner, false, NULL);
	if (!p->started)
	{
		prepare_target(p);
		sync_begin(&p->sync, p->target_relid);
		p->started = true;
	}
	p->checkpoint_due = false;
	if (p->config->csv)
		pull_csv_pages(p);
	else
		for (;;)
		{
			fill_batch(p);
			flush_batch(p);
			if (!p->page_open && (p->pager.done || p->checkpoint_due))
				break;
		}
	if (p->pager.done)
		sync_end(&p->sync);
	audit_batch(p);
	role_switch_exit(&rs);
}

/* The source's state: its cursor and, mid-way through a checkpointed pull, where to resume. */
static char *
state_json(Pull *p, bool resumable)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "{\"cursor\": %s, \"pages\": %ld, \"records\": " INT64_FORMAT,
					 p->sync.cursor ? p->sync.cursor : "null", p->pager.pages, p->records);
	if (resumable)
	{
		appendStringInfoString(&s, ", \"resume\": {");
		pager_save(&p->pager, &s);
		appendStringInfo(&s, ", \"floor\": %s}", p->sync.floor ? p->sync.floor : "null");
	}
	appendStringInfoChar(&s, '}');
	return s.data;
}

/* A member's JSON text, or NULL when it is missing or null. */
static char *
member_json(json_t *object, const char *key)
{
	json_t	   *v = object ? json_object_get(object, key) : NULL;
	char	   *text;
	char	   *result;

	if (v == NULL || json_is_null(v))
		return NULL;
	text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	result = pstrdup(text);
	free(text);
	return result;
}

/* Takes the stored state: the cursor to pass, and where an unfinished pull stopped. */
static void
restore_state(Pull *p)
{
	char	   *state = source_state_load(p->source->name);
	json_t	   *root = state ? json_loads(state, 0, NULL) : NULL;
	json_t	   *resume = root ? json_object_get(root, "resume") : NULL;
	bool		incremental = p->sync.mode == SYNC_INCREMENTAL_APPEND ||
		p->sync.mode == SYNC_INCREMENTAL_DEDUP;

	if (incremental)
		p->sync.floor = p->sync.cursor = member_json(root, "cursor");
	if (json_is_object(resume) && p->sync.mode != SYNC_OVERWRITE)
	{
		char	   *text = member_json(root, "resume");

		pager_restore(&p->pager, text);
		p->resumed_at = p->pager.pages;
		p->records = json_integer_value(json_object_get(root, "records"));
		/* The interrupted pull's records were held to its own floor. */
		if (incremental)
			p->sync.floor = member_json(resume, "floor");
	}
	json_decref(root);
}

static void
pull_prepare(Pull *p, const char *name)
{
	ListCell   *lc;

	p->source = source_load(name);
	p->who = psprintf("source \"%s\"", p->source->name);
	require_member_of_owner(p->source->owner, "source", p->source->name);
	p->config = source_config_parse(p->source->name, p->source->kind, p->source->config);
	p->target = quote_qualified_identifier(p->source->target_schema, p->source->target_name);
	p->pull_context = CurrentMemoryContext;
	p->page_context = AllocSetContextCreate(CurrentMemoryContext, "sluice pull page",
											ALLOCSET_DEFAULT_SIZES);
	p->batch_context = AllocSetContextCreate(CurrentMemoryContext, "sluice pull batch",
											 ALLOCSET_DEFAULT_SIZES);
	p->resumed_at = -1;
	pager_init(&p->pager, p->config);
	p->sync.mode = sync_mode_from_name(p->source->sync_mode);
	p->sync.who = p->who;
	p->sync.context = p->pull_context;
	p->sync.target = p->target;
	p->sync.owner = p->source->owner;
	p->sync.cursor_field = p->source->cursor_field;
	foreach(lc, p->source->primary_key)
		p->sync.primary_key = lappend(p->sync.primary_key, makeString(lfirst(lc)));
	batch_init(&p->batch);
	restore_state(p);
	run_begin(&p->run, "pull", p->source->name, p->source->owner);
}

/* Fills in the run's figures and details. */
static void
describe_run(Pull *p)
{
	RunRecord  *run = &p->run;

	run->rows = rows_loaded(p);
	run->bytes = p->bytes;
	resetStringInfo(&run->details);
	run_detail(run, "pages", psprintf("%ld", p->pager.pages));
	run_detail(run, "records", psprintf(INT64_FORMAT, p->records));
	if (p->quarantined)
		run_detail(run, "quarantined", psprintf(INT64_FORMAT, p->quarantined));
	if (p->sync.without_cursor)
		run_detail(run, "skipped_without_cursor", psprintf(INT64_FORMAT, p->sync.without_cursor));
	if (p->sync.cursor)
		run_detail(run, "cursor", p->sync.cursor);
	if (p->resumed_at >= 0)
		run_detail(run, "resumed_at_page", psprintf("%ld", p->resumed_at));
	if (p->http && http_client_retries(p->http)[0])
		run_detail(run, "retries", psprintf("[%s]", http_client_retries(p->http)));
	audit_describe(run, &p->audit);
	if (p->last_url)
	{
		StringInfoData url;

		initStringInfo(&url);
		escape_json(&url, p->last_url);
		run_detail(run, "last_url", url.data);
	}
}

/* A failed pull: recorded in a transaction of its own, then the error goes on to the caller. */
static void pg_attribute_noreturn()
fail(Pull *p, ErrorData *error)
{
	progress_end();
	describe_run(p);
	p->run.rows = p->loaded_committed;
	run_record_autonomously(&p->run, "failed", redact_secrets(error->message, p->secrets),
							unpack_sql_state(error->sqlerrcode));
	ReThrowError(error);
}

/*
 * The pull's edge, from its URL to its table, and a column edge from each configured JSON path
 * (the field of the response) to its column.
 */
static void
record_lineage(Pull *p)
{
	char	   *url = http_url_for_display(p->config->url, false);
	List	   *urls = NIL;
	List	   *paths = NIL;
	List	   *columns = NIL;
	List	   *kinds = NIL;
	ListCell   *lc;

	lineage_replace_inputs("source", p->source->name, p->target, "table", list_make1(url),
						   list_make1("url"), p->run.id);
	foreach(lc, p->config->columns)
	{
		ColumnSpec *c = lfirst(lc);

		urls = lappend(urls, url);
		paths = lappend(paths, (char *) c->path->text);
		columns = lappend(columns, c->name);
		kinds = lappend(kinds, "identity");
	}
	lineage_replace_columns("source", p->source->name, p->target, urls, paths, columns, kinds);
}

/* A finished pull: its state, lineage and run commit with its rows. */
static Datum
succeed(Pull *p)
{
	describe_run(p);
	source_state_save(p->source->name, p->run.id, state_json(p, false));
	record_lineage(p);
	progress_end();
	if (p->run.rows > 0 || p->sync.mode == SYNC_OVERWRITE)
		run_landed(p->target);
	return run_finish(&p->run, "success", NULL);
}

Datum
sluice_pull(PG_FUNCTION_ARGS)
{
	Pull		p = {0};
	ErrorData  *error;
	Datum		result;

	SPI_connect();
	pull_prepare(&p, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	progress_start(p.run.id, p.source->name, p.source->owner);
	error = run_guarded(pull_pages, &p);
	if (error)
		fail(&p, error);
	result = succeed(&p);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

Datum
sluice_pull_checkpointed(PG_FUNCTION_ARGS)
{
	CallContext *call = (CallContext *) fcinfo->context;
	bool		atomic = call == NULL || !IsA(call, CallContext) || call->atomic;
	Pull		p = {0};
	ErrorData  *error;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("a source name is needed")));
	SPI_connect_ext(atomic ? 0 : SPI_OPT_NONATOMIC);
	pull_prepare(&p, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	p.every_pages = PG_ARGISNULL(1) ? 10 : PG_GETARG_INT32(1);
	if (p.every_pages < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every_pages must be at least 1, not %d", p.every_pages)));
	if (p.sync.mode == SYNC_OVERWRITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s is full_refresh_overwrite: its rows are replaced all at once", p.who),
				 errhint("Use SELECT sluice.pull('%s'); checkpoints suit the append and incremental modes.",
						 p.source->name)));
	if (atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("sluice.pull_checkpointed cannot commit inside a transaction block"),
				 errhint("CALL it on its own, or use SELECT sluice.pull('%s') inside the transaction.",
						 p.source->name)));
	progress_start(p.run.id, p.source->name, p.source->owner);
	for (;;)
	{
		error = run_guarded(pull_pages, &p);
		if (error)
			fail(&p, error);
		if (p.pager.done)
			break;
		/* A checkpoint: rows, state and the run so far commit together. */
		describe_run(&p);
		source_state_save(p.source->name, p.run.id, state_json(&p, true));
		run_finish(&p.run, "running", NULL);
		SPI_commit();
		EnsurePortalSnapshotExists();
		p.loaded_committed = rows_loaded(&p);
	}
	(void) succeed(&p);
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
sluice_replay_quarantine(PG_FUNCTION_ARGS)
{
	Pull		p = {0};
	ErrorData  *error;
	StringInfoData records;
	List	   *pending;
	ListCell   *lc;
	Datum		result;

	SPI_connect();
	pull_prepare(&p, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	pending = quarantine_pending(p.source->name);
	initStringInfo(&records);
	foreach(lc, pending)
		appendStringInfo(&records, "%s\n", ((QuarantinedRecord *) lfirst(lc))->record);
	p.replay = records.data;
	/* Replayed records were never loaded: no cursor holds them back, no overwrite empties. */
	p.sync.floor = NULL;
	if (p.sync.mode == SYNC_OVERWRITE)
		p.sync.mode = SYNC_APPEND;

	error = run_guarded(pull_pages, &p);
	if (error)
		fail(&p, error);
	foreach(lc, pending)
		quarantine_mark_replayed(((QuarantinedRecord *) lfirst(lc))->id, p.run.id);
	describe_run(&p);
	run_detail(&p.run, "replayed", psprintf("%d", list_length(pending)));
	if (p.run.rows > 0)
		run_landed(p.target);
	result = run_finish(&p.run, "success", NULL);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

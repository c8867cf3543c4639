/*
 * catalog.c: reading and writing sluice's definitions, state, results and lineage.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "catalog/catalog.h"
#include "util/role.h"

#define SPI_TEXT(row, col) SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col)

int
catalog_exec(const char *sql, int nargs, Oid *argtypes, Datum *values, const char *nulls,
			 bool read_only)
{
	RoleSwitch	rs;
	int			rc;

	role_switch_enter(&rs, sluice_catalog_owner(), false, "pg_catalog, pg_temp");
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only, 0);
	role_switch_exit(&rs);
	if (rc < 0)
		elog(ERROR, "sluice catalog statement failed: %s", SPI_result_code_string(rc));
	return rc;
}

static Datum
jsonb_from_text(const char *json)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

/* The strings of a JSON array of strings (or NIL for NULL). */
static List *
text_array_items(const char *json)
{
	List	   *items = NIL;
	Jsonb	   *jb;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (json == NULL)
		return NIL;
	jb = DatumGetJsonbP(jsonb_from_text(json));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_ELEM && v.type == jbvString)
			items = lappend(items, pnstrdup(v.val.string.val, v.val.string.len));
	return items;
}

static int64
int64_col(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static Oid
oid_col(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? InvalidOid : DatumGetObjectId(d);
}

SourceDef *
source_load(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	SourceDef  *src;

	catalog_exec("SELECT name, owner::oid, kind, target_schema, target_name, config::text, sync_mode,"
				 " cursor_field, array_to_json(primary_key)::text, on_error, schema_drift"
				 " FROM sluice.source WHERE name = $1",
				 1, argtypes, values, NULL, true);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("source \"%s\" does not exist", name),
				 errhint("See SELECT name FROM sluice.source;")));
	src = palloc0(sizeof(SourceDef));
	src->name = SPI_TEXT(0, 1);
	src->owner = oid_col(0, 2);
	src->kind = SPI_TEXT(0, 3);
	src->target_schema = SPI_TEXT(0, 4);
	src->target_name = SPI_TEXT(0, 5);
	src->config = SPI_TEXT(0, 6);
	src->sync_mode = SPI_TEXT(0, 7);
	src->cursor_field = SPI_TEXT(0, 8);
	src->primary_key = text_array_items(SPI_TEXT(0, 9));
	src->on_error = SPI_TEXT(0, 10);
	src->schema_drift = SPI_TEXT(0, 11);
	return src;
}

char *
source_state_load(const char *source)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(source)};

	catalog_exec("SELECT state::text FROM sluice.source_state"
				 " WHERE source_name = $1 AND stream = 'default'",
				 1, argtypes, values, NULL, true);
	return SPI_processed > 0 ? SPI_TEXT(0, 1) : NULL;
}

void
quarantine_save(const char *source, int64 run_id, const char *record_json, const char *error,
				const char *sqlstate)
{
	Oid			argtypes[5] = {TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5] = {CStringGetTextDatum(source), Int64GetDatum(run_id),
		CStringGetTextDatum(record_json), CStringGetTextDatum(error), CStringGetTextDatum(sqlstate)};

	catalog_exec("INSERT INTO sluice.quarantine (source_name, run_id, record, error, sqlstate)"
				 " VALUES ($1, $2, $3::jsonb, $4, $5)",
				 5, argtypes, values, NULL, false);
}

List *
quarantine_pending(const char *source)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(source)};
	List	   *result = NIL;

	catalog_exec("SELECT id, record::text FROM sluice.quarantine"
				 " WHERE source_name = $1 AND replayed_at IS NULL ORDER BY id",
				 1, argtypes, values, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		QuarantinedRecord *q = palloc(sizeof(QuarantinedRecord));

		q->id = int64_col(i, 1);
		q->record = SPI_TEXT(i, 2);
		result = lappend(result, q);
	}
	return result;
}

void
quarantine_mark_replayed(int64 id, int64 run_id)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(id), Int64GetDatum(run_id)};

	catalog_exec("UPDATE sluice.quarantine SET replayed_at = now(), replay_run_id = $2 WHERE id = $1",
				 2, argtypes, values, NULL, false);
}

void
source_state_save(const char *source, int64 run_id, const char *state_json)
{
	Oid			argtypes[3] = {TEXTOID, INT8OID, JSONBOID};
	Datum		values[3] = {CStringGetTextDatum(source), Int64GetDatum(run_id),
	jsonb_from_text(state_json)};

	catalog_exec("INSERT INTO sluice.source_state (source_name, stream, state, run_id)"
				 " VALUES ($1, 'default', $3, $2)"
				 " ON CONFLICT (source_name, stream) DO UPDATE"
				 " SET state = excluded.state, run_id = excluded.run_id, updated_at = now()",
				 3, argtypes, values, NULL, false);
}

char *
model_build_reason(int64 id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};

	if (SPI_execute_with_args("SELECT sluice._build_reason($1)", 1, argtypes, values, NULL, false,
							  1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read why model %lld must be built", (long long) id);
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

void
model_last_build(int64 id, char **shape, char **high_water)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};

	/* A fresh snapshot: a build of this model that was waited for (model_load) has committed. */
	catalog_exec("SELECT shape, high_water FROM sluice._last_build($1)", 1, argtypes, values,
				 NULL, false);
	*shape = SPI_processed ? SPI_TEXT(0, 1) : NULL;
	*high_water = SPI_processed ? SPI_TEXT(0, 2) : NULL;
}

/* The first column of every row of the last catalog statement. */
static List *
first_column(void)
{
	List	   *items = NIL;

	for (uint64 i = 0; i < SPI_processed; i++)
		items = lappend(items, SPI_TEXT(i, 1));
	return items;
}

List *
model_index_statements(int64 id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};

	catalog_exec("SELECT sluice._index_statements($1)", 1, argtypes, values, NULL, true);
	return first_column();
}

List *
relation_extras(Oid relid, const char *new_kind)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(relid), CStringGetTextDatum(new_kind)};

	catalog_exec("SELECT sluice._relation_extras($1, $2)", 2, argtypes, values, NULL, true);
	return first_column();
}

List *
build_plan(const char *selector)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(selector)};
	List	   *plan = NIL;

	/* As the caller: the plan reads only what every role may read. */
	if (SPI_execute_with_args("SELECT id, name, upstream FROM sluice._build_plan($1)",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not plan the build");

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		PlanStep   *step = palloc0(sizeof(PlanStep));
		bool		isnull;
		Datum		arr = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull);
		Datum	   *ids;
		int			n;

		step->model_id = int64_col(i, 1);
		step->name = SPI_TEXT(i, 2);
		deconstruct_array(DatumGetArrayTypeP(arr), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
						  &ids, NULL, &n);
		for (int j = 0; j < n; j++)
		{
			int64	   *id = palloc(sizeof(int64));

			*id = DatumGetInt64(ids[j]);
			step->upstream = lappend(step->upstream, id);
		}
		plan = lappend(plan, step);
	}
	return plan;
}

ModelDef *
model_load(int64 id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	ModelDef   *m;

	catalog_exec("SELECT id, name, owner::oid, sql, materialized, target_schema, target_name,"
				 " search_path, options->>'strategy', options->'unique_key', options->>'cursor',"
				 " options->>'input_cursor', options->>'predicate', options->>'updated_at',"
				 " CASE WHEN jsonb_typeof(options->'check_cols') = 'array' THEN options->'check_cols' END,"
				 " coalesce((options->>'invalidate_hard_deletes')::boolean, false),"
				 " (SELECT jsonb_agg(c->'name') FROM jsonb_array_elements(options->'contract') c),"
				 " (SELECT jsonb_agg(c->'type') FROM jsonb_array_elements(options->'contract') c),"
				 " sluice._definition_hash(m), sluice._shape_hash(m),"
				 " coalesce((options->>'keep_rejected')::boolean, true)"
				 " FROM sluice.model m WHERE id = $1"
	/* Held until the build commits: a second build of the model waits, then sees its outcome. */
				 " FOR NO KEY UPDATE",
				 1, argtypes, values, NULL, false);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model %lld was dropped during the build", (long long) id)));
	m = palloc0(sizeof(ModelDef));
	m->id = int64_col(0, 1);
	m->name = SPI_TEXT(0, 2);
	m->owner = oid_col(0, 3);
	m->sql = SPI_TEXT(0, 4);
	m->materialized = SPI_TEXT(0, 5);
	m->target_schema = SPI_TEXT(0, 6);
	m->target_name = SPI_TEXT(0, 7);
	m->search_path = SPI_TEXT(0, 8);
	m->strategy = SPI_TEXT(0, 9);
	m->unique_key = text_array_items(SPI_TEXT(0, 10));
	m->cursor = SPI_TEXT(0, 11);
	m->input_cursor = SPI_TEXT(0, 12);
	m->predicate = SPI_TEXT(0, 13);
	m->updated_at = SPI_TEXT(0, 14);
	m->check_cols = text_array_items(SPI_TEXT(0, 15));
	m->invalidate_hard_deletes = strcmp(SPI_TEXT(0, 16), "t") == 0;
	m->contract_names = text_array_items(SPI_TEXT(0, 17));
	m->contract_types = text_array_items(SPI_TEXT(0, 18));
	m->definition_hash = SPI_TEXT(0, 19);
	m->shape_hash = SPI_TEXT(0, 20);
	m->keep_rejected = strcmp(SPI_TEXT(0, 21), "t") == 0;
	return m;
}

static const char *expectation_columns =
"SELECT id, name, owner::oid, target, kind, column_name, args::text, mostly, row_filter, severity,"
" search_path FROM sluice.expectation";

static List *
expectations_where(const char *condition, Oid argtype, Datum value)
{
	List	   *result = NIL;

	catalog_exec(psprintf("%s WHERE %s ORDER BY name", expectation_columns, condition),
				 1, &argtype, &value, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		ExpectationDef *e = palloc0(sizeof(ExpectationDef));

		e->id = int64_col(i, 1);
		e->name = SPI_TEXT(i, 2);
		e->owner = oid_col(i, 3);
		e->target = SPI_TEXT(i, 4);
		e->kind = SPI_TEXT(i, 5);
		e->column_name = SPI_TEXT(i, 6);
		e->args = SPI_TEXT(i, 7);
		e->mostly = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 8,
												 &(bool){false}));
		e->row_filter = SPI_TEXT(i, 9);
		e->severity = SPI_TEXT(i, 10);
		e->search_path = SPI_TEXT(i, 11);
		result = lappend(result, e);
	}
	return result;
}

List *
expectations_for(const char *target)
{
	return expectations_where("target = $1", TEXTOID, CStringGetTextDatum(target));
}

ExpectationDef *
expectation_by_id(int64 id)
{
	List	   *found = expectations_where("id = $1", INT8OID, Int64GetDatum(id));

	if (found == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("expectation %lld does not exist", (long long) id)));
	return linitial(found);
}

List *
expectation_history(int64 id, const char *member, int n)
{
	Oid			argtypes[3] = {INT8OID, TEXTOID, INT4OID};
	Datum		values[3] = {Int64GetDatum(id), CStringGetTextDatum(member), Int32GetDatum(n)};
	List	   *result = NIL;

	catalog_exec("SELECT (observed_value->>$2)::float8 FROM sluice.check_result"
				 " WHERE expectation_id = $1 AND success AND observed_value ? $2"
				 " ORDER BY id DESC LIMIT $3", 3, argtypes, values, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		double	   *v = palloc(sizeof(double));

		*v = DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1,
										  &(bool){false}));
		result = lappend(result, v);
	}
	return result;
}

char *
secret_value_for(const char *secret, Oid user_owner, const char *user_kind, const char *user_name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(secret)};
	Oid			secret_owner;

	catalog_exec("SELECT owner::oid, value FROM sluice.secret WHERE name = $1",
				 1, argtypes, values, NULL, true);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s \"%s\" uses secret \"%s\", which does not exist",
						user_kind, user_name, secret),
				 errhint("SELECT sluice.create_secret('%s', '...');", secret)));
	secret_owner = oid_col(0, 1);
	/* A definition may only use the secrets of roles its owner belongs to. */
	if (!is_member_of_role(user_owner, secret_owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s \"%s\" may not use secret \"%s\"", user_kind, user_name, secret),
				 errdetail("The owner of %s \"%s\" is not a member of the secret's owner.",
						   user_kind, user_name)));
	return SPI_TEXT(0, 2);
}

static Datum
text_array(List *items)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(items), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, items)
		elems[n++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

void
lineage_add_inputs(const char *via_kind, const char *via_name, const char *statement,
				   const char *to, const char *to_kind, List *input_names, List *input_kinds)
{
	Oid			argtypes[7] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7] = {
		CStringGetTextDatum(to_kind), CStringGetTextDatum(to),
		text_array(input_kinds), text_array(input_names),
		CStringGetTextDatum(via_kind), CStringGetTextDatum(via_name), CStringGetTextDatum(statement)
	};

	catalog_exec("SELECT sluice._datasets($1 || $3, $2 || $4)", 4, argtypes, values, NULL, false);
	/*
	 * Edges already known are touched only if no other session holds them: a statement never
	 * waits on another's transaction for the sake of lineage.
	 */
	catalog_exec("WITH wanted AS (SELECT f.id AS from_id, t.id AS to_id"
				 "   FROM sluice.dataset f, sluice.dataset t"
				 "   WHERE f.name = ANY ($4) AND f.dropped_at IS NULL AND t.name = $2"
				 "     AND t.dropped_at IS NULL AND f.id <> t.id),"
				 " seen AS (UPDATE sluice.lineage_edge e SET statement = $7, last_seen = now()"
				 "   WHERE e.id IN (SELECT k.id FROM sluice.lineage_edge k JOIN wanted w USING (from_id, to_id)"
				 "                  WHERE k.via_kind = $5 AND k.via_name = $6 FOR UPDATE SKIP LOCKED))"
				 " INSERT INTO sluice.lineage_edge (from_id, to_id, via_kind, via_name, statement)"
				 " SELECT w.from_id, w.to_id, $5, $6, $7 FROM wanted w"
				 " WHERE NOT EXISTS (SELECT FROM sluice.lineage_edge k WHERE k.from_id = w.from_id"
				 "                   AND k.to_id = w.to_id AND k.via_kind = $5 AND k.via_name = $6)"
				 " ON CONFLICT DO NOTHING",
				 7, argtypes, values, NULL, false);
}

void
lineage_replace_inputs(const char *via_kind, const char *via_name, const char *to,
					   const char *to_kind, List *input_names, List *input_kinds, int64 run_id)
{
	Oid			argtypes[7] = {TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTOID, TEXTOID, INT8OID};
	Datum		values[7] = {
		CStringGetTextDatum(to_kind), CStringGetTextDatum(to),
		text_array(input_kinds), text_array(input_names),
		CStringGetTextDatum(via_kind), CStringGetTextDatum(via_name), Int64GetDatum(run_id)
	};

	/* The dataset rows first, in their own statement: the edge statement must see them. */
	catalog_exec("SELECT sluice._datasets($1 || $3, $2 || $4, CASE WHEN $5 = 'model' THEN $2 END)",
				 5, argtypes, values, NULL, false);
	catalog_exec("DELETE FROM sluice.lineage_edge e USING sluice.dataset t"
				 " WHERE e.via_kind = $5 AND e.via_name = $6 AND t.id = e.to_id"
				 "   AND (t.name <> $2 OR e.from_id NOT IN"
				 "        (SELECT id FROM sluice.dataset WHERE name = ANY ($4)))",
				 7, argtypes, values, NULL, false);
	catalog_exec("INSERT INTO sluice.lineage_edge (from_id, to_id, via_kind, via_name, run_id)"
				 " SELECT f.id, t.id, $5, $6, $7"
				 " FROM sluice.dataset f, sluice.dataset t"
				 " WHERE f.name = ANY ($4) AND t.name = $2 AND f.id <> t.id"
				 " ON CONFLICT (from_id, to_id, via_kind, via_name) DO UPDATE"
				 " SET run_id = excluded.run_id, last_seen = now()",
				 7, argtypes, values, NULL, false);
}

void
lineage_replace_columns(const char *via_kind, const char *via_name, const char *to,
						List *from_names, List *from_columns, List *to_columns, List *kinds)
{
	Oid			argtypes[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID};
	Datum		values[7] = {
		CStringGetTextDatum(via_kind), CStringGetTextDatum(via_name), CStringGetTextDatum(to),
		text_array(from_names), text_array(from_columns), text_array(to_columns), text_array(kinds)
	};

	catalog_exec("DELETE FROM sluice.column_lineage c USING sluice.lineage_edge e"
				 " WHERE c.edge_id = e.id AND e.via_kind = $1 AND e.via_name = $2",
				 7, argtypes, values, NULL, false);
	catalog_exec("INSERT INTO sluice.column_lineage (edge_id, from_column, to_column, transformation)"
				 " SELECT e.id, x.from_column, x.to_column, x.kind"
				 " FROM unnest($4, $5, $6, $7) AS x (from_name, from_column, to_column, kind)"
				 " JOIN sluice.dataset f ON f.name = x.from_name"
				 " JOIN sluice.dataset t ON t.name = $3"
				 " JOIN sluice.lineage_edge e ON e.from_id = f.id AND e.to_id = t.id"
				 "  AND e.via_kind = $1 AND e.via_name = $2",
				 7, argtypes, values, NULL, false);
}

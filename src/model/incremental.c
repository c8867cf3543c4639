/*
 * incremental.c: incremental models: only the new rows are computed and merged into the table.
 *
 * New rows are found one of three ways: `cursor`, an output column greater than the table's
 * high-water mark (read from the table, as dbt does); `input_cursor`, a column of one input
 * greater than the mark recorded with the last build (kept in the same transaction as the rows);
 * or `predicate`, a condition over the inputs.  A model that groups rows (an aggregate mart)
 * recomputes whole groups: those the new input rows fall in.
 *
 * Every change is one statement, so it reads one snapshot of the inputs and readers of the
 * table see the old rows or the new ones, never a mix.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "model/materialize.h"
#include "model/rewrite.h"
#include "util/relname.h"

/* The text of a value as a literal of type typid. */
static char *
typed_literal(const char *value, Oid typid)
{
	return psprintf("%s::%s", quote_literal_cstr(value), format_type_be_qualified(typid));
}

/* Why this build must rebuild the whole table, or NULL when new rows can be merged. */
static const char *
full_build_reason(ModelBuild *b, const char *last_shape, const char *last_high_water)
{
	if (b->full_refresh)
		return "full_refresh was asked for";
	if (b->relkind != RELKIND_RELATION)
		return "its table does not exist";
	if (last_shape == NULL)
		return "it was never built";
	if (strcmp(last_shape, b->model->shape_hash) != 0)
		return "its SQL changed";
	if (!same_columns(b->relid, b->columns, false))
		return "its columns changed";
	if (b->model->input_cursor && last_high_water == NULL)
		return "no high-water mark was recorded for its input_cursor";
	return NULL;
}

static bool
in_unique_key(ModelBuild *b, const char *column)
{
	ListCell   *lc;

	foreach(lc, b->model->unique_key)
		if (strcmp(lfirst(lc), column) == 0)
			return true;
	return false;
}

static void
append_rows(ModelBuild *b, const char *new_sql)
{
	spi_exec_small(psprintf("INSERT INTO %s SELECT * FROM (%s) AS model", b->target, new_sql),
				   SPI_OK_INSERT, 0, NULL, NULL, false);
	b->rows = (int64) SPI_processed;
}

/* New rows with a known key update the row there (when something changed), others are added. */
static void
merge_rows(ModelBuild *b, const char *new_sql)
{
	StringInfoData s;
	StringInfoData changed_left,
				changed_right,
				assignments;

	initStringInfo(&changed_left);
	initStringInfo(&changed_right);
	initStringInfo(&assignments);
	for (int i = 0; i < b->columns->natts; i++)
	{
		const char *c = NameStr(TupleDescAttr(b->columns, i)->attname);

		if (in_unique_key(b, c))
			continue;
		appendStringInfo(&changed_left, "%st.%s", changed_left.len ? ", " : "", quote_identifier(c));
		appendStringInfo(&changed_right, "%sn.%s", changed_right.len ? ", " : "", quote_identifier(c));
		appendStringInfo(&assignments, "%s%s = n.%s", assignments.len ? ", " : "",
						 quote_identifier(c), quote_identifier(c));
	}
	initStringInfo(&s);
	appendStringInfo(&s, "MERGE INTO %s AS t USING (%s) AS n ON %s",
					 b->target, new_sql, key_match(b, "t", "n"));
	if (assignments.len > 0)
		appendStringInfo(&s, " WHEN MATCHED AND (%s, NULL) IS DISTINCT FROM (%s, NULL) THEN UPDATE SET %s",
						 changed_left.data, changed_right.data, assignments.data);
	appendStringInfo(&s, " WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)",
					 column_list(b->columns, NULL), column_list(b->columns, "n"));
	spi_exec_small(s.data, SPI_OK_MERGE, 0, NULL, NULL, false);
	b->rows = (int64) SPI_processed;
}

/*
 * An aggregate mart: the keys of the groups the new input rows fall in are read once, as arrays;
 * those groups' rows go, and are computed again from all their input rows.  Both statements work
 * on the same keys, so the table never holds a group twice or loses one.
 */
static void
replace_groups(ModelBuild *b, const char *condition, const char *what)
{
	ModelDef   *m = b->model;
	int			nkeys = list_length(m->unique_key);
	Oid		   *key_types = palloc(sizeof(Oid) * nkeys);
	Oid		   *array_types = palloc(sizeof(Oid) * nkeys);
	Datum	   *arrays = palloc(sizeof(Datum) * nkeys);
	StringInfoData aggregates;
	StringInfoData params;
	char	   *groups_sql;
	char	   *restricted_sql;
	ListCell   *lc;

	initStringInfo(&aggregates);
	initStringInfo(&params);
	foreach(lc, m->unique_key)
	{
		int			i = foreach_current_index(lc);

		key_types[i] = output_column(b, lfirst(lc), "unique_key")->atttypid;
		array_types[i] = get_array_type(key_types[i]);
		appendStringInfo(&aggregates, "%sarray_agg(g.%s)", i > 0 ? ", " : "",
						 quote_identifier(lfirst(lc)));
		appendStringInfo(&params, "%s$%d", i > 0 ? ", " : "", i + 1);
	}
	model_sql_groups(m->sql, m->name, m->unique_key, key_types, condition, what, &groups_sql,
					 &restricted_sql);

	spi_exec_small(psprintf("SELECT %s FROM (%s) AS g", aggregates.data, groups_sql), SPI_OK_SELECT,
				   0, NULL, NULL, false);
	for (int i = 0; i < nkeys; i++)
	{
		bool		isnull;

		arrays[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
		if (isnull)
		{
			b->rows = 0;		/* no group touched */
			return;
		}
		arrays[i] = datumCopy(arrays[i], false, -1);
	}
	spi_exec_small(psprintf("DELETE FROM %s AS t WHERE (%s) IN (SELECT * FROM unnest(%s))",
							b->target, key_list(b, "t"), params.data),
				   SPI_OK_DELETE, nkeys, array_types, arrays, true);
	spi_exec_small(psprintf("INSERT INTO %s SELECT * FROM (%s) AS model", b->target, restricted_sql),
				   SPI_OK_INSERT, nkeys, array_types, arrays, false);
	b->rows = (int64) SPI_processed;
}

/* New rows replace the rows with their keys. */
static void
delete_insert_rows(ModelBuild *b, const char *new_sql)
{
	spi_exec_small(psprintf("WITH new_rows AS MATERIALIZED (SELECT * FROM (%s) AS model),"
					  " gone AS (DELETE FROM %s AS t WHERE (%s) IN (SELECT %s FROM new_rows) RETURNING 1)"
					  " INSERT INTO %s SELECT * FROM new_rows WHERE (SELECT count(*) FROM gone) >= 0",
					  new_sql, b->target, key_list(b, "t"), key_list(b, NULL), b->target),
				   SPI_OK_INSERT, 0, NULL, NULL, false);
	b->rows = (int64) SPI_processed;
}

/* A row-level model: its new rows (by condition, or past the cursor's mark) go in by its strategy. */
static void
merge_new_rows(ModelBuild *b, const char *condition, const char *what)
{
	ModelDef   *m = b->model;
	const char *new_sql;

	if (condition)
		new_sql = model_sql_where(m->sql, m->name, condition, what);
	else
	{
		/* cursor: an output column past the table's own high-water mark */
		Form_pg_attribute cursor = output_column(b, m->cursor, "cursor");
		char	   *mark = spi_value(psprintf("SELECT to_jsonb(max(%s)) #>> '{}' FROM %s",
											  quote_identifier(m->cursor), b->target));

		new_sql = mark == NULL ? m->sql :
			psprintf("SELECT * FROM (%s) AS model WHERE model.%s > %s", m->sql,
					 quote_identifier(m->cursor), typed_literal(mark, cursor->atttypid));
	}
	if (strcmp(m->strategy, "append") == 0)
		append_rows(b, new_sql);
	else if (strcmp(m->strategy, "merge") == 0)
		merge_rows(b, new_sql);
	else
		delete_insert_rows(b, new_sql);
}

void
materialize_incremental(ModelBuild *b)
{
	ModelDef   *m = b->model;
	char	   *last_shape;
	char	   *last_high_water;
	const char *why_full;
	const char *condition = NULL;	/* over the inputs: what is new */
	const char *what = NULL;

	check_unique_key(b);
	if (m->cursor)
		(void) output_column(b, m->cursor, "cursor");
	model_last_build(m->id, &last_shape, &last_high_water);
	why_full = full_build_reason(b, last_shape, last_high_water);

	if (m->input_cursor)
	{
		Oid			relid;
		Oid			typid;
		char	   *column;
		char	   *column_ref;

		model_input_cursor(b->query, m->name, m->input_cursor, &relid, &column, &typid);
		column_ref = psprintf("%s.%s", quote_identifier(pnstrdup(m->input_cursor,
																 strchr(m->input_cursor, '.') - m->input_cursor)),
							  quote_identifier(column));
		/* The mark is read before the rows, and bounds them: rows that land meanwhile wait. */
		b->high_water = spi_value(psprintf("SELECT to_jsonb(max(%s)) #>> '{}' FROM %s%s",
										   quote_identifier(column),
										   relation_quoted_name(relid),
										   why_full ? "" :
										   psprintf(" WHERE %s > %s", quote_identifier(column),
													typed_literal(last_high_water, typid))));
		what = "input_cursor";
		if (why_full == NULL && b->high_water == NULL)
		{
			/* Nothing past the mark: nothing to do. */
			b->high_water = last_high_water;
			b->how = "incremental";
			b->rows = 0;
			return;
		}
		if (b->high_water != NULL)
			condition = why_full ?
				psprintf("%s <= %s", column_ref, typed_literal(b->high_water, typid)) :
				psprintf("%s > %s AND %s <= %s", column_ref, typed_literal(last_high_water, typid),
						 column_ref, typed_literal(b->high_water, typid));
	}
	else if (m->predicate)
	{
		/* Checked on full builds too, so a wrong predicate fails at once, not at the next build. */
		(void) model_sql_where(m->sql, m->name, m->predicate, "predicate");
		if (why_full == NULL)
		{
			condition = m->predicate;
			what = "predicate";
		}
	}

	if (why_full)
	{
		b->full_reason = why_full;
		materialize_table(b, condition ? model_sql_where(m->sql, m->name, condition, what) : m->sql);
		return;
	}

	b->how = "incremental";
	if (condition && m->unique_key != NIL && query_is_grouped(b->query))
	{
		replace_groups(b, condition, what);
		return;
	}

	merge_new_rows(b, condition, what);
}

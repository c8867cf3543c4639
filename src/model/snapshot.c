/*
 * snapshot.c: snapshots, slowly changing dimensions of type 2.
 *
 * The table holds every version of every record: the model's columns plus valid_from, valid_to
 * and is_current.  A build closes the current version of each record that changed (by a newer
 * updated_at, or by a difference in the compared columns) and adds its new version; records that
 * are new get their first version; with invalidate_hard_deletes, records gone from the model's
 * output are closed.  One statement does it all, so it reads one snapshot of the inputs.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "model/materialize.h"

static const char *const history_columns[] = {"valid_from", "valid_to", "is_current"};

/* The snapshot table's columns: the model's, then the history columns. */
static TupleDesc
with_history(ModelBuild *b)
{
	TupleDesc	desc = CreateTemplateTupleDesc(b->columns->natts + 3);

	for (int i = 0; i < b->columns->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(b->columns, i);

		for (int h = 0; h < 3; h++)
			if (strcmp(NameStr(a->attname), history_columns[h]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("model \"%s\" returns a column \"%s\", a name its snapshot adds itself",
								b->model->name, history_columns[h]),
						 errhint("Rename it in the model's SELECT.")));
		TupleDescCopyEntry(desc, i + 1, b->columns, i + 1);
	}
	TupleDescInitEntry(desc, b->columns->natts + 1, "valid_from", TIMESTAMPTZOID, -1, 0);
	TupleDescInitEntry(desc, b->columns->natts + 2, "valid_to", TIMESTAMPTZOID, -1, 0);
	TupleDescInitEntry(desc, b->columns->natts + 3, "is_current", BOOLOID, -1, 0);
	return desc;
}

/* When a version of a row of `alias` starts being valid. */
static char *
valid_from(ModelBuild *b, const char *alias)
{
	if (b->model->updated_at)
		return psprintf("%s.%s::timestamptz", alias, quote_identifier(b->model->updated_at));
	return "now()";
}

/* The condition under which row s is a new version of current row c. */
static char *
changed(ModelBuild *b)
{
	StringInfoData left,
				right;
	List	   *compared = b->model->check_cols;
	ListCell   *lc;

	if (strcmp(b->model->strategy, "timestamp") == 0)
		return psprintf("s.%s > c.%s", quote_identifier(b->model->updated_at),
						quote_identifier(b->model->updated_at));
	if (compared == NIL)		/* all columns */
		for (int i = 0; i < b->columns->natts; i++)
			compared = lappend(compared, NameStr(TupleDescAttr(b->columns, i)->attname));
	initStringInfo(&left);
	initStringInfo(&right);
	foreach(lc, compared)
	{
		const char *col = quote_identifier(NameStr(output_column(b, lfirst(lc), "check_cols")->attname));

		appendStringInfo(&left, "s.%s, ", col);
		appendStringInfo(&right, "c.%s, ", col);
	}
	/* The trailing NULL makes a one-column list a row as well. */
	return psprintf("(%sNULL) IS DISTINCT FROM (%sNULL)", left.data, right.data);
}

void
materialize_snapshot(ModelBuild *b)
{
	ModelDef   *m = b->model;
	TupleDesc	history = with_history(b);
	StringInfoData s;

	check_unique_key(b);
	if (m->updated_at)
		(void) output_column(b, m->updated_at, "updated_at");

	if (b->relkind == '\0' || b->full_refresh)
	{
		char	   *first = psprintf("SELECT model.*, %s AS valid_from, NULL::timestamptz AS valid_to,"
									 " true AS is_current FROM (%s) AS model",
									 valid_from(b, "model"), m->sql);

		b->columns = history;
		materialize_table(b, first);
		return;
	}
	if (b->relkind != RELKIND_RELATION || !same_columns(b->relid, history, false))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("model \"%s\" no longer matches its snapshot table %s", m->name, b->target),
				 errdetail("The table must have the model's columns (%s) followed by valid_from, "
						   "valid_to and is_current.", column_list(b->columns, NULL)),
				 errhint("CALL sluice.build('%s', full_refresh => true) rebuilds it from the current "
						 "rows, discarding its history.", m->name)));

	initStringInfo(&s);
	appendStringInfo(&s,
					 "WITH src AS MATERIALIZED (SELECT * FROM (%s) AS model),"
					 " changed AS MATERIALIZED ("
					 "   SELECT s.*, %s AS sluice_valid_from FROM src s"
					 "   JOIN %s c ON c.is_current AND %s WHERE %s),"
					 " closed AS (UPDATE %s t SET valid_to = ch.sluice_valid_from, is_current = false"
					 "   FROM changed ch WHERE t.is_current AND %s RETURNING 1),",
					 m->sql, valid_from(b, "s"), b->target, key_match(b, "c", "s"), changed(b),
					 b->target, key_match(b, "t", "ch"));
	appendStringInfo(&s,
					 " ended AS (UPDATE %s t SET valid_to = now(), is_current = false"
					 "   WHERE %s AND t.is_current AND NOT EXISTS (SELECT FROM src s WHERE %s) RETURNING 1)",
					 b->target, m->invalidate_hard_deletes ? "true" : "false",
					 key_match(b, "s", "t"));
	/* The new versions wait for the old ones to close: one current version per key at a time. */
	appendStringInfo(&s,
					 " INSERT INTO %s (%s, valid_from, valid_to, is_current)"
					 " SELECT n.*, NULL, true FROM ("
					 "   SELECT %s, sluice_valid_from FROM changed s"
					 "   UNION ALL"
					 "   SELECT %s, %s FROM src s"
					 "   WHERE NOT EXISTS (SELECT FROM %s c WHERE c.is_current AND %s)) AS n"
					 " WHERE (SELECT count(*) FROM closed) + (SELECT count(*) FROM ended) >= 0",
					 b->target, column_list(b->columns, NULL), column_list(b->columns, "s"),
					 column_list(b->columns, "s"), valid_from(b, "s"), b->target,
					 key_match(b, "c", "s"));
	spi_exec(s.data, SPI_OK_INSERT);
	b->rows = (int64) SPI_processed;
	b->how = "snapshot";
}

/*
 * schema.c: target tables made and grown from what records hold.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "ingest/config.h"
#include "ingest/json_stream.h"
#include "ingest/schema.h"

/*
 * The narrowest type that holds every value seen: bigint, numeric, boolean, date, timestamptz
 * or jsonb when all values agree (nulls aside), text otherwise.
 */
static const char *
inferred_type(int kinds)
{
	kinds &= ~FIELD_NULL;
	if (kinds == FIELD_INTEGER)
		return "bigint";
	if (kinds == FIELD_DECIMAL || kinds == (FIELD_INTEGER | FIELD_DECIMAL))
		return "numeric";
	if (kinds == FIELD_BOOLEAN)
		return "boolean";
	if (kinds == FIELD_DATE)
		return "date";
	if (kinds == FIELD_TIMESTAMP || kinds == (FIELD_TIMESTAMP | FIELD_DATE))
		return "timestamp with time zone";
	if (kinds == FIELD_CONTAINER)
		return "jsonb";
	return "text";
}

List *
schema_columns_for_fields(List *fields)
{
	List	   *columns = NIL;
	ListCell   *lc;

	foreach(lc, fields)
	{
		FieldSeen  *f = lfirst(lc);
		ColumnSpec *col = palloc0(sizeof(ColumnSpec));

		col->name = f->name;
		col->type_sql = pstrdup(inferred_type(f->kinds));
		col->path = json_path_member(f->name);
		columns = lappend(columns, col);
	}
	return columns;
}

static void
execute(const char *sql)
{
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not run: %s", sql);
}

void
schema_create_table(const char *target, List *columns, List *primary_key)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (", target);
	foreach(lc, columns)
	{
		ColumnSpec *col = lfirst(lc);

		appendStringInfo(&sql, "%s%s %s", foreach_current_index(lc) > 0 ? ", " : "",
						 quote_identifier(col->name), col->type_sql);
	}
	if (primary_key != NIL)
	{
		appendStringInfoString(&sql, ", PRIMARY KEY (");
		foreach(lc, primary_key)
			appendStringInfo(&sql, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
							 quote_identifier(lfirst(lc)));
		appendStringInfoChar(&sql, ')');
	}
	appendStringInfoChar(&sql, ')');
	execute(sql.data);
}

void
schema_add_columns(const char *target, List *columns)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ", target);
	foreach(lc, columns)
	{
		ColumnSpec *col = lfirst(lc);

		appendStringInfo(&sql, "%sADD COLUMN %s %s", foreach_current_index(lc) > 0 ? ", " : "",
						 quote_identifier(col->name), col->type_sql);
	}
	execute(sql.data);
}

List *
schema_table_columns(Relation rel)
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
		col->type_sql = format_type_with_typemod(att->atttypid, att->atttypmod);
		col->path = json_path_member(col->name);
		columns = lappend(columns, col);
	}
	return columns;
}

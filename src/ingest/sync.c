/*
 * sync.c: full refresh and incremental sync of a pull's records into its target.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/jsonb.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "ingest/sync.h"
#include "util/role.h"

#define STAGING "pg_temp.sluice_pull_staging"

SyncMode
sync_mode_from_name(const char *name)
{
	if (strcmp(name, "full_refresh_append") == 0)
		return SYNC_APPEND;
	if (strcmp(name, "incremental_append") == 0)
		return SYNC_INCREMENTAL_APPEND;
	if (strcmp(name, "incremental_dedup") == 0)
		return SYNC_INCREMENTAL_DEDUP;
	return SYNC_OVERWRITE;
}

/* Runs SQL that may fire the user's code (triggers, defaults) as the owner, restricted. */
static void
run_as_owner(Sync *sync, const char *sql, int nargs, Oid *types, Datum *values,
			 const char *nulls, int expected)
{
	RoleSwitch	rs;
	int			rc;

	role_switch_enter(&rs, sync->owner, true, NULL);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	role_switch_exit(&rs);
	if (rc != expected)
		elog(ERROR, "%s: could not run: %s", sync->who, sql);
}

void
sync_begin(Sync *sync, Oid target)
{
	/* DELETE, not TRUNCATE: readers keep seeing the old rows until this commits. */
	if (sync->mode == SYNC_OVERWRITE && OidIsValid(target))
		run_as_owner(sync, psprintf("DELETE FROM %s", sync->target), 0, NULL, NULL, NULL,
					 SPI_OK_DELETE);
}

static char *
column_list(List *column_names, const char *prefix)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	foreach(lc, column_names)
		appendStringInfo(&s, "%s%s%s", foreach_current_index(lc) > 0 ? ", " : "", prefix,
						 quote_identifier(strVal(lfirst(lc))));
	return s.data;
}

/* The SQL type of the target's cursor column. */
static char *
cursor_type(Sync *sync, Oid target)
{
	AttrNumber	att = get_attnum(target, sync->cursor_field);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s: cursor_field \"%s\" is not a column of %s", sync->who,
						sync->cursor_field, sync->target)));
	return format_type_be(get_atttype(target, att));
}

Oid
sync_load_relation(Sync *sync, Oid target, List *column_names)
{
	StringInfoData sql;
	ListCell   *lc;
	RoleSwitch	rs;

	if (sync->mode == SYNC_OVERWRITE || sync->mode == SYNC_APPEND)
		return target;
	if (!list_member(column_names, makeString((char *) sync->cursor_field)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s: cursor_field \"%s\" is not among the columns loaded", sync->who,
						sync->cursor_field)));

	/* Staging holds just the loaded columns, without the target's constraints or defaults. */
	initStringInfo(&sql);
	/* One left by a pull of this session that failed after a checkpoint goes too. */
	if (sync->staging ||
		OidIsValid(RangeVarGetRelid(makeRangeVar("pg_temp", "sluice_pull_staging", -1), NoLock, true)))
		appendStringInfoString(&sql, "DROP TABLE " STAGING "; ");
	appendStringInfoString(&sql, "CREATE TEMP TABLE sluice_pull_staging (");
	foreach(lc, column_names)
	{
		Oid			type;
		int32		typmod;
		Oid			collation;

		get_atttypetypmodcoll(target, get_attnum(target, strVal(lfirst(lc))), &type, &typmod,
							  &collation);
		appendStringInfo(&sql, "%s%s %s", foreach_current_index(lc) > 0 ? ", " : "",
						 quote_identifier(strVal(lfirst(lc))), format_type_with_typemod(type, typmod));
	}
	appendStringInfoChar(&sql, ')');
	/* No user code runs here; a restricted operation could not create a temporary table. */
	role_switch_enter(&rs, sync->owner, false, "pg_catalog, pg_temp");
	if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "%s: could not create the staging table", sync->who);
	role_switch_exit(&rs);
	sync->staging = true;
	return RelnameGetRelid("sluice_pull_staging");
}

void
sync_merge(Sync *sync, Oid target, List *column_names)
{
	char	   *cols;
	const char *cursor;
	char	   *type;
	Oid			types[1] = {JSONBOID};
	Datum		values[1];
	char		nulls[1] = {' '};
	const char *floor_cmp;
	char	   *sql;

	if (!sync->staging)
		return;
	cursor = quote_identifier(sync->cursor_field);
	type = cursor_type(sync, target);
	cols = column_list(column_names, "");

	/* The cursor passed on: kept as JSON, which spells every type the same in any session. */
	values[0] = sync->cursor ? DirectFunctionCall1(jsonb_in, CStringGetDatum(sync->cursor)) : 0;
	nulls[0] = sync->cursor ? ' ' : 'n';
	run_as_owner(sync, psprintf("SELECT to_jsonb(greatest(($1 #>> '{}')::%s, max(%s)))::text,"
								" count(*) FILTER (WHERE %s IS NULL) FROM " STAGING,
								type, cursor, cursor),
				 1, types, values, nulls, SPI_OK_SELECT);
	{
		bool		isnull;
		char	   *max = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		sync->without_cursor += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
															SPI_tuptable->tupdesc, 2, &isnull));
		if (max)
			sync->cursor = MemoryContextStrdup(sync->context, max);
	}

	values[0] = sync->floor ? DirectFunctionCall1(jsonb_in, CStringGetDatum(sync->floor)) : 0;
	nulls[0] = sync->floor ? ' ' : 'n';
	/* Appends must not load a record twice; upserts take a record at the cursor again. */
	floor_cmp = sync->mode == SYNC_INCREMENTAL_APPEND ? ">" : ">=";
	if (sync->mode == SYNC_INCREMENTAL_APPEND)
		sql = psprintf("INSERT INTO %s (%s) SELECT %s FROM " STAGING
					   " WHERE %s IS NOT NULL AND ($1 IS NULL OR %s %s ($1 #>> '{}')::%s)",
					   sync->target, cols, cols, cursor, cursor, floor_cmp, type);
	else
	{
		char	   *pk = column_list(sync->primary_key, "");

		sql = psprintf("INSERT INTO %s AS t (%s) SELECT DISTINCT ON (%s) %s FROM " STAGING
					   " WHERE %s IS NOT NULL AND ($1 IS NULL OR %s %s ($1 #>> '{}')::%s)"
					   " ORDER BY %s, %s DESC"
					   " ON CONFLICT (%s) DO UPDATE SET (%s) = ROW(%s)"
					   " WHERE t.%s IS NULL OR t.%s <= excluded.%s",
					   sync->target, cols, pk, cols, cursor, cursor, floor_cmp, type,
					   pk, cursor, pk, cols, column_list(column_names, "excluded."),
					   cursor, cursor, cursor);
	}
	PG_TRY();
	{
		run_as_owner(sync, sql, 1, types, values, nulls, SPI_OK_INSERT);
	}
	PG_CATCH();
	{
		if (geterrcode() == ERRCODE_INVALID_COLUMN_REFERENCE)
		{
			FlushErrorState();
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("%s: incremental_dedup needs a unique index on (%s) of %s",
							sync->who, column_list(sync->primary_key, ""), sync->target),
					 errhint("CREATE UNIQUE INDEX ON %s (%s);", sync->target,
							 column_list(sync->primary_key, ""))));
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	sync->merged += SPI_processed;
	run_as_owner(sync, "TRUNCATE " STAGING, 0, NULL, NULL, NULL, SPI_OK_UTILITY);
}

void
sync_end(Sync *sync)
{
	if (sync->staging)
		run_as_owner(sync, "DROP TABLE " STAGING, 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	sync->staging = false;
}

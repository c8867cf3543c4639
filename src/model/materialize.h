/*
 * materialize.h: turning a model's SELECT into its relation, one materialization at a time.
 *
 * Everything here runs as the model's owner, inside the subtransaction of its build: an error
 * anywhere leaves the old relation exactly as it was.
 */
#ifndef SLUICE_MATERIALIZE_H
#define SLUICE_MATERIALIZE_H

#include "access/tupdesc.h"
#include "nodes/parsenodes.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "quality/audit.h"

typedef struct ModelBuild
{
	ModelDef   *model;
	char	   *target;			/* quoted qualified name */
	bool		full_refresh;	/* asked for: rebuild from scratch */
	Oid			relid;			/* the relation there now, or InvalidOid */
	char		relkind;		/* its relkind, or '\0' */
	Query	   *query;			/* the model's SQL, analyzed */
	TupleDesc	columns;		/* what the SQL returns */
	RunRecord  *run;			/* the build's run: check results go with it */
	/* outcome */
	const char *how;			/* full, incremental, ... as recorded with the run */
	const char *full_reason;	/* why an incremental model was built in full, or NULL */
	int64		rows;			/* rows written; -1 for a view */
	char	   *high_water;		/* input cursor's mark after this build, or NULL */
	Audit		audit;			/* the expectations checked on the new data */
	bool		audited;
	char	   *rejected;		/* where new rows the expectations rejected were kept, or NULL */
} ModelBuild;

extern void materialize_view(ModelBuild *b);

/* A full build: select_sql's rows become the table's (swapped in when the shape allows). */
extern void materialize_table(ModelBuild *b, const char *select_sql);

/*
 * Write, audit, publish: checks the model's expectations on its new data in relid (about to
 * replace published_relid, or the relation itself once changed in place); errors when they
 * reject it, so that the build's rollback keeps the previous data.
 */
extern void audit_new_data(ModelBuild *b, Oid relid, Oid published_relid);

/* 'model "m" failed its expectations: a, b' once an audit has rejected its new data. */
extern char *rejection_message(ModelBuild *b);

/* Drops the rows a previous build kept when its expectations rejected them. */
extern void drop_rejected(ModelBuild *b);

extern void materialize_incremental(ModelBuild *b);	/* incremental.c */
extern void materialize_snapshot(ModelBuild *b);	/* snapshot.c */

/* The output column of that name; errors naming the option that named it otherwise. */
extern Form_pg_attribute output_column(ModelBuild *b, const char *column, const char *option);

/* Errors unless every unique_key column is an output column. */
extern void check_unique_key(ModelBuild *b);

/* Errors unless the model's columns are those its contract declares. */
extern void check_contract(ModelBuild *b);

/* Creates the indexes the model declares (and its unique key's) that are missing. */
extern void ensure_indexes(ModelBuild *b);

/* Runs sql through SPI; errors unless the result code is `expected`. */
extern void spi_exec(const char *sql, int expected);

/*
 * Whether the relation's columns match desc's: all of them (exact) or as a prefix, the way
 * CREATE OR REPLACE VIEW allows new columns only at the end.
 */
extern bool same_columns(Oid relid, TupleDesc desc, bool prefix_only);

/* "prefix.a, prefix.b, ..." (quoted) for desc's columns; no prefix when prefix is NULL. */
extern char *column_list(TupleDesc desc, const char *prefix);

/* The unique_key columns, quoted and joined: "prefix.a, prefix.b". */
extern char *key_list(ModelBuild *b, const char *prefix);

/* "l.a = r.a AND l.b = r.b" over the unique_key columns. */
extern char *key_match(ModelBuild *b, const char *left, const char *right);

/*
 * Runs one of sluice's statements that change a few rows of a large table.  JIT is off (its
 * compile time would dwarf the work) and, when `keyed`, so are sequential scans: the rows are
 * found through the key's unique index, which estimates of distinct keys make look dearer.
 */
extern void spi_exec_small(const char *sql, int expected, int nargs, Oid *argtypes, Datum *values,
						   bool keyed);

/* The value of a one-row, one-column query (as text), or NULL. */
extern char *spi_value(const char *sql);

#endif

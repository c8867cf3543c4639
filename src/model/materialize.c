/*
 * materialize.c: views and full table builds, and what every materialization shares.
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/comment.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "model/materialize.h"
#include "model/publish.h"

void
spi_exec(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "unexpected result %s for: %s", SPI_result_code_string(rc), sql);
}

void
spi_exec_small(const char *sql, int expected, int nargs, Oid *argtypes, Datum *values, bool keyed)
{
	int			nest_level = NewGUCNestLevel();
	int			rc;

	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (keyed)
		(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 0);
	AtEOXact_GUC(true, nest_level);
	if (rc != expected)
		elog(ERROR, "unexpected result %s for: %s", SPI_result_code_string(rc), sql);
}

char *
spi_value(const char *sql)
{
	spi_exec(sql, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

bool
same_columns(Oid relid, TupleDesc desc, bool prefix_only)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	reldesc = RelationGetDescr(rel);
	int			j = 0;
	bool		same = true;

	for (int i = 0; i < reldesc->natts && same; i++)
	{
		Form_pg_attribute a = TupleDescAttr(reldesc, i);
		Form_pg_attribute q;

		if (a->attisdropped)
			continue;
		if (j >= desc->natts)
		{
			same = false;
			break;
		}
		q = TupleDescAttr(desc, j++);
		same = strcmp(NameStr(a->attname), NameStr(q->attname)) == 0 &&
			a->atttypid == q->atttypid && a->atttypmod == q->atttypmod;
	}
	relation_close(rel, AccessShareLock);
	return same && (prefix_only || j == desc->natts);
}

static void
append_column(StringInfo s, const char *prefix, const char *column)
{
	if (s->len > 0)
		appendStringInfoString(s, ", ");
	if (prefix)
		appendStringInfo(s, "%s.", prefix);
	appendStringInfoString(s, quote_identifier(column));
}

char *
column_list(TupleDesc desc, const char *prefix)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < desc->natts; i++)
		append_column(&s, prefix, NameStr(TupleDescAttr(desc, i)->attname));
	return s.data;
}

char *
key_list(ModelBuild *b, const char *prefix)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	foreach(lc, b->model->unique_key)
		append_column(&s, prefix, lfirst(lc));
	return s.data;
}

char *
key_match(ModelBuild *b, const char *left, const char *right)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	foreach(lc, b->model->unique_key)
	{
		const char *k = quote_identifier(lfirst(lc));

		appendStringInfo(&s, "%s%s.%s = %s.%s", s.len > 0 ? " AND " : "", left, k, right, k);
	}
	return s.data;
}

Form_pg_attribute
output_column(ModelBuild *b, const char *column, const char *option)
{
	for (int i = 0; i < b->columns->natts; i++)
		if (strcmp(NameStr(TupleDescAttr(b->columns, i)->attname), column) == 0)
			return TupleDescAttr(b->columns, i);
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("model \"%s\": %s column \"%s\" is not a column of its output",
					b->model->name, option, column),
			 errhint("Its columns are %s.", column_list(b->columns, NULL))));
	pg_unreachable();
}

void
check_unique_key(ModelBuild *b)
{
	ListCell   *lc;

	foreach(lc, b->model->unique_key)
		(void) output_column(b, lfirst(lc), "unique_key");
}

static void
drop_relation(ModelBuild *b)
{
	spi_exec(psprintf("DROP %s %s", b->relkind == RELKIND_VIEW ? "VIEW" :
					  b->relkind == RELKIND_MATVIEW ? "MATERIALIZED VIEW" : "TABLE", b->target),
			 SPI_OK_UTILITY);
}

/*
 * Replaces the relation with a new one made by `create`, keeping the old one's grants and
 * comment; the old one's readers are waited for in short turns.
 */
static void
recreate(ModelBuild *b, const char *create, const char *new_kind)
{
	List	   *extras = NIL;
	ListCell   *lc;

	if (b->relkind != '\0')
	{
		extras = relation_extras(b->relid, new_kind);
		publish_lock(b->relid, b->model->name);
		drop_relation(b);
	}
	spi_exec(create, SPI_OK_UTILITY);
	foreach(lc, extras)
		spi_exec(lfirst(lc), SPI_OK_UTILITY);
}

/* "<model's table>__rejected", unquoted (truncated to fit a name). */
static char *
rejected_name(ModelBuild *b)
{
	return psprintf("%.*s__rejected", NAMEDATALEN - 1 - 10, b->model->target_name);
}

/* Rows kept are marked so that only what sluice kept is ever dropped. */
static char *
rejected_comment(ModelBuild *b)
{
	return psprintf("sluice: rows of model \"%s\" rejected by its expectations", b->model->name);
}

static Oid
rejected_relid(ModelBuild *b)
{
	return get_relname_relid(rejected_name(b), get_namespace_oid(b->model->target_schema, false));
}

void
drop_rejected(ModelBuild *b)
{
	Oid			relid = rejected_relid(b);
	char	   *comment = OidIsValid(relid) ? GetComment(relid, RelationRelationId, 0) : NULL;

	if (comment && strncmp(comment, rejected_comment(b), strlen(rejected_comment(b))) == 0)
		spi_exec(psprintf("DROP TABLE %s", quote_qualified_identifier(b->model->target_schema,
																	   rejected_name(b))),
				 SPI_OK_UTILITY);
}

char *
rejection_message(ModelBuild *b)
{
	return psprintf("model \"%s\" failed its expectations: %s", b->model->name, b->audit.failures);
}

static void pg_attribute_noreturn()
rejected_error(ModelBuild *b)
{
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("%s", rejection_message(b)),
			 errdetail("The previous data stays published."),
			 errhint("See SELECT * FROM sluice.check_result WHERE run_id = " INT64_FORMAT ";", b->run->id)));
}

/* Checks the model's expectations on relid; true if its data may be published. */
static bool
audit_passes(ModelBuild *b, Oid relid, Oid published_relid)
{
	b->audited = true;
	return audit_relation(b->target, relid, published_relid, InvalidTransactionId, b->run, &b->audit);
}

void
audit_new_data(ModelBuild *b, Oid relid, Oid published_relid)
{
	if (!audit_passes(b, relid, published_relid))
		rejected_error(b);
}

/*
 * A table's new rows in relation `relation` (quoted) are checked before they are published;
 * rejected rows are kept under the rejected name when the model asks for that (the default), and
 * the build goes on to record the failure without publishing; true if they may be published.
 */
static bool
audit_table(ModelBuild *b, const char *relation, Oid relid, Oid published_relid)
{
	char	   *kept;

	if (audit_passes(b, relid, published_relid))
		return true;
	if (!b->model->keep_rejected)
		rejected_error(b);
	kept = quote_qualified_identifier(b->model->target_schema, rejected_name(b));
	if (strcmp(kept, relation) != 0)
		spi_exec(psprintf("ALTER TABLE %s RENAME TO %s", relation, quote_identifier(rejected_name(b))),
				 SPI_OK_UTILITY);
	spi_exec(psprintf("COMMENT ON TABLE %s IS %s", kept,
					  quote_literal_cstr(psprintf("%s in run " INT64_FORMAT, rejected_comment(b),
												  b->run->id))),
			 SPI_OK_UTILITY);
	b->rejected = kept;
	return false;
}

void
materialize_view(ModelBuild *b)
{
	const char *create = psprintf("CREATE OR REPLACE VIEW %s AS %s", b->target, b->model->sql);

	if (b->relkind == RELKIND_VIEW && same_columns(b->relid, b->columns, true))
	{
		publish_lock(b->relid, b->model->name);
		spi_exec(create, SPI_OK_UTILITY);
	}
	else
		recreate(b, create, "VIEW");
	/* CREATE VIEW checks no privileges: prove now that the owner can read every input. */
	spi_exec(psprintf("SELECT * FROM %s LIMIT 0", b->target), SPI_OK_SELECT);
	b->how = "view";
	b->rows = -1;
}

void
materialize_table(ModelBuild *b, const char *select_sql)
{
	if (b->relkind == RELKIND_RELATION && same_columns(b->relid, b->columns, false))
	{
		/* Same shape: new rows swapped in, the table kept (its OID, grants and dependents). */
		Oid			shadow;
		char	   *shadow_name = publish_shadow(b->relid, b->model->name, &shadow);

		spi_exec(psprintf("INSERT INTO %s SELECT * FROM (%s) AS model", shadow_name, select_sql),
				 SPI_OK_INSERT);
		b->rows = (int64) SPI_processed;
		/* The table's unique indexes are rebuilt on the shadow at the swap: they vouch for it. */
		if (!audit_table(b, shadow_name, shadow, b->relid))
			return;
		publish_swap(b->relid, shadow, b->model->name);
	}
	else
	{
		/* New shape: built beside the old table under the rejected name, renamed if it passes. */
		char	   *fresh = quote_qualified_identifier(b->model->target_schema, rejected_name(b));

		spi_exec(psprintf("CREATE TABLE %s AS %s", fresh, select_sql), SPI_OK_UTILITY);
		b->rows = (int64) SPI_processed;
		if (!audit_table(b, fresh, rejected_relid(b), InvalidOid))
			return;
		recreate(b, psprintf("ALTER TABLE %s RENAME TO %s", fresh,
							 quote_identifier(b->model->target_name)), "TABLE");
	}
	b->how = "full";
	/* The rows are new: planners should not wait for autovacuum to learn about them. */
	spi_exec(psprintf("ANALYZE %s", b->target), SPI_OK_UTILITY);
}

static char *
describe_columns(TupleDesc desc)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		appendStringInfo(&s, "%s%s %s", i > 0 ? ", " : "", quote_identifier(NameStr(a->attname)),
						 format_type_with_typemod(a->atttypid, a->atttypmod));
	}
	return s.data;
}

void
check_contract(ModelBuild *b)
{
	ModelDef   *m = b->model;
	ListCell   *n,
			   *t;
	int			i = 0;

	if (m->contract_names == NIL)
		return;
	if (list_length(m->contract_names) != b->columns->natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model \"%s\" breaks its contract: it returns %d columns, the contract declares %d",
						m->name, b->columns->natts, list_length(m->contract_names)),
				 errdetail("It returns %s.", describe_columns(b->columns))));
	forboth(n, m->contract_names, t, m->contract_types)
	{
		Form_pg_attribute a = TupleDescAttr(b->columns, i++);
		Oid			typid;
		int32		typmod;

		parseTypeString(lfirst(t), &typid, &typmod, false);
		if (strcmp(NameStr(a->attname), lfirst(n)) != 0 || a->atttypid != typid ||
			(typmod >= 0 && a->atttypmod != typmod))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("model \"%s\" breaks its contract at column %d: it returns %s %s, the contract says %s %s",
							m->name, i, quote_identifier(NameStr(a->attname)),
							format_type_with_typemod(a->atttypid, a->atttypmod),
							quote_identifier(lfirst(n)), format_type_with_typemod(typid, typmod)),
					 errhint("Cast or rename the column in the model's SELECT, or change its contract.")));
	}
}

void
ensure_indexes(ModelBuild *b)
{
	ListCell   *lc;

	foreach(lc, model_index_statements(b->model->id))
		spi_exec(lfirst(lc), SPI_OK_UTILITY);
}

/*
 * build.c: CALL sluice.build(selector): build the selected models in dependency order, each as
 * its owner, each in a subtransaction so that a failure leaves its relation as it was and skips
 * only the models downstream of it.
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/rel.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "model/deps.h"
#include "model/publish.h"
#include "util/role.h"

PG_FUNCTION_INFO_V1(sluice_build);

typedef struct ModelBuild
{
	ModelDef   *model;
	char	   *target;			/* quoted qualified name */
	int64		rows;			/* -1 for a view */
	List	   *inputs;			/* relation OIDs read */
} ModelBuild;

static void
spi_exec(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "unexpected result %s for: %s", SPI_result_code_string(rc), sql);
}

/*
 * Whether the relation's columns match the query's: all of them (exact) or as a prefix, the
 * way CREATE OR REPLACE VIEW allows new columns only at the end.
 */
static bool
same_columns(Oid relid, TupleDesc query, bool prefix_only)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	int			j = 0;
	bool		same = true;

	for (int i = 0; i < desc->natts && same; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		Form_pg_attribute q;

		if (a->attisdropped)
			continue;
		if (j >= query->natts)
		{
			same = false;
			break;
		}
		q = TupleDescAttr(query, j++);
		same = strcmp(NameStr(a->attname), NameStr(q->attname)) == 0 &&
			a->atttypid == q->atttypid && a->atttypmod == q->atttypmod;
	}
	relation_close(rel, AccessShareLock);
	return same && (prefix_only || j == query->natts);
}

static TupleDesc
query_columns(const char *sql)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "could not prepare the model's SQL: %s", SPI_result_code_string(SPI_result));
	return ((CachedPlanSource *) linitial(SPI_plan_get_plan_sources(plan)))->resultDesc;
}

static void
drop_relation(const char *target, char relkind)
{
	spi_exec(psprintf("DROP %s %s", relkind == RELKIND_VIEW ? "VIEW" :
					  relkind == RELKIND_MATVIEW ? "MATERIALIZED VIEW" : "TABLE", target),
			 SPI_OK_UTILITY);
}

static void
materialize(ModelBuild *b)
{
	ModelDef   *m = b->model;
	Oid			relid = get_relname_relid(m->target_name, get_namespace_oid(m->target_schema, false));
	char		relkind = OidIsValid(relid) ? get_rel_relkind(relid) : '\0';
	TupleDesc	columns = query_columns(m->sql);

	if (strcmp(m->materialized, "view") == 0)
	{
		if (relkind != '\0')
			publish_lock(relid, m->name);
		if (relkind != '\0' && (relkind != RELKIND_VIEW || !same_columns(relid, columns, true)))
			drop_relation(b->target, relkind);
		spi_exec(psprintf("CREATE OR REPLACE VIEW %s AS %s", b->target, m->sql), SPI_OK_UTILITY);
		/* CREATE VIEW checks no privileges: prove now that the owner can read every input. */
		spi_exec(psprintf("SELECT * FROM %s LIMIT 0", b->target), SPI_OK_SELECT);
		b->rows = -1;
		return;
	}

	if (relkind == RELKIND_RELATION && same_columns(relid, columns, false))
	{
		/* Same shape: new rows swapped in, the table kept (its OID, grants and dependents). */
		Oid			shadow;
		char	   *shadow_name = publish_shadow(relid, m->name, &shadow);

		spi_exec(psprintf("INSERT INTO %s SELECT * FROM (%s) AS model", shadow_name, m->sql),
				 SPI_OK_INSERT);
		b->rows = (int64) SPI_processed;
		publish_swap(relid, shadow, m->name);
	}
	else
	{
		if (relkind != '\0')
		{
			publish_lock(relid, m->name);
			drop_relation(b->target, relkind);
		}
		spi_exec(psprintf("CREATE TABLE %s AS %s", b->target, m->sql), SPI_OK_UTILITY);
		b->rows = (int64) SPI_processed;
	}
	/* The rows are new: planners should not wait for autovacuum to learn about them. */
	spi_exec(psprintf("ANALYZE %s", b->target), SPI_OK_UTILITY);
}

/* The part of a build that must succeed or leave nothing behind. */
static void
build_model(void *arg)
{
	ModelBuild *b = arg;
	RoleSwitch	rs;

	role_switch_enter(&rs, b->model->owner, true, b->model->search_path);
	model_sql_validate(b->model->sql, b->model->name);
	b->inputs = model_input_relations(b->model->sql);
	materialize(b);
	role_switch_exit(&rs);
}

static const char *
dataset_kind(Oid relid)
{
	switch (get_rel_relkind(relid))
	{
		case RELKIND_VIEW:
			return "view";
		case RELKIND_MATVIEW:
			return "materialized_view";
		default:
			return "table";
	}
}

static void
record_lineage(ModelBuild *b, int64 run_id)
{
	List	   *names = NIL;
	List	   *kinds = NIL;
	ListCell   *lc;

	foreach(lc, b->inputs)
	{
		Oid			relid = lfirst_oid(lc);
		char	   *name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													  get_rel_name(relid));

		if (strcmp(name, b->target) == 0)
			continue;
		names = lappend(names, name);
		kinds = lappend(kinds, (char *) dataset_kind(relid));
	}
	lineage_replace_inputs("model", b->model->name, b->target, b->model->materialized,
						   names, kinds, run_id);
}

static bool
list_member_int64(List *ids, int64 id)
{
	ListCell   *lc;

	foreach(lc, ids)
		if (*(int64 *) lfirst(lc) == id)
			return true;
	return false;
}

/* The name of the first upstream model of step that failed or was skipped, or NULL. */
static const char *
failed_upstream(PlanStep *step, List *plan, List *failed_ids)
{
	ListCell   *lc;

	foreach(lc, plan)
	{
		PlanStep   *other = lfirst(lc);

		if (list_member_int64(step->upstream, other->model_id) &&
			list_member_int64(failed_ids, other->model_id))
			return other->name;
	}
	return NULL;
}

Datum
sluice_build(PG_FUNCTION_ARGS)
{
	char	   *selector = PG_ARGISNULL(0) ? "*" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		force = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	CallContext *call = (CallContext *) fcinfo->context;
	bool		atomic = call == NULL || !IsA(call, CallContext) || call->atomic;
	List	   *plan;
	List	   *failed_ids = NIL;
	ErrorData  *first_error = NULL;
	char	   *first_failed = NULL;
	int			built = 0;
	int			failed = 0;
	ListCell   *lc;

	SPI_connect_ext(atomic ? 0 : SPI_OPT_NONATOMIC);
	plan = build_plan(selector);
	if (plan == NIL)
		ereport(NOTICE, (errmsg("no model matches \"%s\"", selector)));

	foreach(lc, plan)
	{
		PlanStep   *step = lfirst(lc);
		ModelBuild	b = {0};
		RunRecord	run;
		const char *upstream = failed_upstream(step, plan, failed_ids);
		ErrorData  *error;

		b.model = model_load(step->model_id);
		b.target = quote_qualified_identifier(b.model->target_schema, b.model->target_name);
		run_begin(&run, "build", b.model->name, b.model->owner);

		if (upstream)
		{
			char	   *reason = psprintf("upstream model \"%s\" failed", upstream);

			failed_ids = lappend(failed_ids, &step->model_id);
			run_record_autonomously(&run, "skipped", reason, NULL);
			ereport(WARNING, (errmsg("model \"%s\" skipped: %s", b.model->name, reason)));
			continue;
		}

		require_member_of_owner(b.model->owner, "model", b.model->name);
		if (!force && model_build_reason(step->model_id) == NULL)
		{
			run_detail(&run, "reason", "\"its inputs have not changed since its last build\"");
			(void) run_finish(&run, "skipped", NULL);
			ereport(NOTICE,
					(errmsg("model \"%s\" skipped: its inputs have not changed since its last build",
							b.model->name),
					 errhint("CALL sluice.build('%s', force => true) builds it anyway.", b.model->name)));
			continue;
		}
		error = run_guarded(build_model, &b);
		if (error)
		{
			failed++;
			failed_ids = lappend(failed_ids, &step->model_id);
			run_record_autonomously(&run, "failed", error->message,
									unpack_sql_state(error->sqlerrcode));
			ereport(WARNING,
					(errcode(error->sqlerrcode),
					 errmsg("model \"%s\" failed: %s", b.model->name, error->message),
					 error->detail ? errdetail("%s", error->detail) : 0));
			if (first_error == NULL)
			{
				first_error = error;
				first_failed = b.model->name;
			}
		}
		else
		{
			run.rows = b.rows;
			run_detail(&run, "materialized", psprintf("\"%s\"", b.model->materialized));
			run_detail(&run, "definition",
					   psprintf("\"%s\"", model_definition_hash(step->model_id)));
			record_lineage(&b, run.id);
			(void) run_finish(&run, "success", NULL);
			built++;
			ereport(NOTICE,
					(errmsg("model \"%s\" built as %s %s", b.model->name, b.model->materialized,
							b.target)));
		}

		/* Called as a top-level CALL: each model that built stays built. */
		if (!atomic)
		{
			SPI_commit();
			EnsurePortalSnapshotExists();
		}
	}
	SPI_finish();

	if (first_error)
		ereport(ERROR,
				(errcode(first_error->sqlerrcode),
				 errmsg("model \"%s\" failed: %s", first_failed, first_error->message),
				 errdetail("%d built, %d failed, %d skipped.", built, failed,
						   list_length(failed_ids) - failed),
				 errhint("See SELECT * FROM sluice.run WHERE kind = 'build' ORDER BY id DESC;")));
	PG_RETURN_VOID();
}

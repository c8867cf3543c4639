/*
 * build.c: CALL sluice.build(selector): build the selected models in dependency order, each as
 * its owner, each in a subtransaction so that a failure leaves its relation as it was and skips
 * only the models downstream of it.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "lineage/lineage.h"
#include "model/deps.h"
#include "model/materialize.h"
#include "util/relname.h"
#include "util/role.h"

PG_FUNCTION_INFO_V1(sluice_build);

/* The error as the model's failure: 'model "m" failed: ...', unless it names the model already. */
static char *
failure_message(const char *model, const char *message)
{
	char	   *named = psprintf("model \"%s\"", model);

	if (strncmp(message, named, strlen(named)) == 0)
		return pstrdup(message);
	return psprintf("%s failed: %s", named, message);
}

/* " (3 rows)", " (incremental, 3 rows)", or nothing for a view. */
static char *
build_summary(ModelBuild *b)
{
	if (b->rows < 0)
		return "";
	if (strcmp(b->how, "full") == 0 && strcmp(b->model->materialized, "table") == 0)
		return psprintf(" (%lld rows)", (long long) b->rows);
	return psprintf(" (%s, %lld rows)", b->how, (long long) b->rows);
}

/* The failure of a build whose new rows its expectations rejected and that kept them. */
static ErrorData *
rejection(ModelBuild *b)
{
	ErrorData  *error = palloc0(sizeof(ErrorData));

	error->sqlerrcode = ERRCODE_CHECK_VIOLATION;
	error->message = rejection_message(b);
	error->detail = psprintf("The previous data stays published; the rejected rows are in %s until the next build.",
							 b->rejected);
	return error;
}

/* The part of a build that must succeed or leave nothing behind. */
static void
build_model(void *arg)
{
	ModelBuild *b = arg;
	ModelDef   *m = b->model;
	RoleSwitch	rs;

	role_switch_enter(&rs, m->owner, true, m->search_path);
	drop_rejected(b);
	model_sql_validate(m->sql, m->name);
	b->query = model_query(m->sql);
	b->columns = ExecCleanTypeFromTL(b->query->targetList);
	b->relid = get_relname_relid(m->target_name, get_namespace_oid(m->target_schema, false));
	b->relkind = OidIsValid(b->relid) ? get_rel_relkind(b->relid) : '\0';
	check_contract(b);

	if (strcmp(m->materialized, "view") == 0)
		materialize_view(b);
	else if (strcmp(m->materialized, "table") == 0)
		materialize_table(b, m->sql);
	else if (strcmp(m->materialized, "incremental") == 0)
		materialize_incremental(b);
	else
		materialize_snapshot(b);
	if (!b->audited)
	{
		/* Changed in place: checked before the build commits, undone by its rollback if rejected. */
		Oid			relid = get_relname_relid(m->target_name, get_namespace_oid(m->target_schema, false));

		audit_new_data(b, relid, relid);
	}
	if (strcmp(m->materialized, "view") != 0 && b->rejected == NULL)
		ensure_indexes(b);
	role_switch_exit(&rs);
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
	bool		full_refresh = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	bool		force = full_refresh || (!PG_ARGISNULL(1) && PG_GETARG_BOOL(1));
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
		b.full_refresh = full_refresh;
		run_begin(&run, "build", b.model->name, b.model->owner);
		b.run = &run;

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
			run_detail_text(&run, "reason", "its inputs have not changed since its last build");
			(void) run_finish(&run, "skipped", NULL);
			ereport(NOTICE,
					(errmsg("model \"%s\" skipped: its inputs have not changed since its last build",
							b.model->name),
					 errhint("CALL sluice.build('%s', force => true) builds it anyway.", b.model->name)));
			continue;
		}
		error = run_guarded(build_model, &b);
		if (error == NULL && b.rejected)
			error = rejection(&b);
		audit_describe(&run, &b.audit);
		if (error)
		{
			failed++;
			failed_ids = lappend(failed_ids, &step->model_id);
			if (b.rejected)
				run_detail_text(&run, "rejected", b.rejected);
			run_record_autonomously(&run, "failed", error->message,
									unpack_sql_state(error->sqlerrcode));
			ereport(WARNING,
					(errcode(error->sqlerrcode),
					 errmsg("%s", failure_message(b.model->name, error->message)),
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
			run_detail_text(&run, "materialized", b.model->materialized);
			run_detail_text(&run, "build", b.how);
			run_detail_text(&run, "definition", b.model->definition_hash);
			run_detail_text(&run, "shape", b.model->shape_hash);
			if (b.full_reason)
				run_detail_text(&run, "full_reason", b.full_reason);
			if (b.high_water)
				run_detail_text(&run, "high_water", b.high_water);
			lineage_record_query("model", b.model->name, b.target,
								 strcmp(b.model->materialized, "view") == 0 ? "view" : "table",
								 b.query, run.id);
			run_landed(b.target);
			(void) run_finish(&run, "success", NULL);
			built++;
			ereport(NOTICE,
					(errmsg("model \"%s\" built as %s %s%s", b.model->name, b.model->materialized,
							b.target, build_summary(&b))));
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
				 errmsg("%s", failure_message(first_failed, first_error->message)),
				 errdetail("%d built, %d failed, %d skipped.", built, failed,
						   list_length(failed_ids) - failed),
				 errhint("See SELECT * FROM sluice.run WHERE kind = 'build' ORDER BY id DESC;")));
	PG_RETURN_VOID();
}

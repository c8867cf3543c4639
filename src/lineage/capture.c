/*
 * capture.c: passive lineage capture (sluice.capture_lineage = on).  Statements typed by anyone —
 * INSERT ... SELECT, CREATE TABLE AS, CREATE MATERIALIZED VIEW, REFRESH MATERIALIZED VIEW — are
 * recorded as edges from the relations the executor's plan read to the relation it wrote, with
 * the role, when they succeed (in their own transaction, so a rollback records nothing).  Only
 * top-level statements count: what functions, procedures and DO blocks (sluice's builds among
 * them) do inside is theirs.
 */
#include "postgres.h"

#include "access/hash.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog/catalog.h"
#include "catalog/run.h"
#include "lineage/lineage.h"
#include "util/relname.h"

bool		sluice_capture_lineage = false;

/* An edge set already recorded recently is only touched again after this. */
#define RECAPTURE_MS 60000

static ExecutorRun_hook_type prev_run = NULL;
static ExecutorFinish_hook_type prev_finish = NULL;
static ExecutorEnd_hook_type prev_end = NULL;
static ProcessUtility_hook_type prev_utility = NULL;

static int	nesting = 0;			/* executors running (a statement's own sub-statements) */
static int	utility_depth = 0;	/* utility statements running (CALL, DO, CREATE TABLE AS, ...) */
static bool recording = false;
static List *pending_inputs = NIL;	/* the read relations of a CREATE TABLE AS or REFRESH */

typedef struct RecentCapture
{
	uint32		key;			/* hash of statement, role, target and inputs */
	TimestampTz at;
} RecentCapture;
static HTAB *recent = NULL;

/* The relations a plan reads (a SELECT privilege is checked on them), except `except`. */
static List *
plan_inputs(PlannedStmt *plan, Oid except)
{
	List	   *inputs = NIL;
	ListCell   *lc;

	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind == RTE_RELATION && (rte->requiredPerms & ACL_SELECT) && rte->relid != except)
			inputs = list_append_unique_oid(inputs, rte->relid);
	}
	return inputs;
}

/* What a rollback undid must be recorded again: the memory of recent captures goes with it. */
static void
forget_on_abort(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) && recent != NULL)
	{
		hash_destroy(recent);
		recent = NULL;
	}
}

static void
forget_on_subabort(SubXactEvent event, SubTransactionId mine, SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		forget_on_abort(XACT_EVENT_ABORT, arg);
}

/* True when this very edge set was recorded in the last minute (by this backend). */
static bool
recently_recorded(const char *statement, Oid target, List *inputs)
{
	uint32		key = hash_bytes((const unsigned char *) statement, strlen(statement));
	ListCell   *lc;
	bool		found;
	RecentCapture *entry;
	TimestampTz now = GetCurrentTimestamp();

	key = hash_combine(key, hash_uint32(GetUserId()));
	key = hash_combine(key, hash_uint32(target));
	foreach(lc, inputs)
		key = hash_combine(key, hash_uint32(lfirst_oid(lc)));
	if (recent == NULL)
	{
		HASHCTL		ctl = {.keysize = sizeof(uint32), .entrysize = sizeof(RecentCapture),
		.hcxt = TopMemoryContext};

		static bool callbacks = false;

		recent = hash_create("sluice recent captures", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		if (!callbacks)
		{
			RegisterXactCallback(forget_on_abort, NULL);
			RegisterSubXactCallback(forget_on_subabort, NULL);
			callbacks = true;
		}
	}
	entry = hash_search(recent, &key, HASH_ENTER, &found);
	if (found && !TimestampDifferenceExceeds(entry->at, now, RECAPTURE_MS))
		return true;
	entry->at = now;
	return false;
}

typedef struct Capture
{
	const char *statement;
	Oid			target;
	List	   *inputs;
} Capture;

static void
record_guarded(void *arg)
{
	Capture    *c = arg;
	List	   *names = NIL;
	List	   *kinds = NIL;
	ListCell   *lc;

	foreach(lc, c->inputs)
	{
		names = lappend(names, relation_quoted_name(lfirst_oid(lc)));
		kinds = lappend(kinds, (char *) dataset_kind(lfirst_oid(lc)));
	}
	SPI_connect();
	lineage_add_inputs("capture", GetUserNameFromId(GetUserId(), false), c->statement,
					   relation_quoted_name(c->target), dataset_kind(c->target), names, kinds);
	SPI_finish();
}

/* Records the edges; a failure to record (a concurrent conflict, say) never fails the statement. */
static void
record(const char *statement, Oid target, List *inputs)
{
	Capture		c = {statement, target, inputs};
	ErrorData  *volatile error = NULL;

	if (inputs == NIL || !OidIsValid(target) || recently_recorded(statement, target, inputs))
		return;
	recording = true;
	PG_TRY();
	{
		error = run_guarded(record_guarded, &c);
	}
	PG_FINALLY();
	{
		recording = false;
	}
	PG_END_TRY();
	/* A cancel or a timeout stops the statement as it would have without sluice. */
	if (error && error->sqlerrcode == ERRCODE_QUERY_CANCELED)
		ReThrowError(error);
	if (error)
		ereport(WARNING,
				(errmsg("sluice could not capture the lineage of this %s: %s", statement, error->message)));
}

static void
capture_run(QueryDesc *desc, ScanDirection direction, uint64 count, bool execute_once)
{
	nesting++;
	PG_TRY();
	{
		if (prev_run)
			prev_run(desc, direction, count, execute_once);
		else
			standard_ExecutorRun(desc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nesting--;
	}
	PG_END_TRY();
}

static void
capture_finish(QueryDesc *desc)
{
	nesting++;
	PG_TRY();
	{
		if (prev_finish)
			prev_finish(desc);
		else
			standard_ExecutorFinish(desc);
	}
	PG_FINALLY();
	{
		nesting--;
	}
	PG_END_TRY();
}

static void
capture_end(QueryDesc *desc)
{
	if (sluice_capture_lineage && nesting == 0 && !recording)
	{
		PlannedStmt *plan = desc->plannedstmt;

		/* A statement of its own, not one run by a procedure, a DO block or a REFRESH. */
		if (plan->commandType == CMD_INSERT && plan->resultRelations != NIL && utility_depth == 0)
		{
			Oid			target = rt_fetch(linitial_int(plan->resultRelations), plan->rtable)->relid;

			record("INSERT ... SELECT", target, plan_inputs(plan, target));
		}
		else if (plan->commandType == CMD_SELECT && utility_depth == 1 &&
				 (desc->dest->mydest == DestIntoRel || desc->dest->mydest == DestTransientRel))
		{
			/* The target is known once the utility statement is done. */
			MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

			pending_inputs = list_copy(plan_inputs(plan, InvalidOid));
			MemoryContextSwitchTo(old);
		}
	}
	if (prev_end)
		prev_end(desc);
	else
		standard_ExecutorEnd(desc);
}

static void
capture_utility(PlannedStmt *pstmt, const char *query, bool read_only_tree,
				ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *env,
				DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (utility_depth == 0)
		pending_inputs = NIL;
	utility_depth++;
	PG_TRY();
	{
		if (prev_utility)
			prev_utility(pstmt, query, read_only_tree, context, params, env, dest, qc);
		else
			standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
	}
	PG_FINALLY();
	{
		utility_depth--;
	}
	PG_END_TRY();
	if (utility_depth > 0 || nesting > 0)
		return;

	if (pending_inputs == NIL || !sluice_capture_lineage)
		return;
	if (IsA(stmt, CreateTableAsStmt))
	{
		CreateTableAsStmt *ctas = (CreateTableAsStmt *) stmt;

		record(ctas->objtype == OBJECT_MATVIEW ? "CREATE MATERIALIZED VIEW" : "CREATE TABLE AS",
			   RangeVarGetRelid(ctas->into->rel, NoLock, true), pending_inputs);
	}
	else if (IsA(stmt, RefreshMatViewStmt))
		record("REFRESH MATERIALIZED VIEW",
			   RangeVarGetRelid(((RefreshMatViewStmt *) stmt)->relation, NoLock, true), pending_inputs);
	pending_inputs = NIL;
}

void
capture_init(void)
{
	prev_run = ExecutorRun_hook;
	ExecutorRun_hook = capture_run;
	prev_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = capture_finish;
	prev_end = ExecutorEnd_hook;
	ExecutorEnd_hook = capture_end;
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = capture_utility;
}

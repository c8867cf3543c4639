/*
 * publish.c: a table model's new rows built beside the old ones and swapped in; the exclusive
 * lock for the swap taken in short turns.
 */
#include "postgres.h"

#include "access/multixact.h"
#include "access/table.h"
#include "access/xact.h"
#include "commands/cluster.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "model/publish.h"
#include "util/relname.h"
#include "sluice.h"

/* Pauses between turns grow by this much, up to a second. */
#define PAUSE_STEP_MS 50

/* One turn in line for the lock, at most sluice.publish_lock_timeout long; true if it was taken. */
static bool
lock_turn(Oid relid)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool locked = false;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		int			nest = NewGUCNestLevel();

		(void) set_config_option("lock_timeout", psprintf("%d", sluice_publish_lock_timeout_ms),
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		LockRelationOid(relid, AccessExclusiveLock);
		AtEOXact_GUC(true, nest);
		ReleaseCurrentSubTransaction();		/* the lock passes to the build */
		locked = true;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(cxt);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		if (error->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(error);
		FreeErrorData(error);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return locked;
}

void
publish_lock(Oid relid, const char *model)
{
	TimestampTz give_up = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													  sluice_publish_timeout_ms);

	for (int turn = 1; !lock_turn(relid); turn++)
	{
		if (GetCurrentTimestamp() >= give_up)
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("model \"%s\" could not be published: other sessions kept %s busy for %d ms",
							model, get_rel_name(relid), sluice_publish_timeout_ms),
					 errdetail("The previous version stays published."),
					 errhint("End the long queries or transactions on it, or raise sluice.publish_timeout.")));
		/* Step aside: the queries that queued behind this turn run, then try again. */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(turn * PAUSE_STEP_MS, 1000), PG_WAIT_LOCK);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

char *
publish_shadow(Oid relid, const char *model, Oid *shadow)
{
	/* Readers go on; writers wait, so no row they write is lost in the swap. */
	Relation	rel = table_open(relid, ExclusiveLock);

	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("model \"%s\" cannot publish %s: its owner does not own the table", model,
						RelationGetRelationName(rel)),
				 errhint("ALTER TABLE ... OWNER TO the model's owner, or drop the table and build again.")));
	*shadow = make_new_heap(relid, rel->rd_rel->reltablespace, rel->rd_rel->relam,
							rel->rd_rel->relpersistence, ExclusiveLock);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return relation_quoted_name(*shadow);
}

void
publish_swap(Oid relid, Oid shadow, const char *model)
{
	publish_lock(relid, model);
	/* Indexes are rebuilt on the new rows; unique ones are checked there. */
	finish_heap_swap(relid, shadow, false, false, true, true, RecentXmin,
					 ReadNextMultiXactId(), get_rel_persistence(relid));
}

/*
 * load.c: a COPY FROM whose data source is a producer callback, as file_fdw feeds COPY.
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "commands/copy.h"
#include "executor/executor.h"
#include "nodes/bitmapset.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#include "utils/rls.h"
#include "utils/rel.h"

#include "ingest/load.h"

typedef struct CopyFeed
{
	CopyProducer produce;
	void	   *arg;
	StringInfoData buffer;
	int			position;
	bool		exhausted;
} CopyFeed;

/* COPY's data source callback takes no argument: the feed of the COPY under way. */
static CopyFeed *current_feed = NULL;

static int
read_feed(void *outbuf, int minread, int maxread)
{
	CopyFeed   *feed = current_feed;
	int			n;

	while (feed->position >= feed->buffer.len && !feed->exhausted)
	{
		resetStringInfo(&feed->buffer);
		feed->position = 0;
		feed->exhausted = !feed->produce(feed->arg, &feed->buffer);
	}
	n = Min(maxread, feed->buffer.len - feed->position);
	memcpy(outbuf, feed->buffer.data + feed->position, n);
	feed->position += n;
	return n;
}

uint64
load_copy(Relation rel, List *column_names, CopyProducer produce, void *arg)
{
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	RangeTblEntry *rte;
	ListCell   *lc;
	CopyFeed	feed = {produce, arg};
	CopyFeed   *outer_feed = current_feed;
	uint64		loaded = 0;

	/* The same privilege checks COPY FROM makes. */
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	rte = nsitem->p_rte;
	rte->requiredPerms = ACL_INSERT;
	foreach(lc, CopyGetAttnums(RelationGetDescr(rel), rel, column_names))
		rte->insertedCols = bms_add_member(rte->insertedCols,
										   lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	ExecCheckRTPerms(pstate->p_rtable, true);
	if (check_enable_rls(RelationGetRelid(rel), InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot load into \"%s\": it has row-level security enabled",
						RelationGetRelationName(rel)),
				 errhint("Load into a table without row-level security and expose it through a view.")));

	initStringInfo(&feed.buffer);
	current_feed = &feed;
	PG_TRY();
	{
		/* JSON is UTF-8 whatever the session's client_encoding. */
		List	   *options = list_make1(makeDefElem("encoding", (Node *) makeString("UTF8"), -1));
		CopyFromState cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, read_feed,
											 column_names, options);

		loaded = CopyFrom(cstate);
		EndCopyFrom(cstate);
	}
	PG_FINALLY();
	{
		current_feed = outer_feed;
	}
	PG_END_TRY();
	return loaded;
}

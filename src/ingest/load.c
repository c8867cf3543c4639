/*
 * load.c: a COPY FROM whose data source is a producer callback, as file_fdw feeds COPY, and
 * batches of records loaded through it with the records COPY refuses set aside.
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

#include "catalog/run.h"
#include "ingest/insert.h"
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

/* Runs the COPY with feed as its data source. */
static uint64
copy_from_feed(CopyFeed *feed, ParseState *pstate, Relation rel, List *column_names,
			   List *options)
{
	CopyFeed   *outer_feed = current_feed;
	volatile uint64 loaded = 0;

	initStringInfo(&feed->buffer);
	current_feed = feed;
	PG_TRY();
	{
		CopyFromState cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, read_feed,
											 column_names, options);

		loaded = CopyFrom(cstate);
		EndCopyFrom(cstate);
	}
	PG_FINALLY();
	{
		current_feed = outer_feed;
		pfree(feed->buffer.data);
	}
	PG_END_TRY();
	return loaded;
}

/* The privilege checks COPY FROM makes; returns the range table it would run with. */
static ParseState *
check_rights(Relation rel, List *column_names)
{
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	RangeTblEntry *rte;
	ListCell   *lc;

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
	return pstate;
}

uint64
load_copy(Relation rel, List *column_names, List *options, CopyProducer produce, void *arg)
{
	ParseState *pstate = check_rights(rel, column_names);
	CopyFeed	feed = {produce, arg};

	/* JSON is UTF-8 whatever the session's client_encoding. */
	if (options == NIL)
		options = list_make1(makeDefElem("encoding", (Node *) makeString("UTF8"), -1));
	return copy_from_feed(&feed, pstate, rel, column_names, options);
}

/* A stretch of a batch's COPY text, handed to COPY in one piece. */
typedef struct BatchSlice
{
	Relation	rel;
	List	   *column_names;
	char	   *data;
	int			length;
	bool		given;
	uint64		loaded;
} BatchSlice;

static bool
produce_slice(void *arg, StringInfo out)
{
	BatchSlice *slice = arg;

	if (slice->given)
		return false;
	appendBinaryStringInfo(out, slice->data, slice->length);
	slice->given = true;
	return true;
}

static void
load_slice(void *arg)
{
	BatchSlice *slice = arg;

	/* A plain table takes the rows straight; the rest (triggers, partitions...) go through COPY. */
	if (insert_supported(slice->rel))
		slice->loaded = insert_rows(slice->rel, check_rights(slice->rel, slice->column_names)->p_rtable,
									slice->column_names, slice->data, slice->length);
	else
	{
		slice->given = false;
		slice->loaded = load_copy(slice->rel, slice->column_names, NIL, produce_slice, slice);
	}
}

/* Errors a record can cause by its content: bad values, violated constraints. */
static bool
record_error(ErrorData *error)
{
	int			category = ERRCODE_TO_CATEGORY(error->sqlerrcode);

	return category == ERRCODE_DATA_EXCEPTION ||
		category == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
}

typedef struct Bisection
{
	BatchSlice	slice;
	RecordBatch *batch;
	int		   *row_starts;		/* count + 1 offsets into batch->rows */
	RejectHandler reject;
	void	   *arg;
	uint64		loaded;
} Bisection;

static const char *
record_text(RecordBatch *batch, int i)
{
	int			start = i == 0 ? 0 : list_nth_int(batch->record_ends, i - 1);
	int			end = list_nth_int(batch->record_ends, i);

	return pnstrdup(batch->records.data + start, end - start - 1);	/* without its newline */
}

/* Loads rows [from, to) in a subtransaction; a failing range is halved until the culprits are alone. */
static void
bisect(Bisection *b, int from, int to)
{
	ErrorData  *error;

	if (from >= to)
		return;
	b->slice.data = b->batch->rows.data + b->row_starts[from];
	b->slice.length = b->row_starts[to] - b->row_starts[from];
	error = run_guarded(load_slice, &b->slice);
	if (error == NULL)
	{
		b->loaded += b->slice.loaded;
		return;
	}
	if (!record_error(error))
		ReThrowError(error);
	if (to - from == 1)
	{
		b->reject(b->arg, record_text(b->batch, from), error);
		return;
	}
	bisect(b, from, from + (to - from) / 2);
	bisect(b, from + (to - from) / 2, to);
}

uint64
load_batch(Relation rel, List *column_names, RecordBatch *batch, RejectHandler reject, void *arg)
{
	Bisection	b = {{rel, column_names, batch->rows.data, batch->rows.len}};
	ErrorData  *error;
	int			row = 0;

	if (batch->count == 0)
		return 0;
	if (reject == NULL)
	{
		load_slice(&b.slice);
		return b.slice.loaded;
	}
	/* The whole batch at once; only a batch with a bad record is taken apart. */
	error = run_guarded(load_slice, &b.slice);
	if (error == NULL)
		return b.slice.loaded;
	if (!record_error(error))
		ReThrowError(error);
	FreeErrorData(error);

	b.batch = batch;
	b.reject = reject;
	b.arg = arg;
	b.row_starts = palloc(sizeof(int) * (batch->count + 1));
	b.row_starts[0] = 0;
	for (int i = 0; i < batch->rows.len; i++)
		if (batch->rows.data[i] == '\n')
			b.row_starts[++row] = i + 1;
	Assert(row == batch->count);
	bisect(&b, 0, (int) batch->count);
	return b.loaded;
}

void
batch_init(RecordBatch *batch)
{
	initStringInfo(&batch->rows);
	initStringInfo(&batch->records);
	batch->record_ends = NIL;
	batch->count = 0;
}

void
batch_reset(RecordBatch *batch)
{
	resetStringInfo(&batch->rows);
	resetStringInfo(&batch->records);
	list_free(batch->record_ends);
	batch->record_ends = NIL;
	batch->count = 0;
}

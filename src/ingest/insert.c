/*
 * insert.c: rows of COPY text inserted through the table's own multi-insert path.
 *
 * What COPY FROM does for a plain table, in the same order: input functions, defaults for the
 * columns not given, constraints, table_multi_insert in buffers of 1000 rows, then the indexes.
 * Only the reading differs: sluice's rows are split in one pass, without COPY's line and
 * attribute buffers.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/copy.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ingest/insert.h"
#include "util/bytes.h"

#define BUFFERED_ROWS 1000
#define VALUE_SHOWN_BYTES 100	/* of a value in an error's context */

typedef struct InputColumn
{
	AttrNumber	attnum;
	const char *name;
	FmgrInfo	input;
	Oid			ioparam;
	int32		typmod;
} InputColumn;

typedef struct DefaultColumn
{
	AttrNumber	attnum;
	ExprState  *expr;
} DefaultColumn;

typedef struct Inserter
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *result;
	TupleDesc	desc;			/* the table's, unpinned: a thousand slots share it for free */
	BulkInsertState bistate;
	CommandId	cid;
	int			options;		/* table_multi_insert's */
	InputColumn *inputs;
	int			ninputs;
	DefaultColumn *defaults;
	int			ndefaults;
	TupleTableSlot *slots[BUFFERED_ROWS];
	int			nslots;			/* created so far */
	int			buffered;
	StringInfoData field;		/* the field being converted, if it had escapes */
	char	   *cut;			/* where next_field ended a field in place, or NULL */
	char		cut_char;		/* what was there */
	const InputColumn *converting;	/* for the error context: the column, */
	const char *converting_value;	/* and its value, NULL for null */
	uint64		inserted;
} Inserter;

bool
insert_supported(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;

	return rel->rd_rel->relkind == RELKIND_RELATION && rel->trigdesc == NULL &&
		!(constr && constr->has_generated_stored) && GetDatabaseEncoding() == PG_UTF8;
}

/* Names the column and the value being converted, as COPY's context does. */
static void
conversion_context(void *arg)
{
	Inserter   *ins = arg;
	const char *value = ins->converting_value;
	int			shown;

	if (ins->converting == NULL)
		return;
	if (value == NULL)
	{
		errcontext("column %s: null input", ins->converting->name);
		return;
	}
	shown = pg_mbcliplen(value, strlen(value), VALUE_SHOWN_BYTES);
	errcontext("column %s: \"%.*s%s\"", ins->converting->name, shown, value,
			   value[shown] ? "..." : "");
}

static void
begin(Inserter *ins, Relation rel, List *rtable, List *column_names)
{
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *attnums = CopyGetAttnums(desc, rel, column_names);
	Bitmapset  *given = NULL;
	ListCell   *lc;

	ins->rel = rel;
	ins->desc = CreateTupleDescCopy(desc);
	ins->estate = CreateExecutorState();
	ins->estate->es_output_cid = ins->cid = GetCurrentCommandId(true);
	ExecInitRangeTable(ins->estate, rtable);
	ins->result = makeNode(ResultRelInfo);
	ExecInitResultRelation(ins->estate, ins->result, 1);
	ExecOpenIndices(ins->result, false);
	ins->bistate = GetBulkInsertState();
	/* As COPY: a table made in this transaction needs no free space map work. */
	if (rel->rd_createSubid != InvalidSubTransactionId ||
		rel->rd_firstRelfilenodeSubid != InvalidSubTransactionId)
		ins->options |= TABLE_INSERT_SKIP_FSM;

	ins->inputs = palloc(sizeof(InputColumn) * list_length(attnums));
	foreach(lc, attnums)
	{
		InputColumn *col = &ins->inputs[ins->ninputs++];
		Form_pg_attribute att = TupleDescAttr(desc, lfirst_int(lc) - 1);
		Oid			func;

		col->attnum = att->attnum;
		col->name = pstrdup(NameStr(att->attname));
		getTypeInputInfo(att->atttypid, &func, &col->ioparam);
		fmgr_info(func, &col->input);
		col->typmod = att->atttypmod;
		given = bms_add_member(given, att->attnum);
	}
	ins->defaults = palloc(sizeof(DefaultColumn) * desc->natts);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Node	   *expr;

		if (att->attisdropped || bms_is_member(att->attnum, given))
			continue;
		expr = build_column_default(rel, att->attnum);
		if (expr == NULL)
			continue;
		ins->defaults[ins->ndefaults].attnum = att->attnum;
		ins->defaults[ins->ndefaults++].expr = ExecInitExpr(expression_planner((Expr *) expr),
															NULL);
	}
	initStringInfo(&ins->field);
}

/* Inserts the buffered rows, then their index entries. */
static void
flush(Inserter *ins)
{
	if (ins->buffered == 0)
		return;
	table_multi_insert(ins->rel, ins->slots, ins->buffered, ins->cid, ins->options, ins->bistate);
	for (int i = 0; i < ins->buffered; i++)
	{
		if (ins->result->ri_NumIndices > 0)
		{
			list_free(ExecInsertIndexTuples(ins->result, ins->slots[i], ins->estate, false, false,
											NULL, NIL));
			ResetPerTupleExprContext(ins->estate);
		}
		ExecClearTuple(ins->slots[i]);
	}
	ins->inserted += ins->buffered;
	ins->buffered = 0;
	CHECK_FOR_INTERRUPTS();
}

/*
 * The next field of a row at *p, as a C string, NULL for \N; *p moves past its tab.  A field
 * without escapes is read where it lies, its tab made its end until put_back_cut; one with
 * escapes is unescaped into ins->field.
 */
static char *
next_field(Inserter *ins, char **p, char *end)
{
	char	   *start = *p;
	char	   *s = start;
	bool		escaped = false;

	for (;;)
	{
		s = (char *) plain_run_end(s, end);
		if (s == end || *s == '\t')
			break;
		escaped |= *s++ == '\\';
	}
	*p = s + 1;
	if (s - start == 2 && start[0] == '\\' && start[1] == 'N')
		return NULL;
	if (!escaped)
	{
		ins->cut = s;
		ins->cut_char = *s;
		*s = '\0';
		return start;
	}
	resetStringInfo(&ins->field);
	for (s = start; s < end && *s != '\t'; s++)
	{
		char		c = *s;

		if (c == '\\' && s + 1 < end)
		{
			c = *++s;
			c = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
		}
		append_char(&ins->field, c);
	}
	return ins->field.data;
}

/* The rows' text as it was: a field's end cut by next_field is put back. */
static void
put_back_cut(Inserter *ins)
{
	if (ins->cut)
		*ins->cut = ins->cut_char;
	ins->cut = NULL;
}

/* One row, from its text, converted and checked into the next free slot. */
static void
store_row(Inserter *ins, char *row, char *end)
{
	ExprContext *econtext = GetPerTupleExprContext(ins->estate);
	MemoryContext outer;
	TupleTableSlot *slot;
	char	   *p = row;

	if (ins->buffered == ins->nslots)
		ins->slots[ins->nslots++] = MakeSingleTupleTableSlot(ins->desc,
															 table_slot_callbacks(ins->rel));
	slot = ins->slots[ins->buffered];
	outer = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	for (int i = 0; i < ins->ninputs; i++)
	{
		InputColumn *col = &ins->inputs[i];
		char	   *value;

		if (p > end)
			elog(ERROR, "a row has fewer fields than its %d columns", ins->ninputs);
		value = next_field(ins, &p, end);
		ins->converting = col;
		ins->converting_value = value;
		slot->tts_values[col->attnum - 1] = InputFunctionCall(&col->input, value, col->ioparam,
															  col->typmod);
		slot->tts_isnull[col->attnum - 1] = value == NULL;
		put_back_cut(ins);
	}
	ins->converting = NULL;
	for (int i = 0; i < ins->ndefaults; i++)
	{
		AttrNumber	a = ins->defaults[i].attnum - 1;

		slot->tts_values[a] = ExecEvalExpr(ins->defaults[i].expr, econtext, &slot->tts_isnull[a]);
	}
	ExecStoreVirtualTuple(slot);
	slot->tts_tableOid = RelationGetRelid(ins->rel);
	if (ins->rel->rd_att->constr)
		ExecConstraints(ins->result, slot, ins->estate);
	/* Buffered past this row's per-tuple memory. */
	ExecMaterializeSlot(slot);
	MemoryContextSwitchTo(outer);
	ResetPerTupleExprContext(ins->estate);
	if (++ins->buffered == BUFFERED_ROWS)
		flush(ins);
}

static void
store_rows(Inserter *ins, char *data, char *end)
{
	while (data < end)
	{
		char	   *row_end = memchr(data, '\n', end - data);

		if (row_end == NULL)
			row_end = end;
		store_row(ins, data, row_end);
		data = row_end + 1;
	}
	flush(ins);
}

uint64
insert_rows(Relation rel, List *rtable, List *column_names, char *data, int length)
{
	Inserter   *ins = palloc0(sizeof(Inserter));
	ErrorContextCallback context;
	uint64		inserted;

	/* COPY checks its input is UTF-8; the input functions assume it. */
	pg_verifymbstr(data, length, false);
	begin(ins, rel, rtable, column_names);
	context.callback = conversion_context;
	context.arg = ins;
	context.previous = error_context_stack;
	error_context_stack = &context;
	PG_TRY();
	{
		store_rows(ins, data, data + length);
	}
	PG_CATCH();
	{
		/* The rows may be tried again, a few at a time, to find the one that failed. */
		put_back_cut(ins);
		PG_RE_THROW();
	}
	PG_END_TRY();
	error_context_stack = context.previous;

	table_finish_bulk_insert(rel, ins->options);
	FreeBulkInsertState(ins->bistate);
	for (int i = 0; i < ins->nslots; i++)
		ExecDropSingleTupleTableSlot(ins->slots[i]);
	ExecCloseResultRelations(ins->estate);
	ExecCloseRangeTableRelations(ins->estate);
	FreeExecutorState(ins->estate);
	inserted = ins->inserted;
	pfree(ins);
	return inserted;
}

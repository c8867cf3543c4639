/*
 * rewrite.c: conditions injected into a model's SELECT, printed back by PostgreSQL's deparser.
 */
#include "postgres.h"

#include "nodes/makefuncs.h"
#include "lib/stringinfo.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"

#include "model/deps.h"
#include "model/rewrite.h"
#include "util/relname.h"

#define CONDITION_PREFIX "SELECT WHERE "

/* The model's SELECT, which must be plain (no set operation) for a condition to name its inputs. */
static SelectStmt *
plain_select(const char *sql, const char *model, const char *what)
{
	SelectStmt *sel = model_select_stmt(sql, model);

	if (sel->op != SETOP_NONE || sel->valuesLists != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\": its %s needs a plain SELECT at the top of its SQL", model, what),
				 errdetail("The SQL is a UNION, INTERSECT, EXCEPT or VALUES."),
				 errhint("Move the set operation into a subquery in FROM, or find new rows with the "
						 "cursor option (a column of the output).")));
	return sel;
}

static Node *
parse_condition(const char *condition, const char *model, const char *what)
{
	List	   *stmts = model_raw_parse(psprintf(CONDITION_PREFIX "%s", condition), model, what,
										strlen(CONDITION_PREFIX));
	SelectStmt *s = NULL;

	if (list_length(stmts) == 1 && IsA(linitial_node(RawStmt, stmts)->stmt, SelectStmt))
		s = (SelectStmt *) linitial_node(RawStmt, stmts)->stmt;
	if (s == NULL || s->whereClause == NULL || s->targetList || s->fromClause || s->groupClause ||
		s->havingClause || s->sortClause || s->limitCount || s->limitOffset || s->windowClause ||
		s->lockingClause || s->withClause || s->distinctClause || s->op != SETOP_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\": its %s must be a single condition", model, what),
				 errdetail("Got: %s", condition)));
	return s->whereClause;
}

static Node *
and_clause(Node *a, Node *b)
{
	return a == NULL ? b : (Node *) makeBoolExpr(AND_EXPR, list_make2(a, b), -1);
}

/* Analyzes the changed tree and prints it back; errors point at the condition sluice added. */
static char *
deparsed(SelectStmt *stmt, const char *sql, const char *what, const char *condition,
		 Oid *paramtypes, int nparams)
{
	RawStmt    *raw = makeNode(RawStmt);
	ErrorContextCallback *outer = error_context_stack;
	MemoryContext cxt = CurrentMemoryContext;
	Query	   *query;

	raw->stmt = (Node *) stmt;
	PG_TRY();
	{
		query = parse_analyze_fixedparams(raw, sql, paramtypes, nparams, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		error_context_stack = outer;
		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(e->sqlerrcode),
				 errmsg("%s", e->message),
				 errdetail("In the model's %s: %s", what, condition)));
	}
	PG_END_TRY();
	return pg_get_querydef(query, false);
}

char *
model_sql_where(const char *sql, const char *model, const char *condition, const char *what)
{
	SelectStmt *sel = plain_select(sql, model, what);

	sel->whereClause = and_clause(sel->whereClause, parse_condition(condition, model, what));
	return deparsed(sel, sql, what, condition, NULL, 0);
}

/* The raw expression the SELECT list computes an output column with (by name, as it is written). */
static Node *
output_expression(SelectStmt *sel, const char *column)
{
	ListCell   *lc;
	ColumnRef  *ref;

	foreach(lc, sel->targetList)
	{
		ResTarget  *rt = lfirst_node(ResTarget, lc);

		if (rt->name != NULL && strcmp(rt->name, column) == 0)
			return rt->val;
		if (rt->name == NULL && IsA(rt->val, ColumnRef))
		{
			Node	   *last = llast(((ColumnRef *) rt->val)->fields);

			if (IsA(last, String) && strcmp(strVal(last), column) == 0)
				return rt->val;
		}
	}
	/* Not written out (SELECT *): the input column of that name. */
	ref = makeNode(ColumnRef);
	ref->fields = list_make1(makeString(pstrdup(column)));
	ref->location = -1;
	return (Node *) ref;
}

void
model_sql_groups(const char *sql, const char *model, List *unique_key, Oid *key_types,
				 const char *condition, const char *what, char **groups_sql, char **restricted_sql)
{
	SelectStmt *sel = plain_select(sql, model, what);
	SelectStmt *groups = makeNode(SelectStmt);
	SelectStmt *restricted = copyObject(sel);
	SubLink    *in_groups = makeNode(SubLink);
	StringInfoData unnest;
	Oid		   *array_types = palloc(sizeof(Oid) * list_length(unique_key));
	List	   *keys = NIL;
	ListCell   *lc;

	initStringInfo(&unnest);
	foreach(lc, unique_key)
	{
		ResTarget  *rt = makeNode(ResTarget);
		int			i = foreach_current_index(lc);

		rt->name = lfirst(lc);
		rt->val = copyObject(output_expression(sel, lfirst(lc)));
		rt->location = -1;
		groups->targetList = lappend(groups->targetList, rt);
		keys = lappend(keys, copyObject(rt->val));
		array_types[i] = get_array_type(key_types[i]);
		appendStringInfo(&unnest, "%s$%d", i > 0 ? ", " : "", i + 1);
	}
	/* The groups: the key values of the matching rows, through the model's joins and WHERE. */
	groups->distinctClause = list_make1(NIL);
	groups->fromClause = copyObject(sel->fromClause);
	groups->withClause = copyObject(sel->withClause);
	groups->whereClause = and_clause(copyObject(sel->whereClause),
									 parse_condition(condition, model, what));

	/* The model over every row of the groups given as arrays: WHERE (keys) IN (unnest(...)). */
	in_groups->subLinkType = ANY_SUBLINK;
	in_groups->operName = list_make1(makeString("="));
	in_groups->subselect = linitial_node(RawStmt,
										 raw_parser(psprintf("SELECT * FROM unnest(%s)", unnest.data),
													RAW_PARSE_DEFAULT))->stmt;
	in_groups->location = -1;
	if (list_length(keys) == 1)
		in_groups->testexpr = linitial(keys);
	else
	{
		RowExpr    *row = makeNode(RowExpr);

		row->args = keys;
		row->row_format = COERCE_IMPLICIT_CAST;
		row->location = -1;
		in_groups->testexpr = (Node *) row;
	}
	restricted->whereClause = and_clause(restricted->whereClause, (Node *) in_groups);

	*groups_sql = deparsed(groups, sql, what, condition, NULL, 0);
	*restricted_sql = deparsed(restricted, sql, what, condition, array_types,
							   list_length(unique_key));
}

void
model_input_cursor(Query *query, const char *model, const char *input_cursor,
				   Oid *relid, char **column, Oid *typid)
{
	const char *dot = strchr(input_cursor, '.');
	char	   *alias;
	ListCell   *lc;

	if (dot == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\": input_cursor \"%s\" must be written alias.column", model,
						input_cursor)));
	alias = pnstrdup(input_cursor, dot - input_cursor);

	*column = pstrdup(dot + 1);
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		AttrNumber	attnum;

		if (rte->rtekind != RTE_RELATION || strcmp(rte->eref->aliasname, alias) != 0)
			continue;
		attnum = get_attnum(rte->relid, *column);
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("model \"%s\": input_cursor \"%s\" names column \"%s\", which %s does not have",
							model, input_cursor, *column,
							relation_quoted_name(rte->relid))));
		*relid = rte->relid;
		*typid = get_atttype(rte->relid, attnum);
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("model \"%s\": input_cursor \"%s\" names \"%s\", which is not a relation in the "
					"FROM of its SELECT", model, input_cursor, alias),
			 errhint("Use the alias the model gives the relation, or its name when it has none.")));
}

bool
query_is_grouped(Query *query)
{
	return query->hasAggs || query->groupClause != NIL || query->groupingSets != NIL ||
		query->havingQual != NULL;
}

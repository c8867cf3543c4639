/*
 * column_lineage.c: column lineage from the analyzed query tree.
 *
 * An output column is traced down to the relation columns its expression reads.  The kind is the
 * strongest met on the way: a bare column (or binary-compatible cast) is a copy ("identity"), any
 * other expression a transformation, an aggregate or window function an aggregation.  Columns that
 * decide which rows come out (WHERE and HAVING conditions, at any level: "filter"; JOIN ... ON
 * conditions: "join") are traced the same way, to the output "*".
 */
#include "postgres.h"

#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#include "model/column_lineage.h"

typedef enum TraceKind
{
	KIND_IDENTITY,
	KIND_TRANSFORMATION,
	KIND_AGGREGATION,
	KIND_FILTER,
	KIND_JOIN
} TraceKind;

static const char *const kind_names[] = {"identity", "transformation", "aggregation", "filter", "join"};

typedef struct Trace
{
	List	   *edges;			/* ColumnEdge */
	const char *to_column;
	List	   *levels;			/* Query stack, innermost first: a Var's varlevelsup indexes it */
	List	   *path_queries;	/* the (query, column) pairs being traced, so a recursive CTE */
	List	   *path_columns;	/* that refers to itself ends the trace */
	TraceKind	kind;			/* while walking an expression */
} Trace;

static void trace_column(Trace *t, Query *query, AttrNumber attno, TraceKind kind);

static void
add_edge(Trace *t, Oid relid, AttrNumber attno, TraceKind kind)
{
	char	   *column = get_attname(relid, attno, true);
	ListCell   *lc;
	ColumnEdge *e;

	if (column == NULL)
		return;
	foreach(lc, t->edges)
	{
		e = lfirst(lc);
		if (e->from_relid == relid && strcmp(e->from_column, column) == 0 &&
			strcmp(e->to_column, t->to_column) == 0)
		{
			/* kind_names are in order of strength */
			for (int k = kind + 1; k <= KIND_JOIN; k++)
				if (e->kind == kind_names[k])
					return;
			e->kind = kind_names[kind];
			return;
		}
	}
	e = palloc(sizeof(ColumnEdge));
	e->from_relid = relid;
	e->from_column = column;
	e->to_column = pstrdup(t->to_column);
	e->kind = kind_names[kind];
	t->edges = lappend(t->edges, e);
}

/* Traces `node` as seen from the query `levels` starts with. */
static void trace_expression(Trace *t, Node *node, TraceKind kind);

static void
trace_var(Trace *t, Var *var, TraceKind kind)
{
	List	   *saved = t->levels;
	Query	   *query;
	RangeTblEntry *rte;

	if (var->varlevelsup >= list_length(t->levels) || var->varattno <= 0)
		return;					/* whole-row and system columns carry no column lineage */
	t->levels = list_copy_tail(saved, var->varlevelsup);
	query = linitial(t->levels);
	rte = rt_fetch(var->varno, query->rtable);
	switch (rte->rtekind)
	{
		case RTE_RELATION:
			add_edge(t, rte->relid, var->varattno, kind);
			break;
		case RTE_SUBQUERY:
			trace_column(t, rte->subquery, var->varattno, kind);
			break;
		case RTE_JOIN:
			if (var->varattno <= list_length(rte->joinaliasvars))
				trace_expression(t, list_nth(rte->joinaliasvars, var->varattno - 1), kind);
			break;
		case RTE_CTE:
			if (rte->ctelevelsup < list_length(t->levels))
			{
				Query	   *owner = list_nth(t->levels, rte->ctelevelsup);
				ListCell   *lc;

				t->levels = list_copy_tail(t->levels, rte->ctelevelsup);
				foreach(lc, owner->cteList)
				{
					CommonTableExpr *cte = lfirst(lc);

					if (strcmp(cte->ctename, rte->ctename) == 0 && IsA(cte->ctequery, Query))
						trace_column(t, (Query *) cte->ctequery, var->varattno, kind);
				}
			}
			break;
		case RTE_FUNCTION:
			{
				ListCell   *lc;

				/* A set-returning call in FROM (often LATERAL): its columns come from its arguments. */
				foreach(lc, rte->functions)
					trace_expression(t, lfirst_node(RangeTblFunction, lc)->funcexpr,
									 Max(kind, KIND_TRANSFORMATION));
			}
			break;
		default:
			break;
	}
	t->levels = saved;
}

static bool expression_walker(Node *node, Trace *t);

/* A window function's value also depends on its window's partitioning and ordering columns. */
static void
trace_window(Trace *t, Index winref)
{
	Query	   *query = linitial(t->levels);
	ListCell   *lc;

	foreach(lc, query->windowClause)
	{
		WindowClause *w = lfirst(lc);
		ListCell   *sc;

		if (w->winref != winref)
			continue;
		foreach(sc, list_concat_copy(w->partitionClause, w->orderClause))
			(void) expression_walker((Node *) get_sortgroupclause_expr(lfirst(sc), query->targetList), t);
	}
}

static bool
expression_walker(Node *node, Trace *t)
{
	TraceKind	outer = t->kind;
	bool		result;

	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		trace_var(t, (Var *) node, t->kind);
		return false;
	}
	if (IsA(node, SubLink))
	{
		SubLink    *sublink = (SubLink *) node;
		Query	   *sub = (Query *) sublink->subselect;
		ListCell   *lc;

		(void) expression_walker(sublink->testexpr, t);
		/* The sublink's query sees this one's columns one level up. */
		t->levels = lcons(sub, t->levels);
		foreach(lc, sub->targetList)
		{
			TargetEntry *tle = lfirst(lc);

			if (!tle->resjunk)
				(void) expression_walker((Node *) tle->expr, t);
		}
		t->levels = list_delete_first(t->levels);
		return false;
	}
	if (IsA(node, Aggref) || IsA(node, WindowFunc))
		t->kind = Max(t->kind, KIND_AGGREGATION);
	if (IsA(node, WindowFunc))
		trace_window(t, ((WindowFunc *) node)->winref);
	result = expression_tree_walker(node, expression_walker, t);
	t->kind = outer;
	return result;
}

static void
trace_expression(Trace *t, Node *node, TraceKind kind)
{
	TraceKind	saved = t->kind;

	/* A bare column, or one relabelled to a binary-compatible type, is a copy. */
	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node && IsA(node, Var))
	{
		trace_var(t, (Var *) node, kind);
		return;
	}
	t->kind = Max(kind, KIND_TRANSFORMATION);
	(void) expression_walker(node, t);
	t->kind = saved;
}

static void
trace_setop(Trace *t, Query *query, Node *setop, AttrNumber attno, TraceKind kind)
{
	if (IsA(setop, RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) setop)->rtindex, query->rtable);

		if (rte->rtekind == RTE_SUBQUERY)
			trace_column(t, rte->subquery, attno, kind);
	}
	else if (IsA(setop, SetOperationStmt))
	{
		trace_setop(t, query, ((SetOperationStmt *) setop)->larg, attno, kind);
		trace_setop(t, query, ((SetOperationStmt *) setop)->rarg, attno, kind);
	}
}

/* Traces output column attno of `query`, a query nested in the one `levels` starts with. */
static void
trace_column(Trace *t, Query *query, AttrNumber attno, TraceKind kind)
{
	TargetEntry *tle;

	for (int i = 0; i < list_length(t->path_queries); i++)
		if (list_nth(t->path_queries, i) == query && list_nth_int(t->path_columns, i) == attno)
			return;
	t->path_queries = lappend(t->path_queries, query);
	t->path_columns = lappend_int(t->path_columns, attno);
	t->levels = lcons(query, t->levels);

	if (query->setOperations)
		trace_setop(t, query, query->setOperations, attno, kind);
	else if ((tle = get_tle_by_resno(query->targetList, attno)) != NULL)
		trace_expression(t, (Node *) tle->expr, kind);

	t->levels = list_delete_first(t->levels);
	t->path_queries = list_delete_last(t->path_queries);
	t->path_columns = list_delete_last(t->path_columns);
}

static void trace_conditions(Trace *t, Query *query);

/* Conditions in an expression's sublinks filter the rows the sublink reads. */
static bool
sublink_conditions(Node *node, Trace *t)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		trace_conditions(t, (Query *) ((SubLink *) node)->subselect);
		return false;
	}
	return expression_tree_walker(node, sublink_conditions, t);
}

static void
trace_condition(Trace *t, Node *condition, TraceKind kind)
{
	if (condition == NULL)
		return;
	trace_expression(t, condition, kind);
	(void) sublink_conditions(condition, t);
}

static void
trace_join_tree(Trace *t, Query *query, Node *node)
{
	ListCell   *lc;

	if (node == NULL)
		return;
	if (IsA(node, FromExpr))
	{
		foreach(lc, ((FromExpr *) node)->fromlist)
			trace_join_tree(t, query, lfirst(lc));
		trace_condition(t, ((FromExpr *) node)->quals, KIND_FILTER);
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;

		trace_join_tree(t, query, join->larg);
		trace_join_tree(t, query, join->rarg);
		trace_condition(t, join->quals, KIND_JOIN);
	}
	else if (IsA(node, RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) node)->rtindex, query->rtable);

		if (rte->rtekind == RTE_SUBQUERY)
			trace_conditions(t, rte->subquery);
	}
}

/* The columns that decide which rows `query` (nested in `levels`) returns, as edges to "*". */
static void
trace_conditions(Trace *t, Query *query)
{
	ListCell   *lc;

	t->levels = lcons(query, t->levels);
	trace_join_tree(t, query, (Node *) query->jointree);
	trace_condition(t, query->havingQual, KIND_FILTER);
	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst(lc);

		if (IsA(cte->ctequery, Query))
			trace_conditions(t, (Query *) cte->ctequery);
	}
	if (query->setOperations)
		foreach(lc, query->rtable)
		{
			RangeTblEntry *rte = lfirst(lc);

			if (rte->rtekind == RTE_SUBQUERY)
				trace_conditions(t, rte->subquery);
		}
	t->levels = list_delete_first(t->levels);
}

List *
query_column_lineage(Query *query)
{
	Trace		t = {0};
	ListCell   *lc;

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk)
			continue;
		t.to_column = tle->resname;
		trace_column(&t, query, tle->resno, KIND_IDENTITY);
	}
	t.to_column = "*";
	trace_conditions(&t, query);
	return t.edges;
}

/*
 * deps.c: dependencies of a model.
 *
 * At definition time the relations a model reads may not exist yet (another model builds them),
 * so sluice._sql_relations reads the raw parse tree; at build time the analyzed query tree gives
 * the exact relations, which become lineage.
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "utils/builtins.h"

#include "model/deps.h"

PG_FUNCTION_INFO_V1(sluice_sql_relations);

typedef struct RawWalk
{
	const char *model;
	List	   *ctes;			/* names of the CTEs in scope */
	List	   *relations;		/* RangeVar */
} RawWalk;

List *
model_raw_parse(const char *sql, const char *model, const char *what, int prefix_len)
{
	List	   *stmts;
	ErrorContextCallback *outer = error_context_stack;

	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		error_context_stack = outer;
		e = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(e->sqlerrcode),
				 errmsg("model \"%s\": %s", model, e->message),
				 e->cursorpos > prefix_len ?
				 errdetail("At character %d of the model's %s.", e->cursorpos - prefix_len, what) : 0));
	}
	PG_END_TRY();
	return stmts;
}

SelectStmt *
model_select_stmt(const char *sql, const char *model)
{
	List	   *stmts;
	Node	   *stmt;

	if (sql == NULL || sql[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" has no SQL", model)));
	stmts = model_raw_parse(sql, model, "SQL", 0);
	stmt = list_length(stmts) == 1 ? linitial_node(RawStmt, stmts)->stmt : NULL;
	if (stmt == NULL || !IsA(stmt, SelectStmt) || ((SelectStmt *) stmt)->intoClause != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("model \"%s\" must be a single SELECT statement", model),
				 errhint("Write the query only; sluice creates the view or table.")));
	return (SelectStmt *) stmt;
}

static bool
raw_relations_walker(Node *node, RawWalk *w)
{
	if (node == NULL)
		return false;
	if (IsA(node, SelectStmt))
	{
		SelectStmt *select = (SelectStmt *) node;
		int			depth = list_length(w->ctes);
		ListCell   *lc;
		bool		result;

		if (select->withClause)
			foreach(lc, select->withClause->ctes)
				w->ctes = lappend(w->ctes, lfirst_node(CommonTableExpr, lc)->ctename);
		result = raw_expression_tree_walker(node, raw_relations_walker, w);
		w->ctes = list_truncate(w->ctes, depth);
		return result;
	}
	if (IsA(node, CommonTableExpr) && !IsA(((CommonTableExpr *) node)->ctequery, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("model \"%s\" must not modify data", w->model),
				 errdetail("Its WITH clause holds an INSERT, UPDATE, DELETE or MERGE.")));
	if (IsA(node, RangeVar))
	{
		RangeVar   *rv = (RangeVar *) node;
		ListCell   *lc;

		if (rv->schemaname == NULL)
			foreach(lc, w->ctes)
				if (strcmp((char *) lfirst(lc), rv->relname) == 0)
					return false;
		w->relations = lappend(w->relations, rv);
		return false;
	}
	return raw_expression_tree_walker(node, raw_relations_walker, w);
}

void
model_sql_validate(const char *sql, const char *model)
{
	RawWalk		w = {model};

	(void) raw_relations_walker((Node *) model_select_stmt(sql, model), &w);
}

/* SQL: sluice._sql_relations(sql, model) returns (schema_name, relation_name), each once. */
Datum
sluice_sql_relations(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *model = PG_ARGISNULL(1) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *sql = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	RawWalk		w = {model};
	List	   *seen = NIL;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	(void) raw_relations_walker((Node *) model_select_stmt(sql, model), &w);
	foreach(lc, w.relations)
	{
		RangeVar   *rv = lfirst(lc);
		char	   *key = psprintf("%s.%s", rv->schemaname ? rv->schemaname : "", rv->relname);
		Datum		values[2];
		bool		nulls[2] = {rv->schemaname == NULL, false};

		if (list_member(seen, makeString(key)))
			continue;
		seen = lappend(seen, makeString(key));
		values[0] = rv->schemaname ? CStringGetTextDatum(rv->schemaname) : (Datum) 0;
		values[1] = CStringGetTextDatum(rv->relname);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

static bool
analyzed_relations_walker(Node *node, List **oids)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		ListCell   *lc;

		foreach(lc, query->rtable)
		{
			RangeTblEntry *rte = lfirst(lc);

			if (rte->rtekind == RTE_RELATION)
				*oids = list_append_unique_oid(*oids, rte->relid);
		}
		return query_tree_walker(query, analyzed_relations_walker, oids, 0);
	}
	return expression_tree_walker(node, analyzed_relations_walker, oids);
}

Query *
model_query(const char *sql)
{
	RawStmt    *raw = linitial_node(RawStmt, raw_parser(sql, RAW_PARSE_DEFAULT));

	return parse_analyze_fixedparams(raw, sql, NULL, 0, NULL);
}

List *
model_input_relations(Query *query)
{
	List	   *oids = NIL;

	(void) analyzed_relations_walker((Node *) query, &oids);
	return oids;
}

/*
 * compile.c: the single-scan check compiler (see compile.h).
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "parser/parse_type.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"

#include "quality/compile.h"
#include "quality/expectation.h"
#include "util/role.h"
#include "util/relname.h"

#define MAX_SAMPLE 20

/* The shared scan: one aggregate query whose select list every expectation adds to. */
typedef struct CheckScan
{
	const CheckTarget *t;
	char	   *from;			/* "relation AS checked" */
	char	   *base;			/* the batch condition, or NULL */
	List	   *items;			/* select list, without duplicates */
} CheckScan;

/* One expectation, compiled: its positions in the scan's select list and its own queries. */
typedef struct Compiled
{
	ExpectationDef *e;
	const KindSpec *kind;
	CheckOutcome *outcome;
	List	   *columns;		/* quoted, qualified by "checked." */
	char	   *type;			/* the (first) column's type name */
	char	   *filter;			/* "(row_filter)" or NULL */
	char	   *not_null;		/* "checked.a IS NOT NULL AND ..." */
	char	   *bad_row;		/* value and relationship kinds: what makes a row unexpected */
	int			rows,
				nonmissing,
				unexpected,
				observed,
				inside;			/* positions in the scan (-1: none) */
	char	   *query;			/* a query of its own, or NULL */
	char	   *proof;			/* unique: the unique index that proves it, or NULL */
} Compiled;

/* "a, b, c" */
static char *
text_list(List *strings)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	foreach(lc, strings)
		appendStringInfo(&s, "%s%s", s.len ? ", " : "", (char *) lfirst(lc));
	return s.data;
}

static char *
json_string(const char *text)
{
	StringInfoData s;

	initStringInfo(&s);
	escape_json(&s, text);
	return s.data;
}

static int
scan_item(CheckScan *s, char *expr)
{
	ListCell   *lc;

	foreach(lc, s->items)
		if (strcmp(lfirst(lc), expr) == 0)
			return foreach_current_index(lc);
	s->items = lappend(s->items, expr);
	return list_length(s->items) - 1;
}

/* " WHERE a AND b AND c" over the conditions that are not NULL, or "". */
static char *
where_clause(const char *a, const char *b, const char *c)
{
	StringInfoData s;
	const char *conds[3] = {a, b, c};

	initStringInfo(&s);
	for (int i = 0; i < 3; i++)
		if (conds[i])
			appendStringInfo(&s, "%s%s", s.len ? " AND " : " WHERE ", conds[i]);
	return s.data;
}

/* The aggregate restricted to the rows the filter and condition hold for. */
static char *
filtered(const char *aggregate, const char *filter, const char *cond)
{
	char	   *where = where_clause(filter, cond, NULL);

	if (where[0] == '\0')
		return pstrdup(aggregate);
	return psprintf("%s FILTER (%s)", aggregate, where + 1);
}

static char *
literal(const char *text, const char *type)
{
	return psprintf("%s::%s", quote_literal_cstr(text), type);
}

/* The condition that expr lies within the expectation's bounds (compared as type). */
static char *
bounds(const ExpectationDef *e, const char *expr, const char *type)
{
	char	   *min = expectation_arg(e, "min_value");
	char	   *max = expectation_arg(e, "max_value");
	char	   *lower = min ? psprintf("%s %s %s", expr, expectation_arg_bool(e, "strict_min", false)
									   ? ">" : ">=", literal(min, type)) : NULL;
	char	   *upper = max ? psprintf("%s %s %s", expr, expectation_arg_bool(e, "strict_max", false)
									   ? "<" : "<=", literal(max, type)) : NULL;

	if (lower && upper)
		return psprintf("(%s AND %s)", lower, upper);
	return psprintf("(%s)", lower ? lower : upper);
}

/* A query of its own giving a value and whether it lies within the bounds, compared as numeric. */
static char *
bounded_value_query(const ExpectationDef *e, const char *value_query)
{
	return psprintf("SELECT to_jsonb(v), coalesce(%s, false) FROM (%s) AS x(v)",
					bounds(e, "v", "numeric"), value_query);
}

/* The quoted name of the relation a relationship refers to, checked as the current user. */
static char *
referenced_relation(const ExpectationDef *e, const char *field)
{
	List	   *names = stringToQualifiedNameList(expectation_arg(e, "to"));
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("expectation \"%s\": relation \"%s\" does not exist", e->name,
						expectation_arg(e, "to"))));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("expectation \"%s\": its owner \"%s\" may not read %s", e->name,
						GetUserNameFromId(GetUserId(), false), expectation_arg(e, "to")),
				 errhint("GRANT SELECT ON %s TO %s;", expectation_arg(e, "to"),
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
	if (get_attnum(relid, field) == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("expectation \"%s\": column \"%s\" of relation %s does not exist", e->name,
						field, expectation_arg(e, "to"))));
	return relation_quoted_name(relid);
}

/* The name of a unique index of relid that no two rows with all of attnums equal can pass. */
static char *
unique_index_proof(Oid relid, List *column_names)
{
	Relation	rel;
	ListCell   *lc;
	char	   *proof = NULL;

	if (!OidIsValid(relid))
		return NULL;
	rel = relation_open(relid, AccessShareLock);
	foreach(lc, RelationGetIndexList(rel))
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;
		bool		covered = form->indisunique && form->indisvalid && form->indimmediate &&
			RelationGetIndexExpressions(index) == NIL && RelationGetIndexPredicate(index) == NIL;

		for (int i = 0; covered && i < form->indnkeyatts; i++)
		{
			ListCell   *c;

			covered = false;
			foreach(c, column_names)
				covered |= get_attnum(relid, lfirst(c)) == form->indkey.values[i];
		}
		if (covered && proof == NULL)
			proof = pstrdup(RelationGetRelationName(index));
		index_close(index, AccessShareLock);
	}
	relation_close(rel, AccessShareLock);
	return proof;
}

static void
compile(CheckScan *s, Compiled *c)
{
	ExpectationDef *e = c->e;
	const char *f = c->filter;
	const char *col = c->columns ? linitial(c->columns) : NULL;
	const char *rows = filtered("count(*)", f, NULL);
	const char *from_where;
	char	   *v;

	c->rows = c->nonmissing = c->unexpected = c->observed = c->inside = -1;
	if (c->kind->class != KIND_COLUMN_EXISTS && c->kind->class != KIND_CUSTOM)
		c->rows = scan_item(s, pstrdup(rows));
	from_where = psprintf("FROM %s%s", s->from, where_clause(s->base, f, c->not_null));

	switch (c->kind->class)
	{
		case KIND_NOT_NULL:
			c->unexpected = scan_item(s, filtered("count(*)", f, psprintf("%s IS NULL", col)));
			break;
		case KIND_VALUE:
			{
				const char *kind = e->kind;
				char	   *pred;

				if (strcmp(kind, "in_set") == 0 || strcmp(kind, "not_in_set") == 0)
				{
					StringInfoData set;
					ListCell   *lc;

					initStringInfo(&set);
					foreach(lc, expectation_arg_list(e, "values"))
						appendStringInfo(&set, "%s%s", set.len ? ", " : "", literal(lfirst(lc), c->type));
					pred = psprintf("%s %sIN (%s)", col, kind[0] == 'n' ? "NOT " : "", set.data);
				}
				else if (strcmp(kind, "between") == 0)
					pred = bounds(e, col, c->type);
				else if (strcmp(kind, "length_between") == 0)
					pred = bounds(e, psprintf("length(%s::text)", col), "numeric");
				else
					pred = psprintf("%ssluice._matches(%s::text, %s)", kind[0] == 'n' ? "NOT " : "", col,
									literal(expectation_arg(e, "regex"), "text"));
				c->bad_row = psprintf("NOT %s", pred);
				c->nonmissing = scan_item(s, filtered(psprintf("count(%s)", col), f, NULL));
				c->unexpected = scan_item(s, filtered("count(*)", f,
													  psprintf("%s AND %s", c->not_null, c->bad_row)));
				break;
			}
		case KIND_UNIQUE:
			c->nonmissing = scan_item(s, filtered("count(*)", f, c->not_null));
			if (c->proof == NULL)
				c->query = psprintf("SELECT coalesce(sum(n), 0)::bigint, count(*) FROM"
									" (SELECT count(*) AS n %s GROUP BY %s HAVING count(*) > 1) AS duplicates",
									from_where, text_list(c->columns));
			break;
		case KIND_RELATIONSHIP:
			{
				char	   *field = expectation_arg(e, "field");
				char	   *to = referenced_relation(e, field);

				c->bad_row = psprintf("NOT EXISTS (SELECT FROM %s AS referenced WHERE referenced.%s = %s)",
									  to, quote_identifier(field), col);
				c->nonmissing = scan_item(s, filtered(psprintf("count(%s)", col), f, NULL));
				c->query = psprintf("SELECT count(*) %s AND %s", from_where, c->bad_row);
				break;
			}
		case KIND_AGGREGATE:
			{
				const char *agg = c->kind->aggregate;
				char	   *grouped = psprintf("SELECT count(*) AS n %s GROUP BY %s", from_where, col);

				if (strcmp(agg, "median") == 0)
					c->query = bounded_value_query(e, psprintf("SELECT percentile_cont(0.5) WITHIN GROUP"
															   " (ORDER BY %s::float8) %s", col, from_where));
				else if (strcmp(agg, "distinct_count") == 0)
					c->query = bounded_value_query(e, psprintf("SELECT count(*) FROM (%s) AS d", grouped));
				else if (strcmp(agg, "unique_proportion") == 0)
					c->query = bounded_value_query(e, psprintf("SELECT count(*)::numeric / nullif(sum(n), 0)"
															   " FROM (%s) AS d", grouped));
				else
				{
					v = filtered(psprintf("%s(%s)", agg, col), f, NULL);
					c->observed = scan_item(s, psprintf("to_jsonb(%s)", v));
					c->inside = scan_item(s, psprintf("coalesce(%s, false)",
													  bounds(e, v, strcmp(agg, "min") == 0 || strcmp(agg, "max") == 0
															 ? c->type : "numeric")));
				}
				break;
			}
		case KIND_ROW_COUNT:
			c->observed = scan_item(s, psprintf("to_jsonb(%s)", rows));
			c->inside = scan_item(s, psprintf("coalesce(%s, false)", bounds(e, rows, "numeric")));
			break;
		case KIND_FRESHNESS:
			v = filtered(psprintf("max(%s)", col), f, NULL);
			c->observed = scan_item(s, psprintf("jsonb_build_object('newest', %s, 'age',"
												" date_trunc('second', now() - %s::timestamptz)::text)", v, v));
			c->inside = scan_item(s, psprintf("coalesce(%s::timestamptz >= now() - %s, false)", v,
											  literal(expectation_arg(e, "max_age"), "interval")));
			break;
		case KIND_CUSTOM:
			c->rows = scan_item(s, "count(*)");
			c->query = psprintf("SELECT count(*) FROM (%s\n) AS failures", expectation_arg(e, "sql"));
			break;
		case KIND_VOLUME:
		case KIND_COLUMN_EXISTS:
			break;
	}
}

/*
 * Resolves what the expectation needs from the relation, as its owner: errors when a column is
 * missing (except for column_exists, which reports it) or the owner may not read the relation;
 * `defining`: the expectation is being defined, not checked.
 */
static void
prepare(const CheckTarget *t, Compiled *c, bool defining)
{
	ExpectationDef *e = c->e;
	ListCell   *lc;
	StringInfoData not_null;

	c->kind = expectation_kind(e);
	if (pg_class_aclcheck(t->relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("expectation \"%s\": its owner \"%s\" may not read %s", e->name,
						GetUserNameFromId(GetUserId(), false), t->name)));
	initStringInfo(&not_null);
	foreach(lc, expectation_columns(e))
	{
		char	   *name = lfirst(lc);
		AttrNumber	attnum = get_attnum(t->relid, name);
		char	   *qualified = psprintf("checked.%s", quote_identifier(name));

		if (attnum == InvalidAttrNumber)
		{
			if (c->kind->class == KIND_COLUMN_EXISTS)
				return;
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("expectation \"%s\": column \"%s\" of relation %s does not exist",
							e->name, name, t->name),
					 defining ? 0 : errhint("Drop the expectation with sluice.drop_expectation('%s'), or redefine it.",
											e->name)));
		}
		if (c->columns == NIL)
			c->type = format_type_be(get_atttype(t->relid, attnum));
		c->columns = lappend(c->columns, qualified);
		appendStringInfo(&not_null, "%s%s IS NOT NULL", not_null.len ? " AND " : "", qualified);
	}
	c->not_null = not_null.len ? not_null.data : NULL;
	c->filter = e->row_filter ? psprintf("(%s\n)", e->row_filter) : NULL;
	if (c->kind->class == KIND_UNIQUE)
		c->proof = unique_index_proof(t->vouching_relid, expectation_columns(e));
}

static CheckScan
scan_for(const CheckTarget *t)
{
	CheckScan		s = {t};

	s.from = psprintf("%s AS checked",
					  relation_quoted_name(t->relid));
	s.base = TransactionIdIsValid(t->batch_since)
		? psprintf("sluice._written_in_batch(checked.xmin, '%u')", t->batch_since) : NULL;
	return s;
}

static char *
scan_query(CheckScan *s)
{
	return psprintf("SELECT %s FROM %s%s", text_list(s->items), s->from,
					where_clause(s->base, NULL, NULL));
}

static void
spi_row(const char *sql)
{
	if (SPI_execute(sql, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "check query returned no row: %s", sql);
}

static int64
int8_at(int position)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, position + 1, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static char *
text_at(int position)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, position + 1);
}

static bool
bool_at(int position)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, position + 1, &isnull);

	return !isnull && DatumGetBool(d);
}

static double
percent(int64 part, int64 whole)
{
	return whole > 0 ? 100.0 * (double) part / (double) whole : NAN;
}

/* Whether at least `mostly` of `whole` rows met the expectation (vacuously, with no rows). */
static bool
mostly_holds(int64 unexpected, int64 whole, double mostly)
{
	return whole == 0 || (double) (whole - unexpected) / (double) whole >= mostly - 1e-12;
}

/* Reads what the shared scan found for the expectation (the scan's row is SPI's last result). */
static void
read_scan(Compiled *c)
{
	CheckOutcome *o = c->outcome;
	int64		rows = c->rows >= 0 ? int8_at(c->rows) : -1;

	o->element_count = rows;
	if (c->nonmissing >= 0)
		o->missing_count = rows - int8_at(c->nonmissing);
	if (c->kind->class == KIND_NOT_NULL)
		o->missing_count = int8_at(c->unexpected);
	if (c->unexpected >= 0)
		o->unexpected_count = int8_at(c->unexpected);
	if (c->observed >= 0)
		o->observed_value = text_at(c->observed);
	if (c->inside >= 0)
		o->success = bool_at(c->inside);
}

/* Runs what the expectation needs beyond the shared scan; returns the queries run. */
static int
finish(CheckScan *s, Compiled *c)
{
	CheckOutcome *o = c->outcome;
	ExpectationDef *e = c->e;
	int64		nonmissing = o->element_count - o->missing_count;
	int			queries = 0;
	char	   *sample = NULL;

	switch (c->kind->class)
	{
		case KIND_NOT_NULL:
			o->unexpected_percent = percent(o->unexpected_count, o->element_count);
			o->success = mostly_holds(o->unexpected_count, o->element_count, e->mostly);
			return 0;
		case KIND_UNIQUE:
			if (c->proof)
			{
				o->unexpected_count = 0;
				o->observed_value = psprintf("{\"proved_by_index\": %s}", json_string(c->proof));
				break;
			}
			spi_row(c->query);
			queries++;
			o->unexpected_count = int8_at(0);
			o->observed_value = psprintf("{\"duplicated_values\": " INT64_FORMAT "}", int8_at(1));
			sample = psprintf("SELECT %s AS v FROM %s%s GROUP BY %s HAVING count(*) > 1"
							  " ORDER BY count(*) DESC, 1 LIMIT %d",
							  list_length(c->columns) == 1 ? psprintf("to_jsonb(%s)", (char *) linitial(c->columns))
							  : psprintf("jsonb_build_array(%s)", text_list(c->columns)),
							  s->from, where_clause(s->base, c->filter, c->not_null),
							  text_list(c->columns), MAX_SAMPLE);
			break;
		case KIND_RELATIONSHIP:
			spi_row(c->query);
			queries++;
			o->unexpected_count = int8_at(0);
			/* fall through */
		case KIND_VALUE:
			sample = psprintf("SELECT to_jsonb(%s) AS v FROM %s%s AND %s LIMIT %d",
							  (char *) linitial(c->columns), s->from,
							  where_clause(s->base, c->filter, c->not_null), c->bad_row, MAX_SAMPLE);
			break;
		case KIND_CUSTOM:
			spi_row(c->query);
			queries++;
			o->unexpected_count = int8_at(0);
			nonmissing = o->element_count;
			o->missing_count = -1;
			sample = psprintf("SELECT to_jsonb(failure) AS v FROM (%s\n) AS failure LIMIT %d",
							  expectation_arg(e, "sql"), MAX_SAMPLE);
			break;
		case KIND_AGGREGATE:
			if (c->query)
			{
				spi_row(c->query);
				queries++;
				o->observed_value = text_at(0);
				o->success = bool_at(1);
			}
			return queries;
		default:
			return 0;
	}
	o->unexpected_percent = percent(o->unexpected_count, nonmissing);
	o->success = mostly_holds(o->unexpected_count, nonmissing, e->mostly);
	if (o->unexpected_count > 0)
	{
		spi_row(psprintf("SELECT coalesce(jsonb_agg(v), '[]') FROM (%s) AS sample", sample));
		queries++;
		o->partial_unexpected_list = text_at(0);
	}
	else if (sample)
		o->partial_unexpected_list = "[]";
	return queries;
}

static double
mean_of(List *values)
{
	double		sum = 0;
	ListCell   *lc;

	foreach(lc, values)
		sum += *(double *) lfirst(lc);
	return sum / list_length(values);
}

static double
stddev_of(List *values, double mean)
{
	double		sum = 0;
	ListCell   *lc;

	foreach(lc, values)
		sum += pow(*(double *) lfirst(lc) - mean, 2);
	return list_length(values) > 1 ? sqrt(sum / (list_length(values) - 1)) : 0;
}

/*
 * Volume anomaly: the row count (or its change since the last successful check) against the
 * last `lookback` successful checks; an outlier lies more than k standard deviations from their
 * mean.  Until three past checks exist the expectation learns and passes.
 */
static void
judge_volume(Compiled *c)
{
	CheckOutcome *o = c->outcome;
	ExpectationDef *e = c->e;
	char	   *metric = expectation_arg(e, "metric") ? expectation_arg(e, "metric") : "row_count";
	double		k = expectation_arg(e, "k") ? strtod(expectation_arg(e, "k"), NULL) : 3;
	int			lookback = expectation_arg(e, "lookback") ? atoi(expectation_arg(e, "lookback")) : 10;
	int64		rows = o->element_count;
	StringInfoData observed;
	List	   *history = NIL;
	double		x = (double) rows;

	initStringInfo(&observed);
	appendStringInfo(&observed, "{\"row_count\": " INT64_FORMAT, rows);
	o->success = true;
	if (strcmp(metric, "change") == 0)
	{
		List	   *last = expectation_history(e->id, "row_count", 1);

		if (last == NIL)
			metric = NULL;
		else
		{
			x = (double) rows - *(double *) linitial(last);
			appendStringInfo(&observed, ", \"change\": %.0f", x);
		}
	}
	if (metric)
		history = expectation_history(e->id, metric, lookback);
	if (list_length(history) < 3)
		appendStringInfo(&observed, ", \"history\": %d, \"learning\": true}", list_length(history));
	else
	{
		double		mean = mean_of(history);
		double		sd = stddev_of(history, mean);
		double		z = sd > 0 ? fabs(x - mean) / sd : (x == mean ? 0 : INFINITY);

		o->success = z <= k;
		appendStringInfo(&observed, ", \"history\": %d, \"mean\": %.2f, \"stddev\": %.2f, \"z\": %s}",
						 list_length(history), mean, sd, isinf(z) ? "null" : psprintf("%.2f", z));
	}
	o->observed_value = observed.data;
}

static void
judge_column_exists(const CheckTarget *t, Compiled *c)
{
	CheckOutcome *o = c->outcome;
	ExpectationDef *e = c->e;
	AttrNumber	attnum = get_attnum(t->relid, e->column_name);
	char	   *want = expectation_arg(e, "type");

	o->success = attnum != InvalidAttrNumber;
	if (!o->success)
	{
		o->observed_value = "{\"exists\": false}";
		return;
	}
	o->observed_value = psprintf("{\"exists\": true, \"type\": %s}", json_string(c->type));
	if (want)
	{
		Oid			typid;
		int32		typmod;
		Oid			atttype;
		int32		atttypmod;
		Oid			collation;

		parseTypeString(want, &typid, &typmod, false);
		get_atttypetypmodcoll(t->relid, attnum, &atttype, &atttypmod, &collation);
		o->success = typid == atttype && (typmod < 0 || typmod == atttypmod);
	}
}

/* Expectations of one owner with one search_path: compiled together, run as that owner. */
static int
evaluate_group(const CheckTarget *t, List *group)
{
	CheckScan		s = scan_for(t);
	ListCell   *lc;
	RoleSwitch	rs;
	int			queries = 0;
	ExpectationDef *first = ((Compiled *) linitial(group))->e;

	role_switch_enter(&rs, first->owner, true, first->search_path);
	foreach(lc, group)
	{
		Compiled   *c = lfirst(lc);

		prepare(t, c, false);
		if (c->columns != NIL || !c->kind->needs_column)
			compile(&s, c);
	}
	if (s.items != NIL)
	{
		spi_row(scan_query(&s));
		queries++;
		foreach(lc, group)
			if (((Compiled *) lfirst(lc))->kind->class != KIND_COLUMN_EXISTS)
				read_scan(lfirst(lc));
	}
	foreach(lc, group)
	{
		Compiled   *c = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (c->kind->class == KIND_VOLUME)
			judge_volume(c);
		else if (c->kind->class == KIND_COLUMN_EXISTS)
			judge_column_exists(t, c);
		else
			queries += finish(&s, c);
	}
	role_switch_exit(&rs);
	return queries;
}

int
check_evaluate(const CheckTarget *t, List *expectations, CheckOutcome *outcomes)
{
	int			n = list_length(expectations);
	Compiled   *compiled = palloc0(sizeof(Compiled) * n);
	bool	   *done = palloc0(sizeof(bool) * n);
	int			queries = 0;

	for (int i = 0; i < n; i++)
	{
		CheckOutcome *o = &outcomes[i];

		memset(o, 0, sizeof(CheckOutcome));
		compiled[i].e = list_nth(expectations, i);
		compiled[i].outcome = o;
		o->expectation = compiled[i].e;
		o->element_count = o->missing_count = o->unexpected_count = -1;
		o->unexpected_percent = NAN;
	}
	for (int i = 0; i < n; i++)
	{
		List	   *group = NIL;

		if (done[i])
			continue;
		for (int j = i; j < n; j++)
			if (!done[j] && compiled[j].e->owner == compiled[i].e->owner &&
				strcmp(compiled[j].e->search_path, compiled[i].e->search_path) == 0)
			{
				group = lappend(group, &compiled[j]);
				done[j] = true;
			}
		queries += evaluate_group(t, group);
	}
	return queries;
}

static void
plan_named(const char *name, const char *sql)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		if (SPI_prepare(sql, 0, NULL) == NULL)
			elog(ERROR, "could not plan: %s", SPI_result_code_string(SPI_result));
	}
	PG_CATCH();
	{
		expectation_rethrow(name, cxt);
	}
	PG_END_TRY();
}

void
check_compile(const CheckTarget *t, ExpectationDef *e)
{
	CheckScan		s = scan_for(t);
	Compiled	c = {e};
	CheckOutcome o = {e};
	RoleSwitch	rs;

	c.outcome = &o;
	role_switch_enter(&rs, e->owner, true, e->search_path);
	prepare(t, &c, true);
	compile(&s, &c);
	if (s.items != NIL)
		plan_named(e->name, scan_query(&s));
	if (c.query)
		plan_named(e->name, c.query);
	role_switch_exit(&rs);
}

char *
expectation_column_label(const ExpectationDef *e)
{
	List	   *columns = expectation_columns(e);

	return columns ? text_list(columns) : NULL;
}

static void
json_member(StringInfo s, const char *key, const char *json)
{
	appendStringInfo(s, "%s%s: %s", s->len > 1 ? ", " : "", json_string(key), json ? json : "null");
}

char *
check_outcome_json(const CheckOutcome *o)
{
	ExpectationDef *e = o->expectation;
	char	   *column = expectation_column_label(e);
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	json_member(&s, "expectation_id", psprintf(INT64_FORMAT, e->id));
	json_member(&s, "expectation", json_string(e->name));
	json_member(&s, "target", json_string(e->target));
	json_member(&s, "kind", json_string(e->kind));
	json_member(&s, "column_name", column ? json_string(column) : NULL);
	json_member(&s, "severity", json_string(e->severity));
	json_member(&s, "success", o->success ? "true" : "false");
	json_member(&s, "observed_value", o->observed_value);
	json_member(&s, "element_count", o->element_count >= 0 ? psprintf(INT64_FORMAT, o->element_count) : NULL);
	json_member(&s, "missing_count", o->missing_count >= 0 ? psprintf(INT64_FORMAT, o->missing_count) : NULL);
	json_member(&s, "unexpected_count",
				o->unexpected_count >= 0 ? psprintf(INT64_FORMAT, o->unexpected_count) : NULL);
	json_member(&s, "unexpected_percent",
				isnan(o->unexpected_percent) ? NULL : psprintf("%.6f", o->unexpected_percent));
	json_member(&s, "partial_unexpected_list", o->partial_unexpected_list);
	appendStringInfoChar(&s, '}');
	return s.data;
}

/*
 * expectation.c: the kinds of expectation (Great Expectations' checks, in dbt's short names) and
 * the checks a definition must pass before it is saved.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "quality/expectation.h"

#define BOUNDS "min_value max_value strict_min strict_max"

static const KindSpec kinds[] = {
	{"not_null", KIND_NOT_NULL, true, NULL, ""},
	{"unique", KIND_UNIQUE, false, NULL, "columns"},
	{"in_set", KIND_VALUE, true, NULL, "values!"},
	{"not_in_set", KIND_VALUE, true, NULL, "values!"},
	{"between", KIND_VALUE, true, NULL, BOUNDS},
	{"match_regex", KIND_VALUE, true, NULL, "regex!"},
	{"not_match_regex", KIND_VALUE, true, NULL, "regex!"},
	{"length_between", KIND_VALUE, true, NULL, BOUNDS},
	{"relationship", KIND_RELATIONSHIP, true, NULL, "to! field!"},
	{"min_between", KIND_AGGREGATE, true, "min", BOUNDS},
	{"max_between", KIND_AGGREGATE, true, "max", BOUNDS},
	{"mean_between", KIND_AGGREGATE, true, "avg", BOUNDS},
	{"sum_between", KIND_AGGREGATE, true, "sum", BOUNDS},
	{"median_between", KIND_AGGREGATE, true, "median", BOUNDS},
	{"distinct_count_between", KIND_AGGREGATE, true, "distinct_count", BOUNDS},
	{"unique_proportion_between", KIND_AGGREGATE, true, "unique_proportion", BOUNDS},
	{"row_count_between", KIND_ROW_COUNT, false, NULL, BOUNDS},
	{"column_exists", KIND_COLUMN_EXISTS, true, NULL, "type"},
	{"freshness", KIND_FRESHNESS, true, NULL, "max_age!"},
	{"volume_anomaly", KIND_VOLUME, false, NULL, "metric k lookback"},
	{"custom_sql", KIND_CUSTOM, false, NULL, "sql!"},
};

static char *
kind_names(void)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; i < lengthof(kinds); i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", kinds[i].name);
	return s.data;
}

const KindSpec *
expectation_kind(const ExpectationDef *e)
{
	for (int i = 0; i < lengthof(kinds); i++)
		if (e->kind && strcmp(kinds[i].name, e->kind) == 0)
			return &kinds[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("expectation \"%s\" has unknown kind \"%s\"", e->name, e->kind ? e->kind : "(null)"),
			 errhint("Kinds: %s.", kind_names())));
	pg_unreachable();
}

bool
kind_counts_rows(const KindSpec *kind)
{
	return kind->class == KIND_NOT_NULL || kind->class == KIND_VALUE ||
		kind->class == KIND_UNIQUE || kind->class == KIND_RELATIONSHIP ||
		kind->class == KIND_CUSTOM;
}

void
expectation_rethrow(const char *name, MemoryContext cxt)
{
	ErrorData  *error;

	MemoryContextSwitchTo(cxt);
	error = CopyErrorData();
	FlushErrorState();
	error->message = psprintf("expectation \"%s\": %s", name, error->message);
	/* Positions point into sluice's generated SQL or the defining statement: neither helps. */
	error->cursorpos = 0;
	error->internalpos = 0;
	error->internalquery = NULL;
	ReThrowError(error);
}

static Jsonb *
args_of(const ExpectationDef *e)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(e->args ? e->args : "{}")));
}

static JsonbValue *
arg_value(const ExpectationDef *e, const char *key)
{
	Jsonb	   *args = args_of(e);

	if (!JB_ROOT_IS_OBJECT(args))
		return NULL;
	return getKeyJsonValueFromContainer(&args->root, key, strlen(key), NULL);
}

static char *
scalar_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		default:
			return NULL;
	}
}

char *
expectation_arg(const ExpectationDef *e, const char *key)
{
	JsonbValue *v = arg_value(e, key);

	return v ? scalar_text(v) : NULL;
}

List *
expectation_arg_list(const ExpectationDef *e, const char *key)
{
	JsonbValue *v = arg_value(e, key);
	List	   *items = NIL;
	JsonbIterator *it;
	JsonbValue	item;
	JsonbIteratorToken tok;

	if (v == NULL || v->type != jbvBinary)
		return NIL;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &item, true)) != WJB_DONE)
		if (tok == WJB_ELEM)
			items = lappend(items, scalar_text(&item));
	return items;
}

bool
expectation_arg_bool(const ExpectationDef *e, const char *key, bool dflt)
{
	JsonbValue *v = arg_value(e, key);

	return v && v->type == jbvBool ? v->val.boolean : dflt;
}

List *
expectation_columns(const ExpectationDef *e)
{
	if (e->column_name)
		return list_make1(e->column_name);
	return expectation_arg_list(e, "columns");
}

/* The JSON type of an argument's value: string, number, boolean, array, object or null. */
static const char *
arg_type(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvNull:
			return "null";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "array" : "object";
		default:
			return "value";
	}
}

static void pg_attribute_noreturn()
bad_arg(const ExpectationDef *e, const char *key, const char *want, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("expectation \"%s\": argument \"%s\" must be %s", e->name, key, want),
			 hint ? errhint("%s", hint) : 0));
}

/* Errors unless every element of the array argument is of the JSON type `want` (or any scalar). */
static void
check_elements(const ExpectationDef *e, const char *key, JsonbValue *v, const char *want)
{
	JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
	JsonbValue	item;
	JsonbIteratorToken tok;
	int			n = 0;

	while ((tok = JsonbIteratorNext(&it, &item, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		n++;
		if (want ? strcmp(arg_type(&item), want) != 0 :
			(item.type == jbvBinary || item.type == jbvNull))
			bad_arg(e, key, want ? "an array of strings" : "an array of values (strings, numbers or booleans)",
					NULL);
	}
	if (n == 0)
		bad_arg(e, key, "a non-empty array", NULL);
}

static void
check_arg(const ExpectationDef *e, const char *key, JsonbValue *v)
{
	const char *type = arg_type(v);

	if (strcmp(key, "values") == 0 || strcmp(key, "columns") == 0)
	{
		if (strcmp(type, "array") != 0)
			bad_arg(e, key, "an array", NULL);
		check_elements(e, key, v, strcmp(key, "columns") == 0 ? "string" : NULL);
	}
	else if (strcmp(key, "min_value") == 0 || strcmp(key, "max_value") == 0)
	{
		if (strcmp(type, "number") != 0 && strcmp(type, "string") != 0 && strcmp(type, "null") != 0)
			bad_arg(e, key, "a number or a string", NULL);
	}
	else if (strncmp(key, "strict_", 7) == 0)
	{
		if (strcmp(type, "boolean") != 0)
			bad_arg(e, key, "true or false", NULL);
	}
	else if (strcmp(key, "k") == 0)
	{
		if (strcmp(type, "number") != 0 ||
			DatumGetBool(DirectFunctionCall2(numeric_le, NumericGetDatum(v->val.numeric),
											 DirectFunctionCall1(int4_numeric, Int32GetDatum(0)))))
			bad_arg(e, key, "a positive number of standard deviations", NULL);
	}
	else if (strcmp(key, "lookback") == 0)
	{
		char	   *text = scalar_text(v);

		if (strcmp(type, "number") != 0 || strspn(text, "0123456789") != strlen(text) ||
			atoi(text) < 3 || atoi(text) > 1000)
			bad_arg(e, key, "a whole number of past checks from 3 to 1000", NULL);
	}
	else if (strcmp(key, "metric") == 0)
	{
		char	   *text = scalar_text(v);

		if (strcmp(type, "string") != 0 || (strcmp(text, "row_count") != 0 && strcmp(text, "change") != 0))
			bad_arg(e, key, "row_count or change", "row_count compares the row count with the past "
					"ones; change compares the change since the last check with past changes.");
	}
	else if (strcmp(type, "string") != 0)
		bad_arg(e, key, "a string", NULL);
}

/* Errors unless row_filter is one SQL condition (no statement, clause or comment past it). */
static void
validate_row_filter(const ExpectationDef *e)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *parsed = NIL;
	SelectStmt *select;

	PG_TRY();
	{
		parsed = raw_parser(e->row_filter, RAW_PARSE_PLPGSQL_EXPR);
	}
	PG_CATCH();
	{
		expectation_rethrow(e->name, cxt);
	}
	PG_END_TRY();
	select = (SelectStmt *) ((RawStmt *) linitial(parsed))->stmt;
	if (list_length(parsed) != 1 || list_length(select->targetList) != 1 ||
		select->fromClause || select->whereClause || select->groupClause || select->havingClause ||
		select->windowClause || select->sortClause || select->limitCount || select->limitOffset ||
		select->distinctClause || select->lockingClause)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("expectation \"%s\": row_filter must be one condition, not \"%s\"",
						e->name, e->row_filter),
				 errhint("Write what would follow WHERE, such as status = 'paid'.")));
}

/* Errors unless the custom SQL is one SELECT (no INTO, nothing that writes). */
static void
validate_custom_sql(const ExpectationDef *e, const char *sql)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *parsed = NIL;
	Node	   *stmt;
	bool		reads_only;

	PG_TRY();
	{
		parsed = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		expectation_rethrow(e->name, cxt);
	}
	PG_END_TRY();
	stmt = list_length(parsed) == 1 ? ((RawStmt *) linitial(parsed))->stmt : NULL;
	reads_only = stmt && IsA(stmt, SelectStmt) && ((SelectStmt *) stmt)->intoClause == NULL;
	if (reads_only && ((SelectStmt *) stmt)->withClause)
	{
		ListCell   *lc;

		foreach(lc, ((SelectStmt *) stmt)->withClause->ctes)
			reads_only &= IsA(((CommonTableExpr *) lfirst(lc))->ctequery, SelectStmt);
	}
	if (!reads_only)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expectation \"%s\": custom SQL must be one SELECT statement", e->name),
				 errhint("Write a query whose rows are the failures, such as SELECT * FROM orders WHERE total < 0.")));
}

static void
validate_regex(const ExpectationDef *e, const char *regex)
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		(void) DirectFunctionCall2Coll(textregexeq, DEFAULT_COLLATION_OID,
									   PointerGetDatum(cstring_to_text("")),
									   PointerGetDatum(cstring_to_text(regex)));
	}
	PG_CATCH();
	{
		expectation_rethrow(e->name, cxt);
	}
	PG_END_TRY();
}

void
expectation_validate(const ExpectationDef *e)
{
	const KindSpec *kind = expectation_kind(e);
	Jsonb	   *args = args_of(e);
	JsonbIterator *it;
	JsonbValue	key;
	JsonbIteratorToken tok;
	char	   *spec = psprintf(" %s ", kind->args);

	if (!JB_ROOT_IS_OBJECT(args))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expectation \"%s\": args must be a JSON object", e->name)));

	if (kind->needs_column && e->column_name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expectation \"%s\": kind %s needs a column", e->name, kind->name)));
	if (kind->class == KIND_UNIQUE && (e->column_name == NULL) == (arg_value(e, "columns") == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expectation \"%s\": unique needs a column or the argument columns, one of them",
						e->name),
				 errhint("Several columns unique together: args => '{\"columns\": [\"a\", \"b\"]}'.")));
	if (!kind->needs_column && kind->class != KIND_UNIQUE && e->column_name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expectation \"%s\": kind %s is about the whole relation, not column \"%s\"",
						e->name, kind->name, e->column_name)));

	it = JsonbIteratorInit(&args->root);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		char	   *name;
		JsonbValue	value;

		if (tok != WJB_KEY)
			continue;
		name = pnstrdup(key.val.string.val, key.val.string.len);
		if (strstr(spec, psprintf(" %s ", name)) == NULL && strstr(spec, psprintf(" %s! ", name)) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expectation \"%s\": kind %s takes no argument \"%s\"", e->name, kind->name, name),
					 kind->args[0] ? errhint("Arguments of %s: %s.", kind->name, kind->args)
					 : errhint("Kind %s takes no arguments.", kind->name)));
		tok = JsonbIteratorNext(&it, &value, true);
		check_arg(e, name, &value);
	}
	for (char *word = strtok(pstrdup(kind->args), " "); word; word = strtok(NULL, " "))
		if (word[strlen(word) - 1] == '!')
		{
			word[strlen(word) - 1] = '\0';
			if (arg_value(e, word) == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("expectation \"%s\": kind %s needs the argument \"%s\"", e->name, kind->name, word)));
		}
	if (strstr(kind->args, "min_value") && expectation_arg(e, "min_value") == NULL &&
		expectation_arg(e, "max_value") == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expectation \"%s\": kind %s needs min_value, max_value or both", e->name, kind->name)));

	if (isnan(e->mostly) || e->mostly < 0 || e->mostly > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expectation \"%s\": mostly must be between 0 and 1, not %g", e->name, e->mostly),
				 errhint("mostly is the fraction of rows that must meet the expectation, such as 0.95.")));
	if (e->mostly != 1 && !kind_counts_rows(kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expectation \"%s\": mostly applies to expectations that test each row, not to %s",
						e->name, kind->name)));
	if (e->row_filter)
	{
		if (kind->class == KIND_COLUMN_EXISTS || kind->class == KIND_CUSTOM)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("expectation \"%s\": row_filter does not apply to %s", e->name, kind->name),
					 kind->class == KIND_CUSTOM ? errhint("Put the condition in the custom SQL.") : 0));
		validate_row_filter(e);
	}
	if (kind->class == KIND_CUSTOM)
		validate_custom_sql(e, expectation_arg(e, "sql"));
	if (strstr(kind->name, "regex"))
		validate_regex(e, expectation_arg(e, "regex"));
}

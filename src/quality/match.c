/*
 * match.c: sluice._matches(value, pattern): `value ~ pattern`, each distinct value matched once.
 *
 * A regular expression costs more per row than everything else a check computes (on the quality
 * benchmark, as much as all the other expectations together).  Checked columns repeat their values
 * (statuses, codes, the email of every order of a customer), so each backend remembers the outcome
 * for up to MAX_VALUES distinct values of up to MAX_LENGTH bytes; past that, values are matched as
 * they come, and when too few rows found their value remembered (nearly unique values) the memo
 * is no longer consulted.  The outcome is the `~` operator's, under the call's collation.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(sluice_matches);

#define SLOTS (1 << 17)			/* a power of two, twice MAX_VALUES: probes stay short */
#define MAX_VALUES (SLOTS / 2)
#define MAX_LENGTH 256
/* Once full, the memo is judged over this many values: it stays if a quarter or more were found. */
#define JUDGED_OVER (2 * MAX_VALUES)

typedef struct Slot
{
	char	   *value;			/* NULL: empty */
	uint32		hash;
	uint16		length;
	bool		matches;
} Slot;

typedef struct Memo
{
	text	   *pattern;
	Oid			collation;
	int			values;
	bool		off;			/* too few repeats to be worth it */
	int64		lookups;		/* since the memo filled up */
	int64		hits;
	Slot		slots[SLOTS];
} Memo;

static bool
regex_matches(Memo *memo, text *value)
{
	return DatumGetBool(DirectFunctionCall2Coll(textregexeq, memo->collation, PointerGetDatum(value),
												PointerGetDatum(memo->pattern)));
}

/* The memo of this call site, made (or remade, should its pattern change) in the function's context. */
static Memo *
memo_for(FunctionCallInfo fcinfo, text *pattern)
{
	Memo	   *memo = fcinfo->flinfo->fn_extra;

	if (memo == NULL || VARSIZE_ANY(memo->pattern) != VARSIZE_ANY(pattern) ||
		memcmp(VARDATA_ANY(memo->pattern), VARDATA_ANY(pattern), VARSIZE_ANY_EXHDR(pattern)) != 0)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (memo)
		{
			for (int i = 0; i < SLOTS; i++)
				if (memo->slots[i].value)
					pfree(memo->slots[i].value);
			pfree(memo->pattern);
			pfree(memo);
		}
		memo = MemoryContextAllocHuge(fcinfo->flinfo->fn_mcxt, sizeof(Memo));
		memset(memo, 0, sizeof(Memo));
		memo->pattern = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(pattern));
		memo->collation = PG_GET_COLLATION();
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = memo;
	}
	return memo;
}

Datum
sluice_matches(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	Memo	   *memo = memo_for(fcinfo, PG_GETARG_TEXT_PP(1));
	const char *bytes = VARDATA_ANY(value);
	int			length = VARSIZE_ANY_EXHDR(value);
	uint32		hash;
	uint32		i;
	Slot	   *slot;

	if (length > MAX_LENGTH || memo->off)
		PG_RETURN_BOOL(regex_matches(memo, value));
	if (memo->values >= MAX_VALUES && ++memo->lookups == JUDGED_OVER)
		memo->off = memo->hits < JUDGED_OVER / 4;
	hash = hash_bytes((const unsigned char *) bytes, length);
	for (i = hash & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1))
	{
		slot = &memo->slots[i];
		if (slot->value == NULL)
			break;
		if (slot->hash == hash && slot->length == length && memcmp(slot->value, bytes, length) == 0)
		{
			if (memo->values >= MAX_VALUES)
				memo->hits++;
			PG_RETURN_BOOL(slot->matches);
		}
	}
	if (memo->values >= MAX_VALUES)
		PG_RETURN_BOOL(regex_matches(memo, value));
	slot->matches = regex_matches(memo, value);
	slot->value = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, length + 1);
	memcpy(slot->value, bytes, length);
	slot->hash = hash;
	slot->length = length;
	memo->values++;
	PG_RETURN_BOOL(slot->matches);
}

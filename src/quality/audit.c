/*
 * audit.c: checking a relation's expectations and deciding whether its new data may be published.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "quality/audit.h"
#include "util/relname.h"

/*
 * New data in a relation of its own (a shadow) is readable by its maker only: expectation owners
 * who may read the published relation may read its replacement.
 */
static void
share_new_data(Oid relid, Oid published_relid, List *expectations)
{
	ListCell   *lc;

	foreach(lc, expectations)
	{
		ExpectationDef *e = lfirst(lc);

		if (pg_class_aclcheck(relid, e->owner, ACL_SELECT) != ACLCHECK_OK &&
			pg_class_aclcheck(published_relid, e->owner, ACL_SELECT) == ACLCHECK_OK)
		{
			char	   *sql = psprintf("GRANT SELECT ON %s TO %s",
									   relation_quoted_name(relid),
									   quote_identifier(GetUserNameFromId(e->owner, false)));

			if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
				elog(ERROR, "could not run: %s", sql);
		}
	}
}

bool
audit_relation(const char *target, Oid relid, Oid published_relid, TransactionId batch_since,
			   RunRecord *run, Audit *audit)
{
	CheckTarget t = {relid, published_relid, target, batch_since};
	StringInfoData failures;
	int			n;

	memset(audit, 0, sizeof(Audit));
	audit->expectations = expectations_for(target);
	n = list_length(audit->expectations);
	if (n == 0)
		return true;
	if (OidIsValid(published_relid) && relid != published_relid)
		share_new_data(relid, published_relid, audit->expectations);
	audit->outcomes = palloc0(sizeof(CheckOutcome) * n);
	audit->scans = check_evaluate(&t, audit->expectations, audit->outcomes);

	initStringInfo(&failures);
	for (int i = 0; i < n; i++)
	{
		CheckOutcome *o = &audit->outcomes[i];

		run_check_result(run, check_outcome_json(o));
		if (o->success)
			continue;
		if (strcmp(o->expectation->severity, "error") != 0)
		{
			audit->warned++;
			continue;
		}
		appendStringInfo(&failures, "%s%s", audit->failed ? ", " : "", o->expectation->name);
		audit->failed++;
	}
	audit->failures = audit->failed ? failures.data : NULL;
	return audit->failed == 0;
}

void
audit_describe(RunRecord *run, const Audit *audit)
{
	if (audit->expectations == NIL)
		return;
	run_detail(run, "checks",
			   psprintf("{\"expectations\": %d, \"failed\": %d, \"warned\": %d, \"scans\": %d}",
						list_length(audit->expectations), audit->failed, audit->warned, audit->scans));
}

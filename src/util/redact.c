/*
 * redact.c: secret values never reach an error, a log line or a run record.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "util/redact.h"

char *
redact_secrets(const char *text, List *secrets)
{
	char	   *result = pstrdup(text);
	ListCell   *lc;

	foreach(lc, secrets)
	{
		const char *secret = lfirst(lc);
		size_t		len = strlen(secret);
		StringInfoData out;
		const char *p = result;
		const char *hit;

		if (len == 0)
			continue;
		initStringInfo(&out);
		while ((hit = strstr(p, secret)) != NULL)
		{
			appendBinaryStringInfo(&out, p, hit - p);
			appendStringInfoString(&out, "[redacted]");
			p = hit + len;
		}
		appendStringInfoString(&out, p);
		result = out.data;
	}
	return result;
}

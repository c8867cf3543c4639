/*
 * paginate.h: which page of a source comes next, and where a checkpointed pull resumes.
 */
#ifndef SLUICE_PAGINATE_H
#define SLUICE_PAGINATE_H

#include "ingest/config.h"
#include "lib/stringinfo.h"

typedef struct Pager
{
	const SourceConfig *config;
	MemoryContext context;		/* holds next_url and token across pages */
	long		pages;			/* pages read so far */
	bool		done;
	char	   *next_url;		/* next_url, link_header: the next page's URL */
	char	   *token;			/* cursor: the token for the next page, NULL for the first */
} Pager;

extern void pager_init(Pager *pager, const SourceConfig *config);

/* The next page's URL, with params (HeaderSpec, values resolved) added where absent. */
extern char *pager_url(Pager *pager, List *params);

/*
 * A page has been read: `records` on it, `page_value` the value at the config's path, link_next
 * its Link header's next URL.  An empty page, a short offset page or a missing pointer to the
 * next page ends the pull, as does the page cap.
 */
extern void pager_advance(Pager *pager, int64 records, const char *page_value,
						  const char *link_next);

/* Where the next page is, as JSON members ("pages": n, ...) to keep in the source's state. */
extern void pager_save(Pager *pager, StringInfo json);

/* Continues where pager_save left off; `resume` is that JSON object's text. */
extern void pager_restore(Pager *pager, const char *resume);

#endif

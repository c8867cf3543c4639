/*
 * paginate.c: page URLs and the end of pagination, for every style a source may use.
 */
#include "postgres.h"

#include <jansson.h>

#include "utils/json.h"
#include "utils/memutils.h"

#include "ingest/http.h"
#include "ingest/paginate.h"

void
pager_init(Pager *pager, const SourceConfig *config)
{
	memset(pager, 0, sizeof(Pager));
	pager->config = config;
	pager->context = CurrentMemoryContext;
	pager->next_url = MemoryContextStrdup(pager->context, config->url);
}

char *
pager_url(Pager *pager, List *params)
{
	const SourceConfig *cfg = pager->config;
	char	   *url = pager->next_url;
	ListCell   *lc;

	if (cfg->pagination == PAGINATE_PAGE_NUMBER || cfg->pagination == PAGINATE_OFFSET)
	{
		long		position = cfg->pagination == PAGINATE_PAGE_NUMBER
			? cfg->page_start + pager->pages : cfg->page_start + pager->pages * cfg->page_size;

		url = http_url_with_param(cfg->url, cfg->page_param, psprintf("%ld", position), false);
	}
	else if (cfg->pagination == PAGINATE_CURSOR && pager->token)
		url = http_url_with_param(cfg->url, cfg->page_param, pager->token, false);
	if (cfg->page_size_param)
		url = http_url_with_param(url, cfg->page_size_param, psprintf("%ld", cfg->page_size), true);
	/* A next-page URL from the server may carry them already. */
	foreach(lc, params)
	{
		HeaderSpec *param = lfirst(lc);

		url = http_url_with_param(url, param->name, param->value, true);
	}
	return url;
}

static char *
kept(Pager *pager, const char *value)
{
	return value && value[0] ? MemoryContextStrdup(pager->context, value) : NULL;
}

void
pager_advance(Pager *pager, int64 records, const char *page_value, const char *link_next)
{
	const SourceConfig *cfg = pager->config;

	pager->pages++;
	if (records == 0 || pager->pages >= cfg->max_pages)
	{
		pager->done = true;
		return;
	}
	switch (cfg->pagination)
	{
		case PAGINATE_NONE:
			pager->done = true;
			break;
		case PAGINATE_PAGE_NUMBER:
			break;
		case PAGINATE_OFFSET:
			/* A short page is the last one. */
			pager->done = records < cfg->page_size;
			break;
		case PAGINATE_CURSOR:
			pager->token = kept(pager, page_value);
			pager->done = pager->token == NULL;
			break;
		case PAGINATE_NEXT_URL:
			pager->next_url = kept(pager, page_value);
			pager->done = pager->next_url == NULL;
			break;
		case PAGINATE_LINK_HEADER:
			pager->next_url = kept(pager, link_next);
			pager->done = pager->next_url == NULL;
			break;
	}
}

void
pager_save(Pager *pager, StringInfo json)
{
	appendStringInfo(json, "\"pages\": %ld, \"next_url\": ", pager->pages);
	escape_json(json, pager->next_url ? pager->next_url : "");
	appendStringInfoString(json, ", \"token\": ");
	if (pager->token)
		escape_json(json, pager->token);
	else
		appendStringInfoString(json, "null");
}

void
pager_restore(Pager *pager, const char *resume)
{
	json_t	   *root = json_loads(resume, 0, NULL);
	json_t	   *v;

	if (root == NULL)
		return;
	if ((v = json_object_get(root, "pages")) && json_is_integer(v))
		pager->pages = (long) json_integer_value(v);
	if ((v = json_object_get(root, "next_url")) && json_is_string(v))
		pager->next_url = kept(pager, json_string_value(v));
	if ((v = json_object_get(root, "token")) && json_is_string(v))
		pager->token = kept(pager, json_string_value(v));
	json_decref(root);
}

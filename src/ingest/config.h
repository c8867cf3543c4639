/*
 * config.h: a source's configuration, parsed and validated once for definition and pull alike.
 */
#ifndef SLUICE_INGEST_CONFIG_H
#define SLUICE_INGEST_CONFIG_H

#include "ingest/json_path.h"
#include "nodes/pg_list.h"

typedef enum PaginationKind
{
	PAGINATE_NONE,
	PAGINATE_PAGE_NUMBER,		/* ?page=N, N counting up from start */
	PAGINATE_OFFSET,			/* ?offset=N, N growing by the page size */
	PAGINATE_CURSOR,			/* ?cursor=T, T read from the previous body */
	PAGINATE_NEXT_URL,			/* the next page's URL is read from the body */
	PAGINATE_LINK_HEADER		/* the next page's URL is the Link header's rel="next" */
} PaginationKind;

typedef struct ColumnSpec
{
	char	   *name;
	char	   *type_sql;		/* the type as PostgreSQL prints it, safe to splice into DDL */
	JsonPath   *path;
} ColumnSpec;

typedef enum HeaderKind
{
	HEADER_PLAIN,				/* value, or the secret's value */
	HEADER_BEARER,				/* "Bearer " + secret */
	HEADER_BASIC				/* "Basic " + base64(username:secret) */
} HeaderKind;

typedef struct HeaderSpec
{
	HeaderKind	kind;
	char	   *name;
	char	   *value;			/* literal value, or NULL when secret is set */
	char	   *secret;
	char	   *username;
} HeaderSpec;

typedef struct SourceConfig
{
	char	   *url;
	bool		csv;			/* kind http_csv: the body is CSV, read by COPY */
	List	   *copy_options;	/* csv: COPY's DefElem options */
	bool		ndjson;			/* the body is one JSON record per line */
	JsonPath   *records_path;
	List	   *columns;		/* ColumnSpec; NIL: the target table's own columns */
	PaginationKind pagination;
	char	   *page_param;
	long		page_start;
	char	   *page_size_param;
	long		page_size;
	long		max_pages;
	JsonPath   *next_path;		/* next_url: the URL; cursor: the token */
	char	   *method;			/* GET or POST */
	char	   *body;			/* JSON text sent with POST, or NULL */
	List	   *params;			/* HeaderSpec (PLAIN) added to every request's query string */
	List	   *headers;		/* HeaderSpec, auth included */
	int			retry_max_attempts;
	int			retry_initial_delay_ms;
	int			retry_max_delay_ms;
	char	   *cursor_param;	/* incremental: query parameter given the stored cursor */
} SourceConfig;

/* Parses and validates; every error names the source. */
extern SourceConfig *source_config_parse(const char *source, const char *kind,
										 const char *config_json);

#endif

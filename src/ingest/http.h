/*
 * http.h: HTTP requests with libcurl, safe inside a backend, their bodies read as they arrive.
 *
 * One client serves the pages of a pull over a kept-alive connection.  Its curl handle, header
 * list and body buffer live outside palloc (libcurl allocates with malloc) and are released by a
 * reset callback of the memory context the client was created in, so an error or a cancel in the
 * middle of a transfer leaks nothing.
 */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

typedef struct HttpClient HttpClient;

typedef struct HttpResponse
{
	long		status;
	int			attempts;		/* requests made for it, retries included */
	const char *body;			/* status >= 300: the start of the body, owned by the client */
	size_t		length;
	const char *content_type;	/* or NULL; owned by the client */
	char	   *link_next;		/* the Link header's rel="next" URL, made absolute, or NULL */
} HttpResponse;

/* `who` names the requester in error messages, e.g. 'source "orders"'. */
extern HttpClient *http_client_create(const char *who);

/*
 * Retries: a request that fails to connect, times out, breaks off, or answers 429 or 5xx is tried
 * again, up to max_attempts in all, after base_delay_ms doubled each time (at most max_delay_ms)
 * with jitter, or after the server's Retry-After.  The default is 4 attempts, 500 ms, 30 s.
 */
extern void http_client_set_retry(HttpClient *client, int max_attempts, int base_delay_ms,
								  int max_delay_ms);

/* What the retries so far were, as JSON array members without brackets ("" when none). */
extern const char *http_client_retries(HttpClient *client);

/* Sends every request as a POST of this JSON body. */
extern void http_client_set_json_body(HttpClient *client, const char *body);

/* A value to keep out of every URL and message the client shows (as is and URL-encoded). */
extern void http_client_add_secret(HttpClient *client, const char *secret);

/* url as the client may show it: no credentials and no secret values. */
extern char *http_client_shown_url(HttpClient *client, const char *url);

/* Adds "Name: value" to every request; the value is never shown in messages. */
extern void http_client_add_header(HttpClient *client, const char *name, const char *value);

/*
 * Requests url, following redirects only to allowed http(s) URLs and retrying as set, and returns
 * once the status and headers are in.  A 2xx body is then read piece by piece with http_read; any
 * other status comes back with (the start of) its body in response->body, a 429 or 5xx only once
 * the retries are spent.  Errors on a transport failure or timeout that outlasts the retries, an
 * oversized body or a cancel.
 */
extern void http_open(HttpClient *client, const char *url, HttpResponse *response);

/*
 * The next piece of the body of the response opened last (valid until the next call), or 0 at
 * its end.  The transfer runs on while the caller works on a piece, up to a megabyte ahead.
 * Errors if the body breaks off, stalls for sluice.http_stall_timeout, outgrows the size limit or
 * the backend is canceled; there is no retry once a piece has been read.
 */
extern size_t http_read(HttpClient *client, const char **data);

/* Errors unless url is an http or https URL whose host sluice.allowed_hosts permits. */
extern void http_check_url(const char *who, const char *url);

/* The URL as it may be shown: without user name and password, and without the query if asked. */
extern char *http_url_for_display(const char *url, bool keep_query);

/* url with name=value appended to its query string (URL-encoded), unless only_if_absent and
 * the query already names it. */
extern char *http_url_with_param(const char *url, const char *name, const char *value,
								 bool only_if_absent);

#endif

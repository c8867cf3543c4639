/*
 * http.c: the libcurl transfer.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "ingest/http.h"
#include "sluice.h"
#include "util/redact.h"

/* A piece of body held for the reader; more pauses the transfer until it is read. */
#define PIECE_BYTES (1024 * 1024)
/* How much of an error response's body is kept for the message. */
#define ERROR_BODY_BYTES 65536

struct HttpClient
{
	CURLM	   *multi;
	CURL	   *curl;
	bool		in_transfer;	/* curl is added to multi */
	struct curl_slist *headers;
	char	   *body;			/* malloc'd, NUL-terminated: the piece not yet read */
	size_t		length;
	size_t		capacity;
	bool		handed_out;		/* the reader has body; drop it on the next read */
	bool		paused;
	bool		done;
	CURLcode	result;
	size_t		received;		/* body bytes of this response */
	TimestampTz last_heard;		/* when the server last sent (or the reader last asked) */
	bool		stalled;
	size_t		max_bytes;
	bool		too_large;
	bool		out_of_memory;
	char	   *url;			/* of the response being read */
	MemoryContext context;		/* the client's own */
	const char *who;
	int			max_attempts;
	int			base_delay_ms;
	int			max_delay_ms;
	StringInfoData retries;		/* JSON objects, one per retry */
	List	   *secrets;		/* values never to show */
	char		error[CURL_ERROR_SIZE];
	MemoryContextCallback release;
};

static bool curl_ready = false;

static void
client_release(void *arg)
{
	HttpClient *c = arg;

	if (c->in_transfer)
		curl_multi_remove_handle(c->multi, c->curl);
	curl_easy_cleanup(c->curl);
	curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->headers);
	free(c->body);
}

/*
 * libcurl write callback: keeps the body for the reader, pausing the transfer while a piece is
 * waiting to be read and refusing more than the size limit.
 */
static size_t
collect_body(char *data, size_t size, size_t count, void *arg)
{
	HttpClient *c = arg;
	size_t		bytes = size * count;

	if (c->received + bytes > c->max_bytes)
	{
		c->too_large = true;
		return 0;
	}
	if (c->length > 0 && c->length + bytes > PIECE_BYTES)
	{
		c->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (c->length + bytes + 1 > c->capacity)
	{
		size_t		capacity = Max(Max(c->capacity * 2, c->length + bytes + 1), 65536);
		char	   *grown = realloc(c->body, capacity);

		if (grown == NULL)
		{
			c->out_of_memory = true;
			return 0;
		}
		c->body = grown;
		c->capacity = capacity;
	}
	memcpy(c->body + c->length, data, bytes);
	c->length += bytes;
	c->received += bytes;
	c->last_heard = GetCurrentTimestamp();
	c->body[c->length] = '\0';
	return bytes;
}

/* libcurl progress callback: aborts the transfer when the backend has an interrupt to serve. */
static int
check_interrupts(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
				 curl_off_t ulnow)
{
	return InterruptPending ? 1 : 0;
}

HttpClient *
http_client_create(const char *who)
{
	HttpClient *c = palloc0(sizeof(HttpClient));

	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
			elog(ERROR, "could not initialize libcurl");
		curl_ready = true;
	}
	c->who = pstrdup(who);
	c->context = CurrentMemoryContext;
	c->max_attempts = 4;
	c->base_delay_ms = 500;
	c->max_delay_ms = 30000;
	initStringInfo(&c->retries);
	c->max_bytes = (size_t) sluice_http_max_response_mb * 1024 * 1024;
	c->multi = curl_multi_init();
	c->curl = curl_easy_init();
	if (c->multi == NULL || c->curl == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not create an HTTP handle")));
	c->release.func = client_release;
	c->release.arg = c;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &c->release);

	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);	/* redirects are checked by hand */
	curl_easy_setopt(c->curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long) sluice_http_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, (long) sluice_http_connect_timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "sluice/0.1");
	/* Large reads: a big body takes fewer system calls and callbacks (the default is 16 kB). */
	curl_easy_setopt(c->curl, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, check_interrupts);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->error);
	return c;
}

void
http_client_set_retry(HttpClient *c, int max_attempts, int base_delay_ms, int max_delay_ms)
{
	c->max_attempts = max_attempts;
	c->base_delay_ms = base_delay_ms;
	c->max_delay_ms = max_delay_ms;
}

const char *
http_client_retries(HttpClient *c)
{
	return c->retries.data;
}

void
http_client_set_json_body(HttpClient *c, const char *body)
{
	curl_easy_setopt(c->curl, CURLOPT_COPYPOSTFIELDS, body);
	http_client_add_header(c, "Content-Type", "application/json");
}

void
http_client_add_secret(HttpClient *c, const char *secret)
{
	char	   *escaped = curl_easy_escape(c->curl, secret, 0);

	c->secrets = lappend(c->secrets, pstrdup(secret));
	if (escaped)
	{
		/* A query string may spell a space %20 or, as sluice's own parameters do, +. */
		StringInfoData plus;

		initStringInfo(&plus);
		for (const char *e = escaped; *e; e++)
		{
			if (strncmp(e, "%20", 3) == 0)
			{
				appendStringInfoChar(&plus, '+');
				e += 2;
			}
			else
				appendStringInfoChar(&plus, *e);
		}
		c->secrets = lappend(c->secrets, pstrdup(escaped));
		c->secrets = lappend(c->secrets, plus.data);
		curl_free(escaped);
	}
}

char *
http_client_shown_url(HttpClient *c, const char *url)
{
	return redact_secrets(http_url_for_display(url, true), c->secrets);
}

void
http_client_add_header(HttpClient *c, const char *name, const char *value)
{
	char	   *line = psprintf("%s: %s", name, value);
	struct curl_slist *headers = curl_slist_append(c->headers, line);

	/* The line holds a secret value: wipe our copy (curl keeps its own). */
	explicit_bzero(line, strlen(line));
	pfree(line);
	if (headers == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	c->headers = headers;
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
}

/* Parts of a URL copied into palloc'd memory, so that errors can be raised after curl frees. */
typedef struct UrlParts
{
	CURLUcode	rc;
	char	   *scheme;
	char	   *host;
} UrlParts;

static UrlParts
url_parts(const char *url)
{
	UrlParts	parts = {0};
	CURLU	   *u = curl_url();
	char	   *part;

	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	parts.rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (parts.rc == CURLUE_OK && curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK)
	{
		parts.scheme = pstrdup(part);
		curl_free(part);
	}
	if (parts.rc == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK)
	{
		parts.host = pstrdup(part);
		curl_free(part);
	}
	curl_url_cleanup(u);
	return parts;
}

static bool
host_allowed(const char *host)
{
	char	   *list;
	char	   *item;
	char	   *save;

	if (sluice_allowed_hosts == NULL || sluice_allowed_hosts[0] == '\0')
		return true;
	list = pstrdup(sluice_allowed_hosts);
	for (item = strtok_r(list, ", ", &save); item; item = strtok_r(NULL, ", ", &save))
		if (pg_strcasecmp(item, host) == 0)
			return true;
	return false;
}

void
http_check_url(const char *who, const char *url)
{
	UrlParts	parts = url_parts(url);

	if (parts.scheme != NULL &&
		pg_strcasecmp(parts.scheme, "http") != 0 && pg_strcasecmp(parts.scheme, "https") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s: URL scheme \"%s\" is not allowed", who, parts.scheme),
				 errhint("Only http and https URLs can be pulled.")));
	if (parts.rc != CURLUE_OK || parts.scheme == NULL || parts.host == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: \"%.200s\" is not a valid URL", who, url),
				 parts.rc != CURLUE_OK ? errdetail("%s.", curl_url_strerror(parts.rc)) : 0,
				 errhint("Write a full URL such as https://api.example.com/v1/orders.")));
	if (!host_allowed(parts.host))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s: host \"%s\" is not in sluice.allowed_hosts", who, parts.host),
				 errhint("A superuser can add it: ALTER SYSTEM SET sluice.allowed_hosts = '...';")));
}

static char *
url_rewritten(const char *url, bool strip_credentials, bool strip_query, const char *append_query)
{
	CURLU	   *u = curl_url();
	char	   *out = NULL;
	char	   *result;

	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
	{
		if (strip_credentials)
		{
			curl_url_set(u, CURLUPART_USER, NULL, 0);
			curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		}
		if (strip_query)
			curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		if (append_query)
			curl_url_set(u, CURLUPART_QUERY, append_query, CURLU_APPENDQUERY | CURLU_URLENCODE);
		curl_url_get(u, CURLUPART_URL, &out, 0);
	}
	result = out ? pstrdup(out) : NULL;
	curl_free(out);
	curl_url_cleanup(u);
	return result;
}

char *
http_url_for_display(const char *url, bool keep_query)
{
	char	   *shown = url_rewritten(url, true, !keep_query, NULL);

	return shown ? shown : pstrdup("(unparsable URL)");
}

/* Whether the query string of url has a parameter called name. */
static bool
has_param(const char *url, const char *name)
{
	CURLU	   *u = curl_url();
	char	   *query = NULL;
	bool		found = false;

	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query)
	{
		size_t		len = strlen(name);

		for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
			if (strncmp(p, name, len) == 0 && (p[len] == '=' || p[len] == '&' || p[len] == '\0'))
				found = true;
	}
	curl_free(query);
	curl_url_cleanup(u);
	return found;
}

char *
http_url_with_param(const char *url, const char *name, const char *value, bool only_if_absent)
{
	char	   *pair;
	char	   *result;

	if (only_if_absent && has_param(url, name))
		return pstrdup(url);
	pair = psprintf("%s=%s", name, value);
	result = url_rewritten(url, false, false, pair);

	if (result == NULL)
		http_check_url("request", url);	/* raises the clear error */
	return result;
}

static void
report_transfer_error(HttpClient *c, const char *url, CURLcode rc, int attempts)
{
	const char *shown = http_client_shown_url(c, url);
	const char *tries = attempts > 1 ? psprintf(" (%d attempts)", attempts) : "";

	if (c->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: response from %s is larger than sluice.http_max_response_size (%d MB)",
						c->who, shown, sluice_http_max_response_mb)));
	if (c->out_of_memory)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("%s: out of memory reading the response from %s", c->who, shown)));
	if (c->stalled)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s: %s sent nothing for %d s%s", c->who, shown,
						sluice_http_stall_timeout_s, tries),
				 errhint("sluice.http_stall_timeout is %d s.", sluice_http_stall_timeout_s)));
	if (rc == CURLE_OPERATION_TIMEDOUT)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s: request to %s timed out%s", c->who, shown, tries),
				 errdetail("%s", c->error[0] ? c->error : curl_easy_strerror(rc)),
				 errhint("sluice.http_timeout is %d ms; sluice.http_connect_timeout is %d ms.",
						 sluice_http_timeout_ms, sluice_http_connect_timeout_ms)));
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("%s: could not fetch %s%s", c->who, shown, tries),
			 errdetail("%s", c->error[0] ? c->error : curl_easy_strerror(rc))));
}

static bool
transient_transport_error(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			return true;
		default:
			return false;
	}
}

/* Sleeps for ms, waking for interrupts: a cancel during a backoff stops the pull at once. */
static void
backoff_sleep(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);

		CHECK_FOR_INTERRUPTS();
		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* The wait before retry number `attempt` (1-based): the server's word, or backoff with jitter. */
static long
retry_delay_ms(HttpClient *c, int attempt, bool server_said, curl_off_t retry_after_s)
{
	double		backoff = (double) c->base_delay_ms * (double) (1L << Min(attempt - 1, 20));

	if (server_said)
		return Min((long) retry_after_s * 1000L, (long) c->max_delay_ms);
	backoff = Min(backoff, (double) c->max_delay_ms);
	/* Half fixed, half random: spreads out clients that failed together. */
	return (long) (backoff / 2 + pg_prng_double(&pg_global_prng_state) * backoff / 2);
}

static void
note_retry(HttpClient *c, int attempt, const char *url, const char *reason, long wait_ms)
{
	if (c->retries.len > 0)
		appendStringInfoString(&c->retries, ", ");
	appendStringInfo(&c->retries, "{\"attempt\": %d, \"url\": ", attempt);
	escape_json(&c->retries, http_client_shown_url(c, url));
	appendStringInfoString(&c->retries, ", \"reason\": ");
	escape_json(&c->retries, reason);
	appendStringInfo(&c->retries, ", \"wait_ms\": %ld}", wait_ms);
}

/* Moves the transfer along once, waiting briefly for the socket when there is nothing to read. */
static void
pump(HttpClient *c)
{
	int			running;
	int			queued;
	CURLMsg    *msg;
	CURLMcode	mc;

	CHECK_FOR_INTERRUPTS();
	mc = curl_multi_perform(c->multi, &running);
	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("%s: HTTP transfer failed: %s", c->who, curl_multi_strerror(mc))));
	while ((msg = curl_multi_info_read(c->multi, &queued)) != NULL)
		if (msg->msg == CURLMSG_DONE)
		{
			c->done = true;
			c->result = msg->data.result;
		}
	if (!c->done && c->length == 0)
	{
		/* Short waits: a cancel is served within a fraction of a second. */
		pgstat_report_wait_start(PG_WAIT_EXTENSION);
		mc = curl_multi_poll(c->multi, NULL, 0, 100, NULL);
		pgstat_report_wait_end();
		/* curl's low-speed limit averages over seconds; a stall is plain silence. */
		if (TimestampDifferenceExceeds(c->last_heard, GetCurrentTimestamp(),
									   sluice_http_stall_timeout_s * 1000))
		{
			c->stalled = true;
			c->done = true;
			c->result = CURLE_OPERATION_TIMEDOUT;
		}
	}
}

/* Ends the transfer under way, if any, so that the handle can make the next request. */
static void
end_transfer(HttpClient *c)
{
	if (c->in_transfer)
		curl_multi_remove_handle(c->multi, c->curl);
	c->in_transfer = false;
}

static void
start_transfer(HttpClient *c, const char *url)
{
	end_transfer(c);
	c->length = 0;
	c->received = 0;
	c->handed_out = false;
	c->paused = false;
	c->done = false;
	c->result = CURLE_OK;
	c->too_large = false;
	c->out_of_memory = false;
	c->stalled = false;
	c->last_heard = GetCurrentTimestamp();
	c->error[0] = '\0';
	if (c->url)
		pfree(c->url);
	c->url = MemoryContextStrdup(c->context, url);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (curl_multi_add_handle(c->multi, c->curl) != CURLM_OK)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not start an HTTP transfer")));
	c->in_transfer = true;
}

/* Reads the rest of a response that is not handed to the reader, keeping the first bytes. */
static void
drain(HttpClient *c)
{
	while (!c->done)
	{
		if (c->length > ERROR_BODY_BYTES)
		{
			c->length = ERROR_BODY_BYTES;
			c->body[c->length] = '\0';
		}
		if (c->paused)
		{
			c->paused = false;
			curl_easy_pause(c->curl, CURLPAUSE_CONT);
		}
		pump(c);
	}
}

/* One request, following redirects, up to its status and headers; returns the result code. */
static CURLcode
perform(HttpClient *c, const char *url, long *status, char **final_url)
{
	char	   *current = pstrdup(url);

	for (int redirects = 0;; redirects++)
	{
		char	   *location = NULL;

		http_check_url(c->who, current);
		start_transfer(c, current);
		while (!c->done && c->length == 0)
			pump(c);
		*final_url = current;
		if (c->done && c->result != CURLE_OK)
			return c->result;

		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
		if (*status < 300)
			return CURLE_OK;
		drain(c);
		if (c->result != CURLE_OK)
			return c->result;
		if (*status >= 400 ||
			curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &location) != CURLE_OK ||
			location == NULL)
			return CURLE_OK;
		if (redirects >= sluice_http_max_redirects)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("%s: more than %d redirects from %s", c->who,
							sluice_http_max_redirects, http_client_shown_url(c, url)),
					 errhint("Raise sluice.http_max_redirects, or point the source at the final URL.")));
		current = pstrdup(location);
	}
}

/* url resolved against base, as a browser resolves a relative link. */
static char *
resolve_url(const char *base, const char *url)
{
	CURLU	   *u = curl_url();
	char	   *out = NULL;
	char	   *result = NULL;

	if (u == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
		curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
		result = pstrdup(out);
	curl_free(out);
	curl_url_cleanup(u);
	return result;
}

/* The target of the RFC 8288 link with rel="next" in the response's Link headers, or NULL. */
static char *
link_next(HttpClient *c, const char *request_url)
{
	struct curl_header *h;
	size_t		amount;

	if (curl_easy_header(c->curl, "Link", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	amount = h->amount;
	for (size_t i = 0; i < amount; i++)
	{
		char	   *links;
		char	   *save;

		if (curl_easy_header(c->curl, "Link", i, CURLH_HEADER, -1, &h) != CURLHE_OK)
			break;
		links = pstrdup(h->value);
		/* Each link: <target>; param; param, ... */
		for (char *link = strtok_r(links, ",", &save); link; link = strtok_r(NULL, ",", &save))
		{
			char	   *open = strchr(link, '<');
			char	   *close = open ? strchr(open, '>') : NULL;
			char	   *rel = close ? strstr(close, "rel=") : NULL;

			if (rel == NULL)
				continue;
			rel += 4;
			if (*rel == '"')
				rel++;
			/* rel may list several relation types: rel="next last" */
			for (char *t = rel; *t && *t != '"' && *t != ';'; t++)
				if ((t == rel || t[-1] == ' ') && strncmp(t, "next", 4) == 0 &&
					(t[4] == '"' || t[4] == ' ' || t[4] == ';' || t[4] == '\0'))
					return resolve_url(request_url, pnstrdup(open + 1, close - open - 1));
		}
	}
	return NULL;
}

void
http_open(HttpClient *c, const char *url, HttpResponse *response)
{
	long		status = 0;
	char	   *content_type = NULL;
	int			attempt;
	char	   *final_url = NULL;

	for (attempt = 1;; attempt++)
	{
		CURLcode	rc = perform(c, url, &status, &final_url);
		curl_off_t	retry_after = 0;
		bool		server_said;
		char	   *reason;
		long		wait_ms;

		if (rc == CURLE_OK && status != 429 && status < 500)
			break;
		if (attempt >= c->max_attempts ||
			(rc != CURLE_OK && (c->too_large || c->out_of_memory || !transient_transport_error(rc))))
		{
			if (rc != CURLE_OK)
				report_transfer_error(c, final_url, rc, attempt);
			break;				/* the caller reports the status */
		}
		server_said = rc == CURLE_OK &&
			curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
			retry_after > 0;
		reason = rc == CURLE_OK ? psprintf("HTTP %ld", status)
			: pstrdup(c->error[0] ? c->error : curl_easy_strerror(rc));
		wait_ms = retry_delay_ms(c, attempt, server_said, retry_after);
		note_retry(c, attempt, final_url, reason, wait_ms);
		ereport(DEBUG1, (errmsg("%s: retrying %s in %ld ms after %s", c->who,
								http_client_shown_url(c, final_url), wait_ms, reason)));
		backoff_sleep(wait_ms);
	}

	curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &content_type);
	response->status = status;
	response->attempts = attempt;
	response->body = status >= 300 && c->body ? c->body : "";
	response->length = status >= 300 ? c->length : 0;
	response->content_type = content_type ? pstrdup(content_type) : NULL;
	response->link_next = link_next(c, final_url);
}

size_t
http_read(HttpClient *c, const char **data)
{
	c->last_heard = GetCurrentTimestamp();	/* time spent by the reader is no stall */
	if (c->handed_out)
	{
		c->length = 0;
		c->handed_out = false;
		if (c->paused)
		{
			c->paused = false;
			curl_easy_pause(c->curl, CURLPAUSE_CONT);
		}
	}
	while (c->length == 0 && !c->done)
		pump(c);
	if (c->length > 0)
	{
		*data = c->body;
		c->handed_out = true;
		return c->length;
	}
	if (c->result != CURLE_OK)
		report_transfer_error(c, c->url, c->result, 1);
	end_transfer(c);
	return 0;
}

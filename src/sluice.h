/*
 * sluice.h: settings shared by every module.
 */
#ifndef SLUICE_H
#define SLUICE_H

/* HTTP limits (sluice.http_* settings, see _PG_init) */
extern int	sluice_http_timeout_ms;
extern int	sluice_http_connect_timeout_ms;
extern int	sluice_http_stall_timeout_s;
extern int	sluice_http_max_response_mb;
extern int	sluice_http_max_redirects;
extern char *sluice_allowed_hosts;

/* Publishing models (sluice.publish_* settings) */
extern int	sluice_publish_lock_timeout_ms;
extern int	sluice_publish_timeout_ms;

#endif

/*
 * metrics_http.h — serves a metrics registry as Prometheus text over HTTP
 * while a job runs (`pika pipe process --metrics-addr 127.0.0.1:9464`).
 *
 * Built on civetweb. Loopback only: any other address is refused, because
 * the metrics describe the user's files. GET /metrics answers the registry
 * rendered at that moment; every other path is 404. One server thread.
 */
#ifndef PIKA_SERVER_METRICS_HTTP_H
#define PIKA_SERVER_METRICS_HTTP_H

#include "base/error.h"
#include "runtime/metrics.h"

typedef struct pk_metrics_http pk_metrics_http;

/* Starts serving reg on addr ("127.0.0.1:PORT", "localhost:PORT" or
 * "[::1]:PORT"; PORT 0 picks a free one). reg must outlive the server.
 * PK_EINVAL (not a loopback address, bad port), PK_EEXIST (port in use),
 * PK_ESYS, with a message. */
int pk_metrics_http_start(const char *addr, pk_metrics *reg,
                          pk_metrics_http **out, pk_errmsg *e);

/* The port actually bound. */
int pk_metrics_http_port(const pk_metrics_http *s);

/* Stops the server and frees it; accepts NULL. */
void pk_metrics_http_stop(pk_metrics_http *s);

#endif /* PIKA_SERVER_METRICS_HTTP_H */

/*
 * server.h — the browser server behind `pika open`: one loopback port that
 * serves the canvas UI's static files, the JSON/binary API and the
 * WebSocket of docs/PROTOCOL.md, on a database the caller opened.
 *
 * Pieces (each its own module, see their headers):
 *   http.c       civetweb setup, the request gate (Host, token, Origin),
 *                routing, JSON errors, request metrics, the status ticker
 *   auth.h       token, constant-time compare, Host/Origin/cookie checks
 *   api_*.c      the endpoints (tables, query + results, plot, import,
 *                upload, export, workspace, status)
 *   engine/cache.h  (not a server module) plot columns and query
 *                results, so a zoom re-aggregates without SQL and a result
 *                grid pages without re-running its query
 *   pkpl.h       the binary plot encoding
 *   ops.h        cancellation, supersession, time limits
 *   ws.h         the WebSocket hub
 *   assets.h     static files
 *
 * Threads: civetweb's workers (PK_SERVER_HTTP_THREADS for requests plus
 * one per WebSocket, PK_WS_MAX_CLIENTS at most) run the handlers; plots
 * and queries run on an executor pool at interactive priority, imports and
 * exports at background priority, so a plot never queues behind an
 * import; the plot kernels run on a compute pool; one ticker thread sends
 * the status every second and enforces the time limit.
 *
 * Errors: PK_OK or PK_E* with a sentence in pk_errmsg. Nothing here
 * prints; the token is never logged nor exported in metrics.
 */
#ifndef PIKA_SERVER_SERVER_H
#define PIKA_SERVER_SERVER_H

#include "base/error.h"
#include "engine/db.h"

#define PK_SERVER_HTTP_THREADS 16

typedef struct pk_server pk_server;

#define PK_INDEX_MIN_ROWS ((uint64_t)1 << 22)

typedef struct pk_server_config {
  pk_db *db;                /* required; must outlive the server */
  int port;                 /* 0: a free one */
  unsigned query_timeout_s; /* one query or plot; 0: 600 */
  const char *upload_dir;   /* NULL: Pika's data directory's uploads/ */
  uint64_t cache_budget;    /* bytes of the engine caches; 0: default */
  /* Density plots of at least this many rows get a density index built in
   * the background (engine/dindex.h); 0: PK_INDEX_MIN_ROWS (below it a scan
   * takes a few ms anyway); UINT64_MAX: never. */
  uint64_t index_min_rows;
  /* Plots whose picture is a grid of counts over a source of at least this
   * many rows are streamed (engine/plot_stream.h) and their columns cached
   * in the background afterwards; 0: PK_PLOT_STREAM_MIN_ROWS; UINT64_MAX:
   * never (always load into the cache first). */
  uint64_t stream_min_rows;
} pk_server_config;

/* Starts serving on 127.0.0.1. On success *out is stopped with
 * pk_server_stop. PK_EINVAL (no db), PK_EEXIST (port in use), PK_ESYS
 * (threads, randomness), PK_ENOMEM, PK_EIO (upload directory). */
int pk_server_start(const pk_server_config *cfg, pk_server **out, pk_errmsg *e);

/* The port bound. */
int pk_server_port(const pk_server *s);

/* The launch token (64 hex digits); valid until pk_server_stop. For the
 * one URL `pika open` prints; never log it. */
const char *pk_server_token(const pk_server *s);

/* Whether the web UI's files were found (else / answers a short page
 * saying how to build them). */
int pk_server_has_assets(const pk_server *s);

/* Interrupts running queries and plots, waits for the handlers, stops the
 * threads and frees the server. NULL is a no-op. */
void pk_server_stop(pk_server *s);

#endif /* PIKA_SERVER_SERVER_H */

/*
 * ws.h — the WebSocket hub of /api/ws: the set of connected browsers (at
 * most max clients), and text frames to one or to all of them.
 *
 * civetweb runs each WebSocket on a worker thread of its own and calls
 * back on connect, ready, data and close; http.c checks Host, token and
 * Origin in the connect callback and then claims a slot here
 * (pk_ws_hub_add). Frames from other threads (the status ticker, job
 * events) go out under the hub's mutex and civetweb's per-connection lock
 * (mg_lock_connection), and pk_ws_hub_remove takes the same mutex, so a
 * frame is never written to a connection that is being closed.
 *
 * Thread-safety: every function is thread-safe.
 */
#ifndef PIKA_SERVER_WS_H
#define PIKA_SERVER_WS_H

#include <civetweb.h>
#include <stdbool.h>

#include "base/error.h"

#define PK_WS_MAX_CLIENTS 16

typedef struct pk_ws_hub pk_ws_hub;

/* PK_ENOMEM. Free with pk_ws_hub_free (no client may remain). */
int pk_ws_hub_create(int max_clients, pk_ws_hub **out);
void pk_ws_hub_free(pk_ws_hub *h);

/* Claims a slot for conn (not yet ready for frames). PK_ELIMIT when
 * full. */
int pk_ws_hub_add(pk_ws_hub *h, const struct mg_connection *conn);
/* conn finished its handshake: broadcasts reach it from now on. */
void pk_ws_hub_ready(pk_ws_hub *h, const struct mg_connection *conn);
/* Gives the slot back; unknown connections are ignored. */
void pk_ws_hub_remove(pk_ws_hub *h, const struct mg_connection *conn);

/* Sends text to one connection (from its own callbacks). */
void pk_ws_send(struct mg_connection *conn, const char *text);
/* Sends text to every ready client. */
void pk_ws_hub_broadcast(pk_ws_hub *h, const char *text);
/* Clients connected (ready or not). */
int pk_ws_hub_count(pk_ws_hub *h);

#endif /* PIKA_SERVER_WS_H */

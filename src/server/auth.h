/*
 * auth.h — the browser server's gatekeeping, as pure functions: the launch
 * token, constant-time comparison, and the Host, Origin, cookie and
 * Authorization checks of docs/PROTOCOL.md ("Launch, token and origin").
 *
 * Nothing here touches the network or logs; http.c calls these on every
 * request before any handler runs, in this order: Host (403), token (401),
 * and for a WebSocket upgrade also Origin (403).
 *
 * Thread-safety: every function is reentrant (no shared state).
 */
#ifndef PIKA_SERVER_AUTH_H
#define PIKA_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* 32 random bytes, hex: 64 characters and the NUL. */
#define PK_TOKEN_HEX 64
#define PK_TOKEN_BUF (PK_TOKEN_HEX + 1)

/* Fills out with a fresh token from getrandom(2). PK_OK, or PK_ESYS if the
 * OS gives no randomness (the message says so). */
int pk_auth_token_new(char out[PK_TOKEN_BUF], pk_errmsg *e);

/* Whether the n bytes of given equal the token, in time that depends only
 * on the token's length (never on where the first difference is). given
 * may be NULL (false). */
bool pk_auth_token_eq(const char *token, const char *given, size_t n);

/* Whether a Host header names a loopback host: 127.0.0.1, localhost or
 * [::1], each with or without ":PORT" (any port digits). NULL is false. */
bool pk_auth_host_ok(const char *host);

/* Whether an Origin header is exactly http://127.0.0.1:PORT or
 * http://localhost:PORT for this server's port. NULL is false. */
bool pk_auth_origin_ok(const char *origin, int port);

/* The token carried by a request: the value of the cookie "pika_PORT" in
 * the Cookie header, or the credentials of "Authorization: Bearer X".
 * Returns a pointer into one of the headers (not NUL-terminated at the
 * end of the value) and its length in *n, or NULL when neither is there.
 * Either header may be NULL. */
const char *pk_auth_find_token(const char *cookie_header,
                               const char *authorization, int port, size_t *n);

/* Whether the request carries the right token (cookie or Bearer). */
bool pk_auth_request_ok(const char *token, const char *cookie_header,
                        const char *authorization, int port);

#endif /* PIKA_SERVER_AUTH_H */

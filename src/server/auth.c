/* auth.c — see auth.h. */
#include "server/auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

int pk_auth_token_new(char out[PK_TOKEN_BUF], pk_errmsg *e) {
  unsigned char raw[PK_TOKEN_HEX / 2];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return pk_errmsg_set(e, PK_ESYS, "getrandom failed: %s", strerror(errno));
    }
    got += (size_t)r;
  }
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof raw; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[PK_TOKEN_HEX] = '\0';
  return PK_OK;
}

bool pk_auth_token_eq(const char *token, const char *given, size_t n) {
  if (!token || !given)
    return false;
  size_t tl = strlen(token);
  /* The loop always runs over the token's length; a length mismatch is
   * folded into the result, not returned early. */
  unsigned diff = (unsigned)(tl != n);
  for (size_t i = 0; i < tl; i++) {
    unsigned char g = i < n ? (unsigned char)given[i] : 0;
    diff |= (unsigned)((unsigned char)token[i] ^ g);
  }
  return diff == 0;
}

/* host is "NAME" or "NAME:DIGITS". */
static bool host_is(const char *host, const char *name) {
  size_t l = strlen(name);
  if (strncasecmp(host, name, l))
    return false;
  const char *p = host + l;
  if (!*p)
    return true;
  if (*p++ != ':' || !*p)
    return false;
  for (; *p; p++)
    if (*p < '0' || *p > '9')
      return false;
  return true;
}

bool pk_auth_host_ok(const char *host) {
  if (!host)
    return false;
  return host_is(host, "127.0.0.1") || host_is(host, "localhost") ||
         host_is(host, "[::1]");
}

bool pk_auth_origin_ok(const char *origin, int port) {
  if (!origin)
    return false;
  char a[64], b[64];
  snprintf(a, sizeof a, "http://127.0.0.1:%d", port);
  snprintf(b, sizeof b, "http://localhost:%d", port);
  return !strcmp(origin, a) || !strcmp(origin, b);
}

const char *pk_auth_find_token(const char *cookie_header,
                               const char *authorization, int port, size_t *n) {
  if (authorization && !strncasecmp(authorization, "Bearer ", 7)) {
    const char *v = authorization + 7;
    while (*v == ' ')
      v++;
    size_t l = strlen(v);
    while (l && v[l - 1] == ' ')
      l--;
    *n = l;
    return v;
  }
  if (cookie_header) {
    char name[32];
    int nl = snprintf(name, sizeof name, "pika_%d=", port);
    const char *p = cookie_header;
    while (*p) {
      while (*p == ' ' || *p == ';')
        p++;
      if (!strncmp(p, name, (size_t)nl)) {
        const char *v = p + nl;
        *n = strcspn(v, ";");
        return v;
      }
      p += strcspn(p, ";");
    }
  }
  *n = 0;
  return NULL;
}

bool pk_auth_request_ok(const char *token, const char *cookie_header,
                        const char *authorization, int port) {
  size_t n;
  const char *t = pk_auth_find_token(cookie_header, authorization, port, &n);
  return t && pk_auth_token_eq(token, t, n);
}

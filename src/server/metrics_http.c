/* metrics_http.c — see metrics_http.h. */
#include "server/metrics_http.h"

#include <civetweb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pk_metrics_http {
  struct mg_context *ctx;
  pk_metrics *reg;
  int port;
};

static int handle_metrics(struct mg_connection *conn, void *arg) {
  pk_metrics_http *s = arg;
  const struct mg_request_info *ri = mg_get_request_info(conn);
  if (strcmp(ri->request_method, "GET") && strcmp(ri->request_method, "HEAD")) {
    mg_send_http_error(conn, 405, "only GET");
    return 405;
  }
  char *text = NULL;
  size_t len = 0;
  if (pk_metrics_render_prometheus(s->reg, &text, &len) != PK_OK) {
    mg_send_http_error(conn, 500, "cannot render metrics");
    return 500;
  }
  mg_send_http_ok(conn, "text/plain; version=0.0.4; charset=utf-8",
                  (long long)len);
  if (strcmp(ri->request_method, "HEAD"))
    mg_write(conn, text, len);
  free(text);
  return 200;
}

/* Splits "host:port" / "[v6]:port" and checks the host is loopback. */
static int parse_addr(const char *addr, char *listen, size_t n, pk_errmsg *e) {
  const char *colon = strrchr(addr, ':');
  if (!colon || !colon[1])
    return pk_errmsg_set(e, PK_EINVAL,
                         "metrics address '%s' wants HOST:PORT, e.g. "
                         "127.0.0.1:9464",
                         addr);
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535)
    return pk_errmsg_set(e, PK_EINVAL, "bad port in '%s'", addr);
  size_t hl = (size_t)(colon - addr);
  const char *ip = NULL;
  if ((hl == 9 && !strncmp(addr, "127.0.0.1", 9)) ||
      (hl == 9 && !strncmp(addr, "localhost", 9)))
    ip = "127.0.0.1";
  else if (hl == 5 && !strncmp(addr, "[::1]", 5))
    ip = "[::1]";
  if (!ip)
    return pk_errmsg_set(e, PK_EINVAL,
                         "metrics are served on loopback only (127.0.0.1, "
                         "localhost or [::1]), not '%.*s'",
                         (int)hl, addr);
  /* civetweb's syntax: a leading "+" marks IPv6; port 0 binds an
   * ephemeral port, read back with mg_get_server_ports(). */
  snprintf(listen, n, "%s%s:%ld", ip[0] == '[' ? "+" : "",
           ip[0] == '[' ? "[::1]" : ip, port);
  return PK_OK;
}

int pk_metrics_http_start(const char *addr, pk_metrics *reg,
                          pk_metrics_http **out, pk_errmsg *e) {
  char listen[64];
  int rc = parse_addr(addr, listen, sizeof listen, e);
  if (rc)
    return rc;
  pk_metrics_http *s = calloc(1, sizeof *s);
  if (!s)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  s->reg = reg;
  mg_init_library(0);
  const char *options[] = {"listening_ports", listen, "num_threads", "1", NULL};
  struct mg_callbacks cb;
  memset(&cb, 0, sizeof cb);
  s->ctx = mg_start(&cb, s, options);
  if (!s->ctx) {
    free(s);
    return pk_errmsg_set(
        e, PK_EEXIST, "cannot serve metrics on %s (is the port in use?)", addr);
  }
  mg_set_request_handler(s->ctx, "/metrics$", handle_metrics, s);
  struct mg_server_port ports[2];
  if (mg_get_server_ports(s->ctx, 2, ports) > 0)
    s->port = ports[0].port;
  *out = s;
  return PK_OK;
}

int pk_metrics_http_port(const pk_metrics_http *s) {
  return s->port;
}

void pk_metrics_http_stop(pk_metrics_http *s) {
  if (!s)
    return;
  mg_stop(s->ctx);
  free(s);
}

/* ws.c — see ws.h. */
#include "server/ws.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pk_ws_hub {
  pthread_mutex_t mu;
  int max, n;
  struct {
    struct mg_connection *conn;
    bool ready;
  } * slot;
};

int pk_ws_hub_create(int max_clients, pk_ws_hub **out) {
  pk_ws_hub *h = calloc(1, sizeof *h);
  if (!h)
    return PK_ENOMEM;
  h->slot = calloc((size_t)max_clients, sizeof *h->slot);
  if (!h->slot) {
    free(h);
    return PK_ENOMEM;
  }
  h->max = max_clients;
  pthread_mutex_init(&h->mu, NULL);
  *out = h;
  return PK_OK;
}

void pk_ws_hub_free(pk_ws_hub *h) {
  if (!h)
    return;
  pthread_mutex_destroy(&h->mu);
  free(h->slot);
  free(h);
}

int pk_ws_hub_add(pk_ws_hub *h, const struct mg_connection *conn) {
  int err = PK_ELIMIT;
  pthread_mutex_lock(&h->mu);
  for (int i = 0; i < h->max; i++)
    if (!h->slot[i].conn) {
      h->slot[i].conn = (struct mg_connection *)(uintptr_t)conn;
      h->slot[i].ready = false;
      h->n++;
      err = PK_OK;
      break;
    }
  pthread_mutex_unlock(&h->mu);
  return err;
}

void pk_ws_hub_ready(pk_ws_hub *h, const struct mg_connection *conn) {
  pthread_mutex_lock(&h->mu);
  for (int i = 0; i < h->max; i++)
    if (h->slot[i].conn == conn)
      h->slot[i].ready = true;
  pthread_mutex_unlock(&h->mu);
}

void pk_ws_hub_remove(pk_ws_hub *h, const struct mg_connection *conn) {
  pthread_mutex_lock(&h->mu);
  for (int i = 0; i < h->max; i++)
    if (h->slot[i].conn == conn) {
      h->slot[i].conn = NULL;
      h->slot[i].ready = false;
      h->n--;
    }
  pthread_mutex_unlock(&h->mu);
}

void pk_ws_send(struct mg_connection *conn, const char *text) {
  mg_lock_connection(conn);
  mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, text, strlen(text));
  mg_unlock_connection(conn);
}

void pk_ws_hub_broadcast(pk_ws_hub *h, const char *text) {
  pthread_mutex_lock(&h->mu);
  for (int i = 0; i < h->max; i++)
    if (h->slot[i].conn && h->slot[i].ready)
      pk_ws_send(h->slot[i].conn, text);
  pthread_mutex_unlock(&h->mu);
}

int pk_ws_hub_count(pk_ws_hub *h) {
  pthread_mutex_lock(&h->mu);
  int n = h->n;
  pthread_mutex_unlock(&h->mu);
  return n;
}

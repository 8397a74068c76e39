/* ops.c — see ops.h. */
#include "server/ops.h"

#include <string.h>

void pk_ops_init(pk_ops *o) {
  memset(o, 0, sizeof *o);
  pthread_mutex_init(&o->mu, NULL);
}

void pk_ops_destroy(pk_ops *o) {
  pthread_mutex_destroy(&o->mu);
}

/* Under o->mu. */
static void stop(pk_op *op, pk_op_reason why) {
  if (op->reason != PK_OP_RUNNING)
    return;
  op->reason = why;
  if (op->task)
    pk_task_cancel(op->task);
  if (op->conn)
    pk_db_interrupt(op->conn);
}

void pk_ops_begin(pk_ops *o, pk_op *op) {
  op->conn = NULL;
  op->task = NULL;
  op->reason = PK_OP_RUNNING;
  pthread_mutex_lock(&o->mu);
  if (op->plot[0])
    for (pk_op *p = o->head; p; p = p->next) {
      if (strcmp(p->plot, op->plot))
        continue;
      if (p->seq < op->seq)
        stop(p, PK_OP_SUPERSEDED);
      else
        op->reason = PK_OP_SUPERSEDED;
    }
  op->prev = NULL;
  op->next = o->head;
  if (o->head)
    o->head->prev = op;
  o->head = op;
  o->n++;
  pthread_mutex_unlock(&o->mu);
}

void pk_ops_set_task(pk_ops *o, pk_op *op, pk_task *task) {
  pthread_mutex_lock(&o->mu);
  op->task = task;
  if (op->reason != PK_OP_RUNNING && task)
    pk_task_cancel(task);
  pthread_mutex_unlock(&o->mu);
}

pk_op_reason pk_ops_attach(pk_ops *o, pk_op *op, pk_db_conn *conn) {
  pthread_mutex_lock(&o->mu);
  op->conn = conn;
  if (conn && op->reason != PK_OP_RUNNING)
    pk_db_interrupt(conn);
  pk_op_reason r = op->reason;
  pthread_mutex_unlock(&o->mu);
  return r;
}

pk_op_reason pk_ops_reason(pk_ops *o, pk_op *op) {
  pthread_mutex_lock(&o->mu);
  pk_op_reason r = op->reason;
  pthread_mutex_unlock(&o->mu);
  return r;
}

void pk_ops_end(pk_ops *o, pk_op *op) {
  pthread_mutex_lock(&o->mu);
  if (op->prev)
    op->prev->next = op->next;
  else
    o->head = op->next;
  if (op->next)
    op->next->prev = op->prev;
  op->prev = op->next = NULL;
  op->conn = NULL;
  op->task = NULL;
  o->n--;
  pthread_mutex_unlock(&o->mu);
}

bool pk_ops_cancel_request(pk_ops *o, const char *request) {
  bool found = false;
  if (!request || !*request)
    return false;
  pthread_mutex_lock(&o->mu);
  for (pk_op *p = o->head; p; p = p->next)
    if (!strcmp(p->request, request) && p->reason == PK_OP_RUNNING) {
      stop(p, PK_OP_CANCELLED);
      found = true;
    }
  pthread_mutex_unlock(&o->mu);
  return found;
}

size_t pk_ops_cancel_client(pk_ops *o, const char *client) {
  size_t n = 0;
  if (!client || !*client)
    return 0;
  pthread_mutex_lock(&o->mu);
  for (pk_op *p = o->head; p; p = p->next)
    if (!strcmp(p->client, client) && p->reason == PK_OP_RUNNING) {
      stop(p, PK_OP_CANCELLED);
      n++;
    }
  pthread_mutex_unlock(&o->mu);
  return n;
}

void pk_ops_tick(pk_ops *o, uint64_t now_ns) {
  pthread_mutex_lock(&o->mu);
  for (pk_op *p = o->head; p; p = p->next)
    if (p->deadline_ns && now_ns >= p->deadline_ns)
      stop(p, PK_OP_TIMEOUT);
  pthread_mutex_unlock(&o->mu);
}

void pk_ops_stop_all(pk_ops *o, pk_op_reason reason) {
  pthread_mutex_lock(&o->mu);
  for (pk_op *p = o->head; p; p = p->next)
    stop(p, reason);
  pthread_mutex_unlock(&o->mu);
}

size_t pk_ops_count(pk_ops *o) {
  pthread_mutex_lock(&o->mu);
  size_t n = o->n;
  pthread_mutex_unlock(&o->mu);
  return n;
}

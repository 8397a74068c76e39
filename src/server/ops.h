/*
 * ops.h — the server's running operations (queries, plots, exports), so
 * that one can be stopped from outside: POST /api/cancel (by the client's
 * request id), a newer plot request with the same plot id and a higher
 * seq, the query time limit, the page that asked going away (its
 * WebSocket closes), and shutdown.
 *
 * How: an op is registered before its task is queued (pk_ops_begin), its
 * task handle is recorded (pk_ops_set_task) and, while it runs, the
 * database connection it uses (pk_ops_attach). Stopping an op records the
 * reason, cancels the task if it has not started (pk_task_cancel), and
 * interrupts the connection if one is attached (pk_db_interrupt); an op
 * that attaches a connection after it was stopped is interrupted at once.
 * Attach and detach take the same mutex as stopping, so a connection is
 * never interrupted after it was detached (and perhaps handed to someone
 * else).
 *
 * Ownership: ops are the caller's (usually on the handler's stack); they
 * must be pk_ops_end()ed before they go away. Thread-safety: all functions
 * take the registry's mutex.
 */
#ifndef PIKA_SERVER_OPS_H
#define PIKA_SERVER_OPS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/db.h"
#include "runtime/pool.h"

typedef enum pk_op_reason {
  PK_OP_RUNNING = 0,
  PK_OP_CANCELLED,  /* POST /api/cancel: 409 cancelled */
  PK_OP_SUPERSEDED, /* a newer seq of the same plot: 409 superseded */
  PK_OP_TIMEOUT,    /* over the query time limit: 504 */
  PK_OP_SHUTDOWN    /* the server is stopping: 503 */
} pk_op_reason;

typedef struct pk_op {
  struct pk_op *prev, *next;
  char request[128]; /* client's request id, "" for none */
  char plot[128];    /* plot id, "" for none */
  char client[64];   /* the asking page's id (X-Pika-Client), "" for none */
  long long seq;
  uint64_t deadline_ns; /* pk_now_ns() clock; 0: none */
  pk_db_conn *conn;     /* attached while running */
  pk_task *task;        /* not owned */
  pk_op_reason reason;
} pk_op;

typedef struct pk_ops {
  pthread_mutex_t mu;
  pk_op *head;
  size_t n;
} pk_ops;

void pk_ops_init(pk_ops *o);
void pk_ops_destroy(pk_ops *o);

/* Registers op (its request, plot, seq and deadline set by the caller).
 * A plot op stops every registered op of the same plot with a lower seq
 * (SUPERSEDED); if one with a higher or equal seq is registered, op itself
 * is registered already SUPERSEDED. */
void pk_ops_begin(pk_ops *o, pk_op *op);
void pk_ops_set_task(pk_ops *o, pk_op *op, pk_task *task);
/* Attaches conn (NULL detaches). Returns op's reason: not RUNNING means
 * stop (conn was interrupted already). */
pk_op_reason pk_ops_attach(pk_ops *o, pk_op *op, pk_db_conn *conn);
pk_op_reason pk_ops_reason(pk_ops *o, pk_op *op);
void pk_ops_end(pk_ops *o, pk_op *op);

/* Stops the op with this request id; true if one was running. */
bool pk_ops_cancel_request(pk_ops *o, const char *request);
/* Stops every op of this client (CANCELLED): its page has gone. Returns
 * how many. */
size_t pk_ops_cancel_client(pk_ops *o, const char *client);
/* Stops ops past their deadline (TIMEOUT). */
void pk_ops_tick(pk_ops *o, uint64_t now_ns);
/* Stops every op with reason. */
void pk_ops_stop_all(pk_ops *o, pk_op_reason reason);
/* Running ops. */
size_t pk_ops_count(pk_ops *o);

#endif /* PIKA_SERVER_OPS_H */

/* results.c — see results.h. A doubly linked LRU list (most recent at the
 * head) searched linearly: a session holds tens of results, not
 * thousands. */
#include "server/results.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "server/json_out.h"

typedef struct entry {
  struct entry *prev, *next;
  char id[PK_RESULT_ID_BUF];
  json_t *columns;
  char **rows;
  size_t nrows, bytes;
  uint64_t total;
} entry;

struct pk_results {
  pthread_mutex_t mu;
  entry *head, *tail;
  size_t bytes, budget, entries;
  uint64_t hits, misses;
};

int pk_results_create(size_t budget, pk_results **out) {
  pk_results *r = calloc(1, sizeof *r);
  if (!r)
    return PK_ENOMEM;
  pthread_mutex_init(&r->mu, NULL);
  r->budget = budget ? budget : (size_t)256 << 20;
  *out = r;
  return PK_OK;
}

static void entry_free(entry *e) {
  for (size_t i = 0; i < e->nrows; i++)
    free(e->rows[i]);
  free(e->rows);
  json_decref(e->columns);
  free(e);
}

static void unlink_entry(pk_results *r, entry *e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    r->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    r->tail = e->prev;
  e->prev = e->next = NULL;
  r->bytes -= e->bytes;
  r->entries--;
}

static void push_front(pk_results *r, entry *e) {
  e->prev = NULL;
  e->next = r->head;
  if (r->head)
    r->head->prev = e;
  r->head = e;
  if (!r->tail)
    r->tail = e;
  r->bytes += e->bytes;
  r->entries++;
}

void pk_results_free(pk_results *r) {
  if (!r)
    return;
  for (entry *e = r->head, *n; e; e = n) {
    n = e->next;
    entry_free(e);
  }
  pthread_mutex_destroy(&r->mu);
  free(r);
}

void pk_results_id(const char *sql, uint64_t ver, char out[PK_RESULT_ID_BUF]) {
  XXH3_state_t *st = XXH3_createState();
  XXH3_128bits_reset(st);
  const char *p = sql;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  int pending_space = 0;
  for (; *p; p++) {
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
      pending_space = 1;
      continue;
    }
    if (pending_space)
      XXH3_128bits_update(st, " ", 1);
    pending_space = 0;
    XXH3_128bits_update(st, p, 1);
  }
  unsigned char v[8];
  for (int i = 0; i < 8; i++)
    v[i] = (unsigned char)(ver >> (8 * i));
  XXH3_128bits_update(st, "\0", 1);
  XXH3_128bits_update(st, v, 8);
  XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  snprintf(out, PK_RESULT_ID_BUF, "%016llx%016llx",
           (unsigned long long)h.high64, (unsigned long long)h.low64);
}

size_t pk_results_max_bytes(const pk_results *r) {
  return r->budget / 2;
}

static entry *find(pk_results *r, const char *id) {
  for (entry *e = r->head; e; e = e->next)
    if (!strcmp(e->id, id))
      return e;
  return NULL;
}

int pk_results_put(pk_results *r, const char *id, json_t *columns, char **rows,
                   size_t nrows, uint64_t total_rows, size_t bytes) {
  entry *e = calloc(1, sizeof *e);
  if (!e) {
    for (size_t i = 0; i < nrows; i++)
      free(rows[i]);
    free(rows);
    json_decref(columns);
    return PK_ENOMEM;
  }
  snprintf(e->id, sizeof e->id, "%s", id);
  e->columns = columns;
  e->rows = rows;
  e->nrows = nrows;
  e->bytes = bytes + sizeof *e;
  e->total = total_rows;
  pthread_mutex_lock(&r->mu);
  entry *old = find(r, id);
  if (old) {
    unlink_entry(r, old);
    entry_free(old);
  }
  while (r->tail && r->bytes + e->bytes > r->budget) {
    entry *t = r->tail;
    unlink_entry(r, t);
    entry_free(t);
  }
  push_front(r, e);
  pthread_mutex_unlock(&r->mu);
  return PK_OK;
}

int pk_results_page(pk_results *r, const char *id, uint64_t offset,
                    uint64_t limit, int count_hit, json_t **columns,
                    char **rows, uint64_t *total) {
  pthread_mutex_lock(&r->mu);
  entry *e = find(r, id);
  if (!e || (offset >= e->nrows && offset < e->total)) {
    if (count_hit)
      r->misses++;
    pthread_mutex_unlock(&r->mu);
    return PK_ENOENT;
  }
  if (count_hit)
    r->hits++;
  /* most recently used */
  unlink_entry(r, e);
  push_front(r, e);
  size_t from = offset < e->nrows ? (size_t)offset : e->nrows;
  size_t n = e->nrows - from;
  if (n > limit)
    n = (size_t)limit;
  char *text = pk_jrows_join(e->rows, from, n);
  if (columns)
    *columns = json_incref(e->columns);
  *total = e->total;
  pthread_mutex_unlock(&r->mu);
  if (!text) {
    if (columns)
      json_decref(*columns);
    return PK_ENOMEM;
  }
  *rows = text;
  return PK_OK;
}

void pk_results_get_stats(pk_results *r, pk_results_stats *out) {
  pthread_mutex_lock(&r->mu);
  out->bytes = r->bytes;
  out->budget = r->budget;
  out->entries = r->entries;
  out->hits = r->hits;
  out->misses = r->misses;
  pthread_mutex_unlock(&r->mu);
}

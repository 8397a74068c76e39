/* cache.c — plot-column and query-result caches; see cache.h. */
#include "engine/cache.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/clock.h"
#include "engine/dindex.h"
#include "engine/kernels.h"
#include "runtime/governor.h"
#include "runtime/mempressure.h"

#define MIN_BUDGET ((uint64_t)64 << 20)

typedef enum ekind { E_COLS, E_RESULT } ekind;
typedef enum estate {
  S_LOADING,  /* a thread is running the SQL; others wait */
  S_READY,    /* findable and pinnable */
  S_SPILLING, /* being written out; others wait */
} estate;

typedef struct entry {
  struct entry *prev, *next; /* LRU list: head is the most recent */
  ekind kind;
  estate state;
  bool dead; /* out of the lists; freed when the last pin goes */
  int pins;
  XXH128_hash_t key; /* cols: source + order + version; result: SQL */
  uint64_t version;
  uint64_t bytes; /* resident, or spilled when spilled */
  bool spilled;

  /* E_COLS */
  pk_cols *cols;
  char **names; /* the distinct source columns, parallel to cols->cols */
  size_t nnames;
  void *map;
  size_t maplen;
  /* The density index of two of the columns (never spilled: dropped when
   * the columns spill), its bytes accounted as resident. */
  pk_dindex *dix;
  size_t dix_x, dix_y;
  uint64_t dix_bytes;
  bool dix_building;

  /* E_RESULT */
  char id[56];
  bool findable; /* by SQL (false for statements that changed the catalog) */
  char *sql;
  size_t ncols;
  char **colnames;
  duckdb_logical_type *types;
  duckdb_data_chunk *chunks;
  uint64_t *starts; /* first row of each chunk */
  size_t nchunks, capchunks;
  uint64_t kept_rows, total_rows, keep_limit, elapsed_ns;
} entry;

struct pk_cache {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  entry *head, *tail;
  uint64_t budget, spill_budget, resident, spilled;
  uint64_t ncols_entries, nresult_entries;
  uint64_t hits, misses, spills, evictions;
  uint64_t indexes, indexing; /* density indexes held, being built */
  char *spill_dir;
  pk_mempress_monitor *mon;
};

/* ---- SQL fingerprints ---------------------------------------------------- */

void pk_sql_normalize(const char *sql, pk_sqlbuf *out) {
  const char *p = sql;
  bool space = false;
  size_t start = out->len;
  while (*p) {
    if (p[0] == '-' && p[1] == '-') {
      while (*p && *p != '\n')
        p++;
      space = true;
      continue;
    }
    if (p[0] == '/' && p[1] == '*') {
      const char *end = strstr(p + 2, "*/");
      p = end ? end + 2 : p + strlen(p);
      space = true;
      continue;
    }
    if (isspace((unsigned char)*p)) {
      space = true;
      p++;
      continue;
    }
    if (space && out->len > start)
      pk_sqlbuf_add(out, " ");
    space = false;
    if (*p == '\'' || *p == '"') {
      /* Copied verbatim up to the closing quote; a doubled quote is an
       * escaped one and stays inside. */
      char q = *p;
      const char *s = p++;
      while (*p) {
        if (*p == q && p[1] == q)
          p += 2;
        else if (*p++ == q)
          break;
      }
      pk_sqlbuf_addf(out, "%.*s", (int)(p - s), s);
      continue;
    }
    char c = (char)tolower((unsigned char)*p++);
    pk_sqlbuf_addf(out, "%c", c);
  }
  while (out->len > start &&
         (out->s[out->len - 1] == ';' || out->s[out->len - 1] == ' '))
    out->s[--out->len] = '\0';
}

static XXH128_hash_t fingerprint(const char *sql) {
  pk_sqlbuf b = {0};
  pk_sql_normalize(sql, &b);
  XXH128_hash_t h = XXH3_128bits(b.s ? b.s : "", b.len);
  pk_sqlbuf_free(&b);
  return h;
}

void pk_sql_fingerprint(const char *sql, char hex[33]) {
  XXH128_hash_t h = fingerprint(sql);
  snprintf(hex, 33, "%016llx%016llx", (unsigned long long)h.high64,
           (unsigned long long)h.low64);
}

/* ---- the LRU list -------------------------------------------------------- */

static void lru_unlink(pk_cache *c, entry *en) {
  if (en->prev)
    en->prev->next = en->next;
  else
    c->head = en->next;
  if (en->next)
    en->next->prev = en->prev;
  else
    c->tail = en->prev;
  en->prev = en->next = NULL;
}

static void lru_push(pk_cache *c, entry *en) {
  en->prev = NULL;
  en->next = c->head;
  if (c->head)
    c->head->prev = en;
  c->head = en;
  if (!c->tail)
    c->tail = en;
}

static void lru_touch(pk_cache *c, entry *en) {
  if (c->head != en) {
    lru_unlink(c, en);
    lru_push(c, en);
  }
}

/* The ready entry that match(en, arg) accepts, pinned and made most
 * recent; while a matching entry is still loading or spilling, waits for
 * it. NULL when none matches. Lock held (released while waiting). */
static entry *find_pinned(pk_cache *c,
                          bool (*match)(const entry *, const void *),
                          const void *arg) {
  for (;;) {
    entry *pending = NULL;
    for (entry *en = c->head; en; en = en->next) {
      if (!match(en, arg))
        continue;
      if (en->state == S_READY) {
        en->pins++;
        lru_touch(c, en);
        c->hits++;
        return en;
      }
      pending = en;
    }
    if (!pending)
      return NULL;
    pthread_cond_wait(&c->cv, &c->mu);
  }
}

/* ---- entries ------------------------------------------------------------- */

static void entry_free(entry *en) {
  if (!en)
    return;
  if (en->cols) {
    if (en->map) {
      for (size_t i = 0; i < en->cols->ncols; i++)
        en->cols->cols[i].v = NULL;
      munmap(en->map, en->maplen);
    }
    pk_cols_free(en->cols);
  }
  pk_dindex_free(en->dix);
  for (size_t i = 0; i < en->nnames; i++)
    free(en->names[i]);
  free(en->names);
  for (size_t i = 0; i < en->nchunks; i++)
    duckdb_destroy_data_chunk(&en->chunks[i]);
  free(en->chunks);
  free(en->starts);
  for (size_t i = 0; i < en->ncols; i++) {
    free(en->colnames ? en->colnames[i] : NULL);
    if (en->types)
      duckdb_destroy_logical_type(&en->types[i]);
  }
  free(en->colnames);
  free(en->types);
  free(en->sql);
  free(en);
}

/* Takes en out of the lists and the accounting (under the lock). It is
 * freed now if unpinned, else by the last unpin. Returns whether the caller
 * must free it. */
static bool entry_remove(pk_cache *c, entry *en) {
  if (en->dead)
    return false;
  lru_unlink(c, en);
  en->dead = true;
  if (en->state == S_READY) {
    if (en->spilled)
      c->spilled -= en->bytes;
    else
      c->resident -= en->bytes;
  }
  c->resident -= en->dix_bytes;
  c->indexes -= en->dix != NULL;
  en->dix_bytes = 0;
  if (en->kind == E_COLS)
    c->ncols_entries--;
  else
    c->nresult_entries--;
  return en->pins == 0;
}

/* ---- spilling ------------------------------------------------------------ */

static int spill_file(const char *dir) {
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
    return fd;
  char path[4096];
  snprintf(path, sizeof path, "%s/pika-spill-XXXXXX", dir);
  fd = mkstemp(path);
  if (fd >= 0)
    unlink(path);
  return fd;
}

/* Writes the columns' arrays to an unlinked file and maps it read-only.
 * Runs without the lock while en is S_SPILLING (nobody else reads it). */
static int spill_write(const char *dir, entry *en, void **map, size_t *len) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t each = en->cols->nrows * sizeof(double);
  size_t stride = (each + page - 1) / page * page;
  size_t total = stride * en->cols->ncols;
  if (total == 0)
    return PK_EINVAL;
  int fd = spill_file(dir);
  if (fd < 0)
    return PK_EIO;
  int err = PK_OK;
  for (size_t i = 0; i < en->cols->ncols && !err; i++) {
    const char *p = (const char *)en->cols->cols[i].v;
    size_t done = 0;
    while (done < each) {
      ssize_t w = pwrite(fd, p + done, each - done, (off_t)(i * stride + done));
      if (w <= 0) {
        err = errno == ENOSPC ? PK_ENOSPC : PK_EIO;
        break;
      }
      done += (size_t)w;
    }
  }
  if (!err && ftruncate(fd, (off_t)total) != 0)
    err = PK_EIO;
  void *m = MAP_FAILED;
  if (!err) {
    m = mmap(NULL, total, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
      err = PK_ENOMEM;
  }
  close(fd);
  if (err)
    return err;
  *map = m;
  *len = total;
  return PK_OK;
}

/* Whether en can go to a spill file within the spill budget. Lock held. */
static bool can_spill(const pk_cache *c, const entry *en) {
  return !en->spilled && en->kind == E_COLS && en->cols &&
         en->cols->nrows > 0 && c->spill_budget != PK_CACHE_NO_SPILL &&
         c->spilled + en->bytes <= c->spill_budget;
}

/* Moves a resident, pinned (by the caller) column entry to a spill file.
 * Called and returns with the lock held; drops it for the write, during
 * which the entry is S_SPILLING so nobody pins or reads it. On failure (no
 * room on disk) the entry is left resident and the error returned. */
static int spill_entry(pk_cache *c, entry *en) {
  en->state = S_SPILLING;
  /* Nobody holds the index (the entry is not pinned by a reader), and it
   * is rebuilt when a plot wants it again. */
  pk_dindex *dix = en->dix;
  en->dix = NULL;
  c->indexes -= dix != NULL;
  c->resident -= en->dix_bytes;
  en->dix_bytes = 0;
  pthread_mutex_unlock(&c->mu);
  pk_dindex_free(dix);
  void *map = NULL;
  size_t len = 0;
  int err = spill_write(c->spill_dir, en, &map, &len);
  if (!err) {
    size_t stride = len / en->cols->ncols;
    for (size_t i = 0; i < en->cols->ncols; i++) {
      pk_col_free_values(&en->cols->cols[i]);
      en->cols->cols[i].v = (double *)((char *)map + i * stride);
    }
    en->map = map;
    en->maplen = len;
  }
  pthread_mutex_lock(&c->mu);
  en->state = S_READY;
  if (!err) {
    en->spilled = true;
    c->resident -= en->bytes;
    c->spilled += en->bytes;
    c->spills++;
  }
  pthread_cond_broadcast(&c->cv);
  return err;
}

/* Drops an unpinned entry. Lock held on entry and return (dropped around
 * the free). */
static void drop_entry(pk_cache *c, entry *en) {
  entry_remove(c, en);
  c->evictions++;
  pthread_mutex_unlock(&c->mu);
  entry_free(en);
  pthread_mutex_lock(&c->mu);
}

/* Spills or drops unpinned entries, least recent first, until resident <=
 * target; then drops spilled entries beyond the spill budget. Lock held. */
static void enforce(pk_cache *c, uint64_t target) {
  for (;;) {
    entry *victim = NULL;
    if (c->resident > target)
      for (entry *en = c->tail; en; en = en->prev)
        if (en->state == S_READY && !en->pins && !en->spilled) {
          victim = en;
          break;
        }
    if (!victim && c->spilled > c->spill_budget)
      for (entry *en = c->tail; en; en = en->prev)
        if (en->state == S_READY && !en->pins && en->spilled) {
          victim = en;
          break;
        }
    if (!victim)
      return;
    if (!can_spill(c, victim)) {
      drop_entry(c, victim);
      continue;
    }
    victim->pins++;
    int err = spill_entry(c, victim);
    victim->pins--;
    if (err && !victim->pins && !victim->dead)
      drop_entry(c, victim);
  }
}

static void unpin(pk_cache *c, entry *en) {
  pthread_mutex_lock(&c->mu);
  bool free_it = --en->pins == 0 && en->dead;
  if (!free_it && en->pins == 0)
    enforce(c, c->budget);
  pthread_mutex_unlock(&c->mu);
  if (free_it)
    entry_free(en);
}

/* ---- the cache ----------------------------------------------------------- */

static void on_pressure(void *arg, const pk_mempress_reading *now,
                        pk_mempress_level prev) {
  (void)prev;
  pk_cache *c = arg;
  if (now->level == PK_MEMPRESS_CRITICAL)
    pk_cache_trim(c, 0);
  else if (now->level == PK_MEMPRESS_HIGH)
    pk_cache_trim(c, c->budget / 2);
}

int pk_cache_create(const pk_cache_config *cfg, pk_cache **out, pk_errmsg *e) {
  pk_cache_config d = {0};
  if (!cfg)
    cfg = &d;
  *out = NULL;
  pk_cache *c = calloc(1, sizeof *c);
  if (!c)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  c->budget = cfg->budget;
  if (!c->budget) {
    pk_gov *g = NULL;
    if (pk_gov_create(NULL, &g) == PK_OK) {
      c->budget = pk_gov_limit(g, PK_GOV_MEM);
      pk_gov_free(g);
    }
    if (c->budget < MIN_BUDGET)
      c->budget = MIN_BUDGET;
  }
  c->spill_budget = cfg->spill_budget ? cfg->spill_budget : 4 * c->budget;
  const char *dir = cfg->spill_dir;
  if (!dir || !*dir)
    dir = getenv("TMPDIR");
  if (!dir || !*dir)
    dir = "/tmp";
  c->spill_dir = strdup(dir);
  if (!c->spill_dir) {
    free(c);
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&c->mu, NULL);
  pk_cond_init_monotonic(&c->cv);
  if (!cfg->no_monitor) {
    int err = pk_mempress_monitor_start(NULL, 500, on_pressure, c, &c->mon);
    if (err) {
      pk_cache_free(c);
      return pk_errmsg_set(e, err, "cannot start the memory-pressure monitor");
    }
  }
  *out = c;
  return PK_OK;
}

void pk_cache_free(pk_cache *c) {
  if (!c)
    return;
  pk_mempress_monitor_stop(c->mon);
  entry *en = c->head;
  while (en) {
    entry *next = en->next;
    entry_free(en);
    en = next;
  }
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  free(c->spill_dir);
  free(c);
}

void pk_cache_stats_get(pk_cache *c, pk_cache_stats *out) {
  pthread_mutex_lock(&c->mu);
  *out = (pk_cache_stats){
      .budget = c->budget,
      .resident = c->resident,
      .spill_budget = c->spill_budget,
      .spilled = c->spilled,
      .col_entries = c->ncols_entries,
      .result_entries = c->nresult_entries,
      .hits = c->hits,
      .misses = c->misses,
      .spills = c->spills,
      .evictions = c->evictions,
      .indexes = c->indexes,
      .indexing = c->indexing,
  };
  pthread_mutex_unlock(&c->mu);
}

uint64_t pk_cache_trim(pk_cache *c, uint64_t target) {
  pthread_mutex_lock(&c->mu);
  enforce(c, target);
  uint64_t r = c->resident;
  pthread_mutex_unlock(&c->mu);
  return r;
}

/* Withdraws a loading entry whose load failed (the caller holds its only
 * pin; the lock is not held): waiters wake and load it themselves. */
static void abandon(pk_cache *c, entry *en) {
  pthread_mutex_lock(&c->mu);
  entry_remove(c, en);
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  entry_free(en);
}

/* Accounts a freshly loaded entry (pinned by the caller) and makes it
 * findable; a column entry bigger than the whole budget goes to a spill
 * file at once. Lock held. */
static void publish(pk_cache *c, entry *en) {
  en->state = S_READY;
  c->resident += en->bytes;
  pthread_cond_broadcast(&c->cv);
  if (en->bytes > c->budget && can_spill(c, en))
    spill_entry(c, en); /* on failure it stays resident, still correct */
  enforce(c, c->budget);
}

/* ---- plot columns -------------------------------------------------------- */

struct pk_cache_cols {
  pk_cache *c;
  entry *en;
  pk_cols view;
  bool hit;
};

static XXH128_hash_t cols_key(const char *source, const char *order_by,
                              uint64_t version) {
  pk_sqlbuf b = {0};
  pk_sql_normalize(source, &b);
  pk_sqlbuf_addf(&b, "\n%s\n%llu", order_by ? order_by : "",
                 (unsigned long long)version);
  XXH128_hash_t h = XXH3_128bits(b.s ? b.s : "", b.len);
  pk_sqlbuf_free(&b);
  return h;
}

static ssize_t name_index(char *const *names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(names[i], name))
      return (ssize_t)i;
  return -1;
}

static bool holds_all(const entry *en, const char *const *columns, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (name_index(en->names, en->nnames, columns[i]) < 0)
      return false;
  return true;
}

/* The loader's SQL: the distinct requested columns, quoted. */
static int cols_sql(const char *source, char **names, size_t n,
                    const char *order_by, pk_sqlbuf *b) {
  pk_sqlbuf_add(b, "SELECT ");
  for (size_t i = 0; i < n; i++) {
    if (i)
      pk_sqlbuf_add(b, ", ");
    pk_sqlbuf_ident(b, names[i]);
  }
  pk_sqlbuf_addf(b, " FROM (%s)", source);
  if (order_by) {
    pk_sqlbuf_add(b, " ORDER BY ");
    pk_sqlbuf_ident(b, order_by);
    pk_sqlbuf_add(b, " NULLS LAST");
  }
  return b->err;
}

static uint64_t cols_bytes(const pk_cols *cs) {
  uint64_t b = sizeof *cs + cs->ncols * sizeof *cs->cols;
  for (size_t i = 0; i < cs->ncols; i++) {
    b += cs->nrows * sizeof(double);
    for (size_t j = 0; j < cs->cols[i].nlabels; j++)
      b += strlen(cs->cols[i].labels[j]) + 1 + sizeof(char *);
  }
  return b;
}

static int cols_view(pk_cache_cols *h, const char *const *columns,
                     const char *const *aliases, size_t n) {
  const pk_cols *cs = h->en->cols;
  h->view.nrows = cs->nrows;
  h->view.ncols = n;
  h->view.cols = calloc(n ? n : 1, sizeof *h->view.cols);
  if (!h->view.cols)
    return PK_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    ssize_t k = name_index(h->en->names, h->en->nnames, columns[i]);
    h->view.cols[i] = cs->cols[k];
    h->view.cols[i].name = strdup(aliases ? aliases[i] : columns[i]);
    if (!h->view.cols[i].name)
      return PK_ENOMEM;
  }
  return PK_OK;
}

typedef struct cols_want {
  XXH128_hash_t key;
  const char *const *columns;
  size_t n;
} cols_want;

static bool cols_match(const entry *en, const void *arg) {
  const cols_want *w = arg;
  return en->kind == E_COLS && XXH128_isEqual(en->key, w->key) &&
         holds_all(en, w->columns, w->n);
}

/* A loading entry for the distinct names among columns[0..n), pinned once.
 * NULL when out of memory. */
static entry *new_cols_entry(XXH128_hash_t key, uint64_t version,
                             const char *const *columns, size_t n) {
  entry *en = calloc(1, sizeof *en);
  if (!en)
    return NULL;
  en->kind = E_COLS;
  en->state = S_LOADING;
  en->key = key;
  en->version = version;
  en->pins = 1;
  en->names = calloc(n, sizeof *en->names);
  if (!en->names) {
    free(en);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (name_index(en->names, en->nnames, columns[i]) >= 0)
      continue;
    if (!(en->names[en->nnames] = strdup(columns[i]))) {
      entry_free(en);
      return NULL;
    }
    en->nnames++;
  }
  return en;
}

/* The shape of a hollow load as the view would name it: columns[i] of cs
 * (by the entry's distinct names) as aliases[i], without labels. Frees
 * cs. NULL when out of memory. */
static pk_cols *shape_view(pk_cols *cs, char *const *names, size_t nnames,
                           const char *const *columns,
                           const char *const *aliases, size_t n) {
  pk_cols *v = calloc(1, sizeof *v);
  if (v && !(v->cols = calloc(n, sizeof *v->cols))) {
    free(v);
    v = NULL;
  }
  for (size_t i = 0; v && i < n; i++) {
    const pk_col *src = &cs->cols[name_index(names, nnames, columns[i])];
    pk_col *d = &v->cols[v->ncols];
    *d = (pk_col){.is_categorical = src->is_categorical,
                  .is_time = src->is_time,
                  .ranged = src->ranged,
                  .min = src->min,
                  .max = src->max};
    if (!(d->name = strdup(aliases ? aliases[i] : columns[i]))) {
      pk_cols_free(v);
      v = NULL;
      break;
    }
    v->ncols++;
  }
  if (v) {
    v->nrows = cs->nrows;
    v->hollow = true;
  }
  pk_cols_free(cs);
  return v;
}

/* pk_cache_cols_get and pk_cache_cols_try: a miss loads at most keep rows
 * (SIZE_MAX: all) and, for a larger result, caches nothing and sets
 * *shape. */
static int cols_get(pk_cache *c, pk_db_conn *conn, const char *source,
                    const char *const *columns, const char *const *aliases,
                    size_t n, const char *order_by, size_t keep,
                    pk_cache_cols **out, pk_cols **shape, pk_errmsg *e) {
  *out = NULL;
  if (!n)
    return pk_errmsg_set(e, PK_EINVAL, "no columns requested");
  pk_cache_cols *h = calloc(1, sizeof *h);
  if (!h)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  h->c = c;
  uint64_t version = pk_db_catalog_version(pk_db_conn_db(conn));
  XXH128_hash_t key = cols_key(source, order_by, version);
  entry *mine = NULL;
  pthread_mutex_lock(&c->mu);
  cols_want want = {key, columns, n};
  h->en = find_pinned(c, cols_match, &want);
  h->hit = h->en != NULL;
  if (!h->en) {
    mine = new_cols_entry(key, version, columns, n);
    if (mine) {
      lru_push(c, mine);
      c->ncols_entries++;
      c->misses++;
    }
  }
  pthread_mutex_unlock(&c->mu);
  if (!h->en && !mine) {
    free(h);
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }

  if (mine) {
    pk_sqlbuf sql = {0};
    pk_cols *cs = NULL;
    int err = cols_sql(source, mine->names, mine->nnames, order_by, &sql)
                  ? pk_errmsg_set(e, PK_ENOMEM, "out of memory")
                  : pk_cols_load_capped(conn, sql.s, keep, &cs, e);
    pk_sqlbuf_free(&sql);
    if (!err && cs->hollow) {
      /* Too large to load now: waiters load it themselves. */
      *shape = shape_view(cs, mine->names, mine->nnames, columns, aliases, n);
      if (!*shape)
        err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
      abandon(c, mine);
      free(h);
      return err;
    }
    if (err) {
      abandon(c, mine);
      free(h);
      return err;
    }
    pthread_mutex_lock(&c->mu);
    /* pk_cols_load's columns are the distinct names, in order. The ORDER
     * BY column is flagged sorted (checked, so a collation surprise cannot
     * hand M4 an unsorted series) so a line plot uses it in place. */
    if (order_by) {
      ssize_t k = name_index(mine->names, mine->nnames, order_by);
      pk_col *oc = k >= 0 ? &cs->cols[k] : NULL;
      size_t m = cs->nrows;
      while (oc && m && isnan(oc->v[m - 1]))
        m--;
      if (oc && !oc->is_categorical && pk_m4_check(oc->v, m, NULL) == PK_OK)
        oc->sorted = true;
    }
    mine->cols = cs;
    mine->bytes = cols_bytes(cs);
    h->en = mine;
    publish(c, mine);
    pthread_mutex_unlock(&c->mu);
  }
  if (cols_view(h, columns, aliases, n)) {
    pk_cache_cols_release(h);
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  *out = h;
  return PK_OK;
}

int pk_cache_cols_get(pk_cache *c, pk_db_conn *conn, const char *source,
                      const char *const *columns, const char *const *aliases,
                      size_t n, const char *order_by, pk_cache_cols **out,
                      pk_errmsg *e) {
  return cols_get(c, conn, source, columns, aliases, n, order_by, SIZE_MAX, out,
                  NULL, e);
}

int pk_cache_cols_try(pk_cache *c, pk_db_conn *conn, const char *source,
                      const char *const *columns, const char *const *aliases,
                      size_t n, const char *order_by, size_t keep,
                      pk_cache_cols **out, pk_cols **shape, pk_errmsg *e) {
  *shape = NULL;
  return cols_get(c, conn, source, columns, aliases, n, order_by, keep, out,
                  shape, e);
}

const pk_cols *pk_cache_cols_view(const pk_cache_cols *h) {
  return &h->view;
}

bool pk_cache_cols_hit(const pk_cache_cols *h) {
  return h->hit;
}

void pk_cache_cols_release(pk_cache_cols *h) {
  if (!h)
    return;
  for (size_t i = 0; h->view.cols && i < h->view.ncols; i++)
    free(h->view.cols[i].name);
  free(h->view.cols);
  unpin(h->c, h->en);
  free(h);
}

pk_cache_cols *pk_cache_cols_retain(pk_cache_cols *h) {
  pk_cache_cols *r = calloc(1, sizeof *r);
  pk_col *cols = calloc(h->view.ncols ? h->view.ncols : 1, sizeof *cols);
  if (!r || !cols) {
    free(r);
    free(cols);
    return NULL;
  }
  *r = *h;
  r->view.cols = cols;
  for (size_t i = 0; i < h->view.ncols; i++) {
    cols[i] = h->view.cols[i];
    if (!(cols[i].name = strdup(h->view.cols[i].name))) {
      while (i--)
        free(cols[i].name);
      free(cols);
      free(r);
      return NULL;
    }
  }
  pthread_mutex_lock(&h->c->mu);
  h->en->pins++;
  pthread_mutex_unlock(&h->c->mu);
  return r;
}

/* The entry's column behind the view column named name, or -1. */
static ssize_t entry_col(const pk_cache_cols *h, const char *name) {
  for (size_t i = 0; i < h->view.ncols; i++)
    if (strcmp(h->view.cols[i].name, name) == 0)
      for (size_t k = 0; k < h->en->cols->ncols; k++)
        if (h->en->cols->cols[k].v == h->view.cols[i].v)
          return (ssize_t)k;
  return -1;
}

const pk_dindex *pk_cache_cols_index(const pk_cache_cols *h, const char *x,
                                     const char *y) {
  ssize_t kx = entry_col(h, x), ky = entry_col(h, y);
  const pk_dindex *dix = NULL;
  pthread_mutex_lock(&h->c->mu);
  if (kx >= 0 && ky >= 0 && h->en->dix && h->en->dix_x == (size_t)kx &&
      h->en->dix_y == (size_t)ky)
    dix = h->en->dix;
  pthread_mutex_unlock(&h->c->mu);
  return dix;
}

int pk_cache_cols_index_build(pk_cache_cols *h, const char *x, const char *y,
                              pk_errmsg *e) {
  pk_cache *c = h->c;
  entry *en = h->en;
  ssize_t kx = entry_col(h, x), ky = entry_col(h, y);
  if (kx < 0 || ky < 0)
    return pk_errmsg_set(e, PK_EINVAL, "no columns %s and %s to index", x, y);
  pthread_mutex_lock(&c->mu);
  /* One index per entry (built, or being built); none for spilled columns:
   * the budget had no room for them, so none for an index either (and only
   * resident bytes can be trimmed by spilling). */
  bool busy = en->dix || en->dix_building || en->spilled;
  en->dix_building = en->dix_building || !busy;
  c->indexing += !busy;
  pthread_mutex_unlock(&c->mu);
  if (busy)
    return PK_OK;
  const pk_col *cx = &en->cols->cols[kx], *cy = &en->cols->cols[ky];
  double ext[4] = {cx->min, cx->max, cy->min, cy->max};
  pk_dindex *dix = NULL;
  int err = pk_dindex_build(cx->v, cy->v, en->cols->nrows,
                            cx->ranged && cy->ranged ? ext : NULL, &dix);
  pthread_mutex_lock(&c->mu);
  en->dix_building = false;
  c->indexing--;
  if (!err) {
    c->indexes++;
    en->dix = dix;
    en->dix_x = (size_t)kx;
    en->dix_y = (size_t)ky;
    en->dix_bytes = pk_dindex_bytes(dix);
    c->resident += en->dix_bytes;
  }
  pthread_mutex_unlock(&c->mu);
  if (err)
    return pk_errmsg_set(e, err, "cannot index %s and %s: %s", x, y,
                         pk_err_name(err));
  return PK_OK;
}

/* ---- query results ------------------------------------------------------- */

struct pk_cache_result {
  pk_cache *c;
  entry *en;
  bool hit;
};

typedef struct rloader {
  entry *en;
  pk_errmsg *e;
} rloader;

static int r_begin(void *arg, duckdb_result *res) {
  rloader *L = arg;
  entry *en = L->en;
  en->ncols = duckdb_column_count(res);
  en->colnames = calloc(en->ncols ? en->ncols : 1, sizeof *en->colnames);
  en->types = calloc(en->ncols ? en->ncols : 1, sizeof *en->types);
  if (!en->colnames || !en->types)
    return pk_errmsg_set(L->e, PK_ENOMEM, "out of memory");
  for (size_t i = 0; i < en->ncols; i++) {
    const char *nm = duckdb_column_name(res, i);
    en->colnames[i] = strdup(nm ? nm : "");
    en->types[i] = duckdb_column_logical_type(res, i);
    if (!en->colnames[i])
      return pk_errmsg_set(L->e, PK_ENOMEM, "out of memory");
  }
  return PK_OK;
}

/* An estimate of a chunk's heap: the vectors' fixed-size slots plus the
 * text of strings too long to be inlined (DuckDB inlines 12 bytes). */
static uint64_t chunk_bytes(duckdb_data_chunk ch, const entry *en) {
  idx_t n = duckdb_data_chunk_get_size(ch);
  uint64_t b = 64;
  for (size_t i = 0; i < en->ncols; i++) {
    duckdb_type t = duckdb_get_type_id(en->types[i]);
    duckdb_vector v = duckdb_data_chunk_get_vector(ch, i);
    switch (t) {
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_BLOB: {
      duckdb_string_t *s = duckdb_vector_get_data(v);
      b += n * sizeof *s;
      for (idx_t r = 0; r < n; r++) {
        uint32_t len = duckdb_string_t_length(s[r]);
        if (len > 12)
          b += len;
      }
      break;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_MAP:
    case DUCKDB_TYPE_ARRAY:
    case DUCKDB_TYPE_UNION:
      b += n * 64;
      break;
    default:
      b += n * 16;
      break;
    }
  }
  return b;
}

static int r_take(void *arg, duckdb_data_chunk *chp) {
  rloader *L = arg;
  entry *en = L->en;
  idx_t n = duckdb_data_chunk_get_size(*chp);
  if (n == 0)
    return PK_OK;
  uint64_t first = en->total_rows;
  en->total_rows += n;
  if (en->kept_rows < first || en->bytes >= en->keep_limit)
    return PK_OK; /* past what is kept: counted only */
  if (en->nchunks == en->capchunks) {
    size_t nc = en->capchunks ? en->capchunks * 2 : 16;
    duckdb_data_chunk *a = realloc(en->chunks, nc * sizeof *a);
    if (!a)
      return pk_errmsg_set(L->e, PK_ENOMEM, "out of memory");
    en->chunks = a;
    uint64_t *s = realloc(en->starts, nc * sizeof *s);
    if (!s)
      return pk_errmsg_set(L->e, PK_ENOMEM, "out of memory");
    en->starts = s;
    en->capchunks = nc;
  }
  en->bytes += chunk_bytes(*chp, en);
  en->starts[en->nchunks] = first;
  en->chunks[en->nchunks++] = *chp;
  en->kept_rows += n;
  *chp = NULL;
  return PK_OK;
}

typedef struct result_want {
  XXH128_hash_t key;
  uint64_t version;
} result_want;

static bool result_match(const entry *en, const void *arg) {
  const result_want *w = arg;
  return en->kind == E_RESULT && XXH128_isEqual(en->key, w->key) &&
         en->version == w->version && en->findable;
}

static bool id_match(const entry *en, const void *arg) {
  return en->kind == E_RESULT && !strcmp(en->id, arg);
}

int pk_cache_result_get(pk_cache *c, pk_db_conn *conn, const char *sql,
                        pk_cache_result **out, pk_errmsg *e) {
  *out = NULL;
  pk_cache_result *h = calloc(1, sizeof *h);
  if (!h)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  h->c = c;
  pk_db *db = pk_db_conn_db(conn);
  uint64_t version = pk_db_catalog_version(db);
  XXH128_hash_t key = fingerprint(sql);
  entry *mine = NULL;
  pthread_mutex_lock(&c->mu);
  result_want want = {key, version};
  h->en = find_pinned(c, result_match, &want);
  h->hit = h->en != NULL;
  if (!h->en) {
    mine = calloc(1, sizeof *mine);
    if (mine) {
      mine->kind = E_RESULT;
      mine->state = S_LOADING;
      mine->key = key;
      mine->version = version;
      mine->findable = true;
      mine->pins = 1;
      mine->keep_limit = c->budget / 4;
      snprintf(mine->id, sizeof mine->id, "%016llx%016llx-%llu",
               (unsigned long long)key.high64, (unsigned long long)key.low64,
               (unsigned long long)version);
      lru_push(c, mine);
      c->nresult_entries++;
      c->misses++;
    }
  }
  pthread_mutex_unlock(&c->mu);
  if (!h->en && !mine) {
    free(h);
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  if (mine) {
    int err = PK_OK;
    /* Kept for pages beyond the kept rows, wrapped in a subquery: without
     * the trailing semicolons. */
    size_t len = strlen(sql);
    while (len && (sql[len - 1] == ';' || isspace((unsigned char)sql[len - 1])))
      len--;
    mine->sql = strndup(sql, len);
    if (!mine->sql)
      err = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
    uint64_t t0 = pk_now_ns();
    rloader L = {mine, e};
    pk_db_sink sink = {.begin = r_begin, .take = r_take, .arg = &L};
    if (!err)
      err = pk_db_exec(conn, sql, &sink, e);
    mine->elapsed_ns = pk_now_ns() - t0;
    if (err) {
      abandon(c, mine);
      free(h);
      return err;
    }
    pthread_mutex_lock(&c->mu);
    if (pk_db_catalog_version(db) != version) {
      /* It changed the catalog: keep it for paging, never answer SQL. */
      mine->findable = false;
    }
    h->en = mine;
    publish(c, mine);
    pthread_mutex_unlock(&c->mu);
  }
  *out = h;
  return PK_OK;
}

int pk_cache_result_find(pk_cache *c, const char *id, pk_cache_result **out,
                         pk_errmsg *e) {
  *out = NULL;
  pthread_mutex_lock(&c->mu);
  entry *found = find_pinned(c, id_match, id);
  pthread_mutex_unlock(&c->mu);
  if (!found)
    return pk_errmsg_set(e, PK_ENOENT,
                         "no cached result %s (evicted or never run): run "
                         "the query again",
                         id);
  pk_cache_result *h = calloc(1, sizeof *h);
  if (!h) {
    unpin(c, found);
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  }
  h->c = c;
  h->en = found;
  h->hit = true;
  *out = h;
  return PK_OK;
}

const char *pk_cache_result_id(const pk_cache_result *h) {
  return h->en->id;
}
bool pk_cache_result_hit(const pk_cache_result *h) {
  return h->hit;
}
uint64_t pk_cache_result_rows(const pk_cache_result *h) {
  return h->en->total_rows;
}
size_t pk_cache_result_ncols(const pk_cache_result *h) {
  return h->en->ncols;
}
const char *pk_cache_result_name(const pk_cache_result *h, size_t col) {
  return col < h->en->ncols ? h->en->colnames[col] : NULL;
}
duckdb_logical_type pk_cache_result_type(const pk_cache_result *h, size_t col) {
  return col < h->en->ncols ? h->en->types[col] : NULL;
}
uint64_t pk_cache_result_elapsed_ns(const pk_cache_result *h) {
  return h->en->elapsed_ns;
}

typedef struct pager {
  pk_cache_rows_fn fn;
  void *arg;
} pager;

static int pager_chunk(void *arg, duckdb_data_chunk ch) {
  pager *p = arg;
  idx_t n = duckdb_data_chunk_get_size(ch);
  return n ? p->fn(p->arg, ch, 0, n) : PK_OK;
}

int pk_cache_result_page(pk_cache_result *h, pk_db_conn *conn, uint64_t offset,
                         uint64_t limit, pk_cache_rows_fn fn, void *arg,
                         pk_errmsg *e) {
  entry *en = h->en;
  uint64_t end = offset + limit;
  if (end < offset || end > en->total_rows)
    end = en->total_rows;
  if (offset >= end)
    return PK_OK;
  /* The kept chunks: binary search for the first one. */
  size_t lo = 0, hi = en->nchunks;
  while (lo + 1 < hi) {
    size_t mid = (lo + hi) / 2;
    if (en->starts[mid] <= offset)
      lo = mid;
    else
      hi = mid;
  }
  uint64_t row = offset;
  for (size_t i = lo; i < en->nchunks && row < end; i++) {
    uint64_t s = en->starts[i];
    uint64_t n = duckdb_data_chunk_get_size(en->chunks[i]);
    if (row >= s + n)
      continue;
    uint64_t first = row - s, count = n - first;
    if (row + count > end)
      count = end - row;
    int err = fn(arg, en->chunks[i], (size_t)first, (size_t)count);
    if (err)
      return err;
    row += count;
  }
  if (row >= end)
    return PK_OK;
  if (!conn)
    return pk_errmsg_set(e, PK_EINVAL,
                         "rows beyond %llu are not kept in memory and no "
                         "connection was given to fetch them",
                         (unsigned long long)en->kept_rows);
  pk_sqlbuf q = {0};
  pk_sqlbuf_addf(&q, "SELECT * FROM (%s) LIMIT %llu OFFSET %llu", en->sql,
                 (unsigned long long)(end - row), (unsigned long long)row);
  if (q.err)
    return pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  pager p = {fn, arg};
  pk_db_sink sink = {.chunk = pager_chunk, .arg = &p};
  int err = pk_db_exec(conn, q.s, &sink, e);
  pk_sqlbuf_free(&q);
  return err;
}

void pk_cache_result_release(pk_cache_result *h) {
  if (!h)
    return;
  unpin(h->c, h->en);
  free(h);
}

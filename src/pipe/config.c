/* config.c — pipeline config files and sizes; see config.h. */
#include "pipe/config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipe/config_doc.h"

/* ---- sizes ----------------------------------------------------------------*/

static const struct {
  const char *unit;
  int shift;
} units[] = {{"", 0},     {"b", 0},   {"k", 10},   {"kb", 10}, {"kib", 10},
             {"m", 20},   {"mb", 20}, {"mib", 20}, {"g", 30},  {"gb", 30},
             {"gib", 30}, {"t", 40},  {"tb", 40},  {"tib", 40}};

#define SIZE_EXAMPLE "e.g. 64KiB, 4M, 1.5GiB or 1048576"

int pk_parse_size(const char *text, uint64_t *out, pk_errmsg *e) {
  const char *p = text;
  *out = 0;
  if (*p == '-')
    return pk_errmsg_set(e, PK_EINVAL, "size '%.64s' is negative", text);
  if (*p < '0' || *p > '9')
    return pk_errmsg_set(e, PK_EINVAL,
                         "invalid size '%.64s': expected a number with an "
                         "optional unit, " SIZE_EXAMPLE,
                         text);
  uint64_t whole = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned d = (unsigned)(*p - '0');
    if (whole > (UINT64_MAX - d) / 10)
      return pk_errmsg_set(e, PK_EINVAL, "size '%.64s' is too large", text);
    whole = whole * 10 + d;
  }
  /* The fraction as num / den, at most 6 places: exact, and num << 40
   * still fits in 64 bits. */
  uint64_t num = 0, den = 1;
  if (*p == '.') {
    p++;
    if (*p < '0' || *p > '9')
      return pk_errmsg_set(e, PK_EINVAL,
                           "invalid size '%.64s': expected digits after "
                           "'.', " SIZE_EXAMPLE,
                           text);
    for (; *p >= '0' && *p <= '9'; p++) {
      if (den == 1000000)
        return pk_errmsg_set(
            e, PK_EINVAL, "size '%.64s' has more than 6 decimal places", text);
      num = num * 10 + (uint64_t)(*p - '0');
      den *= 10;
    }
  }
  while (*p == ' ')
    p++;
  int shift = -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (!strcasecmp(p, units[i].unit)) {
      shift = units[i].shift;
      break;
    }
  if (shift < 0)
    return pk_errmsg_set(e, PK_EINVAL,
                         "invalid size '%.64s': unknown unit '%.16s' (use B, "
                         "KiB, MiB, GiB or TiB; K, M, G, T and KB, MB, GB, TB "
                         "mean the same)",
                         text, p);
  if (whole > (UINT64_MAX >> shift))
    return pk_errmsg_set(e, PK_EINVAL, "size '%.64s' is too large", text);
  uint64_t frac = num << shift;
  if (frac % den)
    return pk_errmsg_set(e, PK_EINVAL,
                         "size '%.64s' is not a whole number of bytes", text);
  uint64_t bytes = whole << shift;
  if (bytes > UINT64_MAX - frac / den)
    return pk_errmsg_set(e, PK_EINVAL, "size '%.64s' is too large", text);
  *out = bytes + frac / den;
  return PK_OK;
}

/* ---- the document model (config_doc.h) -----------------------------------*/

pk__cfg_item *pk__cfg_add_item(pk__cfg_doc *d, const char *key, size_t key_len,
                               int line, int col) {
  if (d->n == d->cap) {
    size_t ncap = d->cap ? 2 * d->cap : 8;
    pk__cfg_item *ni = realloc(d->items, ncap * sizeof *ni);
    if (!ni)
      return NULL;
    d->items = ni;
    d->cap = ncap;
  }
  char *k = malloc(key_len + 1);
  if (!k)
    return NULL;
  memcpy(k, key, key_len);
  k[key_len] = '\0';
  pk__cfg_item *it = &d->items[d->n];
  memset(it, 0, sizeof *it);
  it->key = k;
  it->line = line;
  it->col = col;
  it->order = d->n++;
  return it;
}

pk__cfg_val *pk__cfg_add_elem(pk__cfg_item *it) {
  if (it->n_elems == it->cap_elems) {
    size_t ncap = it->cap_elems ? 2 * it->cap_elems : 8;
    pk__cfg_val *nv = realloc(it->elems, ncap * sizeof *nv);
    if (!nv)
      return NULL;
    it->elems = nv;
    it->cap_elems = ncap;
  }
  pk__cfg_val *v = &it->elems[it->n_elems++];
  memset(v, 0, sizeof *v);
  return v;
}

int pk__cfg_set_string(pk__cfg_val *v, const char *s, size_t n) {
  free(v->str);
  v->str = malloc(n + 1);
  if (!v->str)
    return PK_ENOMEM;
  memcpy(v->str, s, n);
  v->str[n] = '\0';
  v->len = n;
  return PK_OK;
}

void pk__cfg_doc_free(pk__cfg_doc *d) {
  for (size_t i = 0; i < d->n; i++) {
    pk__cfg_item *it = &d->items[i];
    free(it->key);
    free(it->val.str);
    for (size_t j = 0; j < it->n_elems; j++)
      free(it->elems[j].str);
    free(it->elems);
  }
  free(d->items);
  memset(d, 0, sizeof *d);
}

/* ---- JSON
 * -------------------------------------------------------------------*/

static int json_fill(pk__cfg_val *v, json_t *j) {
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    v->type = PK__CFG_TABLE;
    break;
  case JSON_ARRAY:
    v->type = PK__CFG_ARRAY;
    break;
  case JSON_STRING:
    v->type = PK__CFG_STRING;
    return pk__cfg_set_string(v, json_string_value(j), json_string_length(j));
  case JSON_INTEGER:
    v->type = PK__CFG_INTEGER;
    v->integer = (int64_t)json_integer_value(j);
    break;
  case JSON_REAL:
    v->type = PK__CFG_FLOAT;
    break;
  case JSON_TRUE:
  case JSON_FALSE:
    v->type = PK__CFG_BOOL;
    break;
  default:
    v->type = PK__CFG_NULL;
  }
  return PK_OK;
}

/* jansson keeps no source positions for values, so the positions of the
 * top-level keys and of top-level arrays' elements are found by scanning
 * the text jansson has just accepted. jansson keeps object keys in file
 * order, so the i-th key scanned is doc->items[i]; should a key not match,
 * the scan stops and the rest stay without position. */
typedef struct scan {
  const char *p, *end, *bol; /* bol: beginning of the current line */
  int line;
} scan;

static void scan_ws(scan *s) {
  for (; s->p < s->end; s->p++) {
    if (*s->p == '\n') {
      s->line++;
      s->bol = s->p + 1;
    } else if (*s->p != ' ' && *s->p != '\t' && *s->p != '\r') {
      return;
    }
  }
}

/* The 1-based column in characters, as jansson counts its own. */
static int scan_col(const scan *s) {
  int col = 1;
  for (const char *q = s->bol; q < s->p; q++)
    col += ((unsigned char)*q & 0xC0) != 0x80;
  return col;
}

static void scan_string(scan *s) {
  for (s->p++; s->p < s->end && *s->p != '"'; s->p++)
    if (*s->p == '\\')
      s->p++;
  s->p++;
}

static void scan_value(scan *s) {
  if (s->p >= s->end)
    return;
  if (*s->p == '"') {
    scan_string(s);
  } else if (*s->p == '{' || *s->p == '[') {
    int depth = 0;
    while (s->p < s->end) {
      char c = *s->p;
      if (c == '"') {
        scan_string(s);
        continue;
      }
      if (c == '\n') {
        s->line++;
        s->bol = s->p + 1;
      }
      depth += (c == '{' || c == '[') - (c == '}' || c == ']');
      s->p++;
      if (depth == 0)
        return;
    }
  } else {
    while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
      s->p++;
  }
}

static void json_locate(const char *text, size_t len, pk__cfg_doc *d) {
  scan s = {text, text + len, text, 1};
  scan_ws(&s);
  if (s.p >= s.end || *s.p != '{')
    return;
  s.p++;
  for (size_t i = 0; i < d->n; i++) {
    scan_ws(&s);
    if (s.p < s.end && *s.p == ',') {
      s.p++;
      scan_ws(&s);
    }
    if (s.p >= s.end || *s.p != '"')
      return;
    pk__cfg_item *it = &d->items[i];
    const char *key = s.p + 1;
    int line = s.line, col = scan_col(&s);
    scan_string(&s);
    size_t klen = (size_t)(s.p - 1 - key);
    if (!memchr(key, '\\', klen) &&
        (klen != strlen(it->key) || memcmp(key, it->key, klen)))
      return;
    it->line = line;
    it->col = col;
    scan_ws(&s);
    if (s.p >= s.end || *s.p != ':')
      return;
    s.p++;
    scan_ws(&s);
    it->val.line = s.line;
    it->val.col = scan_col(&s);
    if (s.p < s.end && *s.p == '[') {
      s.p++;
      for (size_t j = 0;; j++) {
        scan_ws(&s);
        if (s.p < s.end && *s.p == ',') {
          s.p++;
          scan_ws(&s);
        }
        if (s.p >= s.end)
          return;
        if (*s.p == ']') {
          s.p++;
          break;
        }
        if (j < it->n_elems) {
          it->elems[j].line = s.line;
          it->elems[j].col = scan_col(&s);
        }
        scan_value(&s);
      }
    } else {
      scan_value(&s);
    }
  }
}

static int parse_json(const char *text, size_t len, const char *path,
                      pk__cfg_doc *d, pk_errmsg *e) {
  d->json = 1;
  json_error_t err;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (!root) {
    if (err.line > 0)
      return pk_errmsg_set(e, PK_EINVAL, "%s:%d:%d: %s", path, err.line,
                           err.column > 0 ? err.column : 1, err.text);
    return pk_errmsg_set(e, PK_EINVAL, "%s: %s", path, err.text);
  }
  int rc = PK_OK;
  if (!json_is_object(root)) {
    rc = pk_errmsg_set(e, PK_EINVAL,
                       "%s:1:1: the top level must be an object ({...})", path);
  } else {
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
      pk__cfg_item *it = pk__cfg_add_item(d, key, strlen(key), 0, 0);
      if (!it || json_fill(&it->val, val) != PK_OK) {
        rc = PK_ENOMEM;
        break;
      }
      size_t i;
      json_t *el;
      json_array_foreach(val, i, el) {
        pk__cfg_val *ev = pk__cfg_add_elem(it);
        if (!ev || json_fill(ev, el) != PK_OK) {
          rc = PK_ENOMEM;
          break;
        }
      }
      if (rc)
        break;
    }
    if (rc)
      pk_errmsg_set(e, rc, "%s: out of memory", path);
  }
  json_decref(root);
  if (!rc)
    json_locate(text, len, d);
  return rc;
}

/* ---- validation ---------------------------------------------------------*/

static const char *const known_keys[] = {"name", "stages", "chunk_size",
                                         "workers"};
#define N_KEYS (sizeof known_keys / sizeof known_keys[0])

static const char *type_name(const pk__cfg_doc *d, int type) {
  switch (type) {
  case PK__CFG_STRING:
    return "a string";
  case PK__CFG_INTEGER:
    return "an integer";
  case PK__CFG_FLOAT:
    return "a float";
  case PK__CFG_BOOL:
    return "a boolean";
  case PK__CFG_ARRAY:
    return "an array";
  case PK__CFG_TABLE:
    return d->json ? "an object" : "a table";
  case PK__CFG_DATETIME:
    return "a date/time";
  default:
    return "null";
  }
}

/* PK_EINVAL with "path:line:col: message" (as much position as known). */
__attribute__((format(printf, 5, 6))) static int fail_at(pk_errmsg *e,
                                                         const char *path,
                                                         int line, int col,
                                                         const char *fmt, ...) {
  char msg[sizeof e->text];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (line > 0 && col > 0)
    return pk_errmsg_set(e, PK_EINVAL, "%s:%d:%d: %s", path, line, col, msg);
  if (line > 0)
    return pk_errmsg_set(e, PK_EINVAL, "%s:%d: %s", path, line, msg);
  return pk_errmsg_set(e, PK_EINVAL, "%s: %s", path, msg);
}

/* Edit distance, for "did you mean"; keys longer than 63 never match. */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[64], prev[64];
  if (la >= 64 || lb >= 64)
    return 64;
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
      size_t del = prev[j] + 1, ins = row[j - 1] + 1;
      row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, row, (lb + 1) * sizeof row[0]);
  }
  return prev[lb];
}

static int unknown_key(const pk__cfg_item *it, const char *path, pk_errmsg *e) {
  const char *best = NULL;
  size_t best_d = 3; /* more than two edits away is no typo */
  for (size_t k = 0; k < N_KEYS; k++) {
    size_t dist = distance(it->key, known_keys[k]);
    if (dist < best_d) {
      best_d = dist;
      best = known_keys[k];
    }
  }
  if (best)
    return fail_at(e, path, it->line, it->col,
                   "unknown key '%.64s' (did you mean '%s'?)", it->key, best);
  return fail_at(e, path, it->line, it->col,
                 "unknown key '%.64s' (the keys are name, stages, chunk_size "
                 "and workers)",
                 it->key);
}

/* A string value without embedded NULs (which C strings would cut). */
static int check_string(const pk__cfg_doc *d, const pk__cfg_val *v,
                        const char *what, const char *path, pk_errmsg *e) {
  if (v->type != PK__CFG_STRING)
    return fail_at(e, path, v->line, v->col, "%s must be a string, not %s",
                   what, type_name(d, v->type));
  if (strlen(v->str) != v->len)
    return fail_at(e, path, v->line, v->col, "%s contains a NUL character",
                   what);
  return PK_OK;
}

static int check_name(const pk__cfg_doc *d, const pk__cfg_item *it,
                      const char *path, pk_pipe_config *out, pk_errmsg *e) {
  int rc = check_string(d, &it->val, "'name'", path, e);
  if (rc)
    return rc;
  pk_errmsg ne;
  if (pk_registry_validate_name(it->val.str, &ne))
    return fail_at(e, path, it->val.line, it->val.col, "%s", ne.text);
  snprintf(out->name, sizeof out->name, "%s", it->val.str);
  return PK_OK;
}

static int check_stages(const pk__cfg_doc *d, const pk__cfg_item *it,
                        const char *path, pk_pipe_config *out, pk_errmsg *e) {
  const pk__cfg_val *v = &it->val;
  pk_errmsg se;
  int rc;
  if (v->type == PK__CFG_STRING) {
    if ((rc = check_string(d, v, "'stages'", path, e)))
      return rc;
    if (pk_pipe_spec_parse(v->str, &out->spec, &se))
      return fail_at(e, path, v->line, v->col, "in stages: %s", se.text);
  } else if (v->type == PK__CFG_ARRAY) {
    if (it->n_elems == 0)
      return fail_at(e, path, v->line, v->col,
                     "'stages' is empty; list at least one stage");
    /* Parse ever longer prefixes: the first that fails names the element
     * to point at, for an order error as for a bad name. */
    char joined[PK_REGISTRY_SPEC_MAX] = "";
    size_t used = 0;
    for (size_t j = 0; j < it->n_elems; j++) {
      const pk__cfg_val *el = &it->elems[j];
      char what[32];
      snprintf(what, sizeof what, "stage %zu", j + 1);
      if ((rc = check_string(d, el, what, path, e)))
        return rc;
      if (el->len == 0 || strspn(el->str, " ") == el->len)
        return fail_at(e, path, el->line, el->col, "stage %zu is empty", j + 1);
      int w = snprintf(joined + used, sizeof joined - used, "%s%s",
                       j ? "," : "", el->str);
      if (w < 0 || (size_t)w >= sizeof joined - used)
        return fail_at(e, path, el->line, el->col,
                       "the stage list is too long");
      used += (size_t)w;
      if (pk_pipe_spec_parse(joined, &out->spec, &se))
        return fail_at(e, path, el->line, el->col, "in stages: %s", se.text);
    }
  } else {
    return fail_at(e, path, v->line, v->col,
                   "'stages' must be an array of strings or one string such "
                   "as \"zstd:3,aes256gcm\", not %s",
                   type_name(d, v->type));
  }
  if (pk_pipe_spec_format(&out->spec, out->spec_text, sizeof out->spec_text))
    return fail_at(e, path, v->line, v->col, "the stage list is too long");
  return PK_OK;
}

static int check_chunk_size(const pk__cfg_doc *d, const pk__cfg_item *it,
                            const char *path, pk_pipe_config *out,
                            pk_errmsg *e) {
  const pk__cfg_val *v = &it->val;
  uint64_t bytes;
  char shown[96];
  if (v->type == PK__CFG_INTEGER) {
    if (v->integer < 0)
      return fail_at(e, path, v->line, v->col,
                     "'chunk_size' cannot be negative (%lld)",
                     (long long)v->integer);
    bytes = (uint64_t)v->integer;
    snprintf(shown, sizeof shown, "%llu", (unsigned long long)bytes);
  } else if (v->type == PK__CFG_STRING) {
    int rc = check_string(d, v, "'chunk_size'", path, e);
    if (rc)
      return rc;
    pk_errmsg se;
    if (pk_parse_size(v->str, &bytes, &se))
      return fail_at(e, path, v->line, v->col, "chunk_size: %s", se.text);
    snprintf(shown, sizeof shown, "'%.40s' (%llu bytes)", v->str,
             (unsigned long long)bytes);
  } else {
    return fail_at(e, path, v->line, v->col,
                   "'chunk_size' must be a size such as \"4MiB\" or a number "
                   "of bytes, not %s",
                   type_name(d, v->type));
  }
  if (bytes < PK_CONFIG_CHUNK_MIN || bytes > PK_CONFIG_CHUNK_MAX)
    return fail_at(e, path, v->line, v->col,
                   "chunk_size %s is out of range: use 4 KiB to 64 MiB", shown);
  out->chunk_size = bytes;
  return PK_OK;
}

static int check_workers(const pk__cfg_doc *d, const pk__cfg_item *it,
                         const char *path, pk_pipe_config *out, pk_errmsg *e) {
  const pk__cfg_val *v = &it->val;
  if (v->type != PK__CFG_INTEGER)
    return fail_at(e, path, v->line, v->col,
                   "'workers' must be an integer, not %s",
                   type_name(d, v->type));
  if (v->integer < 1 || v->integer > PK_CONFIG_WORKERS_MAX)
    return fail_at(e, path, v->line, v->col,
                   "'workers' must be between 1 and %d, not %lld",
                   PK_CONFIG_WORKERS_MAX, (long long)v->integer);
  out->workers = (int)v->integer;
  return PK_OK;
}

static int by_position(const void *a, const void *b) {
  const pk__cfg_item *x = a, *y = b;
  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  if (x->col != y->col)
    return x->col < y->col ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static int validate(pk__cfg_doc *d, const char *path, pk_pipe_config *out,
                    pk_errmsg *e) {
  /* toml++ iterates keys sorted by name; report in file order instead. */
  if (d->n > 1)
    qsort(d->items, d->n, sizeof d->items[0], by_position);
  int have_stages = 0;
  for (size_t i = 0; i < d->n; i++) {
    const pk__cfg_item *it = &d->items[i];
    int rc;
    if (!strcmp(it->key, "name"))
      rc = check_name(d, it, path, out, e);
    else if (!strcmp(it->key, "stages") && ++have_stages)
      rc = check_stages(d, it, path, out, e);
    else if (!strcmp(it->key, "chunk_size"))
      rc = check_chunk_size(d, it, path, out, e);
    else if (!strcmp(it->key, "workers"))
      rc = check_workers(d, it, path, out, e);
    else
      rc = unknown_key(it, path, e);
    if (rc)
      return rc;
  }
  if (!have_stages)
    return pk_errmsg_set(
        e, PK_EINVAL, "%s: no 'stages': say which stages to run, e.g. %s", path,
        d->json ? "\"stages\": [\"zstd:3\", \"aes256gcm\"]"
                : "stages = [\"zstd:3\", \"aes256gcm\"]");
  return PK_OK;
}

/* ---- loading -------------------------------------------------------------*/

static int read_file(const char *path, char **text, size_t *len, pk_errmsg *e) {
  *text = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno, rc = pk_err_from_errno(err);
    return pk_errmsg_set(e, rc == PK_ESYS ? PK_EIO : rc, "cannot read '%s': %s",
                         path, strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return pk_errmsg_set(e, PK_EINVAL, "'%s' is a directory, not a config file",
                         path);
  }
  /* Read to EOF rather than trust st_size (pipes, /proc). */
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  int rc = buf ? PK_OK : pk_errmsg_set(e, PK_ENOMEM, "out of memory");
  while (!rc) {
    if (n == cap) {
      if (cap > PK_CONFIG_FILE_MAX) {
        rc = pk_errmsg_set(e, PK_EINVAL,
                           "'%s' is larger than %zu KiB; not a pipeline "
                           "config",
                           path, PK_CONFIG_FILE_MAX >> 10);
        break;
      }
      char *nb = realloc(buf, 2 * cap + 1);
      if (!nb) {
        rc = pk_errmsg_set(e, PK_ENOMEM, "out of memory");
        break;
      }
      buf = nb;
      cap *= 2;
    }
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      int err = errno;
      rc =
          pk_errmsg_set(e, PK_EIO, "cannot read '%s': %s", path, strerror(err));
    } else if (got == 0) {
      break;
    } else {
      n += (size_t)got;
    }
  }
  close(fd);
  if (!rc && n > PK_CONFIG_FILE_MAX)
    rc = pk_errmsg_set(e, PK_EINVAL,
                       "'%s' is larger than %zu KiB; not a pipeline config",
                       path, PK_CONFIG_FILE_MAX >> 10);
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return PK_OK;
}

int pk_config_load(const char *path, pk_pipe_config *out, pk_errmsg *e) {
  memset(out, 0, sizeof *out);
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  int json;
  if (dot && (!slash || dot > slash) && !strcasecmp(dot, ".json"))
    json = 1;
  else if (dot && (!slash || dot > slash) && !strcasecmp(dot, ".toml"))
    json = 0;
  else
    return pk_errmsg_set(e, PK_EINVAL,
                         "%s: cannot tell the format; name the file .toml or "
                         ".json",
                         path);
  char *text;
  size_t len;
  int rc = read_file(path, &text, &len, e);
  if (rc)
    return rc;
  pk__cfg_doc doc;
  memset(&doc, 0, sizeof doc);
  rc = json ? parse_json(text, len, path, &doc, e)
            : pk__config_parse_toml(text, len, path, &doc, e);
  if (!rc)
    rc = validate(&doc, path, out, e);
  pk__cfg_doc_free(&doc);
  free(text);
  if (rc)
    memset(out, 0, sizeof *out);
  return rc;
}

/*
 * config_doc.h — internal to config.c and config_toml.cpp: a parsed config
 * file as a flat list of its top-level keys, whatever the format.
 *
 * The format parsers fill a pk__cfg_doc; config.c validates it. Only the
 * top level and the elements of top-level arrays are kept, because nothing
 * deeper is valid in a pipeline config (a nested table or object is reported
 * by its type). Positions are 1-based; 0 means unknown. Memory is malloc'ed
 * by the helpers below (in config.c) and freed by pk__cfg_doc_free, so the
 * C++ side never owns C memory. Plain C, also compiled as C++.
 */
#ifndef PIKA_PIPE_CONFIG_DOC_H
#define PIKA_PIPE_CONFIG_DOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "base/error.h"

enum pk__cfg_type {
  PK__CFG_STRING,
  PK__CFG_INTEGER,
  PK__CFG_FLOAT,
  PK__CFG_BOOL,
  PK__CFG_ARRAY,
  PK__CFG_TABLE, /* a TOML table or a JSON object */
  PK__CFG_DATETIME,
  PK__CFG_NULL
};

typedef struct pk__cfg_val {
  int type; /* enum pk__cfg_type */
  int line, col;
  char *str;  /* PK__CFG_STRING: NUL-terminated copy (may hold NULs) */
  size_t len; /* its length */
  int64_t integer;
} pk__cfg_val;

typedef struct pk__cfg_item {
  char *key;
  int line, col; /* of the key */
  pk__cfg_val val;
  pk__cfg_val *elems; /* PK__CFG_ARRAY: the elements */
  size_t n_elems, cap_elems;
  size_t order; /* insertion index, the tie-break when sorting */
} pk__cfg_item;

typedef struct pk__cfg_doc {
  pk__cfg_item *items;
  size_t n, cap;
  int json; /* names PK__CFG_TABLE "an object" rather than "a table" */
} pk__cfg_doc;

/* Appends a key (key_len bytes, copied); NULL when out of memory. The
 * returned pointer is valid until the next pk__cfg_add_item. */
pk__cfg_item *pk__cfg_add_item(pk__cfg_doc *d, const char *key, size_t key_len,
                               int line, int col);

/* Appends a zeroed element to an array item; NULL when out of memory. */
pk__cfg_val *pk__cfg_add_elem(pk__cfg_item *it);

/* Copies n bytes of string into v; PK_ENOMEM or PK_OK. */
int pk__cfg_set_string(pk__cfg_val *v, const char *s, size_t n);

/* Frees everything the doc holds and zeroes it. */
void pk__cfg_doc_free(pk__cfg_doc *d);

/* config_toml.cpp: parses TOML text (len bytes) into doc. PK_EINVAL with
 * "path:line:col: description" on a syntax error; PK_ENOMEM. Never throws. */
int pk__config_parse_toml(const char *text, size_t len, const char *path,
                          pk__cfg_doc *doc, pk_errmsg *e);

#ifdef __cplusplus
}
#endif

#endif /* PIKA_PIPE_CONFIG_DOC_H */

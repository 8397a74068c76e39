/*
 * config.h — pipeline definition files (`pika pipe check CONFIG`), and the
 * size parser behind every size option (--chunk-size, --size).
 *
 * A config file is TOML or JSON, chosen by its extension (.toml / .json,
 * any case). Both carry the same four top-level keys:
 *
 *   name = "nightly"                          # optional; registry name rules
 *   stages = ["zstd:9", "aes256gcm", "sha256"] # required; or one SPEC string
 *   chunk_size = "4MiB"                       # optional; or bytes as integer
 *   workers = 2                               # optional; 1..1024
 *
 *   {"name": "nightly", "stages": ["zstd:9", "aes256gcm"],
 *    "chunk_size": "4MiB", "workers": 2}
 *
 * Design. Each format is parsed by a real library — JSON by jansson, TOML by
 * toml++ (C++17, reached through one extern "C" function in
 * config_toml.cpp) — into the same flat list of top-level keys with typed
 * values and source positions (config_doc.h). One validator then checks
 * that list, so both formats give the same messages:
 *   - syntax errors:  "nightly.toml:3:11: <the library's description>"
 *   - unknown keys are errors (a typo must not be silently ignored), with a
 *     suggestion for near misses: "unknown key 'chunksize' (did you mean
 *     'chunk_size'?)"
 *   - wrong types:    "'workers' must be an integer, not a string"
 *   - stages go through pk_pipe_spec_parse, so the same order errors appear,
 *     pointed at the offending array element
 *   - chunk_size through pk_parse_size, then 4 KiB..64 MiB
 * Every message starts "FILE:LINE:COLUMN: " where the position is known
 * (jansson reports positions only for syntax errors; for values, config.c
 * finds them by re-scanning the text jansson accepted). The first problem in
 * file order is reported.
 *
 * Thread-safety: every function here is reentrant; none keeps state.
 */
#ifndef PIKA_PIPE_CONFIG_H
#define PIKA_PIPE_CONFIG_H

#include <stdint.h>

#include "base/error.h"
#include "pipe/registry.h"
#include "pipe/spec.h"

#define PK_CONFIG_CHUNK_MIN ((uint64_t)4 << 10)  /* 4 KiB */
#define PK_CONFIG_CHUNK_MAX ((uint64_t)64 << 20) /* 64 MiB */
#define PK_CONFIG_WORKERS_MAX 1024
#define PK_CONFIG_FILE_MAX ((size_t)1 << 20) /* larger files are refused */

typedef struct pk_pipe_config {
  char name[PK_REGISTRY_NAME_MAX + 1];  /* "" when the file names none */
  char spec_text[PK_REGISTRY_SPEC_MAX]; /* canonical (pk_pipe_spec_format) */
  pk_pipe_spec spec;                    /* the parsed stages */
  uint64_t chunk_size;                  /* bytes; 0 when absent */
  int workers;                          /* 0 when absent */
} pk_pipe_config;

/* Reads and validates the config file at path into *out (zeroed first).
 * Returns PK_OK; PK_ENOENT / PK_EPERM / PK_EIO when the file cannot be read;
 * PK_EINVAL for an unknown extension, a syntax error or an invalid value;
 * PK_ENOMEM. e says what is wrong and where (see above). Blocks on file
 * I/O only. */
int pk_config_load(const char *path, pk_pipe_config *out, pk_errmsg *e);

/* Parses a byte count: digits with an optional fraction and an optional
 * unit, case-insensitive, all binary: B; K, KB, KiB (1024); M, MB, MiB;
 * G, GB, GiB; T, TB, TiB. Spaces may separate the number and the unit.
 * "64KiB" -> 65536, "4M" -> 4194304, "1.5GiB" -> 1610612736, "1048576".
 * PK_EINVAL (with an example of valid input) for anything else, including a
 * negative value, a fraction that is not a whole number of bytes, or a value
 * above UINT64_MAX. Range checks are the caller's. */
int pk_parse_size(const char *text, uint64_t *out, pk_errmsg *e);

#endif /* PIKA_PIPE_CONFIG_H */

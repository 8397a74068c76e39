/*
 * registry.h — named pipelines: `pika pipe create nightly zstd:9,aes256gcm`,
 * then `pika pipe run nightly ...` anywhere on the machine.
 *
 * Design. The names live in one SQLite database per user:
 *   $PIKA_HOME/pipelines.db             if PIKA_HOME is set and not empty,
 *   $XDG_DATA_HOME/pika/pipelines.db    if XDG_DATA_HOME is an absolute path,
 *   ~/.local/share/pika/pipelines.db    otherwise,
 * with missing directories created mode 0700. One table maps a name to the
 * canonical SPEC text (pk_pipe_spec_format of what pk_pipe_spec_parse
 * accepted, so "zstd" is stored as "zstd:3,xxh3-128") and the creation time.
 * SQLite rather than a text file because several pika processes may create,
 * list and delete at once: SQLite's file locks make each change atomic, and
 * a busy timeout (5 s) makes a second process wait for the first instead of
 * failing. The file keeps the default rollback journal (no -wal/-shm files
 * beside it; writes are rare). Every statement is prepared with bound
 * parameters. The schema carries PRAGMA user_version, and pk_registry_open
 * migrates an older file forward inside one IMMEDIATE transaction (so two
 * processes opening a new file at once do not both create it), and refuses a
 * file from a newer pika (PK_EUNSUPPORTED) or a file that is not a pika
 * pipelines database (PK_ECORRUPT, with the path and what to do).
 *
 * Built-in pipelines always exist, are not stored in the file and cannot be
 * deleted or shadowed:
 *   fast      lz4
 *   balanced  zstd:3
 *   archive   zstd:19
 *   secure    zstd:3,xchacha20poly1305
 *
 * Names are 1..64 characters of [A-Za-z0-9_.-], not starting with '-' (it
 * would read as an option on the command line), compared case-sensitively.
 *
 * Thread-safety: a pk_registry is used by one thread at a time; separate
 * handles, in one process or many, may be used concurrently. Every call may
 * block up to the busy timeout while another process writes.
 */
#ifndef PIKA_PIPE_REGISTRY_H
#define PIKA_PIPE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define PK_REGISTRY_NAME_MAX 64  /* characters, without the NUL */
#define PK_REGISTRY_SPEC_MAX 512 /* bytes of canonical SPEC text, with NUL */

typedef struct pk_registry pk_registry;

/* Writes the default database path (see above) into buf[cap] without
 * creating anything. PK_EINVAL if neither PIKA_HOME, XDG_DATA_HOME nor HOME
 * is set; PK_ELIMIT if cap is too small. */
int pk_registry_default_path(char *buf, size_t cap, pk_errmsg *e);

/* Opens (creating and migrating as needed) the database at path, or at the
 * default path when path is NULL — in which case missing directories are
 * created 0700; an explicit path's directory must exist. On success *out is
 * a handle the caller frees with pk_registry_close. Errors: PK_ENOENT /
 * PK_EPERM (cannot create or open), PK_ECORRUPT (not a pika pipelines
 * database), PK_EUNSUPPORTED (written by a newer pika), PK_ETIMEDOUT
 * (another process held the lock past the busy timeout), PK_EIO, PK_ENOMEM;
 * each with a message naming the file. */
int pk_registry_open(const char *path, pk_registry **out, pk_errmsg *e);

/* Closes the database and frees reg; accepts NULL. */
void pk_registry_close(pk_registry *reg);

/* The database file's path; owned by reg, valid until pk_registry_close. */
const char *pk_registry_path(const pk_registry *reg);

/* PK_OK if name is a valid pipeline name, else PK_EINVAL saying why. */
int pk_registry_validate_name(const char *name, pk_errmsg *e);

/* Stores a pipeline: name is checked as above, spec_text with
 * pk_pipe_spec_parse (PK_EINVAL with the parser's own message), and the
 * canonical text is saved with the current time. PK_EEXIST if the name is
 * taken, by a stored or a built-in pipeline. */
int pk_registry_create(pk_registry *reg, const char *name,
                       const char *spec_text, pk_errmsg *e);

/* Copies the canonical SPEC text of pipeline `name` into spec_out[cap]
 * (PK_REGISTRY_SPEC_MAX always suffices). PK_ENOENT ("no pipeline named 'x'
 * (see 'pika pipe list')"), PK_EINVAL for an invalid name, PK_ELIMIT if cap
 * is too small. */
int pk_registry_get(pk_registry *reg, const char *name, char *spec_out,
                    size_t cap, pk_errmsg *e);

/* Called once per pipeline by pk_registry_list: the built-ins first, in the
 * order above, then stored pipelines by name. created is Unix time in
 * seconds (0 for built-ins); builtin is 1 for a built-in. The strings are
 * valid only during the call. Returning non-zero stops the listing, and
 * pk_registry_list returns that value. The callback may call other
 * pk_registry functions on reg: the rows are read, in one transaction,
 * before the first call. */
typedef int (*pk_registry_list_fn)(const char *name, const char *spec,
                                   int64_t created, int builtin, void *arg);

/* Lists every pipeline (see pk_registry_list_fn). Returns PK_OK, the
 * callback's non-zero value, or a PK_E* code with e filled. */
int pk_registry_list(pk_registry *reg, pk_registry_list_fn fn, void *arg,
                     pk_errmsg *e);

/* Deletes a stored pipeline. PK_ENOENT if there is none by that name,
 * PK_EPERM for a built-in. e may be NULL. */
int pk_registry_delete(pk_registry *reg, const char *name, pk_errmsg *e);

#endif /* PIKA_PIPE_REGISTRY_H */

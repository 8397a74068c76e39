/*
 * paths.h — where Pika keeps its files, and making the directories above
 * a file.
 *
 * Pika's per-user files (the workspace database, the named pipelines) live
 * in one directory:
 *   $PIKA_HOME                     if set and not empty,
 *   $XDG_DATA_HOME/pika            if XDG_DATA_HOME is absolute (the XDG
 *                                  spec: relative values are ignored),
 *   ~/.local/share/pika            otherwise.
 */
#ifndef PIKA_BASE_PATHS_H
#define PIKA_BASE_PATHS_H

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* Writes the path of Pika's file `name` into buf. PK_EINVAL if neither
 * PIKA_HOME nor HOME is set; PK_ELIMIT if cap is too small. */
int pk_data_file(const char *name, char *buf, size_t cap, pk_errmsg *e);

/* Creates every missing directory above the file `path` with `mode`
 * (mkdir -p of its directory). PK_ENOENT if a component exists but is not
 * a directory; the errno's code if mkdir fails; messages name the path. */
int pk_make_parents(const char *path, mode_t mode, pk_errmsg *e);

#endif /* PIKA_BASE_PATHS_H */

/*
 * outfile.h — output files that appear whole or not at all.
 *
 * Data goes to an unnamed file in the target's directory (O_TMPFILE), which
 * the kernel discards if the process dies, even by SIGKILL; commit links it
 * in under its name. A durable output (the default) is fsynced before it
 * is named and its directory after; a caller may clear `durable` for an
 * output that can be made again (a restore, whose archive stays the
 * durable copy), which then waits for no disk, as cp, tar and zstd -d do,
 * and may be incomplete after a power loss. Without
 * overwrite the link fails if the name exists, so an existing file is never
 * clobbered, even by a race. Where O_TMPFILE is not supported, a hidden
 * temporary name (".NAME.pika-XXXXXX") and a rename take its place.
 * "-" is standard output, and an existing path that is not a regular file
 * (a device such as /dev/null, a FIFO, a socket) is opened and written in
 * place: there is nothing to replace atomically, and renaming over it
 * would replace the device with a regular file. Those need no overwrite.
 */
#ifndef PIKA_PIPE_OUTFILE_H
#define PIKA_PIPE_OUTFILE_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

typedef struct pk_outfile {
  int fd;
  int is_stdout;
  int direct; /* written in place: stdout, or a device/FIFO (see above) */
  int overwrite;
  int durable; /* fsync before naming (set by open; see above) */
  char path[4096];
  char tmp[8448]; /* named fallback; "" with O_TMPFILE */
} pk_outfile;

/* Opens a pending output for path with permission bits mode. PK_EEXIST if
 * path exists and !overwrite; PK_EPERM, PK_ENOENT (no such directory),
 * PK_ENOSPC, PK_EIO with a message naming the path. */
int pk_outfile_open(pk_outfile *of, const char *path, int overwrite,
                    mode_t mode, pk_errmsg *e);

/* Makes the output visible under its name, durable first if `durable`.
 * On failure the output is discarded (as by abort). */
int pk_outfile_commit(pk_outfile *of, pk_errmsg *e);

/* Tells the kernel to start writing back what has been written to fd since
 * the last call, once at least 8 MiB have accumulated, so that the fsync in
 * pk_outfile_commit() finds little left and disk time overlaps the work
 * instead of following it. *flushed is the caller's cursor (start at 0);
 * written is the total written so far. Harmless on pipes and terminals. */
void pk_outfile_writeback(int fd, uint64_t *flushed, uint64_t written);

/* Discards a pending output; safe to call after commit (does nothing). */
void pk_outfile_abort(pk_outfile *of);

#endif /* PIKA_PIPE_OUTFILE_H */

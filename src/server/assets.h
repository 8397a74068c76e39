/*
 * assets.h — the browser UI's static files (docs/PROTOCOL.md, "Static
 * assets"): where the built UI is, and which file a URL path names.
 *
 * The root is the first that exists of: $PIKA_WEB_ROOT; <prefix>/share/
 * pika/web where <prefix> is the directory above the one holding the
 * executable (an installed /usr/bin/pika reads /usr/share/pika/web); the
 * source tree's web/dist (PIKA_SOURCE_DIR, a compile definition, for
 * running from a build tree).
 *
 * Resolution: the URL path (already percent-decoded by civetweb) is
 * refused if it holds a ".." segment, a backslash or a NUL; then joined to
 * the root and realpath()ed, and the result must lie inside the root's
 * realpath, so a symlink pointing out of the root is refused as well.
 * A path that names nothing answers index.html (client-side routing), "/"
 * and directories too.
 *
 * Thread-safety: reentrant; the root string is owned by the caller.
 */
#ifndef PIKA_SERVER_ASSETS_H
#define PIKA_SERVER_ASSETS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

/* Finds the asset root into buf (realpath'd). PK_ENOENT when none of the
 * candidates exists (buf then holds the last candidate tried, for the
 * message). */
int pk_assets_find_root(char *buf, size_t cap);

typedef enum pk_asset_result {
  PK_ASSET_FILE,     /* out is a regular file inside the root */
  PK_ASSET_INDEX,    /* nothing there: out is root/index.html (no-cache) */
  PK_ASSET_FORBIDDEN /* escapes the root: 403 */
} pk_asset_result;

/* Resolves url_path under root into out[PATH_MAX]: the file itself, or
 * root/index.html when the path names nothing (or a directory). Whether
 * index.html exists is for the caller to find out. */
pk_asset_result pk_assets_resolve(const char *root, const char *url_path,
                                  char out[PATH_MAX]);

/* Content-Type for a file name, by extension. Static storage. */
const char *pk_assets_mime(const char *path);

/* The Cache-Control value for a URL path: immutable for /assets/...,
 * no-cache otherwise. Static storage. */
const char *pk_assets_cache_control(const char *url_path);

#endif /* PIKA_SERVER_ASSETS_H */

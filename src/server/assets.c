/* assets.c — see assets.h. */
#include "server/assets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PIKA_SOURCE_DIR
#define PIKA_SOURCE_DIR "."
#endif

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool try_root(const char *cand, char *buf, size_t cap) {
  snprintf(buf, cap, "%s", cand);
  char real[PATH_MAX];
  if (!is_dir(cand) || !realpath(cand, real))
    return false;
  snprintf(buf, cap, "%s", real);
  return true;
}

int pk_assets_find_root(char *buf, size_t cap) {
  const char *env = getenv("PIKA_WEB_ROOT");
  if (env && *env)
    return try_root(env, buf, cap) ? PK_OK : PK_ENOENT;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
      *slash = '\0'; /* the bin directory */
      slash = strrchr(exe, '/');
      if (slash) {
        *slash = '\0'; /* the prefix */
        char cand[PATH_MAX + 32];
        snprintf(cand, sizeof cand, "%s/share/pika/web", exe);
        if (try_root(cand, buf, cap))
          return PK_OK;
      }
    }
  }
  return try_root(PIKA_SOURCE_DIR "/web/dist", buf, cap) ? PK_OK : PK_ENOENT;
}

static bool has_dotdot(const char *p) {
  for (const char *s = p; *s;) {
    while (*s == '/')
      s++;
    size_t l = strcspn(s, "/");
    if (l == 2 && s[0] == '.' && s[1] == '.')
      return true;
    s += l;
  }
  return false;
}

pk_asset_result pk_assets_resolve(const char *root, const char *url_path,
                                  char out[PATH_MAX]) {
  if (!url_path || url_path[0] != '/' || strchr(url_path, '\\') ||
      has_dotdot(url_path))
    return PK_ASSET_FORBIDDEN;
  char joined[PATH_MAX * 2];
  snprintf(joined, sizeof joined, "%s%s", root, url_path);
  char real[PATH_MAX];
  struct stat st;
  if (realpath(joined, real) && stat(real, &st) == 0) {
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) || (real[rl] != '/' && real[rl] != '\0'))
      return PK_ASSET_FORBIDDEN; /* a symlink out of the root */
    if (S_ISREG(st.st_mode)) {
      snprintf(out, PATH_MAX, "%s", real);
      return PK_ASSET_FILE;
    }
  }
  snprintf(out, PATH_MAX, "%s/index.html", root);
  return PK_ASSET_INDEX;
}

const char *pk_assets_mime(const char *path) {
  static const struct {
    const char *ext, *mime;
  } m[] = {{".html", "text/html; charset=utf-8"},
           {".js", "text/javascript; charset=utf-8"},
           {".mjs", "text/javascript; charset=utf-8"},
           {".css", "text/css; charset=utf-8"},
           {".json", "application/json"},
           {".svg", "image/svg+xml"},
           {".png", "image/png"},
           {".ico", "image/x-icon"},
           {".woff2", "font/woff2"},
           {".woff", "font/woff"},
           {".wasm", "application/wasm"},
           {".map", "application/json"},
           {".txt", "text/plain; charset=utf-8"}};
  const char *dot = strrchr(path, '.');
  if (dot && !strchr(dot, '/'))
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
      if (!strcasecmp(dot, m[i].ext))
        return m[i].mime;
  return "application/octet-stream";
}

const char *pk_assets_cache_control(const char *url_path) {
  return !strncmp(url_path, "/assets/", 8)
             ? "public, max-age=31536000, immutable"
             : "no-cache";
}

/* plotcols.c — plot_cols_get, the one function through which every plot
 * and image export loads its columns (server_int.h). This is the seam for
 * the engine's plot-column cache: today it builds engine/plot.h's query
 * and loads it with pk_cols_load; with the cache it will look the columns
 * up by (source, columns, catalog version) first, so that a new viewport
 * re-aggregates without running SQL again. */
#include "server/server_int.h"

int plot_cols_get(pk_server *s, pk_db_conn *c, const char *source,
                  const pk_plot_spec *spec, pk_cols **out, bool *cached,
                  pk_errmsg *e) {
  (void)s;
  *cached = false;
  pk_sqlbuf q = {0};
  int err = pk_plot_sql(spec, source, &q, e);
  if (!err)
    err = q.err ? pk_errmsg_set(e, PK_ENOMEM, "out of memory")
                : pk_cols_load(c, q.s, out, e);
  pk_sqlbuf_free(&q);
  return err;
}

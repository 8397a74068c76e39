#!/usr/bin/env python3
"""server_zoom.py PIKA DB [ZOOMS] — the server's side of a 100M-row zoom,
without a browser: starts `PIKA open --no-browser --db DB` (DB holds a table
`big` with DOUBLE columns x and y, e.g. made by
`pika query --db DB "CREATE TABLE big AS SELECT random() AS x,
random() + random() AS y FROM range(100000000)"`), asks for a 1500x950
scatter (a 750x475-cell density raster) of `SELECT x, y FROM big`, waits
until the density index is built, then requests ZOOMS viewports (default
12; alternately 100 %, 90 %, 80 % and 70 % of the extent) and prints, for
each, the round trip and the server's own elapsed_ms. Standard library
only."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request


def main():
    pika, db = sys.argv[1], sys.argv[2]
    zooms = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    home = tempfile.mkdtemp(prefix="pika-zoom-")
    p = subprocess.Popen([pika, "open", "--no-browser", "--db", db], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=dict(os.environ, PIKA_HOME=home), text=True)
    try:
        m = re.search(r"(http://127\.0\.0\.1:(\d+))/\?token=([0-9a-f]+)", p.stdout.readline())
        url, port, tok = m.group(1), m.group(2), m.group(3)
        hdr = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}

        def req(path, body=None):
            r = urllib.request.Request(url + path, headers=hdr,
                                       data=json.dumps(body).encode() if body else None)
            t = time.time()
            d = urllib.request.urlopen(r, timeout=600).read()
            return d, (time.time() - t) * 1000

        def plot(seq, vp):
            d, ms = req("/api/plot", {"plot": "p", "seq": seq, "sql": "SELECT x, y FROM big",
                                      "spec": {"kind": "scatter", "x": "x", "y": "y"},
                                      "viewport": vp, "width": 1500, "height": 950})
            n = int.from_bytes(d[8:12], "little")
            h = json.loads(d[16:16 + n])
            return ms, h["elapsed_ms"], h["points"]

        ms, el, pts = plot(1, None)
        print("first plot: %.0f ms (server %.0f ms), %d points" % (ms, el, pts))
        t0 = time.time()
        while True:
            st = json.loads(req("/api/status")[0])
            if not st["cache"]["indexing"] and st["tasks"]["running"] == 0:
                break
            time.sleep(0.05)
        print("density index ready %.0f ms later (indexes: %d)" % ((time.time() - t0) * 1000,
                                                                   st["cache"]["indexes"]))
        for k in range(zooms):
            z = 1 - 0.1 * (k % 4)
            vp = {"x0": 0.5 - 0.55 * z + 0.01 * k, "x1": 0.5 + 0.55 * z, "y0": 1 - 1.1 * z, "y1": 1 + 1.1 * z}
            ms, el, pts = plot(k + 2, vp)
            print("zoom %2d: %6.1f ms round trip, server %6.1f ms, %d points" % (k, ms, el, pts))
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    main()

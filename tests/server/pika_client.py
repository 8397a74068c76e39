#!/usr/bin/env python3
"""pika_client.py — the protocol tests' helper (standard library only).

  pkpl FILE                 decode a PKPL answer: print the JSON header with
                            every {"a","n"} array replaced by its values
  ws PORT TOKEN ORIGIN SECS [QUERY]
                            open /api/ws[?QUERY] with that Origin (or '-' for
                            none), print the upgrade's status line, then (if
                            101) send a ping and print each text frame
                            received within SECS seconds, one per line; then
                            close
"""
import base64
import json
import os
import socket
import struct
import sys
import time


def pkpl(path):
    b = open(path, "rb").read()
    assert b[:4] == b"PKPL", "bad magic %r" % b[:4]
    version, hlen, pad = struct.unpack_from("<III", b, 4)
    assert version == 1, version
    assert (16 + hlen + pad) % 8 == 0
    assert b[16 + hlen:16 + hlen + pad] == b"\0" * pad
    head = json.loads(b[16:16 + hlen].decode("utf-8"))
    data = b[16 + hlen + pad:]

    def expand(v):
        if isinstance(v, dict):
            if set(v) == {"a", "n"}:
                a, n = v["a"], v["n"]
                assert a % 8 == 0 and a + 8 * n <= len(data)
                return list(struct.unpack_from("<%dd" % n, data, a))
            return {k: expand(x) for k, x in v.items()}
        if isinstance(v, list):
            return [expand(x) for x in v]
        return v

    # NaN is not JSON: print it as null
    print(json.dumps(expand(head), allow_nan=True).replace("NaN", "null"))


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def send_text(s, text):
    payload = text.encode()
    mask = os.urandom(4)
    hdr = bytes([0x81])
    if len(payload) < 126:
        hdr += bytes([0x80 | len(payload)])
    else:
        hdr += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    s.sendall(hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))


def ws(port, token, origin, secs, query=""):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    path = "/api/ws" + ("?" + query if query else "")
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n"
           % (path, port, key, token))
    if origin != "-":
        req += "Origin: %s\r\n" % origin
    s.sendall((req + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        if not c:
            break
        head += c
    status = head.split(b"\r\n", 1)[0].decode()
    print(status, flush=True)
    if " 101 " not in status + " ":
        return
    send_text(s, '{"type":"ping"}')
    end = time.time() + float(secs)
    while time.time() < end:
        s.settimeout(max(0.05, end - time.time()))
        try:
            b0, b1 = recv_exact(s, 2)
        except (socket.timeout, EOFError):
            break
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", recv_exact(s, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", recv_exact(s, 8))[0]
        payload = recv_exact(s, n)
        if b0 & 0x0F == 1:
            print(payload.decode(), flush=True)
        elif b0 & 0x0F == 8:
            break
    s.close()


if __name__ == "__main__":
    if sys.argv[1] == "pkpl":
        pkpl(sys.argv[2])
    elif sys.argv[1] == "ws":
        ws(*sys.argv[2:7])
    else:
        sys.exit("unknown command")

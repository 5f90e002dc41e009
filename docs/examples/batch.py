#!/usr/bin/env python3
"""Super-resolve image files on a running phasesr server (`npx phasesr serve`) over its WebSocket batch API.

Only needs the `websockets` package (Debian: apt-get install python3-websockets; pip: pip install websockets).
The protocol is documented in docs/protocol.md; this file is the Python counterpart of
server/client/phasesr-client.ts and is tested against the server (test/server/batch-python.test.ts).

    python3 docs/examples/batch.py cells.tif cells-x8.tif --scale 8 [--server ws://127.0.0.1:8080/ws] [--token T]

Exit status: 0 done, 1 the server refused the job (its SR_ERR_ code is printed), 2 websockets is not installed,
3 no server reachable.
"""
import argparse
import asyncio
import hashlib
import json
import os
import struct
import sys

try:
    import websockets
except ImportError:
    print("batch.py needs the Python package websockets: apt-get install python3-websockets (Debian/Ubuntu)"
          " or pip install websockets", file=sys.stderr)
    sys.exit(2)

SUBPROTOCOL = "phasesr.v1"
# Binary frame header (docs/protocol.md, "Binary frames"): 32 bytes, little-endian.
# magic u32 | version u8 | kind u8 | layer u8 | encoding u8 | requestId u32 | level u16 | flags u16 |
# x u32 (chunk sequence number) | y u32 | width u16 | height u16 | payloadBytes u32
HEADER = struct.Struct("<IBBBBIHHIIHHI")
MAGIC = 0x31525350
KIND_UPLOAD_CHUNK, KIND_RESULT_CHUNK = 2, 3
FLAG_LAST = 1


class ServerRefused(Exception):
    """The server answered the job with an error: `code` is a stable SR_ERR_ code."""

    def __init__(self, code, message):
        super().__init__(f"{message} [{code}]")
        self.code = code


def upload_chunk(request_id, seq, payload, last):
    header = HEADER.pack(MAGIC, 1, KIND_UPLOAD_CHUNK, 0, 0, request_id, 0, FLAG_LAST if last else 0, seq, 0, 0, 0, len(payload))
    return header + payload


def connect(url, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # websockets >= 14 renamed extra_headers to additional_headers.
    major = int(websockets.__version__.split(".")[0])
    key = "additional_headers" if major >= 14 else "extra_headers"
    return websockets.connect(url, subprotocols=[SUBPROTOCOL], max_size=None, **{key: headers})


async def batch(url, src, dst, scale, token=None, request_id=1):
    """Uploads `src`, waits for the result and writes it to `dst` (through dst.partial, sha256 checked)."""
    async with connect(url, token) as ws:
        hello = json.loads(await ws.recv())
        limits = hello["limits"]
        chunk = min(limits["chunkBytes"], limits["maxPayloadBytes"] - HEADER.size)
        size = os.path.getsize(src)
        await ws.send(json.dumps({"type": "batch-begin", "id": request_id, "name": os.path.basename(src), "bytes": size, "scale": scale}))
        with open(src, "rb") as f:
            seq, sent = 0, 0
            while sent < size:
                data = f.read(chunk)
                if not data:
                    raise IOError(f"{src} shrank while uploading")
                sent += len(data)
                await ws.send(upload_chunk(request_id, seq, data, sent >= size))
                seq += 1
        await ws.send(json.dumps({"type": "batch-end", "id": request_id}))

        partial = dst + ".partial"
        out, digest, result = None, hashlib.sha256(), None
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    fields = HEADER.unpack_from(message)
                    magic, kind, rid, payload_bytes = fields[0], fields[2], fields[5], fields[12]
                    if magic != MAGIC or kind != KIND_RESULT_CHUNK or rid != request_id or out is None:
                        continue
                    payload = message[HEADER.size:HEADER.size + payload_bytes]
                    digest.update(payload)
                    out.write(payload)
                    continue
                msg = json.loads(message)
                if msg.get("id") != request_id:
                    continue
                if msg["type"] == "progress":
                    print(f"{msg['stage']}: {msg['done']}/{msg['total']}", file=sys.stderr)
                elif msg["type"] == "error":
                    raise ServerRefused(msg["code"], msg["message"])
                elif msg["type"] == "batch-result":
                    result = msg
                    for w in msg.get("warnings", []):
                        print(f"warning: {src}: {w}", file=sys.stderr)
                    out = open(partial, "wb")
                elif msg["type"] == "batch-done":
                    out.close()
                    if digest.hexdigest() != msg["sha256"]:
                        raise IOError("result damaged in transit (sha256 mismatch)")
                    os.replace(partial, dst)
                    return result
            raise IOError("the server closed the connection before the result was complete")
        finally:
            if out is not None and not out.closed:
                out.close()
            if os.path.exists(partial):
                os.remove(partial)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("input")
    p.add_argument("output", help="output TIFF (same dtype as the input, pixel size / scale)")
    p.add_argument("--scale", type=int, choices=[2, 4, 8], default=8)
    p.add_argument("--server", default="ws://127.0.0.1:8080/ws")
    p.add_argument("--token", default=os.environ.get("PHASESR_TOKEN"))
    a = p.parse_args()
    try:
        r = asyncio.run(batch(a.server, a.input, a.output, a.scale, a.token))
    except ServerRefused as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        if isinstance(e, ConnectionRefusedError) or "Connect call failed" in str(e):
            print(f"error: no phasesr server at {a.server}; start one with: npx phasesr serve", file=sys.stderr)
            return 3
        raise
    print(f"{a.output}: {r['width']}x{r['height']} {r['dtype']}, pixel size {r.get('pixelSize')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""20 concurrent uploads against the latency of WebSocket sends (issue 14's bound; docs/performance.md).

Not yet a scenario of `python -m bench`: a standalone run. It starts `chatd serve` as a
subprocess on a fresh data directory (tests/helpers_proc.py), has alice send DMs to bob one
at a time (about 30 a second, under the send rate limit) and times each ack, first alone,
then while 20 `curl` processes each upload a file of SIZE_MB MiB of distinct bytes.

    PYTHONPATH=. .venv/bin/python bench/uploads_vs_sends.py [SIZE_MB [DURABILITY [CURL_RATE]]]

for example `20 full` (uploads as fast as loopback takes them) or `10 full 1M` (each upload
limited to 1 MB/s by curl).
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

from chatd.client import connect
from tests import helpers_proc as proc

PW = "bench-password-123"
SIZE_MB = int(sys.argv[1]) if len(sys.argv) > 1 else 20

def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]

async def sends(a, bob, n):
    out = []
    for i in range(n):
        t = time.perf_counter()
        await a.request("chat_dm_send", {"peer": bob, "content": {"type": "text", "text": f"m{i}"}})
        out.append((time.perf_counter() - t) * 1000)
        await trio.sleep(0.03)
    return out

async def main(tmp: Path):
    data = tmp / "data"
    await proc.add_user(data, "alice", PW)
    await proc.add_user(data, "bob", PW)
    blob = tmp / "blob.bin"
    with open(blob, "wb") as f:
        for i in range(SIZE_MB):
            f.write(bytes([i % 256]) * (1 << 20))
    async with proc.serve(data, env=proc.clean_env(**({"CHATD_STORAGE_DURABILITY": sys.argv[2]} if len(sys.argv) > 2 else {}))) as srv:
        async with connect(srv.ws_url) as a:
            me = await a.login("alice", PW)
            tok = me["token"]
            async with connect(srv.ws_url) as b:
                bob = (await b.login("bob", PW))["user"]["id"]
            await sends(a, bob, 50)  # warm up
            quiet = await sends(a, bob, 300)
            # 20 uploads, each of distinct bytes (a different trailing byte) so none is deduplicated
            files = []
            for k in range(20):
                p = tmp / f"f{k}.bin"
                subprocess.run(["cp", str(blob), str(p)], check=True)
                with open(p, "ab") as f:
                    f.write(bytes([k]))
                files.append(p)
            t0 = time.perf_counter()
            procs = [subprocess.Popen(["curl", "-s"] + (["--limit-rate", sys.argv[3]] if len(sys.argv) > 3 else []) + [ "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {tok}",
                                       "--data-binary", f"@{p}", srv.http_url + "/api/v1/files"], stdout=subprocess.PIPE) for p in files]
            busy = []
            while any(p.poll() is None for p in procs):
                busy += await sends(a, bob, 20)
            took = time.perf_counter() - t0
            codes = [p.stdout.read().decode() for p in procs]
            for name, xs in (("quiet", quiet), ("during uploads", busy)):
                print(f"{name:16s} n={len(xs):4d} p50 {pct(xs,50):.2f} p95 {pct(xs,95):.2f} p99 {pct(xs,99):.2f} max {max(xs):.2f} ms")
            print(f"20 uploads of {SIZE_MB} MiB: {took:.2f} s, statuses {sorted(set(codes))}")

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        trio.run(main, Path(d))

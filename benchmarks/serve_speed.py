"""Speed of ``digitlab serve`` over loopback: throughput with one and two workers, latency under load, a phone photo, the first load.

Starts the real server (uvicorn, 127.0.0.1, a free port) in a child process, once with one worker and once with two
(``--workers 2``), warms each up, then measures and prints each figure beside its target, writing
``results/serve_speed.{json,md}``. The load comes from a lean asyncio HTTP/1.1 client (pre-built request bytes on
keep-alive connections), so on this 2-core machine the client takes little of the CPU the server needs.
  * issue 12: the highest sustained throughput of POST /api/predict with a 28x28 PNG (32 connections back to back),
    with 2 workers >= 360 answers/s, one worker's figure beside it; then an open-loop load at half the 2-worker
    throughput for 30 s (requests sent on schedule whatever the answers; latency from the scheduled time): p99 <= 30 ms,
    0 errors;
  * issue 5 (one worker): 32 concurrent clients: p50 <= 10 ms, p99 <= 50 ms, 0 errors; a ~3 MB phone-like JPEG
    (4000x3000): p50 <= 150 ms; first load of the page (index.html and the CSS, JS modules, icons and manifest it
    pulls in): <= 500 kB.
The model is ``--model``, else the shipped model, else a tiny one trained here (1 thread, 1000 images, 1 epoch).
Usage: python benchmarks/serve_speed.py [--model REF] [--seconds 20] [--open-seconds 30] [--clients 32] [--engine auto]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from common import write_results  # noqa: E402
from synthetic import load_mnist_test, make_photo  # noqa: E402

TARGETS = {
    "p50_ms": 10.0,
    "p99_ms": 50.0,
    "errors": 0,
    "jpeg_p50_ms": 150.0,
    "first_load_kb": 500.0,
    "rps_2_workers": 360.0,
    "open_p99_ms": 30.0,
}
REFERENCE = re.compile(r'<link[^>]+href="([^"]+)"|<(?:script|img)[^>]+src="([^"]+)"|(?:from|import)\s+\'([^\']+\.js)\'|"src":\s*"([^"]+)"')
BOUNDARY = "digitlabbenchmark"


def serve_forever(model: str, runs_dir: str, port: int, workers: int, engine: str) -> None:
    """Child-process mode: ``digitlab serve`` itself (``serve.main.serve``), loopback only, ``workers`` processes."""
    from digitlab.serve import Settings
    from digitlab.serve.main import serve

    serve("127.0.0.1", port, Settings(runs_dir=Path(runs_dir), model=model, workers=workers, engine=engine))


def pick_model(ref: str | None, tmp: Path) -> str:
    """``ref``, else the shipped model, else a tiny model trained into ``tmp``."""
    from digitlab.recognize.predictor import DEFAULT_MODEL

    if ref:
        return ref
    if DEFAULT_MODEL.is_file():
        return str(DEFAULT_MODEL)
    from digitlab.config import make_config
    from digitlab.runner import run_training
    from digitlab.steps import after_steps
    from digitlab.store import RunStore

    print("no shipped model: training a tiny one (1 thread, 1000 images, 1 epoch)")
    cfg = make_config({"threads": 1, "model": "fast", "train_subset": 1000, "val_size": 500, "epochs": 1})
    name, _ = run_training(cfg, runs_dir=tmp / "runs", store=RunStore(runs_dir=tmp / "runs"), after=after_steps(plots=False))
    return str(tmp / "runs" / name / "weights" / "best.pt")


def start_server(model: str, runs_dir: Path, workers: int, engine: str) -> tuple[subprocess.Popen, int]:
    """The server as a child process; returns it and its port once every worker answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, __file__, "--serve", "--model", model, "--runs-dir", str(runs_dir), "--port", str(port)]
    proc = subprocess.Popen([*argv, "--workers", str(workers), "--engine", engine], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=1).status_code == 200:
                time.sleep(2.0 * workers)  # the other workers load their model too
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def digit_png() -> bytes:
    """The first MNIST test digit as a 28x28 PNG (white ink on black, as in MNIST)."""
    buf = io.BytesIO()
    Image.fromarray(load_mnist_test(1)[0][0]).save(buf, "PNG")
    return buf.getvalue()


def phone_jpeg() -> bytes:
    """A 4000x3000 phone-like photo of a dark digit on paper, with noise, JPEG quality 95 (about 3 MB)."""
    rgb = make_photo(load_mnist_test(2)[0][1], np.random.default_rng(0), size=(3000, 4000))
    noisy = np.clip(rgb + np.random.default_rng(1).normal(0, 2.5, rgb.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile, NaN for no values."""
    return float(np.percentile(values, q)) if values else float("nan")


def predict_request(port: int, name: str, data: bytes) -> bytes:
    """The raw HTTP/1.1 bytes of POST /api/predict with one file (keep-alive)."""
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\nContent-Type: image/png\r\n\r\n'.encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = (
        f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive connection that sends a ready request and reads the answer's status (the body is skipped)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, request: bytes) -> bool:
        """True for a 200 answer."""
        self.writer.write(request)
        status = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await self.reader.readexactly(length)
        return status.split(b" ")[1:2] == [b"200"]

    def close(self) -> None:
        self.writer.close()


async def closed_loop(port: int, request: bytes, clients: int, seconds: float) -> dict:
    """``clients`` connections posting back to back for ``seconds``: throughput, latencies, errors."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        conn = await Connection.open(port)
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                ok = await conn.send(request)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                ok, conn = False, await Connection.open(port)
            latencies.append((time.perf_counter() - t0) * 1000) if ok else None
            errors += not ok
        conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "throughput_rps": len(latencies) / wall,
    }


async def open_loop(port: int, request: bytes, rate: float, seconds: float, pool: int = 64) -> dict:
    """Requests sent on a fixed schedule (``rate`` per second) whatever the answers; latency counts from the scheduled time."""
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    errors = 0

    async def one(due: float) -> None:
        nonlocal errors
        conn = await idle.get()
        try:
            ok = await conn.send(request)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            ok, conn = False, await Connection.open(port)
        latencies.append((time.perf_counter() - due) * 1000) if ok else None
        errors += not ok
        idle.put_nowait(conn)

    start, tasks = time.perf_counter() + 0.1, []
    for i in range(int(rate * seconds)):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait().close()
    return {
        "rate_rps": rate,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


def sequential_ms(port: int, name: str, data: bytes, n: int) -> list[float]:
    """Latencies of ``n`` requests one after another (one client)."""
    out = []
    with httpx.Client(timeout=60) as http:
        for _ in range(n):
            t0 = time.perf_counter()
            r = http.post(f"http://127.0.0.1:{port}/api/predict", files=[("files", (name, data, "application/octet-stream"))])
            r.raise_for_status()
            out.append((time.perf_counter() - t0) * 1000)
    return out


def first_load(url: str) -> dict:
    """Bytes of the page and of everything it references (CSS, JS modules followed through imports, icons, manifest)."""
    seen: dict[str, int] = {}
    todo = [f"{url}/"]
    with httpx.Client(timeout=10) as http:
        while todo:
            address = todo.pop()
            if address in seen:
                continue
            r = http.get(address)
            r.raise_for_status()
            seen[address] = len(r.content)
            if address.endswith(("/", ".html", ".js", ".css", ".webmanifest")):
                for m in REFERENCE.finditer(r.text):
                    todo.append(urljoin(address, next(g for g in m.groups() if g)))
    return {"bytes": sum(seen.values()), "files": {a.removeprefix(url): n for a, n in sorted(seen.items())}}


def one_worker(port: int, args: argparse.Namespace, png: bytes) -> dict:
    """The issue-5 figures and the one-worker throughput."""
    jpeg = phone_jpeg()
    sequential_ms(port, "warm.png", png, 50)
    sequential_ms(port, "warm.jpg", jpeg, 2)
    single = sequential_ms(port, "digit.png", png, 200)
    loaded = asyncio.run(closed_loop(port, predict_request(port, "digit.png", png), args.clients, args.seconds))
    photo = sequential_ms(port, "photo.jpg", jpeg, args.jpeg_requests)
    page = first_load(f"http://127.0.0.1:{port}")
    return {
        **loaded,
        "single_client_p50_ms": percentile(single, 50),
        "jpeg_bytes": len(jpeg),
        "jpeg_p50_ms": percentile(photo, 50),
        "first_load_kb": page["bytes"] / 1000,
        "first_load_files": page["files"],
    }


def two_workers(port: int, args: argparse.Namespace, png: bytes) -> dict:
    """Throughput with two workers, then the open-loop load at half of it."""
    request = predict_request(port, "digit.png", png)
    sequential_ms(port, "warm.png", png, 50)
    asyncio.run(closed_loop(port, request, args.clients, 3))  # every worker warm
    loaded = asyncio.run(closed_loop(port, request, args.clients, args.seconds))
    steady = asyncio.run(open_loop(port, request, loaded["throughput_rps"] / 2, args.open_seconds))
    return {"closed": loaded, "open": steady}


def measure(model: str, runs_dir: Path, args: argparse.Namespace) -> dict:
    """Every figure: a one-worker server, then a two-worker server, each in its own process."""
    png, out = digit_png(), {}
    for workers, run in ((1, one_worker), (2, two_workers)):
        proc, port = start_server(model, runs_dir, workers, args.engine)
        try:
            out[f"workers_{workers}"] = run(port, args, png)
        finally:
            proc.terminate()
            proc.wait(30)
    return out


def report(r: dict, args: argparse.Namespace) -> None:
    """Print each figure beside its target and write results/serve_speed.{json,md}."""
    ok = lambda v, t: "yes" if v <= t else "NO"  # noqa: E731
    one, two, steady = r["workers_1"], r["workers_2"]["closed"], r["workers_2"]["open"]
    rows = [
        ["2 workers: highest sustained throughput, 28x28 PNG", f"{two['throughput_rps']:.0f} answers/s", ">= 360 answers/s", "yes" if two["throughput_rps"] >= 360 else "NO"],
        ["1 worker, same run: throughput", f"{one['throughput_rps']:.0f} answers/s", "(reference)", ""],
        ["2 workers: speed-up over 1 worker", f"{two['throughput_rps'] / one['throughput_rps']:.2f}x", "(2 cores)", ""],
        [f"2 workers, open loop at {steady['rate_rps']:.0f}/s for {args.open_seconds:.0f} s: p99", f"{steady['p99_ms']:.1f} ms", "<= 30 ms", ok(steady["p99_ms"], 30)],
        ["same: p50", f"{steady['p50_ms']:.1f} ms", "", ""],
        ["same: errors", f"{steady['errors']} of {steady['requests'] + steady['errors']}", "0", ok(steady["errors"], 0)],
        [f"1 worker, {args.clients} clients, {args.seconds:.0f} s: p50", f"{one['p50_ms']:.1f} ms", "<= 10 ms", ok(one["p50_ms"], 10)],
        ["same: p99", f"{one['p99_ms']:.1f} ms", "<= 50 ms", ok(one["p99_ms"], 50)],
        ["same: errors", f"{one['errors']} of {one['requests'] + one['errors']}", "0", ok(one["errors"], 0)],
        ["predict 28x28 PNG, 1 client: p50", f"{one['single_client_p50_ms']:.1f} ms", "", ""],
        [f"predict {one['jpeg_bytes'] / 1e6:.1f} MB 4000x3000 JPEG: p50 of {args.jpeg_requests}", f"{one['jpeg_p50_ms']:.0f} ms", "<= 150 ms", ok(one["jpeg_p50_ms"], 150)],
        [f"first load ({len(one['first_load_files'])} files)", f"{one['first_load_kb']:.0f} kB", "<= 500 kB", ok(one["first_load_kb"], 500)],
    ]  # fmt: skip
    settings = {
        "clients": args.clients,
        "seconds": args.seconds,
        "open_seconds": args.open_seconds,
        "engine": args.engine,
        "model": args.model_used,
    }
    write_results("serve_speed", {"settings": settings, "targets": TARGETS, **r}, rows, ["figure", "measured", "target", "met"])


def main() -> None:
    """Parse the options; run the server (child mode) or the whole benchmark."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="run name, checkpoint or promoted model (default: shipped, else a tiny trained one)")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each closed-loop (throughput) load")
    p.add_argument("--open-seconds", type=float, default=30.0, help="length of the open-loop load")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--jpeg-requests", type=int, default=30)
    p.add_argument("--engine", default="auto", help="the server's engine: auto, torch or onnx")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # child-process mode
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve_forever(args.model, args.runs_dir, args.port, args.workers, args.engine)
    with tempfile.TemporaryDirectory() as tmp:
        args.model_used = pick_model(args.model, Path(tmp))
        report(measure(args.model_used, Path(args.runs_dir) if args.model else Path(tmp) / "runs", args), args)


if __name__ == "__main__":
    main()

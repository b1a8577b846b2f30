"""Speed of ``digitlab serve`` over loopback: prediction latency under load, a phone photo, and the page's first load.

Starts the real server (uvicorn, one worker, 127.0.0.1, a free port) in a child
process, warms it up, then measures with httpx and prints each figure beside its
target (issue 5), writing ``results/serve_speed.{json,md}``:
  * POST /api/predict with a 28x28 PNG, 32 concurrent clients for 30 s: p50 <= 10 ms, p99 <= 50 ms, 0 errors;
  * a ~3 MB phone-like JPEG (4000x3000): p50 <= 150 ms over ~30 requests;
  * first load of the page (index.html and the CSS, JS modules, icons and manifest it pulls in): <= 500 kB.
The model is ``--model``, else the shipped model, else a tiny one trained here (1 thread, 1000 images, 1 epoch).
Usage: python benchmarks/serve_speed.py [--model REF] [--seconds 30] [--clients 32] [--torch-threads 1] [--predict-slots 1]
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

MAX_REQUESTS = 200_000  # the load loop's bound besides its duration
TARGETS = {"p50_ms": 10.0, "p99_ms": 50.0, "errors": 0, "jpeg_p50_ms": 150.0, "first_load_kb": 500.0}
REFERENCE = re.compile(r'<link[^>]+href="([^"]+)"|<(?:script|img)[^>]+src="([^"]+)"|(?:from|import)\s+\'([^\']+\.js)\'|"src":\s*"([^"]+)"')


def serve_forever(model: str, runs_dir: str, port: int, torch_threads: int, predict_slots: int) -> None:
    """Child-process mode: the app of ``digitlab serve`` under uvicorn, one worker, loopback only."""
    import uvicorn

    from digitlab.serve import Settings, create_app

    app = create_app(Settings(runs_dir=Path(runs_dir), model=model, torch_threads=torch_threads, predict_slots=predict_slots))
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning")


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


def start_server(model: str, runs_dir: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    """The server as a child process; returns it and its base URL once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--model",
            model,
            "--runs-dir",
            str(runs_dir),
            "--port",
            str(port),
            "--torch-threads",
            str(args.torch_threads),
            "--predict-slots",
            str(args.predict_slots),
        ]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/info", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


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


async def load(url: str, png: bytes, clients: int, seconds: float) -> dict:
    """``clients`` coroutines posting ``png`` back to back until ``seconds`` pass (or MAX_REQUESTS): latencies and errors."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        """One client: post, wait for the answer, post again."""
        nonlocal errors
        while time.perf_counter() < deadline and len(latencies) + errors < MAX_REQUESTS:
            t0 = time.perf_counter()
            try:
                r = await http.post(f"{url}/api/predict", files=[("files", ("digit.png", png, "image/png"))])
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "throughput_rps": len(latencies) / wall,
    }


def sequential_ms(url: str, name: str, data: bytes, n: int) -> list[float]:
    """Latencies of ``n`` requests one after another (one client)."""
    out = []
    with httpx.Client(timeout=60) as http:
        for _ in range(n):
            t0 = time.perf_counter()
            r = http.post(f"{url}/api/predict", files=[("files", (name, data, "application/octet-stream"))])
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


def measure(url: str, args: argparse.Namespace) -> dict:
    """Every figure, after a warm-up."""
    png, jpeg = digit_png(), phone_jpeg()
    sequential_ms(url, "warm.png", png, 50)
    sequential_ms(url, "warm.jpg", jpeg, 2)
    single = sequential_ms(url, "digit.png", png, 200)
    loaded = asyncio.run(load(url, png, args.clients, args.seconds))
    photo = sequential_ms(url, "photo.jpg", jpeg, args.jpeg_requests)
    page = first_load(url)
    return {
        **loaded,
        "single_client_p50_ms": percentile(single, 50),
        "jpeg_bytes": len(jpeg),
        "jpeg_p50_ms": percentile(photo, 50),
        "first_load_kb": page["bytes"] / 1000,
        "first_load_files": page["files"],
    }


def report(r: dict, args: argparse.Namespace) -> None:
    """Print each figure beside its target and write results/serve_speed.{json,md}."""
    ok = lambda v, t: "yes" if v <= t else "NO"  # noqa: E731
    rows = [
        [f"predict 28x28 PNG, {args.clients} clients, {args.seconds:.0f} s: p50", f"{r['p50_ms']:.1f} ms", "<= 10 ms", ok(r["p50_ms"], 10)],
        ["same: p99", f"{r['p99_ms']:.1f} ms", "<= 50 ms", ok(r["p99_ms"], 50)],
        ["same: errors", f"{r['errors']} of {r['requests'] + r['errors']}", "0", ok(r["errors"], 0)],
        ["same: throughput", f"{r['throughput_rps']:.0f} req/s", "", ""],
        ["predict 28x28 PNG, 1 client: p50", f"{r['single_client_p50_ms']:.1f} ms", "", ""],
        [
            f"predict {r['jpeg_bytes'] / 1e6:.1f} MB 4000x3000 JPEG: p50 of {args.jpeg_requests}",
            f"{r['jpeg_p50_ms']:.0f} ms",
            "<= 150 ms",
            ok(r["jpeg_p50_ms"], 150),
        ],
        [f"first load ({len(r['first_load_files'])} files)", f"{r['first_load_kb']:.0f} kB", "<= 500 kB", ok(r["first_load_kb"], 500)],
    ]
    payload = {
        "settings": {
            "clients": args.clients,
            "seconds": args.seconds,
            "torch_threads": args.torch_threads,
            "predict_slots": args.predict_slots,
            "model": args.model_used,
        },
        "targets": TARGETS,
        **r,
    }
    write_results("serve_speed", payload, rows, ["figure", "measured", "target", "met"])


def main() -> None:
    """Parse the options; run the server (child mode) or the whole benchmark."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="run name, checkpoint or promoted model (default: shipped, else a tiny trained one)")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--jpeg-requests", type=int, default=30)
    p.add_argument("--torch-threads", type=int, default=1, help="torch threads per request in the server (0 = torch's default)")
    p.add_argument("--predict-slots", type=int, default=1, help="predictions running at once in the server (0 = no limit)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # child-process mode
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve_forever(args.model, args.runs_dir, args.port, args.torch_threads, args.predict_slots)
    with tempfile.TemporaryDirectory() as tmp:
        args.model_used = pick_model(args.model, Path(tmp))
        proc, url = start_server(args.model_used, Path(args.runs_dir) if args.model else Path(tmp) / "runs", args)
        try:
            report(measure(url, args), args)
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()

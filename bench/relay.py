"""The relay's throughput, side by side with nginx on the same machine in the same run.

    .venv/bin/hydrogen devnet up          # Postgres, Kafka, anvil come from the running devnet
    .venv/bin/python bench/relay.py [--seconds S] [--rounds M] [--workers W]

Starts a relay (`hydrogen relay serve`, W uvicorn workers, filesystem store) and an nginx
(W worker processes, sendfile on) on free ports, seeds one task in the read model with a
delivered 5 MB result image, then measures with wrk (M rounds each, medians):
  - status reads:  GET /v1/tasks/{id} (read model, `status_cache_s` 0.5 s)  vs nginx serving
                   the same JSON body from a file; requests per second;
  - downloads:     GET /v1/tasks/{id}/results/0 of the 5 MB image (creator via an API key, so
                   wrk can repeat one request)  vs nginx sending the same file; GB/s.
Goals (issue 6): >= 15,000 status reads/s on 2 cores, downloads >= 0.8x nginx.
Needs `wrk` and `nginx` (Debian: apt-get install -y wrk nginx-light).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from hydrogen.devnet.supervisor import Devnet
from relay_api.auth import hash_api_key
from relay_api.content_store import object_key

TASK_ID = "900000000001"
IMAGE_BYTES = 5 * 1024 * 1024
API_KEY = "hk_bench-" + "0" * 24
CREATOR = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def wrk(
    url: str, seconds: int, connections: int, headers: dict[str, str] | None = None
) -> tuple[float, float]:
    """(requests/s, bytes/s) as wrk reports them."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} error responses from {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out).groups()  # type: ignore[union-attr]
    scale = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]
    return rps, float(value) * scale


def nginx_conf(root: Path, port: int, workers: int) -> str:
    return f"""
worker_processes {workers};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    types {{ application/json json; image/png png; }}
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
    }}
}}
"""


def seed(dsn: str, chain_id: int, blob_dir: Path, image: bytes) -> None:
    digest = hashlib.sha256(image).digest()
    path = blob_dir / object_key(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image)
    with psycopg.connect(dsn, autocommit=True) as conn:
        unseed(conn, chain_id)
        conn.execute(
            """INSERT INTO tasks (chain_id, task_id, status, creator, task_type, version, created_at)
               VALUES (%s, %s, 'Completed', %s, 'SD', 1, now())""",
            (chain_id, TASK_ID, CREATOR),
        )
        (key_id,) = conn.execute(
            "INSERT INTO relay_api_keys (name, key_hash, rate_per_minute) VALUES ('bench', %s, 1000000000) RETURNING id",
            (hash_api_key(API_KEY),),
        ).fetchone()  # type: ignore[misc]
        conn.execute(
            """INSERT INTO relay_managed_tasks (request_id, api_key_id, chain_id, task_type,
                   args_sha256, args_hash, fee, status, task_id)
               VALUES ('bench', %s, %s, 'SD', %s, %s, 0, 'created', %s)""",
            (key_id, chain_id, digest, digest, TASK_ID),
        )
        conn.execute(
            "INSERT INTO relay_deliveries (chain_id, task_id, node, images, request_id) VALUES (%s, %s, '0xbench', 1, 'bench')",
            (chain_id, TASK_ID),
        )
        conn.execute(
            """INSERT INTO relay_blobs (chain_id, task_id, kind, node, image_index, owner, sha256,
                   size, content_type, expires_at)
               VALUES (%s, %s, 'result', '0xbench', 0, '0xbench', %s, %s, 'image/png', now() + interval '1 day')""",
            (chain_id, TASK_ID, digest, len(image)),
        )


def unseed(conn: psycopg.Connection, chain_id: int) -> None:  # type: ignore[type-arg]
    conn.execute("DELETE FROM relay_blobs WHERE task_id = %s AND owner = '0xbench'", (TASK_ID,))
    conn.execute(
        "DELETE FROM relay_deliveries WHERE task_id = %s AND request_id = 'bench'", (TASK_ID,)
    )
    conn.execute("DELETE FROM relay_managed_tasks WHERE request_id = 'bench'")
    conn.execute("DELETE FROM relay_api_keys WHERE name = 'bench'")
    conn.execute("DELETE FROM tasks WHERE chain_id = %s AND task_id = %s", (chain_id, TASK_ID))


def main() -> None:  # noqa: PLR0915  (one scenario, read top to bottom)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--devnet", type=Path, default=Path(os.environ.get("HYDROGEN_DEVNET_DIR", ".devnet"))
    )
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} not found: apt-get install -y wrk nginx-light")

    net = Devnet.open(args.devnet)
    deployment = net.layout.deployment_file
    chain_id = int(json.loads(deployment.read_text())["chainId"])
    image = os.urandom(IMAGE_BYTES)
    with tempfile.TemporaryDirectory(prefix="hydrogen-bench-relay-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx's workers run as another user when started by root
        blob_dir = root / "blobs"
        seed(net.postgres.dsn, chain_id, blob_dir, image)
        relay_port, nginx_port = free_port(), free_port()
        env = {
            **os.environ,
            "HYDROGEN_RELAY_HOST": "127.0.0.1",
            "HYDROGEN_RELAY_PORT": str(relay_port),
            "HYDROGEN_RELAY_PG_DSN": net.postgres.dsn,
            "HYDROGEN_RELAY_KAFKA_BOOTSTRAP": net.kafka.address,
            "HYDROGEN_RELAY_RPC_URL": net.anvil.address,
            "HYDROGEN_RELAY_DEPLOYMENT_FILE": str(deployment),
            "HYDROGEN_RELAY_BLOB_DIR": str(blob_dir),
            "HYDROGEN_RELAY_LOG_JSON": "true",
        }
        www = root / "www"
        (www / "v1/tasks").mkdir(parents=True)
        (root / "tmp").mkdir()
        relay_log = (root / "relay.log").open("wb")
        relay = subprocess.Popen(
            [sys.executable, "-m", "hydrogen", "relay", "serve", "--workers", str(args.workers)],
            env=env, stdout=relay_log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        (root / "nginx.conf").write_text(nginx_conf(root, nginx_port, args.workers))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        nginx_proc = subprocess.Popen(
            [nginx, "-c", str(root / "nginx.conf"), "-p", str(root), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            relay_url = f"http://127.0.0.1:{relay_port}"
            nginx_url = f"http://127.0.0.1:{nginx_port}"
            wait_http(f"{relay_url}/healthz")
            status_body = httpx.get(f"{relay_url}/v1/tasks/{TASK_ID}").content
            (www / f"v1/tasks/{TASK_ID}.json").write_bytes(status_body)
            (www / "image.png").write_bytes(image)
            for path in (www, *www.rglob("*")):
                path.chmod(0o755 if path.is_dir() else 0o644)
            wait_http(f"{nginx_url}/image.png")
            auth = {"Authorization": f"Bearer {API_KEY}"}
            got = httpx.get(f"{relay_url}/v1/tasks/{TASK_ID}/results/0", headers=auth, timeout=30)
            assert got.status_code == 200 and got.content == image, got.text[:300]

            rows = {"status rps": ([], []), "download B/s": ([], [])}
            for _ in range(args.rounds):
                rows["status rps"][0].append(
                    wrk(f"{relay_url}/v1/tasks/{TASK_ID}", args.seconds, 64)[0]
                )
                rows["status rps"][1].append(
                    wrk(f"{nginx_url}/v1/tasks/{TASK_ID}.json", args.seconds, 64)[0]
                )
                rows["download B/s"][0].append(
                    wrk(f"{relay_url}/v1/tasks/{TASK_ID}/results/0", args.seconds, 8, auth)[1]
                )
                rows["download B/s"][1].append(wrk(f"{nginx_url}/image.png", args.seconds, 8)[1])
        finally:
            for proc in (relay, nginx_proc):
                os.killpg(proc.pid, 15)
                proc.wait(20)
            with psycopg.connect(net.postgres.dsn, autocommit=True) as conn:
                unseed(conn, chain_id)

    print(
        f"relay vs nginx, {args.workers} worker(s) each, {os.cpu_count()} cores, medians of {args.rounds} x {args.seconds}s (wrk)"
    )
    ours, base = (statistics.median(v) for v in rows["status rps"])
    print(
        f"  status reads   relay {ours:>10,.0f} req/s   nginx {base:>10,.0f} req/s   ratio {ours / base:.2f}   (goal >= 15,000 req/s)"
    )
    ours, base = (statistics.median(v) for v in rows["download B/s"])
    print(
        f"  5 MB downloads relay {ours / 1e9:>10.2f} GB/s    nginx {base / 1e9:>10.2f} GB/s    ratio {ours / base:.2f}   (goal >= 0.80)"
    )


if __name__ == "__main__":
    main()

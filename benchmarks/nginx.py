"""The benchmark server: Debian's nginx with a generated config, on 127.0.0.1.

One worker, access_log off, keep-alive with a very high keepalive_requests,
serving /small (the 5 bytes "hello") and /big (1 MiB) from files in a
temporary directory under benchmarks/.work/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from workloads import SMALL, big_body

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
{affinity}
{user}
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; multi_accept on; }}
http {{
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    open_file_cache max=16;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {work}/www;
        location / {{ }}
        location = /upload {{ client_max_body_size 4m; return 200; }}
    }}
}}
"""


def find_nginx(install: bool = True) -> str:
    """Return the nginx binary's path, installing nginx-light with apt-get if
    it is missing and we are root. Raises SystemExit with the reason otherwise."""
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if path:
        return path
    if not install:
        raise SystemExit("nginx is not installed (apt-get install nginx-light) and --no-install was given")
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(
            "nginx is not installed and we cannot install it: "
            "need root and apt-get (run: apt-get install nginx-light)"
        )
    print("installing nginx-light with apt-get ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx-light"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        # The package lists may be missing on a fresh machine: update once, retry.
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(
            f"apt-get install nginx-light failed (exit {r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}"
        )
    # Debian starts the packaged service on install; we only want our own instance.
    subprocess.run(["service", "nginx", "stop"], capture_output=True)
    print("installed nginx-light", flush=True)
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(path):
        raise SystemExit("nginx-light installed but no nginx binary found")
    return path


def nginx_version(binary: str) -> str:
    r = subprocess.run([binary, "-v"], capture_output=True, text=True)
    return (r.stderr or r.stdout).strip().split(":", 1)[-1].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """Context manager: starts nginx on a free port, stops it on exit.

    `url` is "http://127.0.0.1:PORT" (no trailing slash)."""

    def __init__(self, binary: str, workdir: Path, cpu: int | None = None) -> None:
        self.binary = binary
        self.cpu = cpu  # pin the worker to this CPU, if given
        workdir.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="nginx-", dir=workdir)).resolve()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        www = self.work / "www"
        www.mkdir()
        (self.work / "tmp").mkdir()
        (www / "small").write_bytes(SMALL)
        (www / "big").write_bytes(big_body())
        # A master running as root would switch its worker to "nobody", which
        # may not read our work dir; keep the worker as the current user.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.work / "nginx.conf"
        affinity = "" if self.cpu is None else f"worker_cpu_affinity 1{'0' * self.cpu};"
        conf.write_text(CONFIG.format(work=self.work, port=self.port, user=user, affinity=affinity))
        self.proc = subprocess.Popen(
            [
                self.binary,
                "-c",
                str(conf),
                "-p",
                str(self.work),
                "-e",
                str(self.work / "error.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop nginx ourselves
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(self.url + "/small", timeout=1) as r:
                    if r.read() == SMALL:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.work / "error.log"
                detail = log.read_text()[-2000:] if log.exists() else ""
                self.stop()
                raise SystemExit(f"nginx did not start (exit {self.proc.returncode}):\n{detail}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # fast shutdown of master and worker
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)

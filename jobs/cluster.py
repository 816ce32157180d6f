"""A real multi-node Ray cluster on one machine, with token authentication, for tests and benchmarks.

Each node is a ``ray start --block`` process in its own process group, with its own temporary
folder, free loopback ports and explicit CPU count and object store size. Nothing listens on
anything but 127.0.0.1, and every node and client shares one generated token
(``RAY_AUTH_MODE=token`` + ``RAY_AUTH_TOKEN_PATH``): a client without it is refused.

Killing a node (``kill_node``) SIGKILLs its whole process group (``ray start``, raylet, workers),
which is what a lost machine looks like to the rest of the cluster. ``stop`` never uses
``ray stop`` (which would stop every Ray on the machine, other users' included).

    with LocalCluster(root) as c:
        c.start_head(num_cpus=1)
        c.add_node(num_cpus=1)
        subprocess.run([...], env=c.client_env())
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

# Loopback addresses that Ray does not rewrite to the machine's public IP (it does for 127.0.0.1):
# the head is 127.0.0.2, worker node i is 127.0.0.(2+i), like separate machines on a private network.
HOST = "127.0.0.2"


def node_ip(i: int) -> str:
    return f"127.0.0.{2 + i}"
AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on the loopback interface."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_token(path: Path, token: str | None = None) -> str:
    """Write a new 256-bit token (as ``ray get-auth-token --generate`` makes) to ``path``, mode 0600."""
    token = token or secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    return token


def ray_bin() -> str:
    exe = Path(sys.executable).with_name("ray")
    return str(exe) if exe.exists() else (shutil.which("ray") or "ray")


def http(method: str, url: str, token: str | None = None, body: Any = None,
         timeout: float = 10) -> tuple[int, str]:
    """One HTTP request; returns (status, body) without raising on 4xx/5xx."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, process group, name) for every process we can see."""
    table = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            name = (d / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(d.name)] = (int(fields[1]), int(fields[2]), name)
    return table


def descendants(root: int, include_group: bool = False) -> list[int]:
    """``root`` and all processes below it (and, optionally, in its process group)."""
    table = _proc_table()
    found = {root} if root in table else set()
    if include_group:
        found |= {pid for pid, (_, pgid, _) in table.items() if pgid == root}
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return sorted(found)


def ray_workers(root: int, title: str = "ray::") -> list[int]:
    """Ray worker processes below ``root`` whose title starts with ``title`` (e.g. ``ray::_file_task``)."""
    table = _proc_table()
    return [pid for pid in descendants(root, include_group=True) if table.get(pid, (0, 0, ""))[2].startswith(title)]


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a live process (VmHWM), in MiB; 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class LocalCluster:
    """A head node and worker nodes started with ``ray start`` on this machine (see the module doc)."""

    def __init__(self, root: str | Path | None = None, object_store_mb: int = 100,
                 env: dict[str, str] | None = None):
        # Ray's unix sockets live under the temp dir and their paths must stay under ~100 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="rc-", dir=root or "/tmp"))
        self.object_store_mb = object_store_mb
        self.token_path = self.root / "auth_token"
        self.token = write_token(self.token_path)
        self.extra_env = env or {}
        self.nodes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.gcs_port = self.dashboard_port = 0

    # -- environment -------------------------------------------------------------------------
    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in AUTH_ENV and k != "RAY_ADDRESS"}
        env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.token_path),
                    "RAY_USAGE_STATS_ENABLED": "0"})
        # Job entrypoints run `python ...`: make it this interpreter, as on a node set up with one environment.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.update(self.extra_env)
        return env

    def client_env(self, with_token: bool = True) -> dict[str, str]:
        """Environment for a driver or ``ray job`` client of this cluster (optionally without the token)."""
        env = self._base_env()
        env["RAY_ADDRESS"] = self.address
        if not with_token:
            env.pop("RAY_AUTH_TOKEN_PATH")
            env["HOME"] = str(self.root / "no-home")  # no ~/.ray/auth_token to fall back on
        return env

    @property
    def address(self) -> str:
        return f"{HOST}:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{HOST}:{self.dashboard_port}"

    # -- nodes -------------------------------------------------------------------------------
    def _start(self, args: list[str], num_cpus: int, resources: dict[str, float] | None) -> subprocess.Popen:
        i = len(self.nodes)
        ports = free_ports(6)
        cmd = [ray_bin(), "start", "--block", "--disable-usage-stats",
               f"--temp-dir={self.root / f'n{i}'}", f"--node-ip-address={node_ip(i)}",
               f"--num-cpus={num_cpus}", "--num-gpus=0",
               f"--object-store-memory={self.object_store_mb * 1024**2}",
               f"--node-manager-port={ports[0]}", f"--object-manager-port={ports[1]}",
               f"--dashboard-agent-listen-port={ports[2]}", f"--dashboard-agent-grpc-port={ports[3]}",
               f"--runtime-env-agent-port={ports[4]}", f"--metrics-export-port={ports[5]}",
               "--min-worker-port=0", "--max-worker-port=0", *args]
        if resources:
            cmd.append(f"--resources={json.dumps(resources)}")
        log = self.root / f"node{i}.log"
        self.logs.append(log)
        with open(log, "wb") as f:
            p = subprocess.Popen(cmd, env=self._base_env(), stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        self.nodes.append(p)
        return p

    def start_head(self, num_cpus: int = 1, resources: dict[str, float] | None = None,
                   timeout: float = 90, wait: bool = True) -> str:
        """Start the head (GCS, dashboard with the Jobs API on 127.0.0.2); return its address.

        With ``wait=False`` it returns once the GCS accepts connections (nodes can join), before the
        dashboard is up; ``add_node`` or ``wait_nodes`` wait for the rest.
        """
        self.gcs_port, self.dashboard_port, client_port = free_ports(3)
        self._start(["--head", f"--port={self.gcs_port}", "--include-dashboard=true",
                     f"--dashboard-host={HOST}", f"--dashboard-port={self.dashboard_port}",
                     f"--ray-client-server-port={client_port}"], num_cpus, resources)
        deadline = time.time() + timeout
        while True:
            if self.nodes[0].poll() is not None:
                raise RuntimeError(f"ray head exited with {self.nodes[0].returncode}:\n"
                                   f"{self.logs[0].read_text()[-3000:]}")
            try:
                socket.create_connection((HOST, self.gcs_port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise TimeoutError(f"the head's GCS did not come up in {timeout}s; logs in {self.root}")
                time.sleep(0.2)
        if wait:
            self.wait_nodes(1, max(1.0, deadline - time.time()))
        return self.address

    def add_node(self, num_cpus: int = 1, resources: dict[str, float] | None = None,
                 timeout: float = 90) -> int:
        """Start one more node joined to the head; return its index (for ``kill_node``)."""
        self._start([f"--address={self.address}"], num_cpus, resources)
        self.wait_nodes(self.alive(), timeout)
        return len(self.nodes) - 1

    def alive(self) -> int:
        return sum(p.poll() is None for p in self.nodes)

    def node_count(self) -> int:
        """Nodes the cluster sees as alive (from the dashboard)."""
        status, body = http("GET", f"{self.dashboard_url}/nodes?view=summary", self.token, timeout=5)
        if status != 200:
            return -1
        summary = json.loads(body)["data"]["summary"]
        return sum(n.get("raylet", {}).get("state") == "ALIVE" for n in summary)

    def wait_nodes(self, n: int, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for p, log in zip(self.nodes, self.logs):
                if p.poll() is not None:
                    raise RuntimeError(f"ray node exited with {p.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if self.node_count() >= n:
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"cluster did not reach {n} nodes in {timeout}s; logs in {self.root}")

    def pids(self, i: int) -> list[int]:
        """Processes of node ``i``: its process group and every descendant (workers start their own sessions)."""
        return descendants(self.nodes[i].pid, include_group=True)

    def kill_node(self, i: int) -> None:
        """SIGKILL every process of node ``i``: the machine is gone as far as the cluster can tell."""
        p = self.nodes[i]
        for pid in self.pids(i):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait()

    def stop(self, keep: bool = False) -> None:
        """Stop every node (SIGTERM, then SIGKILL after 3 s) and remove the temp folder."""
        for p in reversed(self.nodes):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 3
        for p in self.nodes:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
        for i, p in enumerate(self.nodes):  # whatever is left (workers, agents) goes too
            if p.poll() is None or self.pids(i):
                self.kill_node(i)
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

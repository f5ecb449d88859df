"""A real Milvus standalone server for the tests, from the PyPI package `milvus` (2.3.5).

The package carries the Milvus 2.3.5 standalone binary (embedded etcd, local
storage) and `milvus.MilvusServer`, which unpacks it into a data folder, writes
its config and starts it. We start it on free ports in a temporary folder, so a
test run never meets another Milvus, and hold the process of the binary itself,
so a test can kill it as a crash would.
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

STARTUP_SECONDS = 120
TIME_TICK_MS = 20


def _bind_reusing(port: int) -> socket.socket | None:
    """The `milvus` package's check that a port is free, but like Milvus's own listeners (SO_REUSEADDR): a port
    whose connections to a killed server linger in TIME_WAIT is free to start it again on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
    except OSError:
        sock.close()
        return None
    return sock


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MilvusServerProcess:
    """One Milvus standalone server: started, killed (as a crash would) and started again on the same data."""

    def __init__(self, data_dir: Path) -> None:
        from milvus import MilvusServer, MilvusServerConfig

        self.data_dir = data_dir
        config = MilvusServerConfig()
        ports = {key: _free_port() for key in config.configurable_items if key.endswith("_port")}
        config.try_bind_port = _bind_reusing
        # A strongly consistent read (hkai-qa's reads are) waits for the proxy's next time tick: every 200 ms by
        # default. The tests read after nearly every write, so the server ticks faster.
        config.set("proxy.timeTickInterval", TIME_TICK_MS)
        self._server = MilvusServer(config, wait_for_started=False, data_dir=str(data_dir), **ports)
        self.port = ports["proxy_port"]
        self.uri = f"http://127.0.0.1:{self.port}"
        self.start_seconds = 0.0

    def start(self) -> None:
        """Start the server and wait until it answers; RuntimeError with the end of its log when it cannot."""
        started = time.perf_counter()
        self._server.start()
        try:
            self._server.wait_started(timeout=STARTUP_SECONDS * 1000)
        except (TimeoutError, RuntimeError) as error:
            log = self.data_dir / "logs" / "milvus-stderr.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else "(no log)"
            self.stop()
            raise RuntimeError(f"Milvus did not start ({error}); the end of {log}:\n{tail}") from None
        self.start_seconds = time.perf_counter() - started

    @property
    def running(self) -> bool:
        process = self._server.server_proc
        return process is not None and process.poll() is None

    def kill(self) -> None:
        """SIGKILL the server binary: no goodbye to its clients, as when a server crashes or its machine dies."""
        process = self._server.server_proc
        process.kill()
        process.wait(timeout=30)
        self._server.server_proc = None
        self._server.stop()  # closes its log files

    def stop(self) -> None:
        self._server.stop()

    def remove_data(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)

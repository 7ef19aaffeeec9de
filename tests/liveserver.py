"""A real TierLedger server process on 127.0.0.1 for tests that need real sockets."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Live:
    base: str
    port: int
    pid: int


@contextlib.contextmanager
def live_server(url: str, data_dir: Path, *, start_seconds: float = 60) -> Iterator[Live]:
    """`tierledger serve` on a free port over `url`, as an operator starts it; stopped after."""
    port = free_port()
    env = os.environ | {
        "TIERLEDGER_DATABASE_URL": url,
        "TIERLEDGER_DATA_DIR": str(data_dir),
        "TIERLEDGER_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("the server exited") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield Live(base, port, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)

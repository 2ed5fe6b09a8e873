"""A real `ronda serve` process for end-to-end tests: started, killed, restarted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

RONDA = str(Path(sys.executable).parent / "ronda")
SAMPLE = Path(__file__).resolve().parents[2] / "src" / "ronda" / "samples" / "sample-city"
TOKEN = "e2e-token"
READY = re.compile(r"API on http://[^:]+:(\d+) ingest on :(\d+)")


class ServerProcess:
    def __init__(self, data_dir: Path, database: str, env: dict[str, str] | None = None) -> None:
        self.data_dir, self.database = data_dir, database
        self.env = {**os.environ, "RONDA_API_TOKEN": TOKEN, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.api = self.ingest = ""
        self.output: list[str] = []

    def run(self, *args: str) -> str:
        cmd = [RONDA, *args, "--database", self.database]
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self) -> None:
        cmd = [RONDA, "serve", "--port", "0", "--ingest-port", "0", "--database", self.database]
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            m = READY.search(line)
            if m:
                self.api = f"http://127.0.0.1:{m.group(1)}"
                self.ingest = f"http://127.0.0.1:{m.group(2)}"
                break
        else:
            raise AssertionError("server did not start:\n" + "".join(self.output))
        stream = self.proc.stdout
        threading.Thread(target=lambda: self.output.extend(stream), daemon=True).start()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last checkpoint."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

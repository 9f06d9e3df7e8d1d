"""The embedded server's CPU check: a prebuilt binary that dies of SIGILL is replaced by a source build."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from lmstudio_adapters.testing._native_build import cpu_signature, runs_on_this_cpu

SERVES_HEALTH = """\
import sys, http.server
port = int(sys.argv[sys.argv.index("--port") + 1])
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_a_binary_killed_by_an_illegal_instruction_does_not_run_here(tmp_path: Path) -> None:
    binary = _script(tmp_path, "sigill.sh", "#!/bin/sh\nkill -ILL $$\n")
    assert runs_on_this_cpu([str(binary)], tmp_path / "model.gguf", timeout=30) is False


def test_a_binary_that_serves_health_runs_here(tmp_path: Path) -> None:
    server = _script(tmp_path, "health.py", SERVES_HEALTH)
    assert runs_on_this_cpu([sys.executable, str(server)], tmp_path / "model.gguf", timeout=30) is True


def test_a_binary_failing_for_another_reason_is_not_rebuilt(tmp_path: Path) -> None:
    # A bad argument or missing file is reported by the real start, not fixed by a rebuild.
    binary = _script(tmp_path, "fails.sh", "#!/bin/sh\nexit 1\n")
    assert runs_on_this_cpu([str(binary)], tmp_path / "model.gguf", timeout=30) is True


def test_the_cpu_signature_is_stable_and_short() -> None:
    assert cpu_signature() == cpu_signature()
    assert len(cpu_signature()) == 16

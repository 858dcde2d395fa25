"""The peers of scenario 7 (`--peers`): LiteLLM's proxy and Portkey's gateway. Each is installed
from its registry at a pinned version into bench/out/peers (cached there, never committed),
configured for the same mock upstream with its logging, callbacks and storage kept to the
least, started on loopback, and checked end to end before it is measured. A peer that cannot be
installed, started or checked is reported as not available, with the reason; the run goes on."""

import json
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from procs import free_port, wait_listening

# The newest LiteLLM whose `proxy` extra installs from PyPI here: 1.108 and later pin companion
# packages (litellm-proxy, litellm-proxy-extras 0.4.110.post1 and later) that PyPI does not serve.
LITELLM_VERSION = "1.106.12"
PORTKEY_VERSION = "1.15.2"
# LiteLLM's docs (proxy/prod, proxy/server_tuning) recommend one uvicorn worker per pod, scaling
# out with more pods; on one 2-core machine that is one worker. Two workers (one per CPU, the
# older advice) measured slower here, sharing the cores with wrk and the mock: 57 against 80
# req/s at c=32.
LITELLM_WORKERS = 1
CACHE = Path(__file__).resolve().parents[1] / "out" / "peers"
PATH = "/v1/chat/completions"
NAMES = ("litellm", "portkey")
LABELS = {"litellm": "LiteLLM", "portkey": "Portkey"}

# LiteLLM's production settings (docs: proxy/prod): a master key, and here no database, so no
# spend, error or audit logs are written anywhere; no callbacks; quiet logging.
LITELLM_CONFIG = """\
model_list:
  - model_name: bench/nonstream
    litellm_params:
      model: openai/bench/nonstream
      api_base: http://127.0.0.1:{mock_port}/v1
      api_key: k

litellm_settings:
  set_verbose: false
  json_logs: false

general_settings:
  disable_spend_logs: true
  disable_error_logs: true
"""

# Portkey's Node server listens on every interface and has no option to say otherwise; this
# preload makes an unaddressed listen() take loopback, so the suite stays on 127.0.0.1.
LOOPBACK_PRELOAD = """\
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && args[1] == null) args[1] = "127.0.0.1";
  return listen.apply(this, args);
};
"""


class Unavailable(Exception):
    """Why a peer cannot be measured in this run."""


class Peers:
    """LiteLLM and Portkey, each installed, started and checked, or marked unavailable."""

    def __init__(self, fleet, out: Path, log):
        self.fleet = fleet
        self.out = out
        self.log = log
        self.master_key = "sk-bench-" + secrets.token_hex(16)
        self.entry: dict[str, Path] = {}
        self.ports: dict[str, int] = {}
        self.headers: dict[str, dict] = {}
        self.unavailable: dict[str, str] = {}

    def available(self) -> list[str]:
        return [n for n in NAMES if n not in self.unavailable]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{PATH}"

    def pid(self, name: str) -> int:
        return self.fleet.procs[name].pid

    def describe(self) -> dict:
        """What was measured and how, for the JSON and the table's notes."""
        return {
            "versions": {"litellm": LITELLM_VERSION, "portkey": PORTKEY_VERSION},
            "how": {
                "litellm": f"litellm[proxy] {LITELLM_VERSION} in a venv; uvicorn (its default "
                           f"server, uvloop), --num_workers {LITELLM_WORKERS} (its docs: one "
                           "worker per pod); master key, no database (so no spend or error "
                           "logs), no callbacks, LITELLM_LOG=ERROR (no access log), local "
                           "model cost map",
                "portkey": f"@portkey-ai/gateway {PORTKEY_VERSION} on Node {_node_version()}; "
                           "its Node server, one process (it has no worker option), --headless, "
                           "NODE_ENV=production; routed by x-portkey-provider: openai and "
                           "x-portkey-custom-host",
            },
            "unavailable": dict(self.unavailable),
        }

    # -- installing ---------------------------------------------------------------------------

    def install(self) -> None:
        """Installs (or finds cached) each peer; a failure marks that peer unavailable."""
        for name, install in (("litellm", self._install_litellm),
                              ("portkey", self._install_portkey)):
            try:
                self.entry[name] = install()
            except Unavailable as e:
                self.unavailable[name] = str(e)
                self.log(f"(7) {LABELS[name]} not available: {e}")

    def _install_litellm(self) -> Path:
        venv = CACHE / f"litellm-{LITELLM_VERSION}"
        exe, marker = venv / "bin" / "litellm", venv / ".installed"
        if marker.exists() and exe.exists():
            return exe
        self.log(f"(7) installing litellm[proxy]=={LITELLM_VERSION} into {venv} (once)")
        shutil.rmtree(venv, ignore_errors=True)  # whatever a broken earlier attempt left
        self._run("install-litellm", [sys.executable, "-m", "venv", str(venv)], 300)
        self._run("install-litellm", [str(venv / "bin" / "pip"), "install", "--quiet",
                                      "--disable-pip-version-check",
                                      f"litellm[proxy]=={LITELLM_VERSION}"], 1800)
        if not exe.exists():
            raise Unavailable(f"pip installed no {exe}")
        marker.write_text(f"litellm[proxy]=={LITELLM_VERSION}\n")
        return exe

    def _install_portkey(self) -> Path:
        prefix = CACHE / f"portkey-{PORTKEY_VERSION}"
        entry = prefix / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
        marker = prefix / ".installed"
        if marker.exists() and entry.exists():
            return entry
        if not (shutil.which("node") and shutil.which("npm")):
            raise Unavailable("node and npm not found (bench/run installs Debian's nodejs, npm)")
        self.log(f"(7) installing @portkey-ai/gateway@{PORTKEY_VERSION} into {prefix} (once)")
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        self._run("install-portkey", ["npm", "install", "--prefix", str(prefix), "--no-audit",
                                      "--no-fund", "--loglevel=error",
                                      f"@portkey-ai/gateway@{PORTKEY_VERSION}"], 900)
        if not entry.exists():
            raise Unavailable(f"npm installed no {entry}")
        marker.write_text(f"@portkey-ai/gateway@{PORTKEY_VERSION}\n")
        return entry

    def _run(self, name: str, argv: list[str], timeout: float) -> None:
        """Runs an install step; a failure becomes Unavailable with the log's last error."""
        try:
            self.fleet.run(name, argv, timeout=timeout)
        except (RuntimeError, OSError) as e:
            raise Unavailable(_last_error(self.out / "logs" / f"{name}.log") or str(e)) from e

    # -- running ------------------------------------------------------------------------------

    def start_all(self, mock_port: int, body: Path) -> None:
        """Starts each installed peer against the mock and checks that a request goes through
        it and comes back with the mock's own answer."""
        expected = _answer(f"http://127.0.0.1:{mock_port}{PATH}", body, {}, 10)
        for name in NAMES:
            if name in self.unavailable:
                continue
            try:
                start = self._start_litellm if name == "litellm" else self._start_portkey
                start(mock_port)
                got = self._until_ready(name, body)
                if got != expected:
                    raise Unavailable(f"answered {got!r}, not the mock's {expected!r}")
                self.log(f"(7) {LABELS[name]} answers with the mock's reply")
            except (Unavailable, RuntimeError, OSError) as e:
                self.fleet.stop(name)
                self.unavailable[name] = str(e)
                self.log(f"(7) {LABELS[name]} not available: {e}")

    def stop_all(self) -> None:
        for name in NAMES:
            self.fleet.stop(name)

    def _start_litellm(self, mock_port: int) -> None:
        config = self.out / "litellm.yaml"
        config.write_text(LITELLM_CONFIG.format(mock_port=mock_port))
        port = free_port()
        proc = self.fleet.start(
            "litellm",
            [str(self.entry["litellm"]), "--config", str(config), "--host", "127.0.0.1",
             "--port", str(port), "--num_workers", str(LITELLM_WORKERS)],
            env={"LITELLM_MASTER_KEY": self.master_key, "LITELLM_LOG": "ERROR",
                 "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
            cwd=self.out, group=True)
        wait_listening(port, proc, timeout=180)
        self.ports["litellm"] = port
        self.headers["litellm"] = {"Authorization": f"Bearer {self.master_key}"}

    def _start_portkey(self, mock_port: int) -> None:
        preload = self.out / "portkey-loopback.cjs"
        preload.write_text(LOOPBACK_PRELOAD)
        entry = self.entry["portkey"]
        port = free_port()
        proc = self.fleet.start(
            "portkey",
            ["node", "--require", str(preload), str(entry), f"--port={port}", "--headless"],
            env={"NODE_ENV": "production"}, cwd=entry.parent.parent, group=True)
        wait_listening(port, proc, timeout=60)
        self.ports["portkey"] = port
        # The mock's key goes upstream as the provider key (wrk sends `Authorization: Bearer k`).
        self.headers["portkey"] = {"x-portkey-provider": "openai",
                                   "x-portkey-custom-host": f"http://127.0.0.1:{mock_port}/v1"}

    def _until_ready(self, name: str, body: Path, timeout: float = 180.0) -> str:
        """The first answer through the peer: workers can accept before they serve."""
        deadline = time.monotonic() + timeout
        while True:
            proc = self.fleet.procs.get(name)
            if proc is None or proc.poll() is not None:
                raise Unavailable(f"exited before it answered; see logs/{name}.log")
            try:
                return _answer(self.url(name), body, self.headers[name], 30)
            except (OSError, ValueError, KeyError) as e:
                if time.monotonic() > deadline:
                    raise Unavailable(f"no answer after {timeout:.0f} s: {e}") from e
                time.sleep(1.0)


def _answer(url: str, body: Path, headers: dict, timeout: float) -> str:
    """The content of a chat completion's first choice; raises on any other reply."""
    req = urllib.request.Request(url, data=body.read_bytes(), method="POST", headers={
        "content-type": "application/json", "authorization": "Bearer k", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            reply = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise ValueError(f"HTTP {e.code}: {e.read()[:300]!r}") from e
    return reply["choices"][0]["message"]["content"]


def _last_error(log: Path) -> str:
    """The telling line of a failed pip or npm run: its last error line that is not a pointer
    elsewhere ("A complete log of this run ...") or advice."""
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    boilerplate = ("complete log", "in most cases", "npm error code")
    errors = [ln for ln in lines if "error" in ln.lower()
              and not any(b in ln.lower() for b in boilerplate)]
    return (errors or lines or [""])[-1][:300]


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"
    except OSError:
        return "?"

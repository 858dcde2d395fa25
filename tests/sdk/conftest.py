"""Fixtures that start the real `switchyard` binary on loopback for the official-SDK tests.

SWITCHYARD_BIN names the binary (default: target/debug/switchyard from the repository root).
"""
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("SWITCHYARD_BIN", str(ROOT / "target" / "debug" / "switchyard"))
MOCK_KEY = "test-key"
MOCK_AWS_SECRET = "test-secret-access-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


class Server:
    def __init__(self, args, health_path, env=None, cwd=None):
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="switchyard-", suffix=".log", delete=False)
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [BIN, *args, "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd or tempfile.mkdtemp(prefix="switchyard-cwd-"),
        )
        wait_until_up(self.root + health_path, self.proc)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def mock_script(tmp_path_factory) -> Path:
    """The mock upstream's script: one key, and a few scripted models."""
    return write(
        tmp_path_factory.mktemp("mock"),
        "mock.toml",
        f'''
api_key = "{MOCK_KEY}"
aws_secret_access_key = "{MOCK_AWS_SECRET}"

[models.rate-limited]
status = 429
retry_after = 7

[models.broken]
status = 500

[models.cut]
cut_after = 4
''',
    )


@pytest.fixture(scope="session")
def mock_upstream(mock_script):
    """`switchyard mock-upstream` on a free port; yields its root URL."""
    server = Server(["mock-upstream", "--script", str(mock_script)], "/mock/hits")
    yield server.root
    server.stop()


@pytest.fixture(scope="session")
def gateway():
    """`switchyard serve` with its embedded defaults (built-in mock provider); yields its root."""
    server = Server(["serve"], "/healthz")
    yield server.root
    server.stop()


@pytest.fixture(scope="session")
def gateway_to_mock(mock_upstream, tmp_path_factory):
    """`switchyard serve` with providers of every family pointed at the mock upstream, and the
    Responses door on."""
    config = write(
        tmp_path_factory.mktemp("gw"),
        "switchyard.toml",
        f'''
[responses]
enabled = true

[providers.up]
family = "openai"
base_url = "{mock_upstream}/v1"
api_key = "${{MOCK_UPSTREAM_KEY}}"

[providers.claude]
family = "anthropic"
base_url = "{mock_upstream}/v1"
api_key = "{MOCK_KEY}"

[providers.aws]
family = "bedrock"
base_url = "{mock_upstream}"
region = "us-east-1"
aws_access_key_id = "{MOCK_KEY}"
aws_secret_access_key = "{MOCK_AWS_SECRET}"

[models."aws/amazon.titan-embed-text-v2:0"]
kind = "embedding"

[providers.google]
family = "gemini"
base_url = "{mock_upstream}"
api_key = "{MOCK_KEY}"

[models."google/text-embedding-004"]
kind = "embedding"

[providers.cf]
family = "workers-ai"
base_url = "{mock_upstream}/client/v4"
api_key = "{MOCK_KEY}"
quirks = {{ account_id = "acct123" }}

[providers.cfo]
family = "workers-ai"
base_url = "{mock_upstream}/client/v4"
api_key = "{MOCK_KEY}"
quirks = {{ account_id = "acct123", openai_compatible = true }}

[models."up/gpt-4o-mini"]
input_usd_per_mtok = 0.15
output_usd_per_mtok = 0.60

[aliases]
fast = ["up/gpt-4o-mini"]
flaky = ["up/broken", "claude/claude-haiku-4-5"]
''',
    )
    server = Server(
        ["serve", "--config", str(config)],
        "/healthz",
        env={"MOCK_UPSTREAM_KEY": MOCK_KEY},
    )
    yield server
    server.stop()

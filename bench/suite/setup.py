"""What the suite runs against: the mock's script, the gateway's config, the request bodies,
and the three servers (mock upstream, floor proxy, gateway) on fresh loopback ports."""

import json
from pathlib import Path

from procs import Fleet, free_port, wait_listening

PATH = "/v1/chat/completions"

# Per-model behaviour of the mock upstream. Model ids carry the gateway's `bench/` prefix and
# the gateway is told to send them upstream unchanged, so all three paths send the same body.
MOCK_SCRIPT = """\
api_key = "k"

[models."bench/nonstream"]   # scenario 1 and the soak: a 24-word answer at once
words = 24

[models."bench/stream20"]    # scenario 2: 20 content chunks as fast as possible
words = 40
chunks = 20

[models."bench/idle"]        # scenario 4: first chunk at once, then one every 5 s (100 s)
words = 40
chunks = 20
tokens_per_sec = 0.2
"""

GATEWAY_CONFIG = """\
listen = "127.0.0.1:{port}"
store  = "sqlite://{store}"

[providers.bench]
family   = "openai"
base_url = "http://127.0.0.1:{mock_port}/v1"
api_key  = "k"

[models."bench/nonstream"]
upstream_model = "bench/nonstream"

[models."bench/stream20"]
upstream_model = "bench/stream20"

[models."bench/idle"]
upstream_model = "bench/idle"

# Scenario 3's full policy path: an alias with a 3-node fallback tree (each node the same
# upstream model, so every path sends the same body upstream).
[models."bench/backup1"]
upstream_model = "bench/nonstream"

[models."bench/backup2"]
upstream_model = "bench/nonstream"

[aliases]
full3 = ["bench/nonstream", "bench/backup1", "bench/backup2"]
"""

# Scenario 3's request headers: a declared class, data class and attribution metadata.
FULL_PATH_HEADERS = {
    "x-switchyard-class": "latency-critical",
    "x-switchyard-data-class": "internal",
    "x-switchyard-metadata": '{"team": "bench", "workflow": "scenario-3"}',
}


def prompt_1kb() -> str:
    words = "route the request to the cheapest model that meets the latency budget "
    return (words * (1024 // len(words) + 1))[:1024]


def write_bodies(out: Path) -> dict[str, Path]:
    """The request bodies: the same 1 KB prompt, plain or streaming."""
    bodies = {}
    for name, model, stream in [
        ("nonstream", "bench/nonstream", False),
        ("stream", "bench/stream20", True),
        ("idle", "bench/idle", True),
        ("full", "full3", False),
    ]:
        prompt = prompt_1kb()
        if name == "full":
            # Something for the detectors to find (and redact from the evidence).
            prompt = "Reply to ann.lee@example.com. " + prompt[:1024 - 30]
        body = {
            "model": model,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": prompt},
            ],
        }
        if stream:
            body["stream"] = True
        path = out / f"body-{name}.json"
        path.write_text(json.dumps(body))
        bodies[name] = path
    return bodies


class Servers:
    """The mock, the floor proxy and the gateway; each can be restarted on a new port."""

    def __init__(self, fleet: Fleet, out: Path, switchyard: str, floor: str):
        self.fleet = fleet
        self.out = out
        self.switchyard = switchyard
        self.floor_bin = floor
        self.ports: dict[str, int] = {}
        self.script = out / "mock.toml"
        self.script.write_text(MOCK_SCRIPT)
        # The gateway's event store, emptied for each run so no figure depends on what earlier
        # runs left (a store under 512 MiB is read whole at open, for its integrity check).
        self.store = (out / "switchyard.db").resolve()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.store}{suffix}").unlink(missing_ok=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{PATH}"

    def pid(self, name: str) -> int:
        return self.fleet.procs[name].pid

    def start_mock(self) -> None:
        port = free_port()
        proc = self.fleet.start("mock", [self.switchyard, "mock-upstream", "--listen",
                                         f"127.0.0.1:{port}", "--script", str(self.script)])
        wait_listening(port, proc)
        self.ports["mock"] = port

    def start_floor(self) -> None:
        port = free_port()
        proc = self.fleet.start("floor", [self.floor_bin, "--listen", f"127.0.0.1:{port}",
                                          "--upstream", f"127.0.0.1:{self.ports['mock']}"])
        wait_listening(port, proc)
        self.ports["floor"] = port

    def start_gateway(self) -> None:
        port = free_port()
        config = self.out / "switchyard.toml"
        config.write_text(GATEWAY_CONFIG.format(port=port, mock_port=self.ports["mock"],
                                                store=self.store))
        proc = self.fleet.start("gateway", [self.switchyard, "serve", "--config", str(config)],
                                env={"RUST_LOG": "info"})
        wait_listening(port, proc)
        self.ports["gateway"] = port

    def start_all(self) -> None:
        self.start_mock()
        self.start_floor()
        self.start_gateway()

    def restart_proxies(self) -> None:
        """Fresh floor and gateway processes, so peak RSS belongs to the next phase alone."""
        self.start_floor()
        self.start_gateway()

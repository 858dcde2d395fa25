"""The two load generators: wrk (closed loop, whole-response latency, req/s) and bench-probe
(time to first body byte, fixed-rate soak, idle streams). Each returns a dict of figures with
latencies in microseconds."""

import json
import subprocess
from pathlib import Path

WRK_SCRIPT = r"""
-- POSTs the body in BENCH_BODY with the mock's key, and prints one JSON line at the end.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer k"
-- Extra headers, one "Name: value" per line (scenario 3's policy headers).
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


class Loads:
    def __init__(self, fleet, out_dir: Path, probe_bin: str, wrk_bin: str = "wrk"):
        self.fleet = fleet
        self.probe_bin = probe_bin
        self.wrk_bin = wrk_bin
        self.script = out_dir / "bench.lua"
        self.script.write_text(WRK_SCRIPT)

    def wrk(self, url: str, body: Path, concurrency: int, seconds: float,
            headers: dict | None = None) -> dict:
        """Closed-loop load with wrk; latency is to the end of the response."""
        threads = 1 if concurrency < 2 else 2
        secs = max(1, round(seconds))
        argv = [self.wrk_bin, f"-t{threads}", f"-c{concurrency}", f"-d{secs}s",
                "--timeout", "10s", "-s", str(self.script), url]
        env = {"BENCH_BODY": str(body),
               "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in (headers or {}).items())}
        out = self.fleet.run("wrk", argv, timeout=secs + 30, env=env)
        for line in out.splitlines():
            if line.startswith("BENCH_JSON "):
                raw = json.loads(line[len("BENCH_JSON "):])
                errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
                secs_run = raw["duration_us"] / 1e6
                return {
                    "requests": raw["requests"],
                    "rps": raw["requests"] / secs_run if secs_run else 0.0,
                    "errors": errors,
                    "errors_detail": {k: v for k, v in raw.items() if k.startswith("errors_")},
                    "latency_us": {k: raw[k] for k in ("p50", "p90", "p99", "max")},
                }
        raise RuntimeError(f"wrk printed no summary:\n{out}")

    def probe(self, url: str, body: Path, mode: list[str], timeout: float) -> dict:
        out = self.fleet.run("probe", [self.probe_bin, "--url", url, "--body", str(body), *mode],
                             timeout=timeout)
        return json.loads(out.strip().splitlines()[-1])

    def ttfb(self, url: str, body: Path, concurrency: int, seconds: float, warmup: float) -> dict:
        """Closed loop with bench-probe: time to first body byte and to the end."""
        mode = ["load", "--concurrency", str(concurrency), "--seconds", str(seconds),
                "--warmup", str(warmup)]
        return self.probe(url, body, mode, timeout=seconds + warmup + 60)

    def soak(self, url: str, body: Path, rate: float, seconds: float) -> subprocess.Popen:
        """Starts a fixed-rate run; the caller samples memory and reads its result."""
        argv = [self.probe_bin, "--url", url, "--body", str(body), "rate", "--rate",
                f"{rate:.1f}", "--seconds", str(seconds), "--workers", "32"]
        return self.fleet.start("soak", argv, stdout=subprocess.PIPE)

    def hold(self, url: str, body: Path, streams: int, setup: float, hold: float) -> subprocess.Popen:
        """Starts an idle-streams run; it prints a `ready` line, then its result."""
        argv = [self.probe_bin, "--url", url, "--body", str(body), "--timeout", str(setup),
                "hold", "--streams", str(streams), "--setup", str(setup), "--hold", str(hold)]
        return self.fleet.start("hold", argv, stdout=subprocess.PIPE)

"""The scenarios of issue 5, each driven against the mock alone, the floor proxy and the
gateway in the same run. Each returns plain data; `report` turns it into the table."""

import json
import re
import resource
import statistics
import threading
import time
import urllib.request

from procs import cpu_seconds, cpu_used, memory_kb, tree_cpu

TARGETS = ("mock", "floor", "gateway")


def smoke(servers, bodies) -> None:
    """One request per target and body before any load: a broken setup fails here, loudly."""
    for name in TARGETS:
        for body in ("nonstream", "stream"):
            req = urllib.request.Request(
                servers.url(name), data=bodies[body].read_bytes(), method="POST",
                headers={"content-type": "application/json", "authorization": "Bearer k"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                text = resp.read().decode()
                if resp.status != 200:
                    raise RuntimeError(f"{name} answered {resp.status}: {text[:200]}")
                if body == "stream" and "[DONE]" not in text:
                    raise RuntimeError(f"{name}'s stream did not end with [DONE]")
                if name == "gateway" and resp.headers.get("x-switchyard-provider") != "bench":
                    raise RuntimeError("the gateway did not serve through the bench provider")


def _with_cpu(servers, target: str, load) -> dict:
    """Runs `load` and adds the CPU time the target process used per request: a figure the
    machine's other load disturbs far less than rates and latencies."""
    pid = servers.pid(target)
    before = cpu_seconds(pid)
    run = load()
    run["cpu_us_per_req"] = (cpu_seconds(pid) - before) * 1e6 / max(run["requests"], 1)
    return run


def _median_runs(runs: list[dict]) -> dict:
    """The run whose req/s is the median of the rounds (all its figures kept together)."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return dict(ordered[(len(ordered) - 1) // 2], rounds=[r["rps"] for r in runs])


def non_streaming(servers, loads, bodies, cfg) -> dict:
    """(1) Plain chat, 1 KB prompt: wrk at concurrency 1 and 32."""
    out = {}
    for conc in (1, 32):
        runs = {t: [] for t in TARGETS}
        for _ in range(cfg.rounds):
            for t in TARGETS:
                loads.wrk(servers.url(t), bodies["nonstream"], conc, cfg.warmup)
                runs[t].append(_with_cpu(servers, t, lambda: loads.wrk(
                    servers.url(t), bodies["nonstream"], conc, cfg.seconds)))
        out[f"c{conc}"] = {t: _median_runs(r) for t, r in runs.items()}
        cfg.log(f"(1) c={conc}: " + ", ".join(
            f"{t} {out[f'c{conc}'][t]['rps']:.0f} req/s" for t in TARGETS))
    return out


def policy_path(servers, loads, bodies, cfg) -> dict:
    """(3) Plain chat through the gateway's full policy and evidence path (classification of a
    prompt holding an e-mail address, declared class, data class and attribution headers, a
    decision over a 3-node fallback tree, events, metrics) against its minimal path (a direct
    `provider/model`, one target); the floor proxy alongside as the reference. Evidence is
    always written: the minimal path records its events too."""
    from setup import FULL_PATH_HEADERS
    out = {}
    for conc in (1, 32):
        runs = {"floor": [], "minimal": [], "full": []}
        for _ in range(cfg.rounds):
            for name, target, body, headers in [
                ("floor", "floor", "nonstream", None),
                ("minimal", "gateway", "nonstream", None),
                ("full", "gateway", "full", FULL_PATH_HEADERS),
            ]:
                url = servers.url(target)
                loads.wrk(url, bodies[body], conc, cfg.warmup, headers)
                runs[name].append(_with_cpu(servers, target, lambda: loads.wrk(
                    url, bodies[body], conc, cfg.seconds, headers)))
        out[f"c{conc}"] = {n: _median_runs(r) for n, r in runs.items()}
        row = out[f"c{conc}"]
        cfg.log(f"(3) c={conc}: floor {row['floor']['rps']:.0f}, minimal "
                f"{row['minimal']['rps']:.0f}, full {row['full']['rps']:.0f} req/s")
    return out


def streaming(servers, loads, bodies, cfg) -> dict:
    """(2) Streaming chat, 20 chunks: wrk for req/s and p99, bench-probe for TTFB."""
    out = {}
    for conc in (8, 256):
        runs = {t: [] for t in TARGETS}
        for _ in range(cfg.rounds):
            for t in TARGETS:
                url = servers.url(t)
                loads.wrk(url, bodies["stream"], conc, cfg.warmup)
                run = _with_cpu(servers, t, lambda: loads.wrk(url, bodies["stream"], conc,
                                                               cfg.seconds))
                run["probe"] = loads.ttfb(url, bodies["stream"], conc, cfg.seconds, cfg.warmup)
                runs[t].append(run)
        out[f"c{conc}"] = {t: _median_runs(r) for t, r in runs.items()}
        cfg.log(f"(2) c={conc}: " + ", ".join(
            f"{t} {out[f'c{conc}'][t]['rps']:.0f} req/s, TTFB p50 "
            f"{out[f'c{conc}'][t]['probe']['ttfb_us']['p50']} us" for t in TARGETS))
    return out


def stream_capacity() -> int:
    """How many streams one proxy can hold: it needs two descriptors per stream."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(0, (soft - 256) // 2)


def idle_streams(servers, loads, bodies, cfg) -> dict:
    """(4) Thousands of idle streams against a slow upstream: peak RSS of each proxy."""
    out = {}
    for wanted in cfg.idle_streams:
        streams = min(wanted, stream_capacity())
        row = {"requested": wanted, "streams": streams}
        for t in ("floor", "gateway"):
            servers.restart_proxies()
            pid = servers.pid(t)
            time.sleep(0.5)
            before = memory_kb(pid)
            proc = loads.hold(servers.url(t), bodies["idle"], streams, cfg.idle_setup, cfg.idle_hold)
            ready = json.loads(proc.stdout.readline() or b"{}")
            peak = before.get("VmRSS", 0)
            until = time.monotonic() + cfg.idle_hold * 0.8
            while time.monotonic() < until:
                peak = max(peak, memory_kb(pid).get("VmRSS", 0))
                time.sleep(0.2)
            held = memory_kb(pid)
            rest, _ = proc.communicate(timeout=cfg.idle_hold + 30)
            loads.fleet.stop("hold")
            done = json.loads(rest.decode().strip().splitlines()[-1]) if rest.strip() else {}
            row[t] = {
                "rss_before_kb": before.get("VmRSS", 0),
                "rss_held_kb": held.get("VmRSS", 0),
                "rss_peak_kb": max(peak, held.get("VmHWM", 0)),
                "established": ready.get("established", 0),
                "failed": ready.get("failed", 0),
                "setup_seconds": ready.get("setup_seconds"),
                "ended_early": done.get("ended_early"),
            }
            cfg.log(f"(4) {streams} streams via {t}: {row[t]['established']} established, "
                    f"peak RSS {row[t]['rss_peak_kb'] / 1024:.1f} MB")
        out[str(wanted)] = row
    servers.restart_proxies()
    return out


def soak(servers, loads, bodies, cfg) -> dict:
    """(5) Fixed rate at half the gateway's maximum, as measured just before with the soak's own
    client (bench-probe, heavier than wrk) at concurrency 32; RSS sampled every second."""
    servers.restart_proxies()
    pid = servers.pid("gateway")
    peak = loads.ttfb(servers.url("gateway"), bodies["nonstream"], 32, cfg.seconds, cfg.warmup)
    max_rps = peak["rps"]
    rate = max(1.0, max_rps / 2)
    proc = loads.soak(servers.url("gateway"), bodies["nonstream"], rate, cfg.soak_seconds)
    samples = []
    begin = time.monotonic()

    def sample():
        while proc.poll() is None:
            mem = memory_kb(pid)
            if mem:
                samples.append((time.monotonic() - begin, mem["VmRSS"]))
            time.sleep(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_bytes, _ = proc.communicate(timeout=cfg.soak_seconds + 60)
    sampler.join(timeout=5)
    loads.fleet.stop("soak")
    result = json.loads(out_bytes.decode().strip().splitlines()[-1])
    warm = min(10.0, cfg.soak_seconds * 0.25)
    # RSS under load is a sawtooth (the allocator returns freed pages to the system in bursts;
    # with mimalloc about ±2 MB every second or so), so one sample per point can land on a tooth
    # or a trough. Each point is the median of the samples in a window of a twentieth of the
    # soak (30 s of 600; at least one sample): after the warm-up, at the middle, at the end.
    window = max(1.0, cfg.soak_seconds / 20)

    def at(t):
        if not samples:
            return 0
        t = min(max(t, window / 2), cfg.soak_seconds - window / 2)
        near = sorted(rss for when, rss in samples if abs(when - t) <= window / 2)
        return near[len(near) // 2] if near else min(samples, key=lambda s: abs(s[0] - t))[1]

    start = at(warm + window / 2)
    middle, end = at(cfg.soak_seconds / 2), at(cfg.soak_seconds)
    out = {
        "rate": rate,
        "seconds": cfg.soak_seconds,
        "rss_start_kb": start,
        "rss_middle_kb": middle,
        "rss_end_kb": end,
        "rss_max_kb": max((s[1] for s in samples), default=0),
        "growth": (end - start) / start if start else None,
        "max_rps": max_rps,
        "requests": result["requests"],
        "errors": result["errors"],
        "errors_detail": {k: v for k, v in result.items() if k.startswith("errors_")},
        "missed": result.get("missed", 0),
        "achieved_rps": result["rps"],
        "latency_us": result["latency_us"],
        "samples": samples,
    }
    cfg.log(f"(5) soak {cfg.soak_seconds:.0f} s at {rate:.0f} req/s: RSS "
            f"{start / 1024:.1f} -> {middle / 1024:.1f} -> {end / 1024:.1f} MB, "
            f"{out['errors']} errors, {out['missed']} slots missed")
    return out


def peer_comparison(servers, peers, loads, bodies, cfg) -> dict:
    """(7) Scenario 1 through LiteLLM's proxy and Portkey's gateway, with the gateway measured
    alongside in the same rounds: req/s, latency, and CPU per request of each server's whole
    process tree (LiteLLM runs worker processes). A peer that fails under load is marked
    unavailable; the gateway failing is an error."""
    out = peers.describe()
    failed = out["unavailable"]
    names = ["gateway", *peers.available()]
    for conc in (1, 32):
        runs = {n: [] for n in names}
        for _ in range(cfg.rounds):
            for n in names:
                if n in failed:
                    continue
                if n == "gateway":
                    url, headers, pid = servers.url(n), None, servers.pid(n)
                else:
                    url, headers, pid = peers.url(n), peers.headers[n], peers.pid(n)
                try:
                    loads.wrk(url, bodies["nonstream"], conc, cfg.warmup, headers)
                    before = tree_cpu(pid)
                    run = loads.wrk(url, bodies["nonstream"], conc, cfg.seconds, headers)
                except RuntimeError as e:
                    if n == "gateway":
                        raise
                    failed[n] = f"failed under load at c={conc}: {e}"
                    continue
                after = tree_cpu(pid)
                run["cpu_us_per_req"] = cpu_used(before, after) * 1e6 / max(run["requests"], 1)
                # Processes that left the tree during the run (a server replacing its workers).
                run["processes_gone"] = len(set(before) - set(after))
                runs[n].append(run)
        out[f"c{conc}"] = {n: _median_runs(r) for n, r in runs.items() if r and n not in failed}
        cfg.log(f"(7) c={conc}: " + ", ".join(
            f"{n} {r['rps']:.0f} req/s ({r['errors']} errors)"
            for n, r in out[f"c{conc}"].items()))
    return out


def median(xs):
    return statistics.median(xs) if xs else 0


def evidence_and_classification(fleet, bins, cfg) -> dict:
    """(6) The two targets that are rates of one component, measured by their release examples:
    the evidence writer's sustained rate into a fresh SQLite file (200,000 events, chain
    verified after), and classification on a 32 KB prompt, one core."""
    examples = bins / "examples"
    out = {}
    text = fleet.run("writer", [str(examples / "writer_throughput"), "200000"], timeout=300)
    m = re.search(r"= (\d+) events/s; chain (\w+)", text)
    if m:
        out["writer"] = {"events_per_s": int(m.group(1)), "chain": m.group(2), "raw": text.strip()}
        cfg.log(f"(6) evidence writer: {m.group(1)} events/s, chain {m.group(2)}")
    text = fleet.run("classify", [str(examples / "throughput")], timeout=300)
    rates = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\w ]+): (\d+) bytes, (\d+) findings; classify (\d+) MB/s", line)
        if m:
            rates[m.group(1)] = {"bytes": int(m.group(2)), "findings": int(m.group(3)),
                                 "mb_per_s": int(m.group(4))}
    if rates:
        out["classification"] = rates
        cfg.log("(6) classification: " + ", ".join(
            f"{name} {r['mb_per_s']} MB/s" for name, r in rates.items()))
    return out

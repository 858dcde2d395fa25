"""Switchyard's benchmark suite (issue 5). Started by `bench/run`, which builds the binaries
and installs wrk first; see docs/benchmarks.md. Drives every scenario against
the mock upstream alone, the floor proxy and the gateway in one run, prints one table, and
writes the raw figures to OUT/results-TIMESTAMP.json. With --peers, also scenario 1 through
LiteLLM's proxy and Portkey's gateway (a table of its own). Only loopback addresses are used."""

import argparse
import datetime
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import report
import scenarios
from loads import Loads
from peers import Peers
from procs import Fleet
from setup import Servers, write_bodies


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    p.add_argument("--bin-dir", required=True, help="where the release binaries are")
    p.add_argument("--out", default="bench/out", help="results and logs (default bench/out)")
    p.add_argument("--quick", action="store_true", help="smoke run: everything shortened")
    p.add_argument("--seconds", type=float, help="length of each measured load run")
    p.add_argument("--rounds", type=int, default=1,
                   help="alternate the targets this many times; the median run is kept")
    p.add_argument("--soak-seconds", type=float, help="length of the soak (default 600)")
    p.add_argument("--only", default="1,2,3,4,5,6", help="scenarios to run, e.g. 1,2")
    p.add_argument("--peers", action="store_true",
                   help="also (7): scenario 1 through LiteLLM's proxy and Portkey's gateway, "
                        "installed on first use into bench/out/peers")
    args = p.parse_args(argv)
    quick = args.quick
    args.seconds = args.seconds or (2.0 if quick else 10.0)
    args.warmup = 1.0 if quick else 2.0
    args.soak_seconds = args.soak_seconds or (20.0 if quick else 600.0)
    args.idle_streams = [200, 1000] if quick else [1000, 10000]
    args.idle_setup = 60.0 if quick else 120.0
    args.idle_hold = 3.0 if quick else 10.0
    args.only = {s.strip() for s in args.only.split(",")}
    if args.peers:
        args.only.add("7")
    args.log = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr,
                                 flush=True)
    return args


def meta(cfg) -> dict:
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return ""
    return {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "git": cmd(["git", "rev-parse", "--short", "HEAD"]),
        "quick": cfg.quick,
        "seconds": cfg.seconds,
        "rounds": cfg.rounds,
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "wrk": cmd(["wrk", "--version"]).splitlines()[0:1],
        "rlimit_nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
    }


def main(argv) -> int:
    cfg = parse_args(argv)
    # Absolute: the peers run from their own directories and are handed paths under it.
    out = Path(cfg.out).resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    bins = Path(cfg.bin_dir)
    fleet = Fleet(out / ".pids", out / "logs")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {"meta": meta(cfg)}
    try:
        bodies = write_bodies(out)
        servers = Servers(fleet, out, str(bins / "switchyard"), str(bins / "floor-proxy"))
        loads = Loads(fleet, out, str(bins / "bench-probe"))
        peers = Peers(fleet, out, cfg.log)
        if "7" in cfg.only:
            peers.install()
        servers.start_all()
        scenarios.smoke(servers, bodies)
        cfg.log("mock, floor proxy and gateway answer; measuring")
        if "1" in cfg.only:
            results["non_streaming"] = scenarios.non_streaming(servers, loads, bodies, cfg)
        if "3" in cfg.only:
            results["policy_path"] = scenarios.policy_path(servers, loads, bodies, cfg)
        if "2" in cfg.only:
            results["streaming"] = scenarios.streaming(servers, loads, bodies, cfg)
        if "4" in cfg.only:
            results["idle_streams"] = scenarios.idle_streams(servers, loads, bodies, cfg)
        if "5" in cfg.only:
            results["soak"] = scenarios.soak(servers, loads, bodies, cfg)
        if "6" in cfg.only:
            results["components"] = scenarios.evidence_and_classification(fleet, bins, cfg)
        if "7" in cfg.only:
            peers.start_all(servers.ports["mock"], bodies["nonstream"])
            results["peers"] = scenarios.peer_comparison(servers, peers, loads, bodies, cfg)
            peers.stop_all()
        results["meta"]["loadavg_at_end"] = os.getloadavg()
    finally:
        fleet.stop_all()
    results["targets"] = report.targets(results)
    path = out / f"results-{stamp}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"Switchyard benchmarks, {results['meta']['started']}, git {results['meta']['git']}, "
          f"{results['meta']['cpus']} CPUs, {cfg.seconds:.0f} s per run"
          f"{' (quick)' if cfg.quick else ''}; ratios are gateway / floor proxy, same run\n")
    print(report.table(results))
    if "peers" in results:
        print("\n(7) the gateway and its peers, scenario 1, same rounds\n")
        print(report.peers_table(results["peers"]))
    print("\nTargets (issue 5):")
    print(report.verdicts(results["targets"]))
    print(f"\nRaw figures: {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)

"""The table the suite prints and the verdict on each issue-5 target. Ratios are to the floor
proxy measured in the same run; "added" figures are over the mock upstream alone."""

NA = "n/a (its scenario was not run)"


def _ms(us):
    return f"{us / 1000:.3f}"


def _ratio(a, b):
    return a / b if b else float("nan")


def _cpu_row(m, f, g):
    cpu = [x.get("cpu_us_per_req") for x in (m, f, g)]
    if None in cpu:
        return ("", "CPU us/req (own)", "?", "?", "?", "")
    return ("", "CPU us/req (own)", *(f"{c:.0f}" for c in cpu), f"{_ratio(cpu[2], cpu[1]):.2f}")


def rows(results: dict) -> list[tuple]:
    """(label, metric, mock, floor, gateway, gateway/floor) rows, as strings."""
    out = []
    s1 = results.get("non_streaming", {})
    for conc in ("c1", "c32"):
        r = s1.get(conc)
        if not r:
            continue
        m, f, g = r["mock"], r["floor"], r["gateway"]
        label = f"(1) plain, {conc.replace('c', 'c=')}"
        out.append((label, "req/s", f"{m['rps']:.0f}", f"{f['rps']:.0f}", f"{g['rps']:.0f}",
                    f"{_ratio(g['rps'], f['rps']):.2f}"))
        out.append(_cpu_row(m, f, g))
        for q in ("p50", "p99"):
            out.append(("", f"{q} ms", _ms(m["latency_us"][q]), _ms(f["latency_us"][q]),
                        _ms(g["latency_us"][q]),
                        f"{_ratio(g['latency_us'][q], f['latency_us'][q]):.2f}"))
        for q in ("p50", "p99"):
            fa = f["latency_us"][q] - m["latency_us"][q]
            ga = g["latency_us"][q] - m["latency_us"][q]
            out.append(("", f"added {q} us", "-", f"{fa}", f"{ga}", f"{_ratio(ga, fa):.2f}"))
    s2 = results.get("streaming", {})
    for conc in ("c8", "c256"):
        r = s2.get(conc)
        if not r:
            continue
        m, f, g = r["mock"], r["floor"], r["gateway"]
        label = f"(2) stream 20, {conc.replace('c', 'c=')}"
        out.append((label, "req/s", f"{m['rps']:.0f}", f"{f['rps']:.0f}", f"{g['rps']:.0f}",
                    f"{_ratio(g['rps'], f['rps']):.2f}"))
        out.append(_cpu_row(m, f, g))
        out.append(("", "p99 ms", _ms(m["latency_us"]["p99"]), _ms(f["latency_us"]["p99"]),
                    _ms(g["latency_us"]["p99"]),
                    f"{_ratio(g['latency_us']['p99'], f['latency_us']['p99']):.2f}"))
        for q in ("p50", "p99"):
            tm, tf, tg = (x["probe"]["ttfb_us"][q] for x in (m, f, g))
            out.append(("", f"TTFB {q} ms", _ms(tm), _ms(tf), _ms(tg), f"{_ratio(tg, tf):.2f}"))
        tm, tf, tg = (x["probe"]["ttfb_us"]["p50"] for x in (m, f, g))
        out.append(("", "added TTFB p50 us", "-", f"{tf - tm}", f"{tg - tm}",
                    f"{_ratio(tg - tm, tf - tm):.2f}"))
    s3 = results.get("policy_path", {})
    for conc in ("c1", "c32"):
        r = s3.get(conc)
        if not r:
            continue
        f = r["floor"]
        for path in ("minimal", "full"):
            g = r[path]
            label = f"(3) {path} path, {conc.replace('c', 'c=')}"
            out.append((label, "req/s", "-", f"{f['rps']:.0f}", f"{g['rps']:.0f}",
                        f"{_ratio(g['rps'], f['rps']):.2f}"))
            out.append(("", "CPU us/req (own)", "-", f"{f.get('cpu_us_per_req', 0):.0f}",
                        f"{g.get('cpu_us_per_req', 0):.0f}",
                        f"{_ratio(g.get('cpu_us_per_req', 0), f.get('cpu_us_per_req', 0)):.2f}"))
            out.append(("", "p50 ms", "-", _ms(f["latency_us"]["p50"]),
                        _ms(g["latency_us"]["p50"]),
                        f"{_ratio(g['latency_us']['p50'], f['latency_us']['p50']):.2f}"))
    for wanted, r in results.get("idle_streams", {}).items():
        f, g = r["floor"], r["gateway"]
        label = f"(4) {r['streams']} idle streams"
        if r["streams"] != int(wanted):
            label += f" (of {wanted}: fd limit)"
        out.append((label, "peak RSS MB", "-", f"{f['rss_peak_kb'] / 1024:.1f}",
                    f"{g['rss_peak_kb'] / 1024:.1f}",
                    f"{_ratio(g['rss_peak_kb'], f['rss_peak_kb']):.2f}"))
        out.append(("", "established", "-", f"{f['established']}", f"{g['established']}", ""))
    s5 = results.get("soak")
    if s5:
        label = f"(5) soak {s5['seconds']:.0f} s @ {s5['rate']:.0f}/s"
        for key, name in (("rss_start_kb", "RSS start MB (median)"),
                          ("rss_middle_kb", "RSS middle MB (median)"),
                          ("rss_end_kb", "RSS end MB (median)"), ("rss_max_kb", "RSS max MB")):
            out.append((label, name, "-", "-", f"{s5[key] / 1024:.1f}", ""))
            label = ""
        growth = s5["growth"]
        out.append(("", "RSS growth", "-", "-",
                    f"{growth * 100:+.1f}%" if growth is not None else "?", ""))
        out.append(("", "errors / requests", "-", "-", f"{s5['errors']} / {s5['requests']}", ""))
        out.append(("", "rate achieved / missed", "-", "-",
                    f"{s5['achieved_rps']:.0f}/s / {s5['missed']}", ""))
    s6 = results.get("components", {})
    if "writer" in s6:
        w = s6["writer"]
        out.append(("(6) evidence writer, SQLite", "events/s (200k, chained)", "-", "-",
                    f"{w['events_per_s']}", ""))
        out.append(("", "chain after", "-", "-", w["chain"], ""))
    label = "(6) classification, 32 KB"
    for name, r in s6.get("classification", {}).items():
        out.append((label, f"MB/s, {name} ({r['findings']} findings)", "-", "-",
                    f"{r['mb_per_s']}", ""))
        label = ""
    out.append(("(6) micro-benchmarks", "bench/run --micro", "", "", "", ""))
    ran = "peers" in results
    out.append(("(7) peers (LiteLLM, Portkey)", "table below" if ran else "bench/run --peers",
                "", "", "", ""))
    return out


def _layout(head: tuple, body: list[tuple]) -> str:
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    line = lambda r: "  ".join(  # noqa: E731
        c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(head), "-" * len(line(head)), *map(line, body)])


def table(results: dict) -> str:
    return _layout(("scenario", "metric", "mock", "floor", "gateway", "gw/floor"), rows(results))


PEERS = (("litellm", "LiteLLM", 30), ("portkey", "Portkey", 10))


def peer_rows(s7: dict) -> list[tuple]:
    """(label, metric, gateway, LiteLLM, Portkey) rows of scenario 7, as strings."""
    out = []
    for conc in ("c1", "c32"):
        r = s7.get(conc)
        if not r:
            continue
        g = r["gateway"]

        def cells(figure):
            return tuple(figure(r[n]) if n in r else "n/a" for n, _, _ in PEERS)

        label = f"(7) plain, {conc.replace('c', 'c=')}"
        out.append((label, "req/s", f"{g['rps']:.0f}", *cells(lambda x: f"{x['rps']:.0f}")))
        out.append(("", "gateway / peer req/s", "-",
                    *cells(lambda x: f"{_ratio(g['rps'], x['rps']):.1f}x")))
        out.append(("", "CPU us/req (own)", f"{g['cpu_us_per_req']:.0f}",
                    *cells(lambda x: f"{x['cpu_us_per_req']:.0f}")))
        for q in ("p50", "p99"):
            out.append(("", f"{q} ms", _ms(g["latency_us"][q]),
                        *cells(lambda x: _ms(x["latency_us"][q]))))
        out.append(("", "errors / requests", f"{g['errors']} / {g['requests']}",
                    *cells(lambda x: f"{x['errors']} / {x['requests']}")))
    return out


def peers_table(s7: dict) -> str:
    """Scenario 7's own table (its columns are not the main table's), with how each peer ran."""
    head = ("scenario", "metric", "gateway", *(label for _, label, _ in PEERS))
    notes = [f"  {label}: {s7['how'][n]}" for n, label, _ in PEERS]
    notes += [f"  {label}: not available: {why}" for n, label, _ in PEERS
              if (why := s7["unavailable"].get(n))]
    return _layout(head, peer_rows(s7)) + "\n" + "\n".join(notes)


def targets(results: dict) -> list[dict]:
    """Each issue-5 target: met, not met, inconclusive or not run, with the figure behind it."""
    out = []

    def verdict(name, ok, figure):
        out.append({"target": name, "status": "met" if ok else "not met", "figure": figure})

    s1 = results.get("non_streaming", {})
    if "c32" in s1:
        r = s1["c32"]
        x = _ratio(r["gateway"]["rps"], r["floor"]["rps"])
        verdict("plain c=32, minimal path: >= 0.7x floor req/s", x >= 0.7, f"{x:.2f}x")
    s3 = results.get("policy_path", {})
    if "c32" in s3:
        r = s3["c32"]
        x = _ratio(r["full"]["rps"], r["floor"]["rps"])
        verdict("plain c=32, full policy and evidence path: >= 0.5x floor req/s", x >= 0.5,
                f"{x:.2f}x (minimal path {_ratio(r['minimal']['rps'], r['floor']['rps']):.2f}x)")
    else:
        out.append({"target": "plain c=32, full policy and evidence path: >= 0.5x floor req/s",
                    "status": "not run", "figure": NA})
    if "c1" in s1:
        m, f, g = (s1["c1"][t]["latency_us"] for t in ("mock", "floor", "gateway"))
        fa, ga = f["p50"] - m["p50"], g["p50"] - m["p50"]
        verdict("c=1: added p50 <= 2x floor's added p50", ga <= 2 * max(fa, 0),
                f"gateway +{ga} us, floor +{fa} us")
        ga99 = g["p99"] - m["p99"]
        if m["p99"] > min(f["p99"], g["p99"]):
            # The upstream alone had the worst tail: what the machine's other load did, not
            # what a proxy added. No verdict either way.
            out.append({"target": "c=1: added p99 <= 0.5 ms", "status": "inconclusive",
                        "figure": f"mock alone p99 {m['p99']} us > floor {f['p99']} us or "
                                  f"gateway {g['p99']} us: machine noise; rerun with --rounds"})
        else:
            verdict("c=1: added p99 <= 0.5 ms", ga99 <= 500, f"+{ga99} us")
    s2 = results.get("streaming", {})
    for conc in ("c8", "c256"):
        if conc in s2:
            r = s2[conc]
            x = _ratio(r["gateway"]["rps"], r["floor"]["rps"])
            verdict(f"stream {conc.replace('c', 'c=')}: >= 0.6x floor req/s", x >= 0.6,
                    f"{x:.2f}x")
    if "c8" in s2:
        r = s2["c8"]
        mock = r["mock"]["probe"]["ttfb_us"]["p50"]
        added = r["gateway"]["probe"]["ttfb_us"]["p50"] - mock
        floor = r["floor"]["probe"]["ttfb_us"]["p50"] - mock
        verdict("stream c=8: added TTFB p50 <= 100 us", added <= 100,
                f"gateway +{added} us (floor +{floor} us)")
    for wanted, r in results.get("idle_streams", {}).items():
        if int(wanted) == 1000:
            g = r["gateway"]
            ok = g["established"] >= r["streams"] and g["rss_peak_kb"] <= 64 * 1024
            verdict("1,000 streams: <= 64 MB RSS", ok,
                    f"{g['rss_peak_kb'] / 1024:.1f} MB, {g['established']} established")
    s5 = results.get("soak")
    if s5 and s5["growth"] is not None:
        verdict("soak: <= 10% RSS growth", s5["growth"] <= 0.10,
                f"{s5['growth'] * 100:+.1f}% over {s5['seconds']:.0f} s, {s5['errors']} errors, "
                f"{s5['missed']} slots missed")
    s6 = results.get("components", {})
    name = "evidence writer: >= 50,000 events/s on SQLite"
    if "writer" in s6:
        w = s6["writer"]
        verdict(name, w["events_per_s"] >= 50_000 and w["chain"] == "intact",
                f"{w['events_per_s']} events/s, chain {w['chain']}")
    else:
        out.append({"target": name, "status": "not run", "figure": NA})
    name = "classification: >= 200 MB/s on one core"
    rates = s6.get("classification", {})
    # Judged on prompts as they come (clean, or a few findings); a prompt that is PII every
    # ~34 bytes is reported beside it.
    judged = {k: r for k, r in rates.items() if k != "pii"}
    if judged:
        slowest = min(r["mb_per_s"] for r in judged.values())
        figure = ", ".join(f"{k} {r['mb_per_s']} MB/s" for k, r in rates.items())
        verdict(name, slowest >= 200, figure)
    else:
        out.append({"target": name, "status": "not run", "figure": NA})
    out.extend(peer_targets(results.get("peers")))
    return out


def peer_targets(s7: dict | None) -> list[dict]:
    """--peers: the gateway's c=32 req/s over each peer's, from the same rounds."""
    out = []
    for name, label, need in PEERS:
        target = f"--peers, plain c=32: >= {need}x {label}'s req/s"
        r = (s7 or {}).get("c32", {})
        if s7 is None:
            out.append({"target": target, "status": "not run", "figure": "bench/run --peers"})
        elif name in s7["unavailable"] or name not in r:
            why = s7["unavailable"].get(name, "not measured")
            out.append({"target": target, "status": "not measurable",
                        "figure": f"{label} not available: {why}"})
        else:
            g, p = r["gateway"], r[name]
            x = _ratio(g["rps"], p["rps"])
            figure = f"{x:.1f}x (gateway {g['rps']:.0f} req/s, {label} {p['rps']:.0f} req/s)"
            # A server that answers with errors is fast for the wrong reason: no verdict.
            bad = [(who, m) for who, m in (("gateway", g), (label, p))
                   if m["errors"] > 0.01 * max(m["requests"], 1)]
            if bad:
                out.append({"target": target, "status": "inconclusive", "figure": figure + "; "
                            + ", ".join(f"{who} had {m['errors']} errors in {m['requests']}"
                                        for who, m in bad)})
            else:
                out.append({"target": target, "status": "met" if x >= need else "not met",
                            "figure": figure})
    return out


def verdicts(items: list[dict]) -> str:
    width = max(len(i["status"]) for i in items) + 2
    return "\n".join(f"{('[' + i['status'] + ']').ljust(width + 1)} {i['target']}: {i['figure']}"
                     for i in items)

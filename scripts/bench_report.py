"""Turn a benchmark result (see bench.py) into the issue's targets, a console table and README Markdown."""

from __future__ import annotations

from typing import Any

NA = "n/a (not implemented)"
Row = tuple[str, str, str, str, str]  # section, metric, plugin (or with), stock (or without), ratio


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    lat, over, rss = result["latency"], result["overhead"], result["memory"]["plugin"]
    found = [
        _target(
            "latency below stock's (median)", f"{lat['plugin']['median_ms']:.2f} ms vs {lat['stock']['median_ms']:.2f} ms", lat["ratio"] < 1
        ),
        _target("own overhead < 2 ms (median)", f"{over['plugin']['median_ms']:.2f} ms", over["plugin"]["median_ms"] < 2.0),
    ]
    for clients, level in result["throughput"].items():
        found.append(
            _target(
                f"throughput >= stock's, {clients} client(s)",
                f"{level['plugin']['per_s']:.0f}/s vs {level['stock']['per_s']:.0f}/s",
                level["ratio"] >= 1,
            )
        )
    found.append(_target(f"RSS growth < 50 MB over {rss['calls']} calls", f"{rss['growth_mb']:+.1f} MB", rss["growth_mb"] < 50))
    return found


def _target(name: str, value: str, met: bool) -> dict[str, Any]:
    return {"target": name, "value": value, "met": bool(met)}


def rows(result: dict[str, Any]) -> list[Row]:
    lat, over, thr, dlv, cache, mem = (result[k] for k in ("latency", "overhead", "throughput", "delivery", "cache", "memory"))
    out: list[Row] = []
    for stat in ("median_ms", "p95_ms"):
        label = stat.replace("_ms", " ms")
        p, s = lat["plugin"][stat], lat["stock"][stat]
        out.append(("1. latency, EmptyImage→ImageInvert→SaveImage", label, _ms(p), _ms(s), _ratio(p, s)))
    for stat in ("median_ms", "p95_ms"):
        label = stat.replace("_ms", " ms")
        p, s = over["plugin"][stat], over["stock"][stat]
        out.append(("2. overhead: end-to-end minus ComfyUI execution", label, _ms(p), _ms(s), _ratio(p, s)))
    section = "2. overhead: end-to-end minus ComfyUI execution"
    if over.get("plugin_handler"):
        own = _ms(over["plugin_handler"]["median_ms"])
        out.append((section, "of which in the plugin's handler (Server-Timing connect), median ms", own, "", ""))
    if over.get("comfyui_handoff"):
        handoff = _ms(over["comfyui_handoff"]["median_ms"])
        out.append((section, "of which ComfyUI queue/worker hand-off (Server-Timing comfyui − execution), median ms", handoff, "", ""))
    trip = _ms(over["http_round_trip"]["median_ms"])
    out.append(("2. overhead: end-to-end minus ComfyUI execution", "for scale: one bare HTTP round trip, median ms", trip, trip, ""))
    for clients, level in thr.items():
        p, s = level["plugin"]["per_s"], level["stock"]["per_s"]
        out.append(("3. throughput, calls/s", f"{clients} client{'s' if clients != '1' else ''}", f"{p:.0f}", f"{s:.0f}", _ratio(p, s)))
    for who in ("server", "client"):
        p, s = (thr["1"][side][f"{who}_cpu_ms"] for side in ("plugin", "stock"))
        out.append(("3. throughput, calls/s", f"{who} CPU per call, 1 client, ms", _ms(p), _ms(s), _ratio(p, s)))
    image = f"4. delivery, one 2048×2048 PNG ({dlv['image_bytes'] / 1e6:.1f} MB)"
    p, s = dlv["base64"]["median_ms"], dlv["stock_view"]["median_ms"]
    out.append((image, "base64 JSON vs stock /view, median ms", _ms(p), _ms(s), _ratio(p, s)))
    if "plugin_handler_median_ms" in dlv["base64"]:
        out.append(
            (image, "of which in the plugin's handler (read + encode), median ms", _ms(dlv["base64"]["plugin_handler_median_ms"]), "", "")
        )
    p, s = dlv["base64"]["wire_bytes"], dlv["stock_view"]["wire_bytes"]
    out.append((image, "bytes read by the client", f"{p / 1e6:.1f} MB", f"{s / 1e6:.1f} MB", _ratio(p, s)))
    for mode in ("url", "raw"):
        value = dlv[mode]
        shown = value if isinstance(value, str) else f"{_ms(value['median_ms'])} ms, {value['wire_bytes'] / 1e6:.1f} MB"
        out.append((image, f"{mode} delivery, median", shown, "", ""))
    calls = cache["with"]["n"]
    section = f"5. `!cache`: two workflows, two checkpoints, alternating ({calls} calls each way)"
    out.append((section, "model loads", str(cache["with"]["loads"]), str(cache["without"]["loads"]), ""))
    for stat in ("mean_ms", "median_ms"):
        w, wo = cache["with"][stat], cache["without"][stat]
        out.append((section, stat.replace("_ms", " ms per call"), _ms(w), _ms(wo), _ratio(w, wo)))
    for side in ("plugin", "stock"):
        m = mem[side]
        out.append(
            (f"6. ComfyUI RSS over {m['calls']} calls", f"{side}: before → after", f"{m['before_mb']:.0f} → {m['after_mb']:.0f} MB", "", "")
        )
    p, s = mem["plugin"]["growth_mb"], mem["stock"]["growth_mb"]
    out.append((f"6. ComfyUI RSS over {mem['plugin']['calls']} calls", "growth", f"{p:+.1f} MB", f"{s:+.1f} MB", ""))
    return out


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else ""


def _header(result: dict[str, Any]) -> str:
    m = result["machine"]
    return (
        f"{m['cpus']} cores ({m['cpu_model']}), {m['memory_gb']} GB, {m['gpu']}, ComfyUI {m['comfyui']}, Python {m['python']}; "
        f"{_how_many(result)}; 1-min load average (other jobs on the same cores) before/after "
        f"{result['load_average']['before'][0]:.1f}/{result['load_average']['after'][0]:.1f}; {result['date']}"
    )


def _how_many(result: dict[str, Any]) -> str:
    repeats = f"sections 1-4 are the median of {result['repeat']} repeats"
    runs = len(result.get("runs", []))
    return f"median of {runs} runs ({repeats} each; 5 and 6 of one pass each)" if runs else repeats


def table(result: dict[str, Any]) -> str:
    lines = [_header(result), ""]
    table_rows = rows(result)
    widths = (max(len(r[1]) for r in table_rows) + 2, max(12, *(len(r[2]) for r in table_rows)), 13, 7)
    lines.append(f"{'':{widths[0]}} {'plugin/with':>{widths[1]}} {'stock/without':>{widths[2]}} {'ratio':>{widths[3]}}")
    section = None
    for sec, metric, p, s, r in table_rows:
        if sec != section:
            lines.append(sec)
            section = sec
        lines.append(f"  {metric:{widths[0] - 2}} {p:>{widths[1]}} {s:>{widths[2]}} {r:>{widths[3]}}")
    lines.append("")
    lines += [f"{'met   ' if t['met'] else 'MISSED'} {t['target']}: {t['value']}" for t in result["targets"]]
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Machine: {_header(result)}.",
        "",
        "| measurement | metric | plugin (or with `!cache`) | stock client (or without) | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    section = None
    for sec, metric, p, s, r in rows(result):
        lines.append(f"| {sec if sec != section else ''} | {metric} | {p} | {s} | {r} |")
        section = sec
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |" for t in result["targets"]]
    return "\n".join(lines)

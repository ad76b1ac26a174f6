"""Turn a benchmark result (see bench.py) into the issue's targets, a console table and README Markdown."""

from __future__ import annotations

import statistics
from typing import Any

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
                # The rates shown, not the median of per-repeat ratios: those can disagree when merged.
                level["plugin"]["per_s"] >= level["stock"]["per_s"],
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
    out += _delivery_rows(dlv)
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


MODE_LABELS = {"base64": "base64 JSON", "url": "url + download", "raw": "raw bytes", "detailed": "detailed JSON"}


def _delivery_rows(dlv: dict[str, Any]) -> list[Row]:
    """Per plugin mode: end-to-end, its delivery part and the plugin handler's share of it, and bytes read,
    each against the stock client. Results of older versions (a mode as "n/a", no parts) are shown as they are."""
    stock = dlv["stock_view"]
    section = f"4. delivery, one 2048×2048 PNG ({dlv['image_bytes'] / 1e6:.1f} MB), {stock['n']:.0f} calls per mode"
    out: list[Row] = []

    def add(metric: str, plugin: str = "", base: str = "", ratio: str = "") -> None:
        out.append((section, metric, plugin, base, ratio))

    if "delivery" in stock:
        add("delivery = plugin: end-to-end − Server-Timing comfyui; stock: GET /history + /view")
        p, s = _median_over_modes(dlv, "comfyui"), stock["comfyui"]["median_ms"]
        add("ComfyUI's part (plugin: Server-Timing comfyui; stock: POST /prompt → done), median ms", _ms(p), _ms(s), _ratio(p, s))
    if "output_cached" in stock:
        cached_calls = f"{stock['output_cached']:.0f} of {stock['n']:.0f}"
        add("stock calls whose SaveImage ComfyUI's cache answered (it keeps the last prompt's)", "", cached_calls)
    for mode, label in MODE_LABELS.items():
        value = dlv.get(mode)
        if isinstance(value, str):
            add(f"{label}: end-to-end, median", value)
        if not isinstance(value, dict):
            continue
        add(f"{label}: end-to-end, median / p95 ms", _pair(value), _pair(stock), _ratio(value["median_ms"], stock["median_ms"]))
        if "delivery" in value and "delivery" in stock:
            p, s = value["delivery"]["median_ms"], stock["delivery"]["median_ms"]
            add(f"{label}: delivery, median / p95 ms", _pair(value["delivery"]), _pair(stock["delivery"]), _ratio(p, s))
        if "handler" in value:
            what = "POST only, " if mode == "url" else ""
            add(f"{label}: of which handler ({what}Server-Timing connect), median / p95 ms", _pair(value["handler"]))
        elif "plugin_handler_median_ms" in value:
            add(f"{label}: of which in the plugin's handler (read + encode), median ms", _ms(value["plugin_handler_median_ms"]))
        p, s = value["wire_bytes"], stock["wire_bytes"]
        add(f"{label}: bytes read by the client", f"{p / 1e6:.1f} MB", f"{s / 1e6:.1f} MB", _ratio(p, s))
    cached = dlv.get("stock_cached")
    if isinstance(cached, dict):
        add("stock, same prompt again at once (cache answers): end-to-end, median / p95 ms", "", _pair(cached))
        add("stock, same prompt again at once (cache answers): delivery, median / p95 ms", "", _pair(cached["delivery"]))
    return out


def _median_over_modes(dlv: dict[str, Any], part: str) -> float:
    values: list[float] = [dlv[m][part]["median_ms"] for m in MODE_LABELS if isinstance(dlv.get(m), dict) and part in dlv[m]]
    return statistics.median(values)


def _pair(summary: dict[str, Any]) -> str:
    return f"{_ms(summary['median_ms'])} / {_ms(summary['p95_ms'])}"


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
    widths = (
        max(len(r[1]) for r in table_rows) + 2,
        max(12, *(len(r[2]) for r in table_rows)),
        max(13, *(len(r[3]) for r in table_rows)),
        7,
    )
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

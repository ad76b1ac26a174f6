"""The benchmark's arithmetic (scripts/bench*.py); the measurements themselves run with scripts/bench."""

from typing import Any

import pytest
from bench_clients import cached_nodes, execution_ms, parse_server_timing
from bench_cluster import rate as cluster_rate
from bench_cluster import spread
from bench_profile import plugin_shares
from bench_report import targets

from bench import median_of, percentile


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        pytest.param([1.0, 2.0, 3.0, 4.0], 50, 2.0, id="median-nearest-rank"),
        pytest.param([float(v) for v in range(1, 101)], 95, 95.0, id="p95-of-100"),
        pytest.param([5.0], 95, 5.0, id="single"),
        pytest.param([3.0, 1.0, 2.0], 100, 3.0, id="unsorted-max"),
    ],
)
def test_percentile(values: list[float], pct: float, expected: float) -> None:
    assert percentile(values, pct) == expected


def test_median_of_repeats_is_taken_leaf_by_leaf() -> None:
    repeats = [{"a": {"x": 1.0, "n": "u"}, "b": 10}, {"a": {"x": 5.0, "n": "v"}, "b": 30}, {"a": {"x": 2.0, "n": "w"}, "b": 20}]
    assert median_of(repeats) == {"a": {"x": 2.0, "n": "u"}, "b": 20}


def test_execution_ms_reads_comfyui_history_timestamps() -> None:
    entry = {
        "status": {
            "messages": [
                ["execution_start", {"prompt_id": "p", "timestamp": 1000}],
                ["execution_cached", {"nodes": ["1", 2], "prompt_id": "p", "timestamp": 1001}],
                ["execution_success", {"prompt_id": "p", "timestamp": 1042}],
            ]
        }
    }
    assert execution_ms(entry) == 42.0
    assert cached_nodes(entry) == ["1", "2"]
    assert execution_ms({"status": {"messages": [["execution_start", {"timestamp": 1}]]}}) is None


def test_parse_server_timing() -> None:
    assert parse_server_timing("connect;dur=0.41, comfyui;dur=3.20") == {"connect": 0.41, "comfyui": 3.2}
    assert parse_server_timing("") == {}
    assert parse_server_timing('cache;desc="hit", db;dur=2') == {"db": 2.0}


def _result(plugin_ms: float, stock_ms: float, overhead_ms: float, rates: tuple[float, float], growth_mb: float) -> dict[str, Any]:
    return {
        "latency": {"plugin": {"median_ms": plugin_ms}, "stock": {"median_ms": stock_ms}, "ratio": plugin_ms / stock_ms},
        "overhead": {"plugin": {"median_ms": overhead_ms}},
        "throughput": {"1": {"plugin": {"per_s": rates[0]}, "stock": {"per_s": rates[1]}, "ratio": rates[0] / rates[1]}},
        "memory": {"plugin": {"calls": 1000, "growth_mb": growth_mb}},
    }


def test_targets_are_judged_against_the_issue_thresholds() -> None:
    met = [t["met"] for t in targets(_result(3.0, 5.0, 1.5, (200, 100), 10.0))]
    missed = [t["met"] for t in targets(_result(6.0, 5.0, 2.5, (90, 100), 60.0))]
    assert met == [True, True, True, True]
    assert missed == [False, False, False, False]


def test_profile_counts_busy_event_loop_samples_per_plugin_function() -> None:
    lines = [
        "thread (1): MainThread;run (main.py:1);_run (ComfyUI-Connect/connect/routes.py:10);check (ComfyUI-Connect/connect/v.py:3) 5",
        "thread (1): MainThread;run (main.py:1);_run (ComfyUI-Connect/connect/routes.py:12) 3",  # another line, same function
        "thread (1): MainThread;run (main.py:1);handle (aiohttp/web.py:5) 2",  # busy, not the plugin
        "thread (1): MainThread;run (main.py:1);EpollSelector.select (selectors.py:468) 90",  # idle
        "thread (2): Thread-1 (prompt_worker);execute (ComfyUI-Connect/connect/x.py:1) 7",  # not the event loop
    ]
    busy, shares = plugin_shares(lines)
    assert busy == 10
    assert shares == {"_run (ComfyUI-Connect/connect/routes.py)": 8, "check (ComfyUI-Connect/connect/v.py)": 5}


def test_cluster_rate_spans_first_queued_to_last_finished() -> None:
    jobs: list[dict[str, Any]] = [
        {"queued_at": "2025-11-30T10:00:00.000+00:00", "finished_at": "2025-11-30T10:00:01.000+00:00", "instance": "b"},
        {"queued_at": "2025-11-30T10:00:00.500+00:00", "finished_at": "2025-11-30T10:00:02.000+00:00", "instance": "c"},
        {"queued_at": "2025-11-30T10:00:00.200+00:00", "finished_at": "2025-11-30T10:00:01.500+00:00", "instance": None},
    ]
    assert cluster_rate(jobs) == 1.5
    assert spread(jobs) == {"b": 1, "c": 1, "local": 1}

"""Prometheus metrics, kept in memory and rendered in the text exposition format (version 0.0.4).

    connect_http_requests_total{route,method,status}     requests to /api/connect routes
    connect_http_request_duration_seconds{route}         their latency (histogram)
    connect_errors_total{type}                           error responses by error type
    connect_prompts_total{status}                        prompts ComfyUI finished (success, error, interrupted)
    connect_prompt_queue_wait_seconds                    queued -> started (histogram)
    connect_prompt_execution_seconds                     started -> finished (histogram)
    + gauges read at scrape time (queue depth, runs in flight, worker alive)
    + the autoscaling signal (ops/signals.py: queue and oldest wait per workflow, workers needed)
Every series carries an `instance` label (the cluster instance id, or host:port on one box), so the
scrapes of several boxes stay apart.

Small enough to write by hand, which keeps one more dependency out of ComfyUI's environment.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..comfy.outcome import Outcome

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = tuple[tuple[str, str], ...]


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value

    def lines(self, name: str, labels: Labels) -> Iterable[str]:
        running = 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            yield f"{name}_bucket{_labels((*labels, ('le', le)))} {running}"
        yield f"{name}_sum{_labels(labels)} {self.total!r}"
        yield f"{name}_count{_labels(labels)} {running}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, dict[Labels, Histogram]] = {}
        self._help: dict[str, str] = {}
        self._mean_execution = 0.0

    # -- recording ----------------------------------------------------------------------------
    def count(self, name: str, help_: str, labels: Mapping[str, str], by: float = 1.0) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help.setdefault(name, help_)
            series = self._counters.setdefault(name, {})
            series[key] = series.get(key, 0.0) + by

    def observe(self, name: str, help_: str, labels: Mapping[str, str], value: float) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help.setdefault(name, help_)
            self._histograms.setdefault(name, {}).setdefault(key, Histogram()).observe(value)

    def request(self, route: str, method: str, status: int, seconds: float, error_type: str | None) -> None:
        self.count(
            "connect_http_requests_total", "Requests to ComfyUI-Connect routes", {"route": route, "method": method, "status": str(status)}
        )
        self.observe("connect_http_request_duration_seconds", "Latency of ComfyUI-Connect routes", {"route": route}, seconds)
        if error_type:
            self.count("connect_errors_total", "Error responses of ComfyUI-Connect routes, by error type", {"type": error_type})

    def prompt_finished(self, prompt_id: str, status: dict[str, Any], history: dict[str, Any]) -> None:
        """A ComfyUI completion listener (runs on the worker thread), for every prompt."""
        now = time.time()
        outcome = Outcome.decode(prompt_id, status, history)
        self.count("connect_prompts_total", "Prompts ComfyUI finished, by outcome", {"status": outcome.status})
        if outcome.started is None:
            return
        execution = max(0.0, now - outcome.started)
        self.observe("connect_prompt_execution_seconds", "Time from a prompt's start to its end", {}, execution)
        with self._lock:
            self._mean_execution = execution if not self._mean_execution else 0.8 * self._mean_execution + 0.2 * execution
        if outcome.created is not None:
            wait = max(0.0, outcome.started - outcome.created)
            self.observe("connect_prompt_queue_wait_seconds", "Time a prompt waited on ComfyUI's queue", {}, wait)

    def mean_execution_seconds(self) -> float:
        return self._mean_execution or 1.0

    # -- rendering ----------------------------------------------------------------------------
    def render(self, gauges: Mapping[str, tuple[str, float]], instance: str | None = None, labelled: Iterable[Gauge] = ()) -> str:
        """`gauges`: name -> (help, value); `labelled`: gauges with labels; `instance` labels every series."""
        mine: Labels = (("instance", instance),) if instance is not None else ()
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} counter"]
                lines += [f"{name}{_labels(_with(labels, mine))} {value!r}" for labels, value in sorted(series.items())]
            for name, hists in sorted(self._histograms.items()):
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} histogram"]
                for labels, hist in sorted(hists.items()):
                    lines += hist.lines(name, _with(labels, mine))
        every = [Gauge(name, help_, {(): float(value)}) for name, (help_, value) in gauges.items()]
        for gauge in sorted([*every, *labelled], key=lambda g: g.name):
            lines += [f"# HELP {gauge.name} {gauge.help}", f"# TYPE {gauge.name} gauge"]
            lines += [f"{gauge.name}{_labels(_with(labels, mine))} {float(value)!r}" for labels, value in sorted(gauge.values.items())]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Gauge:
    name: str
    help: str
    values: Mapping[Labels, float]  # labels (sorted (name, value) pairs) -> value


def _with(labels: Labels, extra: Labels) -> Labels:
    return tuple(sorted((*labels, *extra)))


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

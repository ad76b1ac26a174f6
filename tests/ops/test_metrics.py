from __future__ import annotations

import time

from connect.ops.metrics import Gauge, Metrics


def _samples(text: str) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}


def test_requests_histograms_and_gauges_render_in_text_format() -> None:
    metrics = Metrics()
    metrics.request("/connect/workflows/{name}", "POST", 200, 0.02, None)
    metrics.request("/connect/workflows/{name}", "POST", 500, 0.3, "execution_failed")
    text = metrics.render({"connect_queue_depth": ("Prompts", 3)})
    samples = _samples(text)
    assert samples['connect_http_requests_total{method="POST",route="/connect/workflows/{name}",status="200"}'] == 1
    assert samples['connect_errors_total{type="execution_failed"}'] == 1
    assert samples['connect_http_request_duration_seconds_bucket{route="/connect/workflows/{name}",le="0.025"}'] == 1
    assert samples['connect_http_request_duration_seconds_bucket{route="/connect/workflows/{name}",le="+Inf"}'] == 2
    assert samples['connect_http_request_duration_seconds_count{route="/connect/workflows/{name}"}'] == 2
    assert samples["connect_queue_depth"] == 3
    assert "# TYPE connect_http_request_duration_seconds histogram" in text and text.endswith("\n")


def test_prompt_queue_wait_and_execution_come_from_comfyui_timestamps() -> None:
    metrics = Metrics()
    now_ms = time.time() * 1000
    status = {
        "status_str": "success",
        "create_time": now_ms - 5000,
        "messages": [["execution_start", {"timestamp": now_ms - 2000}], ["execution_success", {"timestamp": now_ms}]],
    }
    metrics.prompt_finished("p", status, {})
    samples = _samples(metrics.render({}))
    assert samples['connect_prompts_total{status="success"}'] == 1
    assert 2.9 < samples["connect_prompt_queue_wait_seconds_sum"] < 3.1
    assert 1.9 < samples["connect_prompt_execution_seconds_sum"] < 2.5
    assert 1.9 < metrics.mean_execution_seconds() < 2.5
    metrics.prompt_finished("q", {"status_str": "error", "messages": [["execution_interrupted", {}]]}, {})
    assert _samples(metrics.render({}))['connect_prompts_total{status="interrupted"}'] == 1


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    metrics.count("x_total", "help", {"route": 'a"b\\c\nd'})
    assert 'x_total{route="a\\"b\\\\c\\nd"} 1.0' in metrics.render({})


def test_every_series_carries_the_instance_label_and_labelled_gauges_render() -> None:
    metrics = Metrics()
    metrics.request("/connect/health", "GET", 200, 0.01, None)
    signal = Gauge("connect_workflow_queue_depth", "Jobs waiting", {(("workflow", "txt2img"),): 3.0})
    samples = _samples(metrics.render({"connect_queue_depth": ("Prompts", 2)}, "box-a", [signal]))
    assert samples['connect_http_requests_total{instance="box-a",method="GET",route="/connect/health",status="200"}'] == 1
    assert samples['connect_http_request_duration_seconds_bucket{instance="box-a",route="/connect/health",le="+Inf"}'] == 1
    assert samples['connect_queue_depth{instance="box-a"}'] == 2
    assert samples['connect_workflow_queue_depth{instance="box-a",workflow="txt2img"}'] == 3

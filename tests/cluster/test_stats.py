"""cluster/stats.py: the one-hour window of one-minute buckets, its rates, its queue and its failures."""

from __future__ import annotations

from connect.cluster.stats import MINUTES, RunStats
from connect.run.jobs import FAILED, RUNNING, SUCCEEDED, JobRecord

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def job(job_id: str, workflow: str, created: float) -> JobRecord:
    return JobRecord(id=job_id, workflow=workflow, prompt_id="p-" + job_id, owner=None, timeout=60, created_at=created)


def ran(stats: RunStats, clock: Clock, record: JobRecord, seconds: float, status: str = SUCCEEDED) -> None:
    stats.accepted(record)
    record.status, record.started_at = RUNNING, clock.now
    clock.now += seconds
    record.status, record.finished_at = status, clock.now
    if status == FAILED:
        record.error = {"type": "execution_failed", "message": "out of paint", "details": None}
    stats.finished(record)


def test_runs_give_rates_mean_run_times_and_failures_per_workflow() -> None:
    clock = Clock()
    stats = RunStats(clock)
    clock.now += 300  # up for five minutes: rates are over those five
    for i in range(6):
        ran(stats, clock, job(f"a{i}", "txt2img", clock.now), 2.0)
    ran(stats, clock, job("b", "upscale", clock.now), 4.0, FAILED)
    snap = stats.snapshot()
    # 7 jobs finished within the last 5 minutes (the span is 4 full minutes and the partial one: 4*60+16 s)
    assert snap["jobs_per_minute"] == round(7 * 60 / (4 * 60 + 16), 3)
    assert snap["by_workflow"]["txt2img"] == {
        "runs": 6,
        "failures": 0,
        "mean_run_seconds": 2.0,
        "arrivals_per_minute": snap["by_workflow"]["txt2img"]["arrivals_per_minute"],
    }
    assert snap["by_workflow"]["upscale"]["failures"] == 1 and snap["by_workflow"]["upscale"]["mean_run_seconds"] == 4.0
    assert snap["runs"] == 7 and snap["failures"] == 1 and snap["mean_run_seconds"] == round(16 / 7, 4)
    assert snap["recent_failures"][0] | {"at": 0} == {
        "job": "b",
        "workflow": "upscale",
        "at": 0,
        "type": "execution_failed",
        "message": "out of paint",
    }
    assert sum(snap["minutes"]["finished"]) == 7 and sum(snap["minutes"]["failed"]) == 1
    assert len(snap["minutes"]["finished"]) == MINUTES and snap["minutes"]["finished"][-1] == 7  # the current minute is last


def test_a_young_instance_rates_over_its_uptime_not_five_minutes() -> None:
    clock = Clock()
    stats = RunStats(clock)
    for i in range(3):
        ran(stats, clock, job(f"a{i}", "w", clock.now), 10.0)  # 3 jobs in 30 s of uptime: 6 a minute
    snap = stats.snapshot()
    assert snap["jobs_per_minute"] == 6.0 and snap["by_workflow"]["w"]["arrivals_per_minute"] == 6.0


def test_minutes_older_than_an_hour_are_forgotten_and_rates_decay() -> None:
    clock = Clock()
    stats = RunStats(clock)
    clock.now += 3600
    ran(stats, clock, job("old", "w", clock.now), 1.0)
    clock.now += 10 * 60
    snap = stats.snapshot()
    assert snap["runs"] == 1 and snap["jobs_per_minute"] == 0.0  # still in the hour, out of the 5-minute rate
    assert snap["minutes"]["finished"][-11] == 1 and snap["minutes"]["mean_run_seconds"][-11] == 1.0
    assert snap["minutes"]["mean_run_seconds"][-1] is None  # a minute without runs has no mean
    clock.now += 3600
    snap = stats.snapshot()
    assert snap["runs"] == 0 and snap["by_workflow"] == {} and sum(snap["minutes"]["finished"]) == 0


def test_the_queue_counts_waiting_and_running_jobs_and_the_oldest_wait() -> None:
    clock = Clock()
    stats = RunStats(clock)
    first, second, third = job("1", "w", T0), job("2", "w", T0 + 5), job("3", "v", T0 + 8)
    for record in (first, second, third):
        stats.accepted(record)
    first.status, first.started_at = RUNNING, T0 + 1
    clock.now = T0 + 20
    queue = stats.queue()
    assert (queue.depth, queue.oldest_age, queue.pending, queue.dead_lettered) == (2, 15.0, 1, 0)
    assert queue.workflows["w"].depth == 1 and queue.workflows["w"].oldest_age == 15.0 and queue.workflows["v"].oldest_age == 12.0
    snap = stats.snapshot(lambda record: {"node": "2", "value": 3, "max": 10})
    assert snap["current"] == [{"job": "1", "workflow": "w", "running_seconds": 19.0, "progress": {"node": "2", "value": 3, "max": 10}}]
    assert snap["queue"]["depth"] == 2
    first.status, first.finished_at = SUCCEEDED, clock.now
    stats.finished(first)
    assert stats.queue().pending == 0 and stats.snapshot()["current"] == []


def test_a_job_cancelled_before_it_ran_counts_without_a_run_time_and_reclaims_are_counted() -> None:
    clock = Clock()
    stats = RunStats(clock)
    record = job("x", "w", T0)
    stats.accepted(record)
    record.status, record.finished_at = "cancelled", T0
    stats.finished(record)
    stats.reclaimed("w")
    snap = stats.snapshot()
    assert snap["cancelled"] == 1 and snap["failures"] == 0 and snap["mean_run_seconds"] is None and snap["reclaims"] == 1
    assert snap["recent_failures"] == []


def test_a_withdrawn_job_leaves_the_queue_and_the_arrivals_and_a_recovered_one_is_no_new_arrival() -> None:
    clock = Clock()
    stats = RunStats(clock)
    refused, recovered = job("r", "w", T0), job("again", "w", T0)
    stats.accepted(refused)
    stats.withdrawn(refused)  # ComfyUI would not queue it
    stats.accepted(recovered, again=True)  # found unfinished after a restart
    clock.now += 30
    snap = stats.snapshot()
    assert snap["queue"]["depth"] == 1 and snap["queue"]["workflows"] == {"w": {"depth": 1, "oldest_age": 30.0}}
    assert snap["by_workflow"] == {}  # neither arrived nor ran: no demand

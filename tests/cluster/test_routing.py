"""The routing core (connect/cluster/routing.py): earliest expected finish, affinity offers, hold-back."""

from __future__ import annotations

import pytest

from connect.cluster.routing import Job, Router, Speeds, WorkerView, model_set

JOB = Job("j1", "wf", "m", 4.0)


def _router(*views: WorkerView, speeds: Speeds | None = None, hold_back: float = 30.0) -> Router:
    router = Router(speeds or Speeds(default_load=20.0), hold_back=hold_back)
    for view in views:
        router.upsert(view)
    return router


def test_a_worker_holding_the_model_set_is_preferred() -> None:
    router = _router(WorkerView("a", 0.0), WorkerView("b", 0.0, loaded=("m",)), WorkerView("c", 0.0, loaded=("other",)))
    best = router.choose(JOB, now=0.0)
    assert best is not None and best.worker == "b"
    assert (best.load, best.run, best.finish) == (0.0, 4.0, 4.0)
    assert router.estimate(JOB, "a", 0.0).finish == 24.0  # 20 s default load + 4 s


@pytest.mark.parametrize(
    ("warm_busy_for", "expected"),
    [
        pytest.param(30.0, "fast", id="busy-warm-loses-to-fast-cold: 30+10 > 20+2.5"),
        pytest.param(5.0, "warm", id="lightly-busy-warm-wins: 5+10 < 20+2.5"),
    ],
)
def test_a_much_faster_cold_worker_beats_a_busy_warm_one_when_the_numbers_say_so(warm_busy_for: float, expected: str) -> None:
    speeds = Speeds(default_load=20.0)
    speeds.record("warm", "wf", 10.0)  # the warm worker's own mean for this workflow
    speeds.record("warm", "other", 10.0)
    speeds.record("fast", "other", 2.5)  # 4x the cluster's mean on another workflow: factor 0.25
    router = _router(WorkerView("warm", warm_busy_for, loaded=("m",)), WorkerView("fast", 0.0), speeds=speeds)
    assert router.estimate(JOB, "fast", 0.0).run == pytest.approx(2.5)  # never ran wf: 0.25 x the cluster's 10 s
    best = router.choose(JOB, now=0.0)
    assert best is not None and best.worker == expected


def test_queued_work_is_counted_and_each_offer_adds_to_it() -> None:
    router = _router(WorkerView("a", 50.0, loaded=("m",)), WorkerView("b", 12.0, loaded=("m",)))
    best = router.choose(JOB, now=10.0)
    assert best is not None and (best.worker, best.finish) == ("b", 16.0)
    targets = []
    for i in range(4):
        offer = router.offer(Job(f"j{i}", "wf", "m", 4.0), now=10.0)
        assert offer is not None
        targets.append((offer.worker, offer.finish))
    # b is free at 12, a at 50: every offer lands on b and pushes its expected finish by 4 s.
    assert targets == [("b", 16.0), ("b", 20.0), ("b", 24.0), ("b", 28.0)]
    assert router.estimate(JOB, "b", 10.0).finish == 32.0
    for i in range(6):  # b's queue now ends at 52, after a's 50: the next job goes to a
        router.offer(Job(f"k{i}", "wf", "m", 4.0), now=10.0)
    best = router.choose(JOB, now=10.0)
    assert best is not None and best.worker == "a"


def test_queued_model_sets_count_as_held_and_evict_by_lru() -> None:
    router = _router(WorkerView("a", 0.0, loaded=("x",), queued=("m",), capacity=1), WorkerView("b", 0.0, loaded=("x", "y"), capacity=2))
    assert router.holders("m") == {"a"} and router.holders("x") == {"b"} and router.holders("y") == {"b"}
    offer = router.offer(Job("j", "wf", "z", 4.0), now=0.0)
    assert offer is not None and offer.cost == 24.0
    assert router.holders("z") == {offer.worker}  # offered: held once its queue has run, its LRU set evicted


def test_a_dead_workers_affinity_is_forgotten() -> None:
    router = _router(WorkerView("a", 0.0, loaded=("m",)), WorkerView("b", 5.0))
    offer = router.offer(JOB, now=0.0)
    assert offer is not None and offer.worker == "a"
    assert not router.may_take("b", offer, now=0.0)  # a is suited and about to run it
    router.remove("a")
    assert router.holders("m") == frozenset() and router.workers() == {"b"}
    assert router.may_take("b", offer, now=0.0)  # what was offered to a is free at once
    best = router.choose(JOB, now=0.0)
    assert best is not None and best.worker == "b"


def test_a_warming_worker_is_offered_nothing_and_takes_nothing() -> None:
    router = _router(WorkerView("warming", 0.0, loaded=("m",), ready=False), WorkerView("busy", 100.0))
    best = router.choose(JOB, now=0.0)
    assert best is not None and best.worker == "busy"
    router.remove("busy")
    assert router.choose(JOB, now=0.0) is None and router.offer(JOB, now=0.0) is None
    offer = _router(WorkerView("x", 0.0)).offer(JOB, now=0.0)
    assert offer is not None and not router.may_take("warming", offer, now=1000.0)
    router.upsert(WorkerView("warming", 0.0, loaded=("m",)))  # warmup over
    assert router.choose(JOB, now=0.0) == router.estimate(JOB, "warming", 0.0)


def test_the_hold_back_is_bounded() -> None:
    router = _router(WorkerView("warm", 15.0, loaded=("m",)), WorkerView("cold", 0.0), hold_back=30.0)
    offer = router.offer(JOB, now=0.0)
    assert offer is not None and (offer.worker, offer.finish, offer.release_at) == ("warm", 19.0, 30.0)
    assert not router.may_take("cold", offer, now=0.0)  # 0+20+4 later than the promised 19
    assert not router.may_take("cold", offer, now=29.9)
    assert router.may_take("cold", offer, now=30.0)  # at most hold_back seconds after the offer: anyone
    assert router.may_take("warm", offer, now=0.0)


def test_an_overloaded_target_lets_a_sooner_worker_take_the_job_before_the_hold_back_ends() -> None:
    router = _router(WorkerView("warm", 15.0, loaded=("m",)), hold_back=30.0)
    offer = router.offer(JOB, now=0.0)
    assert offer is not None and offer.finish == 19.0
    router.upsert(WorkerView("late", 0.0, loaded=("m",)))  # a suited worker frees up (or joins)
    assert router.may_take("late", offer, now=1.0)  # 1+4 = 5 < 19


def test_speeds_learn_means_and_fall_back_to_factor_times_cluster_mean() -> None:
    speeds = Speeds(default_load=20.0)
    assert speeds.run_seconds("a", JOB) == 4.0  # nobody ran it: the job's base duration
    assert speeds.load_seconds("m") == 20.0
    speeds.record("a", "wf", 8.0)
    speeds.record("b", "wf", 4.0)  # b is twice as fast as the mean so far (8): factor 0.5
    speeds.record("c", "wf", 6.0)
    speeds.record_load("m", 12.0)
    assert speeds.run_seconds("a", JOB) == 8.0 and speeds.run_seconds("b", JOB) == 4.0
    assert speeds.factor("b") == 0.5 and speeds.run_seconds("d", JOB) == 6.0  # unknown worker: 1.0 x cluster mean
    assert speeds.load_seconds("m") == 12.0 and speeds.load_seconds("n") == 20.0


def test_ties_go_to_no_load_then_the_lower_id() -> None:
    router = _router(WorkerView("b", 0.0), WorkerView("a", 0.0), WorkerView("c", 20.0, loaded=("m",)))
    best = router.choose(JOB, now=0.0)
    assert best is not None and best.worker == "c" and best.finish == 24.0  # same finish as a and b, no load
    router.remove("c")
    best = router.choose(JOB, now=0.0)
    assert best is not None and best.worker == "a"


def test_many_updates_keep_every_worker_findable() -> None:
    router = _router(*(WorkerView(f"w{i:03d}", 100.0 + i) for i in range(200)))
    for round_ in range(50):  # thousands of heartbeats: stale heap entries are compacted, none lost
        for i in range(200):
            router.upsert(WorkerView(f"w{i:03d}", 100.0 + i + round_))
    router.upsert(WorkerView("w150", 0.0))
    best = router.choose(JOB, now=0.0)
    assert best is not None and best.worker == "w150"


def test_a_fresh_listing_drops_the_workers_it_no_longer_has() -> None:
    router = _router(WorkerView("a", 0.0, loaded=("m",)), WorkerView("b", 0.0, loaded=("m",)), WorkerView("c", 0.0))
    router.retain(["b", "c"])  # a's heartbeat expired
    assert router.workers() == {"b", "c"} and router.holders("m") == {"b"}


def test_a_model_set_is_the_same_key_whatever_the_order() -> None:
    assert model_set(["b.safetensors", "a.safetensors", "b.safetensors"]) == "a.safetensors|b.safetensors"
    assert model_set(["a.safetensors", "b.safetensors"]) == model_set(["b.safetensors", "a.safetensors"]) != model_set(["a.safetensors"])

"""scripts/simulate: the cluster simulation, its determinism, its JSON, and the routing target of issue 16."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from simulate import main
from simulation import POLICIES, Params, Simulation, Worker, simulate, workload

from connect.cluster.routing import Job

ROOT = Path(__file__).resolve().parent.parent
SMALL = Params(workers=20, models=5, jobs=400, seed=3)


def test_the_same_seed_gives_the_same_numbers_and_another_seed_others() -> None:
    assert simulate(SMALL) == simulate(SMALL)
    assert simulate(SMALL) != simulate(Params(workers=20, models=5, jobs=400, seed=4))


def test_every_policy_sees_the_same_jobs() -> None:
    first, again = workload(SMALL), workload(SMALL)
    assert first == again and len(first) == 400
    arrivals = [a for a, _, _ in first]
    assert arrivals == sorted(arrivals)
    # 80 % of a capacity of (1+2+4)/3 x 20 workers / 4 s = 11.67 jobs/s: the mean gap is near 1/9.33 s
    assert 0.8 / 9.33 < arrivals[-1] / len(arrivals) < 1.25 / 9.33


def test_json_has_exactly_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--workers", "10", "--models", "3", "--jobs", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["policies"] and list(out["policies"]) == list(POLICIES)
    for numbers in out["policies"].values():
        assert set(numbers) == {"p50", "p95", "p99", "swaps", "utilisation"}
        assert numbers["p50"] <= numbers["p95"] <= numbers["p99"] and isinstance(numbers["swaps"], int)
        assert 0 < numbers["utilisation"] <= 1


def test_the_command_prints_a_table() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "simulate"), "--workers", "10", "--jobs", "100", "--policies", "fifo,affinity"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["policy", "p50", "s", "p95", "s", "p99", "s", "swaps", "util"]
    assert [line.split()[0] for line in lines[1:3]] == ["fifo", "affinity"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        pytest.param(["--speeds", "1,x"], "--speeds", id="speeds-not-numbers"),
        pytest.param(["--speeds", "1,0"], "--speeds", id="speed-zero"),
        pytest.param(["--policies", "fifo,lottery"], "lottery", id="unknown-policy"),
        pytest.param(["--workers", "0"], "--workers", id="no-workers"),
        pytest.param(["--load", "0"], "--load", id="no-load"),
    ],
)
def test_bad_flags_are_refused_naming_the_flag(argv: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2 and named in capsys.readouterr().err


def test_with_crashes_every_job_still_finishes_once() -> None:
    params = Params(workers=20, models=5, jobs=1000, seed=5, crashes=60.0, downtime=20.0)
    for policy in POLICIES:
        sim = Simulation(params, policy)
        sim.run()
        assert len(sim.latencies) == params.jobs, policy
        assert sum(w.epoch for w in sim.workers) > 0, "no crash happened: the test would prove nothing"


class _Checked(Simulation):
    """The affinity simulation, failing if a job ever starts on a worker that is down or warming."""

    def start(self, w: Worker, job: Job) -> None:
        assert w.ready, f"job {job.id} started on {w.id} while it was down or warming"
        super().start(w, job)


def test_warming_workers_are_never_routed_to() -> None:
    params = Params(workers=20, models=5, jobs=1000, seed=5, crashes=60.0, downtime=20.0)
    sim = _Checked(params, "affinity")
    sim.run()
    assert len(sim.latencies) == params.jobs and sum(w.epoch for w in sim.workers) > 0


def test_affinity_halves_fifos_p95_and_cuts_its_swaps_fivefold() -> None:
    """Issue 16's target (full size in the README: 200 workers, 10,000 jobs) at half the size."""
    params = Params(workers=100, models=30, zipf=1.1, swap=20.0, job=4.0, load=0.8, jobs=5000, seed=1)
    results = simulate(params, ("fifo", "affinity"))
    fifo, ours = results["fifo"], results["affinity"]
    assert ours.p95 <= fifo.p95 / 2, results
    assert ours.swaps <= fifo.swaps / 5, results


def test_the_script_runs_under_the_venv_without_comfyui() -> None:
    code = "import sys, simulation; assert 'aiohttp' not in sys.modules and 'redis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "scripts", check=True, env={"PYTHONPATH": str(ROOT)}, timeout=60)


def test_faster_workers_get_at_least_their_share_of_the_jobs() -> None:
    params = Params(workers=40, models=5, jobs=3000, speeds=(1.0, 4.0), load=0.8, seed=2)
    runs: dict[str, dict[float, int]] = {}
    for policy in ("random", "affinity"):
        sim = Simulation(params, policy)
        sim.run()
        runs[policy] = {speed: sum(w.runs for w in sim.workers if w.speed == speed) for speed in params.speeds}
    assert sum(runs["affinity"].values()) == params.jobs
    assert runs["affinity"][4.0] >= 4 * runs["affinity"][1.0], runs  # earliest finish: at least in proportion to speed
    assert runs["random"][4.0] < 2 * runs["random"][1.0], runs  # blind to speed: about even


def test_the_numbers_do_not_depend_on_pythons_hash_seed() -> None:
    """Routing iterates sets of worker ids; ties must still break the same way in every process."""
    argv = [str(ROOT / "scripts" / "simulate"), "--workers", "20", "--models", "5", "--jobs", "400", "--crashes", "30", "--json"]
    outputs = {
        subprocess.run(
            argv, capture_output=True, text=True, check=True, timeout=120, env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1 and json.loads(outputs.pop())["policies"]["affinity"]["swaps"] >= 0

"""A cluster of real processes for the distributed-jobs suites: one real redis-server and N real ComfyUI
processes with the plugin (and the test node pack), each its own instance, and ways to hurt them.

    with Fleet(tmp_path, lease=2) as fleet:
        api = fleet.add("box-a", "api"); b = fleet.add("box-b", "worker"); fleet.add("box-c", "worker")
        fleet.start()                        # all at once: ComfyUI's start is mostly one core's import time
        fleet.saved("slow", slow_workflow())   # saved on the first box, waited for on every other
        b.kill()      # kill -9 of its process group: no goodbye to Redis, its lease just stops
        b.pause(); b.resume()                # SIGSTOP / SIGCONT: a box frozen past its lease, then back
        b.restart()   # a new process on the same base directory, port and instance id

Each box's client is `box.client`; `fleet.box(instance_id)` finds the box a job record names.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from launcher import ComfyServer

from .client import Client, wait_until
from .filehost import FileHost
from .redis_server import RedisServer
from .server import prepare
from .suites import JOBS_ENV

HEARTBEAT = 0.5  # seconds: an instance is seen gone 2 s after its last heartbeat


@dataclass
class Box:
    """One ComfyUI process of the fleet. `kill`, `pause` and `resume` act on its whole process group."""

    name: str
    role: str
    server: ComfyServer
    paused: bool = False
    frozen_once: bool = False  # paused at some point since it started: heal() starts it afresh

    @property
    def client(self) -> Client:
        return Client(self.server)

    @property
    def alive(self) -> bool:
        return self.server.process is not None and self.server.process.poll() is None

    def _signal(self, which: signal.Signals) -> None:
        assert self.server.process is not None and self.alive, f"{self.name} is not running"
        os.killpg(self.server.process.pid, which)

    def kill(self) -> None:
        """kill -9: nothing is flushed, closed or said to Redis."""
        if self.paused:
            self.resume()  # a stopped process dies of SIGKILL too, but then nothing would resume it by mistake
        self.server.kill()

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)
        self.paused = self.frozen_once = True

    def resume(self) -> None:
        self._signal(signal.SIGCONT)
        self.paused = False

    def restart(self, timeout: float = 120) -> None:
        """A fresh process on the same base directory, port and environment (so the same instance id)."""
        if self.alive:
            self.kill()
        self.server.start(timeout)
        self.frozen_once = False

    def stop(self) -> None:
        if self.paused:
            self.resume()
        self.server.stop()


@dataclass
class Fleet:
    root: Path
    lease: float = 2.0
    attempts: int = 3
    aof: bool = True
    env: dict[str, str] = field(default_factory=dict)
    boxes: list[Box] = field(default_factory=list)
    redis: RedisServer = field(init=False)

    def __post_init__(self) -> None:
        self.redis = RedisServer(self.root / "redis", aof=self.aof)

    def settings(self, name: str, role: str) -> dict[str, str]:
        """What a box of the fleet runs with: the jobs suite's settings (signed webhooks to 127.0.0.1) and the cluster's."""
        return {
            **JOBS_ENV,
            "CONNECT_ALLOW_PRIVATE_URLS": "1",
            "CONNECT_KEEP_OUTPUTS": "1",
            "CONNECT_CLUSTER_URL": self.redis.url,
            "CONNECT_CLUSTER_ROLE": role,
            "CONNECT_INSTANCE_ID": name,
            "CONNECT_CLUSTER_HEARTBEAT": str(HEARTBEAT),
            "CONNECT_CLUSTER_LEASE": str(self.lease),
            "CONNECT_CLUSTER_ATTEMPTS": str(self.attempts),
            **self.env,
        }

    def add(self, name: str, role: str) -> Box:
        """A box, prepared but not started (`start` starts every box not yet running)."""
        base = prepare(self.root / name, test_nodes=True, inputs={})
        box = Box(name, role, ComfyServer(base, env=self.settings(name, role)))
        self.boxes.append(box)
        return box

    def start(self, timeout: float = 180) -> None:
        waiting = [box for box in self.boxes if not box.alive]
        with ThreadPoolExecutor(max(1, len(waiting))) as pool:
            for started in [pool.submit(box.server.start, timeout) for box in waiting]:
                started.result()

    def box(self, instance: str | None) -> Box:
        found = [box for box in self.boxes if box.name == instance]
        assert found, f"no box named {instance!r} (boxes: {[b.name for b in self.boxes]})"
        return found[0]

    def named(self, role: str) -> list[Box]:
        return [box for box in self.boxes if box.role == role]

    def saved(self, name: str, prompt: dict[str, Any], timeout: float = 30) -> None:
        """Saved on the first box, then listed on every running box (the cluster's workflow sync)."""
        first, *others = [box for box in self.boxes if box.alive]
        first.client.saved(name, prompt)
        for box in others:
            _wait_synced(box.client, name, timeout)

    def members(self, via: Box) -> list[str]:
        """The instance ids the cluster listing on `via` shows alive."""
        response = via.client.call("GET", "/api/connect/cluster")
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["instances"]]

    def wait_members(self, expected: set[str], timeout: float = 30) -> None:
        """Every running box lists exactly `expected` (a killed box has left, a restarted one is back)."""
        for box in self.boxes:
            if box.alive and not box.paused:
                self._wait_listing(box, expected, timeout)

    def _wait_listing(self, box: Box, expected: set[str], timeout: float) -> None:
        wait_until(lambda: set(self.members(box)) == expected, timeout, f"{box.name} lists {sorted(expected)}")

    def heal(self, timeout: float = 120) -> None:
        """Every box running again and listed, Redis up: the state a module's next test expects."""
        if not self.redis.running:
            self.redis.start()
        for box in self.boxes:
            if box.frozen_once:  # whatever a freeze left behind must not spill into the next test
                box.kill()
        self.start(timeout)
        for box in self.boxes:
            box.frozen_once = False
        self.wait_members({box.name for box in self.boxes})

    def logs(self, lines: int = 80) -> str:
        parts = [f"--- {box.name} ({box.role}) ---\n{box.server.log_tail(lines)}" for box in self.boxes]
        return "\n".join([*parts, f"--- redis ---\n{self.redis.log_tail()}"])

    def close(self) -> None:
        for box in self.boxes:
            box.stop()
        self.redis.stop()

    def __enter__(self) -> Fleet:
        self.redis.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None:
            print(self.logs())
        self.close()


def _wait_synced(client: Client, name: str, timeout: float) -> None:
    wait_until(lambda: client.describe(name).status_code == 200, timeout, f"{name} synced to {client.url}")


def until(condition: Any, timeout: float, what: str) -> Any:
    """Poll `condition()` until it returns something truthy, and return that (wait_until, with the value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.05)


def running(client: Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """The job once a worker runs it: status running, its instance named."""
    return client.until(job_id, lambda j: j["status"] == "running" and j["instance"] is not None, "running on a worker", timeout)


def cancel_unfinished(client: Client) -> None:
    """Cancel every queued or running job of the cluster (what a failed test left behind)."""
    for status in ("queued", "running"):
        for job in client.call("GET", "/api/connect/jobs", params={"status": status}).json()["jobs"]:
            client.call("DELETE", f"/api/connect/jobs/{job['id']}")


def cancel(client: Client, job_id: str) -> dict[str, Any]:
    """DELETE the job on this box: its last state (200, or 202 while the worker has not confirmed the stop)."""
    response = client.call("DELETE", f"/api/connect/jobs/{job_id}")
    assert response.status_code in (200, 202), response.text
    return dict(response.json())


def forgotten(fleet: Fleet, job_id: str, timeout: float = 30) -> None:
    """A cancelled job is forgotten on every running box (GET answers 404), as on one machine."""
    for box in fleet.boxes:
        if box.alive and not box.paused:
            _wait_gone(box, job_id, timeout)


def stopped(fleet: Fleet, job_id: str, timeout: float = 30) -> None:
    """A cancelled job has ended on every running box: `cancelled`, or already forgotten (404)."""
    for box in fleet.boxes:
        if box.alive and not box.paused:
            _wait_gone(box, job_id, timeout, ended_is_enough=True)


def _wait_gone(box: Box, job_id: str, timeout: float, ended_is_enough: bool = False) -> None:
    url = f"/api/connect/jobs/{job_id}"
    client = box.client
    deadline = time.monotonic() + timeout
    while (answer := client.call("GET", url)).status_code != 404:
        if ended_is_enough and answer.status_code == 200 and answer.json()["status"] == "cancelled":
            return
        assert time.monotonic() < deadline, f"job {job_id} not forgotten on {box.name} in {timeout:g} s: {answer.status_code} {answer.text}"
        time.sleep(0.05)


def deliveries(host: FileHost) -> dict[str, list[str]]:
    """Webhook deliveries per job id: the event type of each, in order."""
    seen: dict[str, list[str]] = {}
    for delivery in host.deliveries:
        body = delivery.json()
        seen.setdefault(body["data"]["id"], []).append(body["type"])
    return seen


def fleet_fixture(root: Path, roles: dict[str, str], **options: Any) -> Iterator[Fleet]:
    """A started fleet with `roles` ({name: role}), for a module fixture to `yield from`."""
    with Fleet(root, **options) as fleet:
        for name, role in roles.items():
            fleet.add(name, role)
        fleet.start()
        fleet.wait_members(set(roles))
        yield fleet

"""Reading a job's Server-Sent Events stream over HTTP until the server ends it."""

from __future__ import annotations

import json
from typing import Any

import requests

from .client import Client

Event = tuple[int, str, dict[str, Any]]


def read_events(response: requests.Response) -> list[Event]:
    """Every event of a stream until the server ends it: (id, name, data)."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events: list[Event] = []
    fields: dict[str, str] = {}
    for raw in response.iter_lines():
        line = raw.decode("utf-8")  # an event stream is UTF-8 by definition
        if line == "":
            if "event" in fields:
                events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    return events


def stream(client: Client, job_id: str, headers: dict[str, str] | None = None) -> list[Event]:
    with client.http.get(f"{client.api_url}/jobs/{job_id}/events", headers=headers, stream=True, timeout=120) as response:
        return read_events(response)

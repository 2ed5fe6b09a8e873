"""End to end, as a monitoring centre meets it: import the sample city's setup
into a real server, a tag reports through the OsmAnd endpoint as the Traccar
Client does, it walks into its exclusion zone, and the alert appears through
the API and on the live stream."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
from serverproc import SAMPLE, TOKEN, ServerProcess

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def zone_points() -> tuple[tuple[float, float], tuple[float, float]]:
    """A point deep inside p1's exclusion zone z6, and p1's home (outside it)."""
    setup = json.loads((SAMPLE / "scenario.json").read_text())
    zones = {z["id"]: z for z in setup["zones"]}
    inside = shapely.geometry.shape(zones["z6"]["geometry"]).representative_point()
    home = zones["z8"]["geometry"]["coordinates"]
    return (inside.x, inside.y), (home[0], home[1])


def listen(url: str, events: list[dict[str, Any]], stop: threading.Event) -> None:
    with (
        contextlib.suppress(httpx.HTTPError),
        httpx.stream("GET", f"{url}/api/stream", params={"token": TOKEN}, timeout=None) as r,
    ):
        kind = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append({"event": kind, **json.loads(line[6:])})
            if stop.is_set():
                return


def wait_for(check: Any, timeout_s: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    return check()


@pytest.mark.slow
def test_a_tag_entering_its_exclusion_zone_raises_one_alert_seen_in_api_and_stream(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    server = server_factory(
        tmp_path, f"sqlite:///{tmp_path / 'ronda.db'}", {"RONDA_ENGINE_REORDER_HOLD_S": "1"}
    )
    assert "imported 17 zones, 10 persons, 16 devices, 8 orders" in server.run("import", str(SAMPLE))
    server.start()
    events: list[dict[str, Any]] = []
    stop = threading.Event()
    threading.Thread(target=listen, args=(server.api, events, stop), daemon=True).start()
    assert wait_for(lambda: httpx.get(f"{server.api}/health").status_code == 200)

    (zx, zy), (hx, hy) = zone_points()
    t0 = int(time.time()) - 3600
    walk = [(hx, hy)] * 3 + [(zx + i * 1e-5, zy) for i in range(10)]
    for i, (lon, lat) in enumerate(walk):  # as the Traccar Client sends it
        params = {
            "id": "tag-0001",
            "lat": lat,
            "lon": lon,
            "timestamp": t0 + 60 * i,
            "accuracy": 6,
            "batt": 80,
        }
        r = httpx.get(server.ingest, params=params)
        assert r.status_code == 200, r.text
    assert httpx.post(server.ingest, params={"id": "tag-9999", "lat": 1, "lon": 1}).status_code == 404

    def alert() -> list[dict[str, Any]]:
        return httpx.get(
            f"{server.api}/api/alerts", params={"person": "p1", "type": "exclusion"}, headers=AUTH
        ).json()

    found = wait_for(alert)
    assert [(a["rule"], a["status"], a["severity"]) for a in found] == [("r-p1-z6", "new", "high")]
    inside = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 60 * i)) for i in range(3, len(walk))]
    assert found[0]["start"] in inside[:6] and found[0]["end"] is None  # event time of a fix inside
    streamed = wait_for(lambda: [e for e in events if e["event"] == "alert" and e["id"] == found[0]["id"]])
    assert streamed and streamed[0]["rule"] == "r-p1-z6"
    assert any(e["event"] == "position" and e["device"] == "tag-0001" for e in events)

    status = httpx.get(f"{server.api}/api/status", headers=AUTH).json()
    assert status["ingest"]["stored"] == len(walk) and status["unknown_devices"] == {"tag-9999": 1}
    period = {
        "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 - 1)),
        "end": "2100-01-01T00:00:00Z",
    }
    track = httpx.get(f"{server.api}/api/persons/p1/positions", params=period, headers=AUTH).json()
    assert len(track["features"]) == len(walk)
    stop.set()

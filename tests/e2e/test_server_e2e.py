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


SHARED_SMALL = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios" / "dev-small"


def pick_case(scenario: Path) -> tuple[str, str, str, tuple[float, float], tuple[float, float]]:
    """A monitored person with an always-active exclusion rule: (person, tag,
    rule, a point deep inside its zone, a point outside it: their home if the
    setup has one, else 2 km away)."""
    setup = json.loads((scenario / "scenario.json").read_text())
    zones = {z["id"]: z for z in setup["zones"]}
    tags = {d["person"]: d["id"] for d in setup["devices"] if d["kind"] == "gps_tag"}
    for order in setup["orders"]:
        rules = order["rules"]
        for rule in rules:
            if rule["type"] != "exclusion" or rule.get("schedule") or order["person"] not in tags:
                continue
            zone = zones[rule["zone"]]
            shape = shapely.geometry.shape(zone["geometry"])
            if zone["geometry"]["type"] == "Point":
                continue  # a victim's home circle: keep to polygons
            inside = shape.representative_point()
            homes = [
                zones[r["zone"]]["geometry"]["coordinates"]
                for r in rules
                if r["type"] == "inclusion" and zones[r["zone"]]["geometry"]["type"] == "Point"
            ]
            outside = (homes[0][0], homes[0][1]) if homes else (inside.x + 0.025, inside.y)
            return order["person"], tags[order["person"]], rule["id"], (inside.x, inside.y), outside
    raise AssertionError(f"{scenario}: no person with an always-active exclusion polygon")


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
@pytest.mark.parametrize("scenario", [SAMPLE, SHARED_SMALL], ids=["sample-city", "dev-small"])
def test_a_tag_entering_its_exclusion_zone_raises_one_alert_seen_in_api_and_stream(
    tmp_path: Path, server_factory: type[ServerProcess], scenario: Path
) -> None:
    if not (scenario / "scenario.json").exists():
        pytest.skip(f"{scenario} not present (../shared is not part of a user's clone)")
    person, tag, rule, (zx, zy), (hx, hy) = pick_case(scenario)
    server = server_factory(
        tmp_path, f"sqlite:///{tmp_path / 'ronda.db'}", {"RONDA_ENGINE_REORDER_HOLD_S": "1"}
    )
    assert "imported" in server.run("import", str(scenario))
    server.start()
    events: list[dict[str, Any]] = []
    stop = threading.Event()
    threading.Thread(target=listen, args=(server.api, events, stop), daemon=True).start()
    assert wait_for(lambda: httpx.get(f"{server.api}/health").status_code == 200)

    t0 = int(time.time()) - 3600
    walk = [(hx, hy)] * 3 + [(zx + i * 1e-5, zy) for i in range(10)]
    for i, (lon, lat) in enumerate(walk):  # as the Traccar Client sends it
        params = {
            "id": tag,
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
            f"{server.api}/api/alerts", params={"person": person, "type": "exclusion"}, headers=AUTH
        ).json()

    found = wait_for(lambda: [a for a in alert() if a["rule"] == rule])
    assert [(a["rule"], a["status"], a["severity"]) for a in found] == [(rule, "new", "high")]
    inside = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 60 * i)) for i in range(3, len(walk))]
    assert found[0]["start"] in inside[:6] and found[0]["end"] is None  # event time of a fix inside
    streamed = wait_for(lambda: [e for e in events if e["event"] == "alert" and e["id"] == found[0]["id"]])
    assert streamed and streamed[0]["rule"] == rule
    assert any(e["event"] == "position" and e["device"] == tag for e in events)

    status = httpx.get(f"{server.api}/api/status", headers=AUTH).json()
    assert status["ingest"]["stored"] == len(walk) and status["unknown_devices"] == {"tag-9999": 1}
    period = {
        "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 - 1)),
        "end": "2100-01-01T00:00:00Z",
    }
    track = httpx.get(f"{server.api}/api/persons/{person}/positions", params=period, headers=AUTH).json()
    assert len(track["features"]) == len(walk)
    stop.set()

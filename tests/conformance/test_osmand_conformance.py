"""OsmAnd decoder against ../shared/conformance/osmand.json."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_harness import RECEIVED_S, check, vectors

from ronda.devices.protocols import osmand
from ronda.tracking.records import Record

pytestmark = pytest.mark.shared


def _decode(vector: dict[str, Any]) -> list[Record]:
    http = vector["http"]
    query = osmand.parse_uri_query(http["uri"])
    body = vector["message"].encode("utf-8") if http["method"] == "POST" else None
    return osmand.decode_osmand(query, body, http["headers"].get("Content-Type"), RECEIVED_S)


@pytest.mark.parametrize("vector", vectors("osmand.json"))
def test_vector(vector: dict[str, Any] | None) -> None:
    assert vector is not None
    check(vector, lambda: _decode(vector))

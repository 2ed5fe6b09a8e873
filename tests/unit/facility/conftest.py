"""The small facility of builders.py as a fixture."""

from __future__ import annotations

import pytest
from tests.unit.facility.builders import document

from ronda.facility.document import parse_facility
from ronda.facility.model import Facility


@pytest.fixture
def facility() -> Facility:
    return parse_facility(document())

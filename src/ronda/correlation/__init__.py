"""Crime-scene correlation: which monitored persons were near an incident,
and who could not be placed (pure domain: numpy and shapely only)."""

from ronda.correlation.index import Trail, TrailIndex
from ronda.correlation.models import ALGORITHM_VERSION, Confidence, Incident, Method, Params, Result
from ronda.correlation.service import correlate, correlate_all

__all__ = [
    "ALGORITHM_VERSION",
    "Confidence",
    "Incident",
    "Method",
    "Params",
    "Result",
    "Trail",
    "TrailIndex",
    "correlate",
    "correlate_all",
]

"""The live prison service: sightings in, episodes and alerts out, per facility.

Each facility has one `FacilityMonitor` (ronda.facility), loaded from its
stored document on first use. An ingest batch is stored first (idempotent:
a resent batch stores nothing twice and feeds nothing twice), then its new
records are fed in event-time order and the monitor is advanced to the
batch's latest event time; the effects are stored in the same transaction
as nothing else, through the shared episode/alert store (one episode, one
alert), with the facility's detail beside each episode and moves as the
movement history. Scheduled headcounts are taken when they fall due.

Time: the monitor runs on the readers' event time. A ticker also advances it
on the server's clock (`wall_clock`), so that silences are noticed when
nothing at all arrives; records from further in the future than
`max_future_s` are refused (a reader with a wrong clock must not fast-forward
the facility).

Restart: the monitor's state is rebuilt by replaying the last `recover_s` of
stored sightings (the presence model needs seconds, the rules minutes);
effects replayed are stored idempotently, so no alert is raised twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ronda.alerts.workflow import severity_of
from ronda.config import PrisonSettings
from ronda.errors import InvalidInput
from ronda.facility.episodes import FacilityEffect, HeadcountDue
from ronda.facility.headcount import Headcount, occupancy, take_headcount
from ronda.facility.monitor import FacilityMonitor
from ronda.facility.records import FacilityRecord
from ronda.pipeline.bus import Bus
from ronda.pipeline.ports import EffectListener, dispatch_effects
from ronda.storage import alerts
from ronda.storage import prison as store
from ronda.storage.models_prison import HeadcountRow
from ronda.types import to_iso

log = logging.getLogger(__name__)



@dataclass
class Ingested:
    stored: int
    duplicates: int
    alerts: int  # new alerts raised by this batch


@dataclass
class _Loaded:
    monitor: FacilityMonitor
    version: int
    last_count: Headcount | None = None


@dataclass
class PrisonStats:
    counters: Counter[str] = field(default_factory=Counter)


def _severity(kind: str, rule: str | None, policy: alerts.SeverityOf | None) -> str:
    """The site's alert policy decides (alerts.toml); without one, the defaults."""
    return policy(kind, rule) if policy is not None else severity_of(kind).value


class PrisonService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        bus: Bus | None = None,
        settings: PrisonSettings | None = None,
        clock: Callable[[], float] = time.time,
        listeners: Sequence[EffectListener] = (),
        severity: alerts.SeverityOf | None = None,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.settings = settings or PrisonSettings()
        self.clock = clock
        self.listeners = list(listeners)
        self._fallback = severity
        self.loaded: dict[str, _Loaded] = {}
        self.lock = threading.RLock()
        self.stats = PrisonStats()
        self._ticker: threading.Thread | None = None
        self._purged_s: dict[str, float] = {}
        self._stop = threading.Event()

    def severity(self, kind: str, rule: str | None) -> str:
        return _severity(kind, rule, self._fallback)

    # ------------------------------------------------------------- lifecycle

    def start_ticker(self) -> None:
        if self._ticker is not None or not self.settings.wall_clock:
            return
        self._ticker = threading.Thread(target=self._tick_loop, name="prison-clock", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.settings.tick_s):
            try:
                self.tick(self.clock())
            except Exception:  # a failing tick is logged; the next one runs
                log.exception("prison tick failed")

    # ------------------------------------------------------------- facilities

    def monitor(self, facility_id: str) -> FacilityMonitor:
        return self._loaded(facility_id).monitor

    def _loaded(self, facility_id: str) -> _Loaded:
        with self.lock:
            got = self.loaded.get(facility_id)
            if got is not None:
                return got
            with self.sessions() as s:
                row = store.get_facility(s, facility_id)
                facility = store.load_facility(s, facility_id)
                version = row.version
                since = self.clock() - self.settings.recover_s
                history = store.records_since(s, facility_id, since)
            got = _Loaded(FacilityMonitor(facility), version)
            self.loaded[facility_id] = got
            if history:  # rebuild the state from what was stored lately
                self._run(facility_id, got, history, publish=False)
                log.info("facility %s resumed from %d stored records", facility_id, len(history))
            return got

    def facility_changed(self, facility_id: str) -> None:
        """Call after a facility's document changed: the next use rebuilds it."""
        with self.lock:
            self.loaded.pop(facility_id, None)

    # ----------------------------------------------------------------- ingest

    def ingest(self, facility_id: str, records: Sequence[FacilityRecord]) -> Ingested:
        """Store a batch, feed what is new, store the effects; return counts."""
        limit = self.clock() + self.settings.max_future_s
        for i, rec in enumerate(records):
            if rec.time_s > limit:
                self.stats.counters["refused_future"] += 1
                raise InvalidInput(
                    "time {time} is in the future", field=f"[{i}].time", time=to_iso(rec.time_s)
                )
        with self.lock:
            loaded = self._loaded(facility_id)
            with self.sessions.begin() as s:
                new = store.insert_records(s, facility_id, records)
            self.stats.counters["stored"] += len(new)
            self.stats.counters["duplicates"] += len(records) - len(new)
            raised = self._run(facility_id, loaded, new, publish=True)
        return Ingested(len(new), len(records) - len(new), raised)

    def tick(self, now_s: float | None = None) -> int:
        """Advance every loaded facility to `now_s` (its own clock if later)."""
        raised = 0
        with self.lock:
            for fid, loaded in list(self.loaded.items()):
                t = max(loaded.monitor.now_s, self.clock() if now_s is None else now_s)
                raised += self._store(fid, loaded, loaded.monitor.advance(t), publish=True)
                if t - self._purged_s.get(fid, float("-inf")) >= self.settings.purge_every_s:
                    self._purged_s[fid] = t
                    with self.sessions.begin() as s:
                        gone = store.purge_sightings(s, fid, t - self.settings.keep_sightings_s)
                    self.stats.counters["sightings_purged"] += gone
        return raised

    def _run(
        self, facility_id: str, loaded: _Loaded, records: Sequence[FacilityRecord], publish: bool
    ) -> int:
        m = loaded.monitor
        effects: list[FacilityEffect] = []
        for rec in sorted(records, key=lambda r: r.time_s):
            effects += m.advance(rec.time_s)
            try:
                effects += m.feed(rec)
            except Exception:  # one bad record never stops the facility
                self.stats.counters["failed_records"] += 1
                log.exception("facility %s: record %r failed", facility_id, rec)
        return self._store(facility_id, loaded, effects, publish)

    def _store(self, facility_id: str, loaded: _Loaded, effects: list[FacilityEffect], publish: bool) -> int:
        if not effects:
            return 0
        due = [e for e in effects if isinstance(e, HeadcountDue)]
        with self.sessions.begin() as s:
            result = store.store_effects(s, facility_id, effects, self.severity)
            counts = [
                store.save_headcount(s, take_headcount(loaded.monitor, d.at_s), "scheduled", "schedule")
                for d in due
            ]
        new_alerts = sum(1 for x in result.alerts if x.new)
        self.stats.counters["alerts"] += new_alerts
        self.stats.counters["moves"] += result.moves
        if self.listeners and result.alerts:
            from ronda.pipeline.service import effect_event

            events = [effect_event(x, c) for x, c in zip(result.alerts, result.closed, strict=True)]
            self.stats.counters["listener_failures"] += dispatch_effects(self.listeners, events)
        if publish and self.bus is not None:
            from ronda.pipeline.service import alert_message

            for x in result.alerts:
                message = alert_message(x)
                message["facility"] = facility_id
                self.bus.publish_threadsafe("alert", message)
            for row in counts:
                self.bus.publish_threadsafe("headcount", headcount_summary(row))
        return new_alerts

    # ---------------------------------------------------------------- queries

    def take_headcount(self, facility_id: str, requested_by: str, at_s: float | None = None) -> HeadcountRow:
        """An on-demand count, now (the facility's clock) unless `at_s` is given."""
        with self.lock:
            loaded = self._loaded(facility_id)
            m = loaded.monitor
            t = m.now_s if at_s is None else at_s
            if t == float("-inf"):
                raise InvalidInput("nothing has been heard from this facility yet", field="at")
            self._store(facility_id, loaded, m.advance(t), publish=True)
            count = take_headcount(m, t)
            with self.sessions.begin() as s:
                return store.save_headcount(s, count, "on_demand", requested_by)

    def occupancy(self, facility_id: str) -> dict[str, Any]:
        with self.lock:
            m = self.monitor(facility_id)
            t = m.now_s
            occ = occupancy(m, t) if t > float("-inf") else {}
            zones = []
            for z in m.f.zones.values():
                slot = occ.get(z.id, {"inmates": [], "staff": [], "stale": []})
                zones.append(
                    {
                        "zone": z.id,
                        "name": z.name,
                        "kind": z.kind.value,
                        "wing": z.wing,
                        "capacity": z.capacity,
                        "inmates": slot["inmates"],
                        "staff": slot["staff"],
                        "not_seen_lately": slot["stale"],
                        "readers_down": sorted(
                            r for r in m.readers_of_zone.get(z.id, []) if r in m.readers_down
                        ),
                    }
                )
            open_eps = [
                {
                    "type": e.type,
                    "person": e.person,
                    "zone": e.zone,
                    "start": to_iso(e.start_s),
                    "detail": e.detail,
                }
                for e in m.open_episodes()
            ]
            return {
                "facility": facility_id,
                "at": to_iso(t) if t > float("-inf") else None,
                "zones": zones,
                "readers_down": sorted(m.readers_down),
                "open_episodes": open_eps,
            }

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "facilities": {fid: dict(x.monitor.counters) for fid, x in self.loaded.items()},
                "ingest": dict(self.stats.counters),
            }


def headcount_summary(row: HeadcountRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "facility": row.facility_id,
        "at": to_iso(row.at_s),
        "kind": row.kind,
        "status": row.status,
        "discrepancies": row.discrepancies,
        "summary": row.result.get("summary", {}),
        "requested_by": row.requested_by,
        "closed": None if row.closed_s is None else to_iso(row.closed_s),
    }

"""Tables: Distributed mode: partition checkpoints (issue 8).

Each partition of the record stream has one engine, run by whichever worker
holds the partition's lease; its checkpoint is the engine's state after
every record of the partition up to `last_stream_seq` (the JetStream stream
sequence), with every effect of those records already stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ronda.storage.models import Base


class PartitionCheckpointRow(Base):
    __tablename__ = "partition_checkpoints"
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_stream_seq: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[dict[str, Any]]
    created_s: Mapped[float]
    worker_id: Mapped[str] = mapped_column(String(200))

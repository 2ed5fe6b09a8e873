"""The command dispatcher and the in-memory command store, without sockets."""

from __future__ import annotations

import pytest

from ronda.gateway.commands import CommandKind, CommandStatus, MemoryCommandStore
from ronda.gateway.dispatch import CommandDispatcher
from ronda.gateway.metrics import GatewayMetrics
from ronda.gateway.protocols import PROTOCOLS, Answer, Link, StreamProtocol

pytestmark = pytest.mark.asyncio
T0 = 1_700_000_000.0


class FakeOutlet:
    def __init__(self, protocol: StreamProtocol, device: str, fail: bool = False) -> None:
        self.protocol = protocol
        self.link = Link(device=device)
        self.sent: list[bytes] = []
        self.fail = fail

    async def write(self, data: bytes) -> None:
        if self.fail:
            raise ConnectionResetError("gone")
        self.sent.append(data)


def make() -> tuple[CommandDispatcher, MemoryCommandStore, list[float]]:
    now = [T0]
    store = MemoryCommandStore()
    return CommandDispatcher(store, GatewayMetrics(), clock=lambda: now[0]), store, now


async def test_queued_until_attached_then_flushed_in_order() -> None:
    dispatcher, store, now = make()
    first = await dispatcher.submit("w1", CommandKind.SET_INTERVAL, interval_s=60)
    second = await dispatcher.submit("w1", CommandKind.CUSTOM, text="RESET")
    assert [c.status for c in await store.for_device("w1")] == [CommandStatus.QUEUED] * 2
    outlet = FakeOutlet(PROTOCOLS["watch"], "w1")
    dispatcher.attach("w1", outlet)
    now[0] = T0 + 5
    await dispatcher.flush("w1")
    assert outlet.sent == [b"[SG*w1*0009*UPLOAD,60]", b"[SG*w1*0005*RESET]"]
    sent = await store.get(first.id)
    assert sent is not None and sent.status is CommandStatus.SENT and sent.sent_s == T0 + 5
    assert sent.created_s == T0 and sent.match_key == "UPLOAD"
    # The answer to the second command acknowledges it, not the first.
    now[0] = T0 + 9
    done = await dispatcher.answered("w1", Answer("RESET", match_key="RESET", strict=True))
    assert done is not None and done.id == second.id and done.answered_s == T0 + 9
    assert (await store.get(first.id)).status is CommandStatus.SENT  # type: ignore[union-attr]
    # A keep-alive is no answer.
    assert await dispatcher.answered("w1", Answer("LK", match_key="LK", strict=True)) is None


async def test_answer_without_a_key_goes_to_the_oldest_outstanding_command() -> None:
    dispatcher, _, _ = make()
    outlet = FakeOutlet(PROTOCOLS["gt06"], "g1")
    dispatcher.attach("g1", outlet)
    one = await dispatcher.submit("g1", CommandKind.CUSTOM, text="A#")
    two = await dispatcher.submit("g1", CommandKind.CUSTOM, text="B#")
    assert len(outlet.sent) == 2
    by_flag = await dispatcher.answered("g1", Answer("B ok", command_id=two.id))
    assert by_flag is not None and by_flag.id == two.id
    oldest = await dispatcher.answered("g1", Answer("?", command_id=None))
    assert oldest is not None and oldest.id == one.id
    assert await dispatcher.answered("g1", Answer("late")) is None


async def test_unencodable_command_fails_and_a_failed_write_stays_queued() -> None:
    dispatcher, store, _ = make()
    dispatcher.attach("t1", FakeOutlet(PROTOCOLS["teltonika"], "t1"))
    command = await dispatcher.submit("t1", CommandKind.SET_INTERVAL, interval_s=60)
    assert command.status is CommandStatus.FAILED and command.error is not None

    broken = FakeOutlet(PROTOCOLS["h02"], "h1", fail=True)
    dispatcher.attach("h1", broken)
    pending = await dispatcher.submit("h1", CommandKind.SET_INTERVAL, interval_s=60)
    assert pending.status is CommandStatus.QUEUED
    dispatcher.detach("h1", broken)
    assert not dispatcher.connected("h1")
    fresh = FakeOutlet(PROTOCOLS["h02"], "h1")
    dispatcher.attach("h1", fresh)
    await dispatcher.flush("h1")
    assert len(fresh.sent) == 1
    assert (await store.get(pending.id)).status is CommandStatus.SENT  # type: ignore[union-attr]


async def test_detach_of_a_stale_connection_keeps_the_newer_one() -> None:
    dispatcher, _, _ = make()
    old, new = FakeOutlet(PROTOCOLS["gt06"], "g"), FakeOutlet(PROTOCOLS["gt06"], "g")
    dispatcher.attach("g", old)
    dispatcher.attach("g", new)
    dispatcher.detach("g", old)
    assert dispatcher.connected("g")
    await dispatcher.submit("g", CommandKind.SET_INTERVAL, interval_s=60)
    assert old.sent == [] and len(new.sent) == 1


async def test_submit_validates_its_arguments() -> None:
    dispatcher, _, _ = make()
    with pytest.raises(ValueError):
        await dispatcher.submit("g", CommandKind.SET_INTERVAL)
    with pytest.raises(ValueError):
        await dispatcher.submit("g", CommandKind.CUSTOM, text="")


async def test_command_json_shape() -> None:
    _, store, _ = make()
    command = await store.add("g", CommandKind.SET_INTERVAL, T0, interval_s=30)
    sent = await store.mark_sent(command.id, "gt06", None, T0 + 1)
    assert sent.to_json() == {
        "id": 1, "device": "g", "kind": "set_interval", "interval_s": 30, "text": None,
        "status": "sent", "protocol": "gt06", "created": "2023-11-14T22:13:20Z",
        "sent": "2023-11-14T22:13:21Z", "answered": None, "response": None, "error": None,
    }  # fmt: skip

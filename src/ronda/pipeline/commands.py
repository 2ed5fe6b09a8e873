"""Commands to devices in distributed mode (pursuit: "report every 30 s").

In embedded mode the alert listeners hand a command to the gateway in the
same process. Distributed, the worker that raised the alert does not hold
the device's connection: it queues the command in PostgreSQL (the gateways'
command store, `DbCommandStore`) and announces the device on core NATS
(``<live_subject>.command``). Every gateway listens: the one holding the
device's connection sends the queued commands at once; if none does, the
command goes out when the device next logs in, on whichever gateway.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time

from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from ronda.gateway.commands import Command, CommandKind, CommandStore
from ronda.gateway.service import Gateway

log = logging.getLogger(__name__)


def command_subject(live_subject: str) -> str:
    return f"{live_subject}.command"


class NatsCommander:
    """The pursuit listener's `Commander` in a worker."""

    def __init__(self, nc: Nats, store: CommandStore, live_subject: str) -> None:
        self.nc, self.store, self.subject = nc, store, command_subject(live_subject)

    async def submit(
        self, device: str, kind: CommandKind, *, interval_s: int | None = None, text: str | None = None
    ) -> Command:
        command = await self.store.add(device, kind, time.time(), interval_s=interval_s, text=text)
        with contextlib.suppress(Exception):  # queued anyway: it goes out at the next login
            await self.nc.publish(self.subject, json.dumps({"device": device}).encode())
        return command


async def relay_commands(nc: Nats, gateway: Gateway, live_subject: str) -> Subscription:
    """On a gateway: send a device its queued commands when a worker says so."""

    async def on_notice(msg: Msg) -> None:
        try:
            device = str(json.loads(msg.data)["device"])
        except (ValueError, KeyError, TypeError):
            return
        if gateway.dispatcher.connected(device):
            try:
                await gateway.dispatcher.flush(device)
            except Exception:  # the command stays queued; the next login sends it
                log.exception("commands for %s could not be sent", device)

    return await nc.subscribe(command_subject(live_subject), cb=on_notice)

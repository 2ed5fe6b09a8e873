"""What the TCP server needs of each stream protocol beyond its pure decoder.

Each adapter names the protocol, its default port, its splitter and session,
encodes queued commands with the protocol module's encoders, and recognises
the device's answer to a command in a frame that decoded cleanly (CRC
checked). Answers are recognised here rather than in the decoders because
only the gateway knows which commands are outstanding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ronda.devices.protocols import gt06, h02, teltonika, watch
from ronda.devices.protocols.base import Session
from ronda.gateway.commands import Command, CommandKind


class UnsupportedCommand(ValueError):
    """The protocol (or this gateway) cannot express the command."""


@dataclass(slots=True)
class Link:
    """What the gateway remembers of one connection besides the decoder session."""

    device: str | None = None
    maker: str | None = None
    """The watch's maker tag (``SG``, ``3G``, ``CS``...), echoed in commands."""
    serial: int = 0

    def next_serial(self) -> int:
        self.serial = self.serial % 0xFFFF + 1
        return self.serial


@dataclass(frozen=True, slots=True)
class Encoded:
    data: bytes
    match_key: str | None = None
    """What the device's answer will carry to name the command (e.g. ``S71``)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A device's answer to a command."""

    text: str
    command_id: int | None = None
    """The command id echoed by the device (GT06 server flag), if any."""
    match_key: str | None = None
    strict: bool = False
    """Only an outstanding command with this ``match_key`` is answered; when
    False, the oldest outstanding command is, if nothing matches better."""
    ok: bool = True


class StreamProtocol(Protocol):
    name: str
    default_port: int

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]: ...

    def new_session(self) -> Session: ...

    def encode(self, command: Command, link: Link, now_s: float) -> Encoded:
        """The command's bytes; UnsupportedCommand or ValueError if it cannot be sent."""
        ...

    def observe(self, frame: bytes, link: Link) -> Answer | None:
        """Learn from a frame that decoded cleanly; the answer to a command if it is one."""
        ...


def _device(link: Link) -> str:
    if link.device is None:
        raise UnsupportedCommand("the device has not identified itself")
    return link.device


def _text_of(command: Command) -> str:
    if not command.text:
        raise UnsupportedCommand("a custom command needs its text")
    return command.text


def _interval_of(command: Command) -> int:
    if command.interval_s is None:
        raise UnsupportedCommand("set_interval needs interval_s")
    return command.interval_s


class Gt06:
    """GT06: commands are 0x80 frames whose server flag is the command id; the
    device answers with 0x15 (or 0x21) echoing that flag."""

    name = "gt06"
    default_port = gt06.DEFAULT_PORT

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        return gt06.split(buffer)

    def new_session(self) -> Session:
        return gt06.Gt06Session()

    def encode(self, command: Command, link: Link, now_s: float) -> Encoded:
        if command.kind is CommandKind.SET_INTERVAL:
            interval_s = _interval_of(command)
            gt06.encode_interval(interval_s)  # validates the range
            text = f"TIMER,{interval_s}#"
        else:
            text = _text_of(command)
        flag = command.id & 0xFFFFFFFF
        return Encoded(gt06.encode_command(text, link.next_serial(), server_flag=flag))

    def observe(self, frame: bytes, link: Link) -> Answer | None:
        header = 4 if frame[:2] == b"\x79\x79" else 3
        proto = frame[header]
        content = frame[header + 1 : -6]
        if proto == 0x15 and len(content) >= 5:
            size = content[0]
            flag = int.from_bytes(content[1:5], "big")
            text = content[5 : 1 + size].decode("latin-1")
        elif proto == 0x21 and len(content) >= 5:
            flag = int.from_bytes(content[0:4], "big")
            raw = content[5:]
            text = raw.decode("utf-16-be", "replace") if content[4] == 2 else raw.decode("latin-1")
        else:
            return None
        return Answer(text.rstrip("\x00"), command_id=flag or None)


class Teltonika:
    """Teltonika: codec 12 commands; the device answers with a codec 12 response
    (type 06) which names no command, so it answers the oldest one outstanding."""

    name = "teltonika"
    default_port = teltonika.DEFAULT_PORT

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        return teltonika.split(buffer)

    def new_session(self) -> Session:
        return teltonika.TeltonikaSession()

    def encode(self, command: Command, link: Link, now_s: float) -> Encoded:
        if command.kind is CommandKind.SET_INTERVAL:
            raise UnsupportedCommand(
                "Teltonika report intervals are model parameters: send a custom 'setparam' command"
            )
        return Encoded(teltonika.encode_command(_text_of(command)))

    def observe(self, frame: bytes, link: Link) -> Answer | None:
        if len(frame) < 20 or frame[:4] != b"\x00\x00\x00\x00":
            return None
        codec, kind = frame[8], frame[10]
        if codec != teltonika.CODEC_12 or kind != 0x06:
            return None
        size = int.from_bytes(frame[11:15], "big")
        return Answer(frame[15 : 15 + size].decode("latin-1"))


class H02:
    """H02: ``*HQ,<id>,<CMD>,<HHmmss>,...#``; the device answers ``*HQ,<id>,V4,<CMD>,...#``."""

    name = "h02"
    default_port = h02.DEFAULT_PORT

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        return h02.split(buffer)

    def new_session(self) -> Session:
        return h02.H02Session()

    def encode(self, command: Command, link: Link, now_s: float) -> Encoded:
        device = _device(link)
        if command.kind is CommandKind.SET_INTERVAL:
            return Encoded(h02.encode_interval(device, _interval_of(command), now_s), "S71")
        name, *args = _text_of(command).split(",")
        return Encoded(h02.encode_command(device, name, now_s, *args), name.upper())

    def observe(self, frame: bytes, link: Link) -> Answer | None:
        if not frame.startswith(b"*"):
            return None
        parts = frame.decode("latin-1").rstrip("\r\n").rstrip("#").split(",")
        if len(parts) < 4 or parts[2].upper() != "V4":
            return None
        text = ",".join(parts[3:])
        ok = not (len(parts) > 4 and parts[4].upper() in ("ERROR", "FAIL", "FAILED"))
        return Answer(text, match_key=parts[3].upper(), strict=True, ok=ok)


class Watch:
    """Watch: ``[MF*id*len*CMD,...]``; the device answers with the command word."""

    name = "watch"
    default_port = watch.DEFAULT_PORT

    def split(self, buffer: bytes) -> tuple[list[bytes], bytes]:
        return watch.split(buffer)

    def new_session(self) -> Session:
        return watch.WatchSession()

    def encode(self, command: Command, link: Link, now_s: float) -> Encoded:
        device = _device(link)
        maker = link.maker or "SG"
        if command.kind is CommandKind.SET_INTERVAL:
            return Encoded(watch.encode_interval(device, _interval_of(command), maker), "UPLOAD")
        text = _text_of(command)
        return Encoded(watch.encode(maker, device, text), text.split(",")[0].upper())

    def observe(self, frame: bytes, link: Link) -> Answer | None:
        head = frame[1:].split(b"*", 1)[0]
        if head.isalnum():
            link.maker = head.decode("ascii")
        body = frame[1:-1] if frame.endswith(b"]") else frame[1:]
        parts = body.split(b"*", 4)
        if not (len(parts) == 5 and _is_hex4(parts[2]) and _is_hex4(parts[3])):
            parts = body.split(b"*", 3)
            if len(parts) != 4:
                return None
        content = parts[-1].decode("latin-1")
        return Answer(content, match_key=content.split(",")[0].upper(), strict=True)


def _is_hex4(value: bytes) -> bool:
    return len(value) == 4 and all(c in b"0123456789abcdefABCDEF" for c in value)


PROTOCOLS: dict[str, StreamProtocol] = {p.name: p for p in (Gt06(), Teltonika(), H02(), Watch())}
"""The stream protocols the gateway serves, by name."""

"""Bounds-checked reading of binary frames: every overrun is an InvalidFrame."""

from __future__ import annotations

from ronda.errors import InvalidFrame


class Reader:
    """Sequential big-endian reader over a bytes slice."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise InvalidFrame(
                f"truncated frame: need {count} bytes at {self.pos}, have {self.remaining}",
                reason="malformed",
            )
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def skip(self, count: int) -> None:
        self.take(count)

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def sint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big", signed=True)

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def u32(self) -> int:
        return self.uint(4)


def bcd_digits(data: bytes) -> str:
    """Packed BCD to a digit string; InvalidFrame on a nibble above 9."""
    text = data.hex()
    if not text.isdigit():
        raise InvalidFrame("invalid BCD digits", reason="malformed")
    return text


def bcd_byte(value: int) -> int:
    """One packed-BCD byte (two digits) to its integer value."""
    high, low = value >> 4, value & 0x0F
    if high > 9 or low > 9:
        raise InvalidFrame("invalid BCD byte", reason="malformed")
    return high * 10 + low

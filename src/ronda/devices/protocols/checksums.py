"""CRC-16 variants used by device protocols (table-driven, reflected)."""

from __future__ import annotations


def _reflected_table(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_X25_TABLE = _reflected_table(0x8408)
_IBM_TABLE = _reflected_table(0xA001)


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 (GT06 "CRC-ITU"): poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _X25_TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def crc16_ibm(data: bytes) -> int:
    """CRC-16/ARC (Teltonika "CRC-16/IBM"): poly 0x8005 reflected, init 0, no xorout."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _IBM_TABLE[(crc ^ byte) & 0xFF]
    return crc

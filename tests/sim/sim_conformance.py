"""Helpers to compare the simulator's AMI replies with the real Asterisk 22 transcripts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from contactcenter.telephony.ami.protocol import AmiMessage, AmiParser

TRACES = Path("/work/shared/asterisk-traces")
# headers whose values are constants of the protocol (everything else varies run to run)
CONSTANT = {
    "Response",
    "Message",
    "EventList",
    "Event",
    "Privilege",
    "Ping",
    "ActionID",
    "Severity",
    "Service",
    "EventVersion",
    "Status",
    "Variable",
    "UsingPassword",
    "DialStatus",
    "Type",
    "Nativeformats",
    "Readformat",
    "Writeformat",
    "BridgeType",
    "BridgeTechnology",
}


def records(name: str) -> list[dict]:
    """The .jsonl records of one transcript file."""
    return [json.loads(line) for line in (TRACES / name).read_text().splitlines() if line.strip()]


def parse(data: str) -> AmiMessage:
    """One transcript AMI record as a message."""
    parser = AmiParser(expect_banner=False)
    parser.receive_data(data.encode())
    msg = parser.next_message()
    assert msg is not None, data
    return msg


def is_reply(msg: AmiMessage) -> bool:
    """Responses and the list items/completions that answer an action (they carry ActionID)."""
    return (
        msg.get("Response") is not None
        or (msg.get("ActionID") is not None and msg.get("Event") != "OriginateResponse")
        or msg.get("Event") in ("FullyBooted", "SuccessfulAuth", "RequestBadFormat")
    )


def shape(msg: AmiMessage) -> list[tuple[str, str | None]]:
    """Header names in order, with values kept only for constant headers."""
    return [(k, v if k in CONSTANT else None) for k, v in msg.headers]


class RawAmi:
    """A raw AMI client socket that reads whole messages with the shared codec."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = AmiParser(expect_banner=False)  # banner() reads it
        self.eof = False

    @classmethod
    async def connect(cls, port: int) -> RawAmi:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def banner(self) -> bytes:
        return await asyncio.wait_for(self.reader.readline(), 5)

    async def next(self, timeout: float = 5.0) -> AmiMessage | None:
        """The next message, None at EOF."""
        while True:
            msg = self.parser.next_message()
            if msg is not None:
                return msg
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                self.eof = True
                return None
            self.parser.receive_data(data)

    async def next_reply(self, timeout: float = 5.0) -> AmiMessage | None:
        """The next reply-like message, skipping unrelated events."""
        while True:
            msg = await self.next(timeout)
            if msg is None or is_reply(msg):
                return msg

    def send_raw(self, data: str) -> None:
        self.writer.write(data.encode())

    def close(self) -> None:
        self.writer.close()

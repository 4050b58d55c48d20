"""What the quality tests that make a real call share: waiting on the server's state, the
sales queue's recording with transcription (and options) switched on in a copy of the
repository's queues, and a finished transcript."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from floor import REPO

SALES_RECORDING = "recording: {mode: always, retention_days: 90}"


async def until(probe: Any, timeout: float = 60.0) -> Any:
    """Poll an async ``probe`` until it returns something truthy (the timeout catches hangs)."""
    async def loop() -> Any:
        while not (value := await probe()):
            await asyncio.sleep(0.05)
        return value
    return await asyncio.wait_for(loop(), timeout)


def transcribing_sales(settings: Any, path: Path, **options: bool) -> Any:
    """``settings`` with the repository's queues copied to ``path``, the sales queue's
    recording transcribed (and ``options`` such as ``speakers=True``)."""
    queues = (REPO / "config/queues.yaml").read_text()
    assert queues.count(SALES_RECORDING) == 1
    extra = "".join(f", {k}: {str(v).lower()}" for k, v in {"transcribe": True, **options}.items())
    path.write_text(queues.replace(SALES_RECORDING, SALES_RECORDING[:-1] + extra + "}"))
    return replace(settings, routing=replace(settings.routing, queues_file=str(path)))


def floor_copy(settings: Any) -> Path:
    """Where a panel floor's queues file goes: beside its copy of the flows (in tmp_path)."""
    return Path(settings.flows_dir).parent / "queues.yaml"


async def transcribed(server: Any, rec_id: str) -> Any:
    """The recording's transcript once it is done or failed, else None."""
    found = await server.qa.transcripts.get(rec_id)
    return found if found is not None and found.status in ("done", "failed") else None

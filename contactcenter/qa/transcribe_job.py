"""One transcription in a process of its own: ``python -m contactcenter.qa.transcribe_job PATH``.

Design note: pocketsphinx holds the interpreter while it decodes; in the server's process that
would stop the event loop (AMI, FastAGI) for as long as each chunk takes. A child process has
a loop of nobody's to stop, can be killed on shutdown or timeout, and its crash is an exit
code. It speaks JSON lines on stdout: ``{"progress": f}`` as it goes, then one
``{"words": [...], "duration_s": s, "engine": e}`` or ``{"error": text}`` (exit 1).

``python -m contactcenter.qa.transcribe_job MIXED caller=RX agent=TX`` transcribes the two
directions instead of the mix, each word tagged with who said it (``speech.transcribe_speakers``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from contactcenter.qa.speech import transcribe, transcribe_speakers


def main(argv: list[str]) -> int:
    """Transcribe ``argv[0]``; the answer goes to stdout as JSON lines."""
    speakers = [tuple(arg.split("=", 1)) for arg in argv[1:]]
    if not argv or any(len(pair) != 2 or not pair[0] for pair in speakers):
        print(json.dumps({"error": "usage: transcribe_job PATH [SPEAKER=PATH ...]"}), flush=True)
        return 2

    def progress(fraction: float) -> None:
        print(json.dumps({"progress": round(fraction, 3)}), flush=True)

    try:
        if speakers:
            result = transcribe_speakers(Path(argv[0]),
                                         [(who, Path(path)) for who, path in speakers], progress)
        else:
            result = transcribe(Path(argv[0]), progress)
    except Exception as exc:  # noqa: BLE001 - every failure is an answer the parent stores
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:400]}), flush=True)
        return 1
    print(json.dumps({"words": [w.as_row() for w in result.words],
                      "duration_s": result.duration_s, "engine": result.engine}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

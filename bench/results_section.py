"""One script's section of a shared results file (bench/results/faults.md), rewritten in place."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, start: str, end: str, text: str) -> None:
    """Put ``text`` (which begins with ``start`` and ends with ``end``) in place of the section
    between those markers, keeping the rest of the file; append it when there is none."""
    old = path.read_text() if path.exists() else "# Faults\n\n"
    if start in old and end in old:
        head, rest = old.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)

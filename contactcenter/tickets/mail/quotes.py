"""A reply's own words, without the mail it quotes. Pure.

Design note: mail clients quote in a few well-known shapes, and we cut at the first one
found: our own "reply above this line" marker; an attribution line ("On Mon, 1 Jan 2024,
Ann <a@b> wrote:", wrapped over two lines by Gmail, or in French, German, Spanish, Dutch,
Italian, Portuguese); Outlook's "-----Original Message-----" or its "From: / Sent:" header
block; then a trailing block of ``>`` lines. Lines quoted *between* the customer's own lines
(an answer written inline) are kept: cutting them would lose the answer. When cutting would
leave nothing, the whole text is kept.
"""

from __future__ import annotations

import re

REPLY_MARKER = "##- Please type your reply above this line -##"
_ATTRIBUTION = re.compile(
    r"^\s*(On\s.{1,300}\swrote:"
    r"|Le\s.{1,300}\sa\s+écrit\s*:"
    r"|Am\s.{1,300}\sschrieb\s.{0,200}:"
    r"|El\s.{1,300}\sescribió:"
    r"|Op\s.{1,300}\sschreef\s.{0,200}:"
    r"|Il\s.{1,300}\sha\s+scritto:"
    r"|Em\s.{1,300}\sescreveu:)\s*$",
    re.IGNORECASE,
)
_OUTLOOK = re.compile(r"^\s*-{2,}\s*(Original Message|Message d'origine|Ursprüngliche "
                      r"Nachricht|Mensaje original)\s*-{2,}\s*$", re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\*?(From|De|Von|Van)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(Sent|Date|Envoyé|Gesendet|Enviado|Verzonden|To|À)\s*:",
                          re.IGNORECASE)


def _cut_at(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if REPLY_MARKER in line or _OUTLOOK.match(line):
            return i
        if _ATTRIBUTION.match(line):
            return i
        # Gmail wraps a long attribution: "On Mon, ... <ann@example.com>" / "wrote:"
        if i + 1 < len(lines) and line.lstrip().lower().startswith("on ") \
                and lines[i + 1].strip().lower().endswith("wrote:") \
                and _ATTRIBUTION.match(f"{line} {lines[i + 1].strip()}"):
            return i
        if _HEADER_FROM.match(line) and i + 1 < len(lines) and _HEADER_NEXT.match(lines[i + 1]):
            # Outlook's header block, often after a line of underscores
            return i - 1 if i > 0 and set(lines[i - 1].strip()) == {"_"} else i
    return None


def strip_quoted(text: str) -> str:
    """``text`` without the quoted mail under it (see the module's note)."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = _cut_at(lines)
    if cut is not None:
        lines = lines[:cut]
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    kept = "\n".join(lines).strip("\n")
    return kept if kept.strip() else text.strip("\n")

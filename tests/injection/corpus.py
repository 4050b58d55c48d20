"""The injection corpus: hostile strings every channel's text must carry as plain data.

Each payload has a ``marker`` (``pwn`` plus a number) inside the part that would do harm if it
escaped its field: a header or AMI action after a CR/LF, an AGI command after a newline, a
second Dial target after a ``&`` or a comma, an Asterisk ``${...}`` expression, a SQL clause or
an HTML/script element. The tests assert that no AMI action or header and no AGI command
carries a marker outside the one argument it was given in, and that no page that shows the
data runs any of it (``window.__pwned``).
"""

from __future__ import annotations

from dataclasses import dataclass

PWN_JS = "window.__pwned=(window.__pwned||[]).concat"


@dataclass(frozen=True)
class Payload:
    """One hostile string; ``marker`` sits in its harmful part."""

    name: str
    text: str
    marker: str
    kind: str  # framing, separator, expansion, sql, html, size, unicode

    @property
    def framing(self) -> bool:
        """True when it holds CR, LF or NUL: no telephone network can carry it as caller id."""
        return any(c in self.text for c in "\r\n\x00")

    @property
    def utf8(self) -> bool:
        """False for lone surrogates, which no wire (SIP, SMTP, AMI) can carry."""
        try:
            self.text.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True

    def upto(self, n: int) -> str:
        """The payload cut to what a field of ``n`` characters holds: the ``n`` characters
        that end with its marker (the whole text when it fits)."""
        if len(self.text) <= n:
            return self.text
        end = self.text.index(self.marker) + len(self.marker)
        return self.text[max(0, end - n):end]


def _p(i: int, kind: str, template: str) -> Payload:
    marker = f"pwn{i:02d}"
    return Payload(f"{kind}-{i:02d}", template.replace("MARK", marker), marker, kind)


_TEMPLATES: list[tuple[str, str]] = [
    # CR / LF / NUL: a second AMI header, a second AMI action, a second AGI command
    ("framing", "5551234\r\nAction: Originate\r\nChannel: Local/MARK@default"),
    ("framing", "Ann\r\n\r\nAction: Hangup\r\nChannel: MARK"),
    ("framing", "Ann\nEXEC System MARK"),
    ("framing", "Ann\n200 result=1 (MARK)\n"),
    ("framing", "x\rVariable: MARK=1"),
    ("framing", "nul\x00Action: Originate MARK"),
    ("framing", "Ann\r\nHANGUP\r\nMARK"),
    ("framing", "%0d%0aAction: Originate%0d%0aData: MARK"),
    ("framing", "Ann\u2028Action: MARK\u2029"),
    ("framing", "Ann\x85EXEC MARK"),
    # separators of Asterisk application data and of AGI arguments
    ("separator", "100,MARK,30"),
    ("separator", "PJSIP/100&PJSIP/MARK"),
    ("separator", "a|MARK|b"),
    ("separator", 'Ann" EXEC System "MARK'),
    ("separator", "Ann\\\" EXEC MARK"),
    ("separator", "100)MARK(x"),
    ("separator", "1;MARK;2"),
    ("separator", "Ann\tEXEC\tMARK"),
    ("separator", "Ann: Action: MARK"),
    ("separator", "b,g,M(MARK)"),
    # Asterisk expressions and functions
    ("expansion", "${SHELL(touch /tmp/MARK)}"),
    ("expansion", "${CALLERID(num)}MARK"),
    ("expansion", "$[1+1]MARK"),
    ("expansion", "${MARK}"),
    ("expansion", "${SYSTEM(MARK)}"),
    ("expansion", "$${FILE(/etc/passwd)}MARK"),
    ("expansion", "{{MARK}}"),
    ("expansion", "%(MARK)s %s %n"),
    ("expansion", "${jndi:ldap://MARK/x}"),
    ("expansion", "`id`MARK$(id)"),
    # SQL
    ("sql", "' OR '1'='1' -- MARK"),
    ("sql", "1; DROP TABLE users; -- MARK"),
    ("sql", "\" OR \"\"=\" MARK"),
    ("sql", "x' UNION SELECT password_hash FROM users -- MARK"),
    ("sql", "MARK'); DELETE FROM interaction_log; --"),
    ("sql", "%' AND 1=0 UNION SELECT 'MARK"),
    # HTML and script
    ("html", "<script>" + PWN_JS + "('MARK')</script>"),
    ("html", "<img src=x onerror=\"" + PWN_JS + "('MARK')\">"),
    ("html", "\"><svg onload=" + PWN_JS + "('MARK')>"),
    ("html", "'><iframe srcdoc=\"<script>parent." + PWN_JS + "('MARK')</script>\">"),
    ("html", "<a href=\"javascript:" + PWN_JS + "('MARK')\">click MARK</a>"),
    ("html", "</textarea><script>" + PWN_JS + "('MARK')</script>"),
    ("html", "<details open ontoggle=" + PWN_JS + "('MARK')>"),
    ("html", "<style>*{background:url('//MARK')}</style>"),
    ("html", "{{constructor.constructor('" + PWN_JS + "(\"MARK\")')()}}"),
    # sizes
    ("size", "MARK" + "A" * 10_000),
    ("size", "MARK" + "9" * 1_000),
    ("size", "MARK" + "é" * 3_000),
    # non-ASCII digits and look-alikes
    ("unicode", "٥٥٥١٢٣٤MARK"),
    ("unicode", "５５５１２３４MARK"),
    ("unicode", "४५६MARK"),
    ("unicode", "\u202eMARK\u202d1234"),
    ("unicode", "\ufeffMARK\u200b"),
    ("unicode", "Zoë 日本 🙂 MARK"),
    ("unicode", "\ud83dMARK\udc00"),  # lone surrogates: JSON can carry them, UTF-8 cannot
]

PAYLOADS: list[Payload] = [_p(i, kind, t) for i, (kind, t) in enumerate(_TEMPLATES)]

# What a phone keypad can send: the DTMF projections the IVR reads.
DTMF_INPUTS: list[str] = ["*#*#", "#", "0" * 200, "A1B2C3D", "12345678901234567890#", "*",
                          "99999999999999999999", "1#2#3#", "D", "0000000"]


def quick(n_per_kind: int = 1) -> list[Payload]:
    """The first ``n_per_kind`` payloads of each kind: the fast suite's share."""
    seen: dict[str, int] = {}
    out = []
    for p in PAYLOADS:
        if seen.get(p.kind, 0) < n_per_kind:
            out.append(p)
            seen[p.kind] = seen.get(p.kind, 0) + 1
    return out


assert len(PAYLOADS) >= 50
assert len({p.marker for p in PAYLOADS}) == len(PAYLOADS)

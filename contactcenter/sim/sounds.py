"""How long simulated prompts play (clock seconds), and which ones are missing."""

from __future__ import annotations

DEFAULT_LENGTH = 2.0
SAY_WORD = 0.8  # one spoken digit/word of SAY DIGITS/NUMBER/ALPHA/DATETIME
# lengths measured on the lab's Asterisk (endpos / 8000) or typical of the core sound set
LENGTHS: dict[str, float] = {
    "hello-world": 1.404,
    "beep": 0.426,
    "silence/1": 1.0,
    "silence/2": 2.0,
    "vm-goodbye": 0.9,
    "goodbye": 0.9,
    "welcome": 1.2,
    "pls-hold-while-try": 2.0,
    "queue-thankyou": 2.2,
    "queue-youarenext": 1.4,
    "queue-thereare": 1.0,
    "queue-callswaiting": 1.3,
    "queue-holdtime": 1.6,
    "queue-minutes": 0.7,
    "agent-loginok": 1.0,
    "custom/welcome": 3.0,
    "custom/menu": 5.0,
}


def sound_length(name: str, overrides: dict[str, float]) -> float:
    """Seconds that ``name`` plays for."""
    return overrides.get(name, LENGTHS.get(name, DEFAULT_LENGTH))


def say_length(command: str, text: str) -> float:
    """Seconds a SAY command speaks ``text`` for."""
    if command == "SAY NUMBER":
        return SAY_WORD * max(1, len(text.lstrip("-")))
    if command == "SAY DATETIME":
        return SAY_WORD * 6
    return SAY_WORD * max(1, len(text))

"""``AmiMessage.get`` on wire text: a header asked in another case is found without folding.

The reference is what ``get`` did before: the first header in the exact case asked, else the
folded-dict rule (first occurrence wins, case-insensitive) applied to the split headers.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.telephony.ami.protocol import AmiMessage

_KEYS = st.sampled_from(["Channel", "channel", "CHANNEL", "Uniqueid", "UniqueID", "Event",
                         "Linkedid", "X-Ü", "İd", "a", ""])
_VALUES = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                  max_size=6)


def _reference(lines: list[tuple[str, str]], name: str) -> str | None:
    exact = [v for k, v in AmiMessage(lines).headers if k == name]
    if exact and name:
        return exact[0]
    folded = {k.lower(): v for k, v in reversed(AmiMessage(lines).headers)}
    return folded.get(name.lower())


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.tuples(_KEYS, _VALUES), min_size=1, max_size=6), name=_KEYS,
       spaced=st.booleans())
def test_get_matches_the_case_insensitive_first_occurrence(lines, name, spaced):
    text = "\n".join(f"{k}:{' ' if spaced else ''}{v}" for k, v in lines)
    msg = AmiMessage.from_text(text)
    expected = _reference([(k, v if spaced or not v.startswith(" ") else v[1:])
                           for k, v in lines], name)
    assert msg.get(name) == expected


def test_absent_header_in_any_case_gives_the_default():
    msg = AmiMessage.from_text("Event: Hangup\nChannel: PJSIP/1-0001\nCause: 16")
    assert msg.get("CHANNEL") == "PJSIP/1-0001"
    assert msg.get("cause") == "16"
    assert msg.get("Linkedid", "none") == "none"
    assert msg.get("linkedid") is None

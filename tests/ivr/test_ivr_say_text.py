"""The ``say`` node's ``text``: schema errors with file:line:col, filling the holes, espeak-ng
renderings cached by (text, voice, rate), the offline tester and ``flows check``.

Tests that speak need espeak-ng (``apt-get install -y espeak-ng``) and skip without it.
"""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import pytest
import soundfile

from contactcenter.common.yamlfile import SourceErrors
from contactcenter.ivr.cli import flows_check, flows_test
from contactcenter.ivr.expressions import parse
from contactcenter.ivr.loader import load_flow_text
from contactcenter.ivr.model import SayNode
from contactcenter.ivr.saytext import fill, parse_template
from contactcenter.ivr.settings import IvrSettings
from contactcenter.ivr.tts import EspeakSynthesizer, SpeechFailed, TtsSettings, cache_key


def espeak_or_skip() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is missing (apt-get install -y espeak-ng)")


SAY_FLOW = """\
entry: greet
nodes:
  greet:
    type: say
    text: "Hello {caller_name}, your account {account} is {default(customer.tier, 'standard')}"
    voice: en-us+klatt
    rate: 150
    fallback_prompt: cc/sorry
    next: bye
  bye: {type: hangup}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(SourceErrors) as exc:
        load_flow_text(text, "f.yaml", "f")
    return [str(e) for e in exc.value.errors]


def test_a_say_text_node_loads_with_its_holes_parsed():
    flow = load_flow_text(SAY_FLOW, "f.yaml", "f")
    node = flow.nodes["greet"]
    assert isinstance(node, SayNode) and node.mode == "text"
    assert (node.voice, node.rate, node.fallback_prompts) == ("en-us+klatt", 150, ("cc/sorry",))
    assert [p if isinstance(p, str) else p.source for p in node.template] == [
        "Hello ", "caller_name", ", your account ", "account", " is ",
        "default(customer.tier, 'standard')"]


@pytest.mark.parametrize("line, expected", [
    ('    text: "Your balance is {customer.}"',
     "f.yaml:4:36: bad 'text': unexpected character"),
    ('    text: "Your balance is {balance"',
     "f.yaml:4:27: bad 'text': '{' is never closed"),
    ('    text: "50 } off"', "f.yaml:4:14: bad 'text': '}' without '{'"),
    ("    text: ''", "f.yaml:4:11: 'text' must be the words to say"),
    ('    text: "hi"\n    voice: "en us; rm"', ("f.yaml:5:12: 'voice': 'en us; rm' is not an "
     "espeak-ng voice")),
    ('    text: "hi"\n    rate: 5', "f.yaml:5:11: 'rate' must be between 80 and 450"),
    ('    text: "hi"\n    format: "IMp"', "f.yaml:5:5: 'format' does not go with 'text'"),
    ('    digits: caller_id\n    voice: en-us', "f.yaml:5:5: 'voice' goes with 'text' only"),
    ('    text: "hi"\n    number: 12', ("needs exactly one of 'digits', 'number', 'datetime', "
     "'text'")),
    ('    text: "hi"\n    fallback_prompt: "bad name!"', ("f.yaml:5:22: 'bad name!' is not a "
     "valid sound name")),
])
def test_say_text_errors_point_at_the_file_line_and_column(line, expected):
    text = f"entry: s\nnodes:\n  s:\n{line}\n    type: say\n    next: h\n  h: {{type: hangup}}\n"
    errors = _errors(text)
    assert any(expected in e for e in errors), errors


def test_filling_the_holes_never_fails_on_a_value():
    t = parse_template("A {x} b {y} c {z} d {w} {{literal}} {missing}")
    text, cut = fill(t, {"x": None, "y": True, "z": 42.0, "w": [1, "two"]}, 600)
    assert (text, cut) == ("A b yes c 42 d 1, two {literal}", False)
    text, cut = fill(parse_template("line\nbreak\x00 and   {v}"), {"v": "x\ry"}, 600)
    assert text == "line break and x y"
    long, cut = fill(parse_template("{v}"), {"v": "word " * 50}, 22)
    assert (long, cut) == ("word word word word", True)
    assert parse_template("{a + ' ' + b}")[0] == parse("a + ' ' + b")


def test_ivr_tts_settings_are_checked_with_positions():
    s = IvrSettings.from_mapping({"tts": {"voice": "fr", "rate": 120, "cache_dir": "/x/tts",
                                          "fallback_prompt": ["cc/sorry"]}})
    assert (s.tts.voice, s.tts.rate, s.tts.cache_dir, s.tts.fallback_prompt) == (
        "fr", 120, Path("/x/tts"), ("cc/sorry",))
    with pytest.raises(SourceErrors) as exc:
        IvrSettings.from_mapping({"tts": {"rate": 9999, "voyce": "en"}})
    text = " ".join(str(e) for e in exc.value.errors)
    assert "'rate' must be between 80 and 450" in text and "unknown key 'voyce'" in text


async def test_espeak_renders_an_8khz_mono_wav_once_per_text_voice_and_rate(tmp_path):
    espeak_or_skip()
    tts = EspeakSynthesizer(TtsSettings(cache_dir=tmp_path / "tts"))
    first = await tts.render("Your balance is 42 dollars", "en-us", 160)
    path = Path(first.sound + ".wav")
    assert path.parent == tmp_path / "tts" and path.stem == cache_key(
        "Your balance is 42 dollars", "en-us", 160)
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    assert not first.cached and first.seconds == pytest.approx(info.duration) and info.duration > 1
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    inode, body = path.stat().st_ino, path.read_bytes()
    # two calls at once asking for the same text share the rendering made for the first
    again, same = await asyncio.gather(*(tts.render("Your balance is 42 dollars", "en-us", 160)
                                         for _ in range(2)))
    assert again.cached and same.cached and again.sound == first.sound
    # the same file, not rewritten (a hand-out touches its time: that is its last use)
    assert tts.renders == 1 and (path.stat().st_ino, path.read_bytes()) == (inode, body)
    other = await tts.render("Your balance is 42 dollars", "en-us", 200)
    assert other.sound != first.sound and not other.cached and tts.renders == 2


async def test_a_text_starting_with_a_dash_is_spoken_not_taken_as_an_option(tmp_path):
    espeak_or_skip()
    tts = EspeakSynthesizer(TtsSettings(cache_dir=tmp_path))
    done = await tts.render("--version -v xx", "en-us", 160)
    data, rate = soundfile.read(io.BytesIO(Path(done.sound + ".wav").read_bytes()))
    assert rate == 8000 and len(data) > 8000 // 2


async def test_an_unknown_voice_or_a_missing_engine_is_speech_failed(tmp_path):
    espeak_or_skip()
    tts = EspeakSynthesizer(TtsSettings(cache_dir=tmp_path))
    with pytest.raises(SpeechFailed, match="voice"):
        await tts.render("hello", "xx-nosuchvoice", 160)
    missing = EspeakSynthesizer(TtsSettings(engine="no-such-espeak-ng", cache_dir=tmp_path))
    with pytest.raises(SpeechFailed, match="not installed"):
        await missing.render("hello", "en-us", 160)
    assert not list(tmp_path.iterdir())


OFFLINE_FLOW = """\
entry: account
nodes:
  account:
    type: input
    prompt: cc/enter-account
    var: account
    next: find
    on_failure: bye
  find: {type: lookup, source: crm, key: account, found: balance, not_found: bye}
  balance:
    type: say
    text: "Your balance is {customer.balance} dollars"
    fallback_prompt: cc/balance-unavailable
    next: bye
  bye: {type: hangup}
"""

OFFLINE_TESTS = """\
cases:
  - name: the balance is spoken with the looked-up value
    keys: ["12345#"]
    lookups: {crm: {balance: "42.50"}}
    expect:
      said: ["Your balance is 42.50 dollars"]
      path: [account, find, balance, bye]
      outcome: hangup
  - name: speech fails, the fallback prompt plays, the flow goes on
    keys: ["12345#"]
    lookups: {crm: {balance: "1"}}
    speech: fail
    expect:
      said: []
      commands_include: ['STREAM FILE cc/balance-unavailable ""']
      path: [account, find, balance, bye]
      outcome: hangup
"""


def test_the_offline_tester_runs_say_text_nodes(tmp_path):
    (tmp_path / "bal.yaml").write_text(OFFLINE_FLOW)
    (tmp_path / "bal.test.yaml").write_text(OFFLINE_TESTS)
    out = io.StringIO()
    code = flows_test([str(tmp_path)], out, IvrSettings(tts=TtsSettings(cache_dir=tmp_path)))
    assert code == 0, out.getvalue()
    assert "2 passed, 0 failed" in out.getvalue()
    # a wrong expectation fails with the case's line, and nothing is rendered offline
    (tmp_path / "bal.test.yaml").write_text(OFFLINE_TESTS.replace("42.50 dollars", "42 dollars"))
    out = io.StringIO()
    assert flows_test([str(tmp_path)], out) == 1
    assert "bal.test.yaml:2: said: expected ['Your balance is 42 dollars']" in out.getvalue()
    assert not list(tmp_path.glob("*.wav"))


def test_flows_check_warns_when_a_voice_is_not_installed(tmp_path):
    espeak_or_skip()
    (tmp_path / "v.yaml").write_text(SAY_FLOW.replace("en-us+klatt", "xx-nosuchvoice"))
    out = io.StringIO()
    assert flows_check([str(tmp_path)], out) == 0  # a warning, not an error
    assert f"{tmp_path / 'v.yaml'}:3:3: warning: voice 'xx-nosuchvoice' is not installed" in (
        out.getvalue())
    (tmp_path / "v.yaml").write_text(SAY_FLOW)
    out = io.StringIO()
    assert flows_check([str(tmp_path)], out) == 0 and "warning" not in out.getvalue()

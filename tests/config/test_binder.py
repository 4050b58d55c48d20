"""Typed settings: each kind of wrong value is refused with ``file:line:col`` and what was
expected, as the README promises; the lenient conversions stay lenient."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from contactcenter.common.yamlfile import SourceErrors, load_yaml_text
from contactcenter.config.binder import Binder
from contactcenter.config.loader import load_settings


def _errors(tmp_path, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "contactcenter.yaml"
    path.write_text(text)
    with pytest.raises(SourceErrors) as info:
        load_settings(path, environ={})
    return [str(e).replace(f"{path}:", "") for e in info.value.errors]


@pytest.mark.parametrize("text, expected", [
    # int: a word, a bool (YAML's true is not 1), a number with a fraction, nothing
    ("web:\n  port: eighty\n", "2:9: port: expected an integer, got 'eighty'"),
    ("web:\n  port: true\n", "2:9: port: expected an integer, got True"),
    ("web:\n  port: 80.5\n", "2:9: port: expected an integer, got 80.5"),
    ("web:\n  port:\n", "2:8: port: expected an integer, got None"),
    # bool: a word YAML 1.1 would not read as a boolean, a number
    ("web:\n  secure_cookies: sometimes\n",
     "2:19: secure_cookies: expected true/false, got 'sometimes'"),
    ("web:\n  secure_cookies: 1\n", "2:19: secure_cookies: expected true/false, got 1"),
    # float: text
    ("crm:\n  timeout_s: soon\n", "2:14: timeout_s: expected a number, got 'soon'"),
    # str: a list, a mapping, a bool
    ("web:\n  host: [a, b]\n", "2:9: host: expected a string, got ['a', 'b']"),
    ("log_level: {a: 1}\n", "1:12: log_level: expected a string, got {'a': 1}"),
    ("flows_dir: false\n", "1:12: flows_dir: expected a string, got False"),
    # list: a string, a mapping; an item of the wrong type, where the item is
    ("fastagi:\n  allowed_networks: 10.0.0.0/8\n", "2:21: allowed_networks: expected a list"),
    ("asterisk: {name: a}\n", "1:11: asterisk: expected a list"),
    ("web:\n  allowed_origins:\n    - https://a.example\n    - [x]\n",
     "4:7: allowed_origins: expected a string, got ['x']"),
    # a section (dataclass): not a mapping, as a whole or as a list item
    ("web: 8080\n", "1:6: expected a mapping for WebSettings"),
    ("asterisk:\n  - pbx1\n", "2:5: expected a mapping for PbxSettings"),
    # unknown keys name the known ones
    ("crm:\n  timeout: 3\n", "2:3: unknown key 'timeout' (known: timeout_s, url_template)"),
])
def test_each_kind_of_wrong_value_is_located_and_explained(tmp_path, text, expected):
    assert _errors(tmp_path, text) == [expected]


def test_every_error_of_a_file_is_reported_at_once(tmp_path):
    errors = _errors(tmp_path, "web:\n  port: x\n  host: 5.5.5\n  nope: 1\n"
                               "crm:\n  timeout_s: [1]\n")
    assert [e.split(":")[0] for e in errors] == ["2", "4", "6"]  # 5.5.5 is a string: fine


def test_lenient_conversions(tmp_path):
    path = tmp_path / "contactcenter.yaml"
    path.write_text("asterisk:\n  - name: a\n    secret: 1234\n    port: 5038\n"
                    "crm:\n  timeout_s: 3\nweb:\n  host: 127.0.0.1\n")
    s = load_settings(path, environ={})
    assert s.asterisk[0].secret == "1234"  # a number typed as a password is the password
    assert s.crm.timeout_s == 3.0 and isinstance(s.crm.timeout_s, float)


@dataclass(frozen=True)
class _Shapes:
    levels: dict[str, int] = field(default_factory=dict)
    pair: tuple[str, ...] = ()
    maybe: int | None = 5


def _bind(text: str) -> tuple[_Shapes, list[str]]:
    doc = load_yaml_text(text, "shapes.yaml")
    binder = Binder()
    out = binder.bind(_Shapes, doc, doc.mark)
    return out, [str(e) for e in binder.errors]


def test_mappings_tuples_and_optionals():
    ok, errors = _bind("levels: {en: 1, fr: 2}\npair: [a, b]\nmaybe: null\n")
    assert errors == [] and ok == _Shapes({"en": 1, "fr": 2}, ("a", "b"), None)
    _, errors = _bind("levels: [en]\n")
    assert errors == ["shapes.yaml:1:9: levels: expected a mapping"]
    _, errors = _bind("levels: {en: high}\n")
    assert errors == ["shapes.yaml:1:14: levels: expected an integer, got 'high'"]
    _, errors = _bind("pair: a\nmaybe: lots\n")
    assert errors == ["shapes.yaml:1:7: pair: expected a list",
                      "shapes.yaml:2:8: maybe: expected an integer, got 'lots'"]

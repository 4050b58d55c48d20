"""Settings: defaults, YAML over them, CC_* variables over that, file:line errors."""

from __future__ import annotations

import pytest

from contactcenter.common.yamlfile import SourceError, SourceErrors
from contactcenter.config.loader import database_url, load_settings


def write(tmp_path, text):
    d = tmp_path / "config"
    d.mkdir(exist_ok=True)
    p = d / "contactcenter.yaml"
    p.write_text(text)
    return p


def test_defaults_without_file():
    s = load_settings(None, environ={})
    assert s.fastagi.port == 4573 and s.web.port == 8080
    assert s.fastagi.allowed_networks == ["127.0.0.0/8", "::1/128"]
    assert s.database.url.startswith("sqlite+aiosqlite:///var/")


def test_shipped_file_loads():
    s = load_settings("config/contactcenter.yaml", environ={})
    assert [p.name for p in s.asterisk] == ["pbx1"]
    assert s.asterisk[0].port == 5038


def test_yaml_then_env(tmp_path):
    p = write(tmp_path, "web:\n  port: 9000\nasterisk:\n  - name: a\n    secret: s\n")
    s = load_settings(p, environ={"CC_WEB__HOST": "0.0.0.0", "CC_ASTERISK__0__SECRET": "x",
                                   "CC_ASTERISK__1__NAME": "b", "HOME": "/root"})
    assert s.web.port == 9000 and s.web.host == "0.0.0.0"
    assert [(p.name, p.secret) for p in s.asterisk] == [("a", "x"), ("b", "")]
    assert s.base_dir == str(tmp_path.resolve())
    assert database_url(s) == f"sqlite+aiosqlite:///{tmp_path.resolve()}/var/contactcenter.sqlite3"


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("web:\n  prot: 1\n", ":2:3:", "unknown key 'prot'"),
        ("web:\n  port: eighty\n", ":2:9:", "expected an integer"),
        ("fastagi:\n  port: 70000\n", ":2:3:", "outside 0..65535"),
        ("fastagi:\n  allowed_networks: [nope]\n", ":2:3:", "is not a network"),
        ("web:\n  port: 1\n  port: 2\n", ":3:3:", "duplicate key"),
        ("web: !!python/object:os.system {}\n", ":1:6:", "not allowed"),
    ],
)
def test_errors_point_at_file_line(tmp_path, text, where, words):
    p = write(tmp_path, text)
    with pytest.raises((SourceError, SourceErrors)) as info:
        load_settings(p, environ={})
    msg = str(info.value)
    assert f"{p}{where}" in msg and words in msg


def test_env_error_names_variable(tmp_path):
    with pytest.raises(SourceErrors) as info:
        load_settings(None, environ={"CC_WEB__PORT": "abc"})
    assert "env:CC_WEB__PORT:1:1: port: expected an integer" in str(info.value)


def test_ivr_section_is_validated_by_the_ivr_context(tmp_path):
    s = load_settings("config/contactcenter.yaml", environ={})
    assert s.ivr.numbers == {"100": "main"} and s.ivr.default_flow == "main"
    p = write(tmp_path, "ivr:\n  default_flow: main\n  nmbers: {}\n")
    with pytest.raises(SourceErrors) as info:
        load_settings(p, environ={})
    assert f"{p}:3:3:" in str(info.value) and "nmbers" in str(info.value)

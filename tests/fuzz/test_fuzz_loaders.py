"""Fuzzing the loaders people feed by hand: the located YAML loader, flows, routing, settings.

For any text: a value, or an error located at ``file:line:col`` inside the text (the file name
as given, line and column within the document); never another exception and never a hang. The
documents are real files (``ivr_flows/*.yaml``, ``config/queues.yaml``, ``config/agents.yaml``,
``config/contactcenter.yaml``) mutated by ``doc_mutations``, or arbitrary text.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from doc_mutations import documents
from fuzz_budget import FAST, SLOW
from hypothesis import example, given
from hypothesis import strategies as st

from contactcenter.common.yamlfile import SourceError, SourceErrors, load_yaml_text
from contactcenter.config.loader import load_settings
from contactcenter.config.schema import Settings
from contactcenter.ivr.loader import load_flow_text
from contactcenter.ivr.model import Flow
from contactcenter.routing.config import RoutingConfig
from contactcenter.routing.config_loader import load_routing_config_text

ROOT = Path(__file__).resolve().parents[2]
FLOWS = [p.read_text() for p in sorted((ROOT / "ivr_flows").glob("*.yaml"))
         if not p.name.endswith(".test.yaml")]
QUEUES = (ROOT / "config/queues.yaml").read_text()
AGENTS = (ROOT / "config/agents.yaml").read_text()
SETTINGS = (ROOT / "config/contactcenter.yaml").read_text()


# The line breaks YAML counts (str.splitlines() has more, e.g. \x1e).
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _located(errors: list[SourceError], files: dict[str, str]) -> None:
    """Each error names one of ``files`` (as given) at a line and column inside it."""
    assert errors
    for err in errors:
        assert isinstance(err, SourceError)
        text = files.get(err.mark.file)
        assert text is not None, f"error names {err.mark.file!r}: {err}"
        assert 1 <= err.mark.line <= len(_LINE_BREAK.findall(text)) + 2, str(err)
        assert err.mark.col >= 1, str(err)
        assert err.message and "Traceback" not in err.message


def check_yaml(text: str) -> None:
    """A value, or one located SourceError."""
    try:
        load_yaml_text(text, "doc.yaml")
    except SourceError as err:
        _located([err], {"doc.yaml": text})


def check_flow(text: str) -> None:
    """A valid Flow, or SourceErrors all located in the flow file."""
    try:
        flow = load_flow_text(text, "fuzzed.yaml")
    except SourceErrors as errs:
        _located(errs.errors, {"fuzzed.yaml": text})
    else:
        assert isinstance(flow, Flow) and flow.nodes


def check_routing(queues: str, agents: str) -> None:
    """A RoutingConfig, or SourceErrors located in one of the two files."""
    try:
        cfg = load_routing_config_text(queues, agents)
    except (SourceError, SourceErrors) as exc:  # one YAML error, or every check's errors
        errors = exc.errors if isinstance(exc, SourceErrors) else [exc]
        _located(errors, {"queues.yaml": queues, "agents.yaml": agents})
    else:
        assert isinstance(cfg, RoutingConfig)
        for q in cfg.queues.values():
            for v in (q.wrapup_s, q.ring_timeout_s, q.max_wait_s):
                assert v is None or (isinstance(v, (int, float)) and not math.isnan(v))


def check_settings(text: str, folder: Path) -> None:
    """Settings, or located errors in the settings file."""
    path = folder / "contactcenter.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        settings = load_settings(path, environ={})
    except SourceErrors as errs:
        _located(errs.errors, {str(path): text})
    except SourceError as err:
        _located([err], {str(path): text})
    else:
        assert isinstance(settings, Settings)


_ROUTING = st.one_of(
    st.tuples(documents(QUEUES), st.just(AGENTS)),
    st.tuples(st.just(QUEUES), documents(AGENTS)),
    st.tuples(documents(QUEUES), documents(AGENTS)),
)
_FLOWS = st.one_of(*[documents(f) for f in FLOWS])
_YAML = st.one_of(_FLOWS, documents(QUEUES), st.text(max_size=400))


@FAST
@given(text=_YAML)
def test_yaml_loader_fuzz(text):
    check_yaml(text)


@FAST
@given(text=_FLOWS)
def test_flow_loader_fuzz(text):
    check_flow(text)


@FAST
@given(files=_ROUTING)
def test_routing_config_fuzz(files):
    check_routing(*files)


@FAST
@given(text=documents(SETTINGS))
@example(text="\x1e\r\t")  # a tab after a bare CR, once numbered line 3 of 2
def test_settings_loader_fuzz(tmp_path, text):
    check_settings(text, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(text=_YAML)
def test_yaml_loader_fuzz_10k(text):
    check_yaml(text)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(text=_FLOWS)
def test_flow_loader_fuzz_10k(text):
    check_flow(text)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(files=_ROUTING)
def test_routing_config_fuzz_10k(files):
    check_routing(*files)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(text=documents(SETTINGS))
def test_settings_loader_fuzz_10k(tmp_path, text):
    check_settings(text, tmp_path)

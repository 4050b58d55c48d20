"""Every YAML example in the docs is a file the product accepts, loaded by the product's loader.

Convention for ```yaml (or ```yml) blocks in README.md and docs/**/*.md:

* An unmarked block is recognised by its top-level keys: ``queues`` is a queues file,
  ``agents`` an agents file, ``nodes`` an IVR flow, ``cases`` a flow's test file, and a mapping
  whose keys are all server settings (``ivr``, ``web``, ``recordings_dir``...) a settings file.
* A block whose kind cannot be told that way must say it in an HTML comment on the line before
  its fence (blank lines may sit between): ``<!-- example: KIND -->`` with KIND one of
  ``queues``, ``agents``, ``settings``, ``flow``, ``flow-test``, or ``fragment`` for a
  deliberate excerpt that no loader can take (it is then not checked at all).
* An unmarked block of no recognisable kind fails this test: an example nobody can load is
  an example nobody checks.

Each block is loaded where it stands: the YAML is padded with blank lines so that errors read
``docs/recording.md:9:3: queues must be a mapping``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contactcenter.common.yamlfile import SourceError, SourceErrors, load_yaml, load_yaml_text
from contactcenter.config.loader import load_settings
from contactcenter.config.schema import Settings
from contactcenter.ivr.flowtest import load_cases
from contactcenter.ivr.loader import load_flow_text
from contactcenter.recording.policy import policy_from_mapping
from contactcenter.routing.config_loader import build_config

REPO = Path(__file__).resolve().parents[2]
KINDS = ("queues", "agents", "settings", "flow", "flow-test", "fragment")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w-]*)")
_MARKER = re.compile(r"^\s*<!--\s*example:\s*([\w-]+)\s*-->\s*$")


@dataclass(frozen=True)
class Example:
    """One fenced YAML block: where it is, its marker (if any) and its text."""

    file: str  # relative to the repository, as errors show it
    line: int  # line of the first YAML line in the file
    marker: str | None
    text: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def padded(self) -> str:
        """The text preceded by blank lines, so that YAML line numbers are the file's."""
        return "\n" * (self.line - 1) + self.text


def yaml_blocks(file: str, markdown: str) -> list[Example]:
    """Every ```yaml / ```yml block of ``markdown`` (fences may be indented, as in lists)."""
    lines = markdown.splitlines()
    out: list[Example] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if lang.lower() in {"yaml", "yml"}:
            before = next((x for x in reversed(lines[:i]) if x.strip()), "")
            marker = _MARKER.match(before)
            body = [x[len(indent):] if x.startswith(indent) else x.lstrip()
                    for x in lines[i + 1:end]]
            out.append(Example(file, i + 2, marker.group(1) if marker else None,
                               "\n".join(body) + "\n"))
        i = end + 1
    return out


def doc_examples() -> list[Example]:
    files = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [ex for f in files
            for ex in yaml_blocks(str(f.relative_to(REPO)), f.read_text(encoding="utf-8"))]


_SETTINGS_KEYS = {f.name for f in dataclasses.fields(Settings)}


def kind_of(ex: Example) -> str:
    """The example's kind: its marker, else what its top-level keys say; fails when neither."""
    if ex.marker is not None:
        assert ex.marker in KINDS, (f"{ex.where}: unknown example kind {ex.marker!r} "
                                    f"(one of {', '.join(KINDS)})")
        return ex.marker
    try:
        doc = load_yaml_text(ex.padded(), ex.file)
    except SourceError as exc:
        pytest.fail(f"{exc}\n(a deliberate excerpt is marked <!-- example: fragment -->)")
    keys = set(doc) if isinstance(doc, dict) else set()
    for key, kind in (("queues", "queues"), ("agents", "agents"), ("nodes", "flow"),
                      ("cases", "flow-test")):
        if key in keys:
            return kind
    if keys and keys <= _SETTINGS_KEYS:
        return "settings"
    pytest.fail(f"{ex.where}: cannot tell what this YAML example is (top-level keys "
                f"{sorted(map(str, keys))}); put <!-- example: KIND --> before its fence, KIND "
                f"one of {', '.join(KINDS)}")


def _load_queues(ex: Example, tmp_path: Path) -> None:
    # A queues example alone: no agent, so the queues must not need one (overflow targets
    # are queues of the same example).
    queues = load_yaml_text(ex.padded(), ex.file)
    config = build_config(queues, ex.file, load_yaml_text("agents: []\n", "agents"), "agents")
    # The recording block is checked by the recording context, as the server does at start.
    for name in config.queues:
        policy_from_mapping(queues["queues"][name].get("recording") or None)


def _load_agents(ex: Example, tmp_path: Path) -> None:
    # Agents name queues: check them against the shipped queues file.
    queues_file = REPO / "config/queues.yaml"
    build_config(load_yaml(queues_file), str(queues_file),
                 load_yaml_text(ex.padded(), ex.file), ex.file)


def _load_settings(ex: Example, tmp_path: Path) -> None:
    path = tmp_path / Path(ex.file).name.replace(".md", ".yaml")
    path.write_text(ex.padded(), encoding="utf-8")
    load_settings(path, environ={})


def _load_flow(ex: Example, tmp_path: Path) -> None:
    doc = load_yaml_text(ex.padded(), ex.file)
    load_flow_text(ex.padded(), ex.file, name=str(doc.get("name") or "example"))


def _load_flow_test(ex: Example, tmp_path: Path) -> None:
    load_cases(ex.padded(), ex.file)


LOADERS: dict[str, Callable[[Example, Path], Any]] = {
    "queues": _load_queues, "agents": _load_agents, "settings": _load_settings,
    "flow": _load_flow, "flow-test": _load_flow_test,
}


def check_example(ex: Example, tmp_path: Path) -> str:
    """Load ``ex`` as what it is; returns its kind. Raises the loader's errors."""
    kind = kind_of(ex)
    if kind != "fragment":
        LOADERS[kind](ex, tmp_path)
    return kind


EXAMPLES = doc_examples()


@pytest.mark.parametrize("example", EXAMPLES, ids=[ex.where for ex in EXAMPLES])
def test_doc_example_is_accepted_by_the_product(example, tmp_path):
    try:
        check_example(example, tmp_path)
    except (SourceError, SourceErrors, ValueError, TypeError) as exc:
        pytest.fail(f"{example.where}: the product refuses this example:\n{exc}")


def test_the_docs_examples_are_all_found():
    kinds = {ex.where: kind_of(ex) for ex in EXAMPLES}
    assert kinds.get("docs/recording.md:8") == "queues", kinds
    assert {"flow", "flow-test", "settings", "queues"} <= set(kinds.values()), kinds


# What docs/recording.md showed before: queues as a list, which the product refuses.
OLD_RECORDING_EXAMPLE = """\
# Call recording

```yaml
queues:
  - name: sales
    recording: {mode: always, retention_days: 90, agent_access: true}
```
"""


def test_a_wrong_example_fails_with_its_place_in_the_doc(tmp_path):
    (ex,) = yaml_blocks("docs/recording.md", OLD_RECORDING_EXAMPLE)
    with pytest.raises(SourceErrors) as err:
        check_example(ex, tmp_path)
    assert "docs/recording.md:5:3: queues must be a mapping" in str(err.value)


def test_a_bad_recording_block_fails_like_the_server():
    text = "```yaml\nqueues:\n  sales:\n    recording: {mode: sometimes}\n```\n"
    (ex,) = yaml_blocks("x.md", text)
    with pytest.raises(ValueError, match="sometimes"):
        check_example(ex, Path("."))


def test_an_unmarked_block_of_unknown_kind_fails_and_a_marked_fragment_passes(tmp_path):
    text = "Text.\n\n```yaml\nrecording: {mode: always}\n```\n"
    (ex,) = yaml_blocks("x.md", text)
    with pytest.raises(pytest.fail.Exception, match="cannot tell what this YAML example is"):
        check_example(ex, tmp_path)
    marked = "<!-- example: fragment -->\n\n```yaml\nrecording: {mode: always}\n  ...\n```\n"
    (frag,) = yaml_blocks("x.md", marked)
    assert check_example(frag, tmp_path) == "fragment"
    (queues,) = yaml_blocks("x.md", "<!-- example: queues -->\n```yaml\nqueues: {q: {}}\n```\n")
    assert check_example(queues, tmp_path) == "queues"

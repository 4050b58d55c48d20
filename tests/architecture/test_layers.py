"""The dependency direction of docs/architecture.md, checked on every import in the package."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import contactcenter

ROOT = Path(contactcenter.__file__).parent

# Lower number = lower layer. A module may import its own layer or lower ones only.
LAYERS = {
    "domain": 0, "common": 0,
    "storage": 1,
    "web": 2,  # the shell only: auth, sessions, CSRF/origin, live hub, OpenAPI, shared assets
    "telephony": 3,
    "routing": 4,
    "ivr": 5,
    "monitoring": 6,
    "recording": 7,
    "kb": 7,  # articles, search, help center; below the channels (chat's bot uses it)
    # Channels: each enters the queue engine; none imports another (CHANNELS below).
    "voice": 8,
    "chat": 8,
    "tickets": 8,
    "reports": 9,  # reads routing's interaction log; routing never imports it
    "qa": 9,  # transcripts and evaluations of recordings; fills the player's text search
    "panel": 10, "health": 10,
    "config": 11, "cluster": 11,  # a node's standby/leader terms; config binds its settings
    "doctor": 12, "app": 12, "cli": 12, "__main__": 12, "demo": 12,
}
# The channels: a channel never imports another one; what they share goes down a floor.
CHANNELS = {"voice", "chat", "tickets"}
# The simulator plays Asterisk: it may use the wire codecs and the clock, nothing of the server.
SIM_MAY_IMPORT = {"domain", "common", "telephony.ami.protocol", "telephony.agi.api",
                  "telephony.agi.protocol", "telephony.ami.actions", "sim"}
# routing/ routes interactions of any channel: it must not know Asterisk, flows or a channel.
ROUTING_MAY_NOT = {"telephony", "ivr", "sim", *CHANNELS}
# The root holds only the composition root and the command line; everything else is a package.
ROOT_MODULES = {"__init__", "__main__", "app", "cli", "demo"}


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py"))


def _package_of(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return rel.parts[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(n, m[len("contactcenter."):]) for n, m in found if m.startswith("contactcenter.")]


def test_every_import_follows_the_layers():
    problems = []
    for path in _modules():
        top = _package_of(path)
        if top == "__init__":
            continue
        # A context's cli.py is its command-line adapter: it sits with the composition root.
        layer_of_top = LAYERS["cli"] if path.name.endswith("cli.py") else LAYERS.get(top)
        for line, target in _imports(path):
            dest = target.split(".")[0]
            where = f"{path.relative_to(ROOT.parent)}:{line}"
            if top == "sim":
                if not any(target == a or target.startswith(a + ".") for a in SIM_MAY_IMPORT):
                    problems.append(f"{where}: sim imports {target}")
                continue
            if dest == "sim" and top not in {"app", "cli", "__main__", "demo"}:
                problems.append(f"{where}: only the composition root may use the simulator")
            if top == "routing" and dest in ROUTING_MAY_NOT:
                problems.append(f"{where}: routing imports {target}")
            if top in CHANNELS and dest in CHANNELS and dest != top:
                problems.append(f"{where}: channel {top} imports channel {target}")
            layer_of_dest = (LAYERS["cli"] if target.endswith("cli") and "." in target
                             else LAYERS.get(dest))
            if layer_of_dest is not None and layer_of_top is not None and \
                    layer_of_dest > layer_of_top:
                problems.append(f"{where}: {top} (layer {layer_of_top}) imports {target} "
                                f"(layer {layer_of_dest})")
            if dest not in LAYERS and dest != "sim":
                problems.append(f"{where}: {target} is in no layer; add it to LAYERS")
    assert problems == []


def test_every_package_has_a_layer():
    tops = {_package_of(p) for p in _modules()} - {"__init__", "sim"}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))


def test_the_root_holds_only_the_composition_root_and_the_cli():
    loose = sorted(p.stem for p in ROOT.glob("*.py"))
    assert set(loose) <= ROOT_MODULES, sorted(set(loose) - ROOT_MODULES)


def test_every_context_keeps_its_tables_in_tables_py():
    # storage.database finds the schema by this name; a table declared elsewhere would be
    # missing from a new database and from the migrations' comparison.
    stray = []
    for path in _modules():
        if path.name != "tables.py" and path.parent.name != "sim" and \
                "__tablename__" in path.read_text():
            stray.append(str(path.relative_to(ROOT.parent)))
    assert stray == []


IMPORT_CHUNKS = 4  # one subprocess each, spread over the suite's workers (~45 s in one)


@pytest.mark.parametrize("chunk", range(IMPORT_CHUNKS))
def test_every_module_imports_alone(chunk):
    # Each module is imported with none of ours loaded yet (they are dropped from sys.modules
    # between imports), which catches circular imports that one shared import order would
    # hide; third-party packages stay loaded, so this takes seconds instead of a fresh
    # interpreter per module.
    every = sorted(m.name for m in pkgutil.walk_packages([str(ROOT)], "contactcenter.")
                   if m.name != "contactcenter.__main__")
    assert len(every) > 10 * IMPORT_CHUNKS
    names = every[chunk::IMPORT_CHUNKS]
    script = (
        "import importlib, json, sys\n"
        "failed = {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    for key in [k for k in sys.modules if k == 'contactcenter' or k.startswith('contactcenter.')]:\n"
        "        del sys.modules[key]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except BaseException as exc:\n"
        "        failed[name] = f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps(failed))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(names)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    failed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert failed == {}

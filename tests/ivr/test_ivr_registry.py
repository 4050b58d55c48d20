"""Flow registry: atomic swaps, refused invalid edits, flow choice, the polling watcher."""

from __future__ import annotations

import asyncio

from contactcenter.ivr.registry import FlowRegistry
from contactcenter.ivr.settings import IvrSettings
from contactcenter.telephony.agi.api import AgiEnvironment

FLOW = """entry: q
nodes:
  q: {{type: queue, queue: {queue}}}
"""


def env(**kw):
    base = {"channel": "Local/100@cc-inbound-00000001;2", "uniqueid": "1.1", "callerid": "555",
            "calleridname": None, "dnid": "100", "extension": "100", "context": "cc-inbound",
            "language": "en", "script": "ivr"}
    base.update(kw)
    return AgiEnvironment(**base)


def make(tmp_path, **kw):
    return FlowRegistry(IvrSettings(flows_dir=tmp_path, **kw))


def test_invalid_edit_is_refused_and_the_old_version_keeps_serving(tmp_path):
    path = tmp_path / "main.yaml"
    path.write_text(FLOW.format(queue="v1"))
    reg = make(tmp_path)
    assert reg.poll() == ["main"]
    v1 = reg.get("main")
    running = reg.snapshot()

    path.write_text(FLOW.format(queue="v1") + "  oops: [\n")
    assert reg.poll() == []
    assert reg.get("main") is v1
    assert reg.reload_errors_total == 1
    (err,) = reg.errors[str(path)]
    assert err.startswith(f"{path}:")
    assert reg.poll() == [] and reg.reload_errors_total == 1  # counted once, not per poll

    path.write_text(FLOW.format(queue="version-two"))
    assert reg.poll() == ["main"]
    assert reg.get("main").nodes["q"].queue == "version-two"
    assert str(path) not in reg.errors
    # a call that started before the reload still sees its own version
    assert running["main"] is v1


def test_touch_without_change_does_not_reload(tmp_path):
    path = tmp_path / "main.yaml"
    path.write_text(FLOW.format(queue="a"))
    reg = make(tmp_path)
    reg.poll()
    first = reg.get("main")
    path.write_text(FLOW.format(queue="a"))
    assert reg.poll() == []
    assert reg.get("main") is first and reg.reloads_total == 1


def test_removed_file_is_unloaded_and_test_files_are_ignored(tmp_path):
    (tmp_path / "a.yaml").write_text(FLOW.format(queue="a"))
    (tmp_path / "b.yaml").write_text(FLOW.format(queue="b"))
    (tmp_path / "a.test.yaml").write_text("cases: []\n")
    reg = make(tmp_path)
    assert sorted(reg.poll()) == ["a", "b"]
    (tmp_path / "b.yaml").unlink()
    assert reg.poll() == ["b"]
    assert set(reg.snapshot()) == {"a"}


def test_flow_with_missing_subflow_is_refused(tmp_path):
    (tmp_path / "main.yaml").write_text(
        "entry: s\nnodes:\n  s: {type: subflow, flow: helper, next: q}\n"
        "  q: {type: queue, queue: x}\n")
    reg = make(tmp_path)
    assert reg.poll() == []
    assert "which is not loaded" in reg.errors[str(tmp_path / "main.yaml")][0]
    (tmp_path / "helper.yaml").write_text("entry: r\nnodes:\n  r: {type: return}\n")
    assert sorted(reg.poll()) == ["helper", "main"]
    assert not reg.errors


def test_choose_flow_from_request_then_number_then_default(tmp_path):
    reg = make(tmp_path, numbers={"200": "sales", "300": "support"}, default_flow="main")
    assert reg.choose(env(query={"flow": "vip"})) == "vip"
    assert reg.choose(env(args=("night",))) == "night"
    assert reg.choose(env(dnid="200")) == "sales"
    assert reg.choose(env(dnid=None, extension="300")) == "support"
    assert reg.choose(env(dnid="999", extension="999")) == "main"


async def test_watcher_picks_up_edits(tmp_path):
    path = tmp_path / "main.yaml"
    path.write_text(FLOW.format(queue="one"))
    reg = make(tmp_path, reload_interval_s=0.02)
    task = asyncio.create_task(reg.watch())
    try:
        async def until(pred):
            for _ in range(500):
                if pred():
                    return True
                await asyncio.sleep(0.01)
            return False

        assert await until(lambda: reg.get("main") is not None)
        path.write_text(FLOW.format(queue="second"))
        assert await until(lambda: reg.get("main").nodes["q"].queue == "second")
        path.write_text("entry: [\n")
        assert await until(lambda: reg.reload_errors_total == 1)
        assert reg.get("main").nodes["q"].queue == "second"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_settings_from_mapping_checks_keys(tmp_path):
    import pytest

    from contactcenter.common.yamlfile import SourceErrors, load_yaml_text

    doc = load_yaml_text("ivr:\n  default_flow: main\n  numbers: {100: main}\n"
                         "  fallback: {queue: operator, prompt: sorry}\n", "cc.yaml")
    s = IvrSettings.from_mapping(doc["ivr"], "cc.yaml")
    assert s.numbers == {"100": "main"} and s.fallback.queue == "operator"
    bad = load_yaml_text("ivr:\n  default_flow: main\n  flow_dir: x\n", "cc.yaml")
    with pytest.raises(SourceErrors) as info:
        IvrSettings.from_mapping(bad["ivr"], "cc.yaml")
    assert str(info.value.errors[0]).startswith("cc.yaml:3:3: unknown key 'flow_dir'")


def test_queue_nodes_naming_unknown_queues_or_skills_are_warned_about_with_file_and_line(tmp_path):
    from contactcenter.ivr.loader import RoutingNames

    names = RoutingNames(frozenset({"sales"}), frozenset({"english"}))
    path = tmp_path / "main.yaml"
    path.write_text("entry: a\nnodes:\n"
                    "  a: {type: queue, queue: sales, skills: {english: 2}, on_exit: b}\n"
                    "  b: {type: queue, queue: suport, skills: {klingon: 1, english: 1}}\n")
    reg = FlowRegistry(IvrSettings(flows_dir=tmp_path), lambda: names)
    assert reg.poll() == ["main"]  # warnings do not refuse the flow: it serves
    assert reg.get("main") is not None and reg.errors == {}
    assert reg.warnings == {str(path): [
        (f"{path}:4:3: queue node 'b' sends callers to queue 'suport', which the queue engine "
        "does not have"),
        (f"{path}:4:3: queue node 'b' requires skill 'klingon', which no queue, agent or skills "
        "catalogue entry names")]}
    # The routing configuration changes (an admin adds the queue and the skill): re-checked.
    names = RoutingNames(frozenset({"sales", "suport"}), frozenset({"english", "klingon"}))
    reg.check_references()
    assert reg.warnings == {}

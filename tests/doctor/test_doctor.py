"""contactcenter doctor over real Asterisk .conf files (read with pyst2)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

from contactcenter.config.loader import load_settings
from contactcenter.doctor.report import run_doctor

REPO = Path(__file__).resolve().parents[2]


def make_asterisk_dir(tmp_path: Path, manager_user: str, extra_globals: str = "") -> Path:
    d = tmp_path / "asterisk"
    d.mkdir()
    shutil.copy(REPO / "dialplan/extensions_contactcenter.conf", d)
    (d / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        "#include manager_contactcenter.conf\n"
    )
    (d / "manager_contactcenter.conf").write_text(manager_user)
    (d / "extensions.conf").write_text(
        f"[globals]\n{extra_globals}\n[default]\nexten => s,1,Hangup()\n\n"
        "#include extensions_contactcenter.conf\n"
    )
    return d


def settings(tmp_path: Path, secret: str = "change-me"):
    cfg = tmp_path / "cc.yaml"
    cfg.write_text(f"asterisk:\n  - name: pbx1\n    username: contactcenter\n    secret: {secret}\n")
    return load_settings(cfg, environ={})


def test_shipped_files_pass(tmp_path):
    d = make_asterisk_dir(tmp_path, (REPO / "dialplan/manager_contactcenter.conf").read_text())
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 0, out.getvalue()
    text = out.getvalue()
    assert "[contactcenter-inbound] hands calls to agi://127.0.0.1:4573" in text
    assert "[contactcenter-subs] offer marks callers dialled to an agent" in text
    assert "[contactcenter-answered] s stamps the agent's answer on the caller" in text
    assert "All checks passed." in text


def test_a_dialplan_without_the_offer_subroutine_is_warned_about(tmp_path):
    d = make_asterisk_dir(tmp_path, (REPO / "dialplan/manager_contactcenter.conf").read_text())
    dialplan = d / "extensions_contactcenter.conf"
    text = dialplan.read_text()
    line = next(x for x in text.splitlines() if x.startswith("exten => offer,1,"))
    dialplan.write_text(text.replace(line, line.replace("CC_OFFER=${ARG3},", "")))
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 0  # a warning
    number = text.splitlines().index(line) + 1
    assert (f"[contactcenter-subs] offer does not set CC_RESUME=1 and CC_OFFER=${{ARG3}}: copy it "
            f"from dialplan/extensions_contactcenter.conf  ({dialplan}:{number})") in out.getvalue()
    dialplan.write_text(text.replace(line, "exten => elsewhere,1,NoOp()"))
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 0
    assert "no [contactcenter-subs] offer subroutine: Dial(" in out.getvalue()


def test_a_dialplan_without_the_answered_subroutine_is_warned_about(tmp_path):
    d = make_asterisk_dir(tmp_path, (REPO / "dialplan/manager_contactcenter.conf").read_text())
    dialplan = d / "extensions_contactcenter.conf"
    text = dialplan.read_text()
    lines = text.splitlines()
    at = lines.index("[contactcenter-answered]")
    line = next(x for x in lines[at:] if x.startswith("exten => s,1,"))
    dialplan.write_text(text.replace(line, "exten => s,1,NoOp(answered)"))
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 0  # a warning
    number = lines.index(line) + 1
    assert ("[contactcenter-answered] s does not set SHARED(CC_ANSWERED,${ARG1})=${ARG2}@<time>: "
            f"copy it from dialplan/extensions_contactcenter.conf  ({dialplan}:{number})"
            ) in out.getvalue()
    # An older file: no such context at all.
    end = next(i for i in range(at + 1, len(lines)) if lines[i].startswith("["))
    dialplan.write_text("\n".join(lines[:at] + lines[end:]) + "\n")
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 0
    assert "no [contactcenter-answered] s subroutine: Dial(...,U(contactcenter-answered^..))" \
        in out.getvalue()


def test_dangerous_user_is_reported_with_file_and_line(tmp_path):
    user = ("[contactcenter]\nsecret = change-me\npermit = 10.9.0.0/255.255.0.0\n"
            "read = all\nwrite = call,originate,system,command\n")
    d = make_asterisk_dir(tmp_path, user)
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 1
    text = out.getvalue()
    conf = d / "manager_contactcenter.conf"
    assert f"write grants command, system: remove them (least privilege)  ({conf}:5)" in text
    assert "read grants all" in text
    assert f"permit 10.9.0.0/16 is neither loopback nor in --allow  ({conf}:3)" in text
    # The same permit is fine once the operator lists the network.
    out = io.StringIO()
    run_doctor(d, settings(tmp_path), ["10.0.0.0/8"], out)
    assert "permit 10.9.0.0/16  (" in out.getvalue()


def test_read_classes_the_server_ignores_are_warned_about(tmp_path):
    shipped = (REPO / "dialplan/manager_contactcenter.conf").read_text()
    assert "read = call,dtmf\n" in shipped
    d = make_asterisk_dir(tmp_path, shipped.replace("read = call,dtmf\n",
                                                    "read = call,dtmf,dialplan,agi\n"))
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 0
    assert "read grants agi, dialplan: the server ignores these events" in out.getvalue()
    d2 = tmp_path / "second"
    d2.mkdir()
    d = make_asterisk_dir(d2, shipped.replace("read = call,dtmf\n", "read = call\n"))
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 1
    assert "read lacks dtmf" in out.getvalue()


def test_missing_event_filters_are_warned_about(tmp_path):
    shipped = (REPO / "dialplan/manager_contactcenter.conf").read_text()
    out = io.StringIO()
    run_doctor(make_asterisk_dir(tmp_path, shipped), settings(tmp_path), [], out)
    assert "eventfilter drops the events the server ignores" in out.getvalue()
    bare = "\n".join(line for line in shipped.splitlines()
                     if "name(DeviceStateChange)" not in line and "name(DialState)" not in line)
    d2 = tmp_path / "second"
    d2.mkdir()
    out = io.StringIO()
    assert run_doctor(make_asterisk_dir(d2, bare), settings(tmp_path), [], out) == 0  # a warning
    assert "no eventfilter for DeviceStateChange, DialState: the PBX sends" in out.getvalue()


def test_missing_user_wrong_secret_and_foreign_agi(tmp_path):
    d = make_asterisk_dir(tmp_path, "[someoneelse]\nsecret = x\n",
                          extra_globals="CONTACTCENTER_AGI = agi://10.1.1.1:4573")
    out = io.StringIO()
    assert run_doctor(d, settings(tmp_path), [], out) == 1
    text = out.getvalue()
    assert "AMI user [contactcenter] (PBX pbx1) not found" in text
    assert "AGI to agi://10.1.1.1:4573/ivr, not our FastAGI 127.0.0.1:4573" in text
    assert "no dialplan hands calls to our FastAGI" in text


def test_command_line(tmp_path):
    d = make_asterisk_dir(tmp_path, (REPO / "dialplan/manager_contactcenter.conf").read_text())
    cfg = tmp_path / "cc.yaml"
    cfg.write_text("asterisk:\n  - {name: pbx1, username: contactcenter, secret: wrong}\n")
    r = subprocess.run([sys.executable, "-m", "contactcenter", "doctor", "--asterisk-dir", str(d),
                        "--config", str(cfg)], capture_output=True, text=True, cwd=REPO, check=False)
    assert r.returncode == 1
    assert "[contactcenter] secret differs from our settings" in r.stdout


def test_the_shipped_dialplan_keeps_urls_and_dial_strings_out_of_if():
    # IF(cond?a:b) splits its branches at every ':' and keeps the quotes of the last one (seen
    # on Asterisk 23.4.1: agi://127.0.0.1:4573 came out as "agi"), so the shipped dialplan
    # chooses defaults with Set + GotoIf. The simulator hard-codes these contexts and could not
    # catch a relapse.
    text = (REPO / "dialplan/extensions_contactcenter.conf").read_text()
    code = "\n".join(line.split(";", 1)[0] for line in text.splitlines())
    assert "IF(" not in code.replace("GotoIf(", "").replace("ExecIf(", "")
    assert "exten => agi-nodes,1,Set(CC_AGI_NODES=${CONTACTCENTER_AGI_NODES})" in code
    assert " same => n,Set(CC_AGI_NODES=${CONTACTCENTER_AGI})" in code
    assert " same => n,Set(CC_AGI_NODES=agi://127.0.0.1:4573)" in code
    # The node list is split with CUT/FIELDQTY on '&' (a ',' would need escaping in both).
    assert "${FIELDQTY(CC_AGI_NODES,&)}" in code and "${CUT(CC_AGI_NODES,&,${CC_NODE})}" in code

"""contactcenter doctor: the recordings and voice-messages folders exist and Asterisk's user can
write to them (from asterisk.conf's runuser or /etc/passwd; else the current user, said so)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

from contactcenter.config.loader import load_settings
from contactcenter.doctor.asterisk_conf import read_conf
from contactcenter.doctor.folders import RunUser, asterisk_user, check_folders, writable_by
from contactcenter.doctor.report import run_doctor

REPO = Path(__file__).resolve().parents[2]

MESSAGE_FLOW = """
entry: vm
nodes:
  vm: {type: message, purpose: voicemail, next: bye}
  bye: {type: hangup}
"""
PLAIN_FLOW = "entry: bye\nnodes:\n  bye: {type: hangup}\n"


def install(tmp_path: Path, messages_dir: str, flow: str = MESSAGE_FLOW):  # type: ignore[no-untyped-def]
    """Settings whose folders are under ``tmp_path``, with one flow."""
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "main.yaml").write_text(flow)
    cfg = tmp_path / "cc.yaml"
    cfg.write_text("asterisk:\n  - {name: pbx1, username: contactcenter, secret: change-me}\n"
                   f"flows_dir: flows\nrecordings_dir: recordings\n"
                   f"ivr:\n  messages_dir: {messages_dir}\n")
    return load_settings(cfg, environ={})


def passwd_file(tmp_path: Path, **users: int) -> Path:
    """A passwd file with root and ``name=uid`` users (each in a group of its own uid)."""
    lines = ["root:x:0:0:root:/root:/bin/sh"]
    lines += [f"{name}:x:{uid}:{uid}:{name}:/var/lib/{name}:/usr/sbin/nologin"
              for name, uid in users.items()]
    path = tmp_path / "passwd"
    path.write_text("\n".join(lines) + "\n")
    return path


def asterisk_dir(tmp_path: Path, asterisk_conf: str | None = None) -> Path:
    d = tmp_path / "etc-asterisk"
    d.mkdir()
    shutil.copy(REPO / "dialplan/extensions_contactcenter.conf", d)
    shutil.copy(REPO / "dialplan/manager_contactcenter.conf", d)
    (d / "manager.conf").write_text("[general]\nenabled = yes\n#include manager_contactcenter.conf\n")
    (d / "extensions.conf").write_text("[globals]\n#include extensions_contactcenter.conf\n")
    if asterisk_conf is not None:
        (d / "asterisk.conf").write_text(asterisk_conf)
    return d


def foreign_uid(*paths: Path) -> int:
    """A uid that owns none of ``paths`` and is not root."""
    return max([os.getuid(), *(p.stat().st_uid for p in paths)]) + 54321


def test_missing_folders_are_warned_about_with_path_and_fix(tmp_path):
    messages = tmp_path / "spool" / "messages"
    settings = install(tmp_path, str(messages))
    owner = tmp_path.stat().st_uid
    passwd = passwd_file(tmp_path, asterisk=owner)
    d = asterisk_dir(tmp_path)
    out = io.StringIO()
    assert run_doctor(d, settings, [], out, passwd=passwd,
                      group=tmp_path / "no-group") == 0  # warnings: the report still passes
    text = out.getvalue()
    recordings = tmp_path / "recordings"
    assert (f"WARN recordings folder (recordings_dir) {recordings} does not exist: Asterisk will "
            f"not create it; mkdir -p {recordings} && chown asterisk: {recordings}") in text
    assert (f"WARN voice-messages folder (ivr.messages_dir, for main:vm) {messages} does not "
            f"exist: Asterisk will not create it; mkdir -p {messages} && chown asterisk: "
            f"{messages}") in text

    recordings.mkdir()
    messages.mkdir(parents=True)
    out = io.StringIO()
    assert run_doctor(d, settings, [], out, passwd=passwd, group=tmp_path / "no-group") == 0
    text = out.getvalue()
    who = f"Asterisk's user 'asterisk' (from {passwd})"
    assert f"ok   recordings folder (recordings_dir) {recordings} is writable by {who}" in text
    assert f"{messages} is writable by {who}" in text
    assert "WARN" not in text


def test_a_folder_asterisk_cannot_write_is_warned_about(tmp_path):
    messages = tmp_path / "messages"
    messages.mkdir(mode=0o755)
    (tmp_path / "recordings").mkdir()
    settings = install(tmp_path, str(messages))
    passwd = passwd_file(tmp_path, asterisk=foreign_uid(messages, tmp_path))
    user, _ = asterisk_user(None, passwd, tmp_path / "no-group")
    assert user is not None and not writable_by(messages, user)  # others may not write

    findings = check_folders(settings, None, passwd, tmp_path / "no-group")
    (warning,) = [f for f in findings if str(messages) in f.message]
    assert warning.level == "warn"
    assert warning.message.endswith(
        f"{messages} is not writable by Asterisk's user 'asterisk' (from {passwd}): "
        f"chown asterisk: {messages} (or give that user write access to it)")


def test_a_parent_asterisk_cannot_enter_makes_the_folder_unwritable(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    folder = private / "messages"
    folder.mkdir()
    folder.chmod(0o777)  # open to everyone, but behind a parent only its owner may enter
    passwd = passwd_file(tmp_path, asterisk=foreign_uid(private, folder))
    user, _ = asterisk_user(None, passwd, tmp_path / "no-group")
    assert user is not None
    assert not writable_by(folder, user)
    assert writable_by(folder, RunUser("root", 0, frozenset({0}), "test"))  # root may anyway


def test_runuser_of_asterisk_conf_is_the_user_checked(tmp_path):
    messages = tmp_path / "messages"
    messages.mkdir(mode=0o755)
    settings = install(tmp_path, str(messages))
    passwd = passwd_file(tmp_path, asterisk=tmp_path.stat().st_uid,
                         pbx=foreign_uid(messages, tmp_path))
    d = asterisk_dir(tmp_path, "[directories](!)\nastdatadir => /var/lib/asterisk\n"
                               "[options]\nrunuser = pbx\n")
    conf = read_conf(d / "asterisk.conf")
    findings = check_folders(settings, conf, passwd, tmp_path / "no-group")
    (warning,) = [f for f in findings if str(messages) in f.message]
    assert (f"not writable by Asterisk's user 'pbx' (runuser in {d / 'asterisk.conf'}:4)"
            in warning.message)

    passwd.write_text("root:x:0:0:root:/root:/bin/sh\n")  # pbx is not an account here
    (finding,) = [f for f in check_folders(settings, conf, passwd, tmp_path / "no-group")
                  if str(messages) in f.message]
    assert "the current user" in finding.message
    assert f"runuser 'pbx' (runuser in {d / 'asterisk.conf'}:4) is not in {passwd}" \
        in finding.message


def test_without_an_asterisk_user_the_current_user_is_checked_and_said_so(tmp_path):
    messages = tmp_path / "messages"
    messages.mkdir()
    (tmp_path / "recordings").mkdir()
    settings = install(tmp_path, str(messages))
    passwd = passwd_file(tmp_path)  # root only: no asterisk account on this machine
    findings = check_folders(settings, None, passwd, tmp_path / "no-group")
    (finding,) = [f for f in findings if str(messages) in f.message]
    assert finding.level == "ok"  # the test's own folder: the current user can write it
    assert ("checked instead of Asterisk's (no runuser in asterisk.conf and no 'asterisk' user "
            f"in {passwd}; set runuser in asterisk.conf or run the doctor as Asterisk's user)"
            ) in finding.message


def test_a_relative_messages_dir_is_under_asterisk_sounds_folder(tmp_path):
    settings = install(tmp_path, "cc-messages")
    data = tmp_path / "varlib"
    d = asterisk_dir(tmp_path, f"[directories](!)\nastdatadir => {data}\n")
    findings = check_folders(settings, read_conf(d / "asterisk.conf"), passwd_file(tmp_path),
                             tmp_path / "no-group")
    expected = data / "sounds" / "cc-messages"  # as RECORD FILE resolves a relative name
    assert any(f"voice-messages folder (ivr.messages_dir, for main:vm) {expected} does not exist"
               in f.message for f in findings), findings


def test_no_message_node_no_messages_folder_check(tmp_path):
    settings = install(tmp_path, str(tmp_path / "nowhere"), flow=PLAIN_FLOW)
    findings = check_folders(settings, None, passwd_file(tmp_path), tmp_path / "no-group")
    assert [f.message for f in findings if "messages" in f.message] == \
        ["no flow records voice messages: ivr.messages_dir is not used"]
    assert not any("nowhere" in f.message for f in findings)

"""The queues and agents files the settings name, read for the routing engine.

A fresh install (a config file of its own outside the checkout, no ``routing:`` section) has no
``config/queues.yaml`` next to it; that means "no queues yet", and admins add them in the panel.
A path the settings name explicitly is different: it missing is a mistake, reported with the
setting and the path it resolved to, since a relative path resolves against ``base_dir`` and
not the current directory.
"""

from __future__ import annotations

import logging

from contactcenter.common.setting_errors import SettingError
from contactcenter.common.yamlfile import load_yaml, load_yaml_text
from contactcenter.config.loader import resolve
from contactcenter.config.schema import RoutingFiles, Settings
from contactcenter.routing.config_merge import RoutingSources

log = logging.getLogger(__name__)

_EMPTY = {"queues_file": "queues: {}\n", "agents_file": "agents: []\n"}


def _load(settings: Settings, key: str) -> tuple[object, str]:
    configured = getattr(settings.routing, key)
    path = resolve(settings, configured)
    if path.exists():  # unreadable or not YAML: load_yaml says so with the path
        return load_yaml(path), str(path)
    setting = f"routing.{key}"
    if configured != getattr(RoutingFiles(), key):
        raise SettingError(setting, f"{setting} names {path}, which does not exist "
                                    f"(relative paths resolve against {settings.base_dir})")
    what = key.removesuffix("_file")
    log.info("no %s file at %s (the default %s): starting with no %s; add them in the "
             "panel (/admin) or create the file", what, path, setting, what)
    return load_yaml_text(_EMPTY[key], str(path)), str(path)


def load_routing_files(settings: Settings) -> RoutingSources:
    """Both files as the routing editor's baseline; raises ``SettingError`` or ``SourceError``."""
    queues_doc, queues_file = _load(settings, "queues_file")
    agents_doc, agents_file = _load(settings, "agents_file")
    return RoutingSources(queues_doc, queues_file, agents_doc, agents_file)

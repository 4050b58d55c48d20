"""Each queue's ``recording:`` block, read from the routing configuration in force.

The queues' documents belong to routing (files and database merged); what their ``recording``
block means belongs here, so the routing editor checks it through ``recording_problems`` given
to it by the composition root, and never imports this context.
"""

from __future__ import annotations

from contactcenter.common.yamlfile import SourceError
from contactcenter.recording.policy import PolicyBook, policy_from_mapping
from contactcenter.routing.config_merge import FieldMark, MergedConfig, entry_label


def recording_problems(merged: MergedConfig) -> list[SourceError]:
    """Each queue's ``recording`` block, checked by the recording policy's own rules."""
    out = []
    for name, doc in merged.documents["queues"].items():
        try:
            policy_from_mapping(doc.get("recording") or None)
        except (ValueError, TypeError) as exc:
            out.append(SourceError(FieldMark(entry_label("queues", name), 0, 0, "recording"),
                                   str(exc)))
    return out


def recording_policies(merged: MergedConfig) -> PolicyBook:
    """The recording policy of every queue in force (files and database)."""
    return PolicyBook({name: policy_from_mapping(doc["recording"])
                       for name, doc in merged.documents["queues"].items()
                       if isinstance(doc.get("recording"), dict)})

"""Field and label selectors of LIST and WATCH requests, parsed as the real server does for
the forms the stand-in supports: `a=b`, `a==b`, `a!=b` joined by commas (fields and labels),
plus `key` and `!key` (labels). Set-based label selectors (`in`, `notin`) are refused with 400.
"""
import re

from .kube_resources import bad_request, field_value

_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.:/-]*))?\s*$")


def _terms(text, what):
    out = []
    for raw in filter(None, (t.strip() for t in text.split(","))):
        m = _TERM.match(raw)
        if not m or (m.group(1) and m.group(3)):
            raise bad_request(f"unable to parse requirement: {what} selector {raw!r} is not "
                              "supported by this stand-in" if what == "label" else
                              f'invalid selector: \'{text}\'; can\'t understand \'{raw}\'')
        out.append((m.group(1) == "!", m.group(2), m.group(3), m.group(4)))
    return out


class Selector:
    """A parsed fieldSelector + labelSelector pair; empty when neither was given."""

    def __init__(self, resource, field_text="", label_text=""):
        self.fields = []
        for negated, label, op, value in _terms(field_text, "field"):
            if negated or op is None:
                raise bad_request(f"invalid selector: '{field_text}'; can't understand "
                                  f"'{label}'")
            if label not in resource.supported_fields():
                raise bad_request(f'field label not supported: {label}')
            self.fields.append((label, op != "!=", value))
        self.labels = _terms(label_text, "label")

    def __bool__(self):
        return bool(self.fields or self.labels)

    def matches(self, obj):
        """True when obj satisfies every requirement."""
        for label, equal, value in self.fields:
            if (field_value(obj, label) == value) != equal:
                return False
        labels = obj.get("metadata", {}).get("labels") or {}
        for negated, key, op, value in self.labels:
            if op is None:
                if (key in labels) == negated:
                    return False
            elif (labels.get(key) == value) != (op != "!="):
                return False
        return True

"""A small parser for the Prometheus text exposition format and queries over samples."""
import re

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(value):
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _labels(text):
    labels = {}
    pos = 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise ValueError(f"bad label set: {text!r}")
        labels[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return labels


class Metrics:
    """Samples of one scrape: a list of (name, labels dict, value)."""

    def __init__(self, text):
        self.text = text
        self.samples = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = _LINE.match(line)
            if not m:
                raise ValueError(f"unparsable metrics line: {line!r}")
            self.samples.append((m.group(1), _labels(m.group(3) or ""), float(m.group(4))))

    def select(self, name, **labels):
        """Samples named `name` whose labels include every given label=value."""
        return [(n, ls, v) for n, ls, v in self.samples
                if n == name and all(ls.get(k) == val for k, val in labels.items())]

    def sum(self, name, **labels):
        """Sum of the values of select(name, **labels) (0 when none)."""
        return sum(v for _, _, v in self.select(name, **labels))

    def series(self, name, **labels):
        """The label dicts of select(name, **labels)."""
        return [ls for _, ls, _ in self.select(name, **labels)]

    def names(self):
        """Every metric name present."""
        return sorted({n for n, _, _ in self.samples})


def delta(before, after, name, **labels):
    """after.sum - before.sum for the same query."""
    return after.sum(name, **labels) - before.sum(name, **labels)


def settled(agent, name="weft_requests_total", timeout=10, interval=0.2):
    """A scrape of `agent` once the total of `name` stopped moving between two scrapes: a
    request a client saw answered may be counted a moment later (tests take their baseline
    after their readiness probes this way)."""
    from . import procs  # procs imports nothing from here; kept local to stay a leaf

    last = [None]

    def still():
        now = agent.metrics()
        total = now.sum(name)
        same = last[0] is not None and last[0][0] == total
        last[0] = (total, now)
        return now if same else None
    return procs.wait_until(still, timeout, interval=interval, what=f"{name} to settle")

"""The stand-in's storage, modelled on etcd behind a kube-apiserver: one global revision
(every write bumps it and becomes the object's resourceVersion), objects keyed by
"<namespace>/<name>" in key order, and a bounded history of write events for watches,
paginated LISTs and exact-revision reads. Compaction drops history: older revisions are
then "too old" (410).
"""
import base64
import bisect
import copy
import dataclasses
import json
import threading
import time

from . import kube_resources as kr


@dataclasses.dataclass
class Event:
    """One write: the object after it (for DELETED, its last state stamped with the
    deletion's revision) and before it (None for ADDED)."""
    rv: int
    resource: str
    type: str
    key: str
    obj: dict
    prev: dict


class TooOld(Exception):
    """A requested revision is older than the retained history."""

    def __init__(self, requested, oldest):
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class Store:
    """Thread-safe objects + history; `cond` is notified on every write and on drops."""

    def __init__(self, history_limit=1000, first_revision=1):
        self.cond = threading.Condition()
        self.rv = first_revision
        self.compacted = first_revision
        self.history_limit = history_limit
        self.objects = {r.plural: {} for r in kr.RESOURCES}
        self.events = []

    # ---- writes -------------------------------------------------------------------------

    def _commit(self, resource, type_, key, obj, prev):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        table = self.objects[resource.plural]
        if type_ == "DELETED":
            table.pop(key, None)
        else:
            table[key] = obj
        self.events.append(Event(self.rv, resource.plural, type_, key, obj, prev))
        if len(self.events) > self.history_limit:
            dropped = self.events[:len(self.events) - self.history_limit]
            self.compacted = dropped[-1].rv
            del self.events[:len(dropped)]
        self.cond.notify_all()
        return copy.deepcopy(obj)

    def create(self, resource, obj, manager, keep_uid=False):
        """Stores a new object (system metadata filled); 409 if the name exists."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if resource.namespaced and not meta.get("namespace"):
            raise kr.bad_request("the namespace of the object must be set")
        if not resource.namespaced:
            meta.pop("namespace", None)
        name = meta.get("name")
        if not name:
            raise kr.ApiError(422, "Invalid", f"{resource.kind} \"\" is invalid: "
                              "metadata.name: Required value: name or generateName is required")
        with self.cond:
            key = kr.key_of(resource, meta.get("namespace"), name)
            if key in self.objects[resource.plural]:
                raise kr.already_exists(resource, name)
            now = kr.now_rfc3339()
            kr.stamp_new(resource, obj, now, keep_uid)
            kr.record_manager(obj, resource, manager, "Update", None, now)
            if obj.get("status"):
                kr.record_manager(obj, resource, manager, "Update", "status", now)
            return self._commit(resource, "ADDED", key, kr.with_type(resource, obj), None)

    def update(self, resource, namespace, name, change, manager, subresource=None):
        """Replaces an object by change(current copy) -> new object, with the real
        server's rules: a stale metadata.resourceVersion in the result is a 409, the main
        resource keeps the stored status (when status is a subresource), the status
        subresource changes only status, system metadata is kept, generation counts
        spec changes, and a no-op writes nothing (same resourceVersion, no event)."""
        with self.cond:
            key = kr.key_of(resource, namespace, name)
            old = self.objects[resource.plural].get(key)
            if old is None:
                raise kr.not_found(resource, name)
            new = change(copy.deepcopy(old))
            new_meta = new.setdefault("metadata", {})
            wanted_rv = new_meta.get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise kr.conflict(resource, name)
            if new_meta.get("name", name) != name:
                raise kr.bad_request("the name of the object does not match the name on the "
                                     "URL")
            new = self._merge_rules(resource, old, new, subresource)
            if kr.content(new) == kr.content(old):
                return copy.deepcopy(old)
            if resource.generation and kr.spec_part(new) != kr.spec_part(old):
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            now = kr.now_rfc3339()
            kr.record_manager(new, resource, manager, "Update", subresource, now)
            return self._commit(resource, "MODIFIED", key, kr.with_type(resource, new), old)

    @staticmethod
    def _merge_rules(resource, old, new, subresource):
        if subresource == "status":
            out = copy.deepcopy(old)
            if "status" in new:
                out["status"] = new["status"]
            else:
                out.pop("status", None)
            return out
        out = copy.deepcopy(new)
        if resource.status_subresource:
            if "status" in old:
                out["status"] = copy.deepcopy(old["status"])
            else:
                out.pop("status", None)
        meta = out["metadata"]
        for k in kr.SYSTEM_METADATA:
            if k in old["metadata"]:
                meta[k] = copy.deepcopy(old["metadata"][k])
            else:
                meta.pop(k, None)
        return out

    def mark_deleting(self, resource, namespace, name, grace_seconds):
        """A graceful delete: sets deletionTimestamp/deletionGracePeriodSeconds (MODIFIED),
        as a DELETE of a pod does before the kubelet confirms it."""
        with self.cond:
            key = kr.key_of(resource, namespace, name)
            old = self.objects[resource.plural].get(key)
            if old is None:
                raise kr.not_found(resource, name)
            new = copy.deepcopy(old)
            new["metadata"]["deletionTimestamp"] = kr.now_rfc3339()
            new["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
            if resource.generation:
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            return self._commit(resource, "MODIFIED", key, new, old)

    def delete(self, resource, namespace, name):
        """Removes an object; the DELETED event carries its last state at the new revision."""
        with self.cond:
            key = kr.key_of(resource, namespace, name)
            old = self.objects[resource.plural].get(key)
            if old is None:
                raise kr.not_found(resource, name)
            return self._commit(resource, "DELETED", key, copy.deepcopy(old), old)

    # ---- reads --------------------------------------------------------------------------

    def get(self, resource, namespace, name):
        """A copy of the stored object (with kind/apiVersion), or 404."""
        with self.cond:
            obj = self.objects[resource.plural].get(kr.key_of(resource, namespace, name))
            if obj is None:
                raise kr.not_found(resource, name)
            return copy.deepcopy(obj)

    def _snapshot(self, resource, rv):
        """{key: object} of the resource as it was at revision rv (undoing later events)."""
        if rv < self.compacted:
            raise TooOld(rv, self.compacted)
        table = dict(self.objects[resource.plural])
        start = bisect.bisect_right(self.events, rv, key=lambda e: e.rv)
        for ev in reversed(self.events[start:]):
            if ev.resource != resource.plural:
                continue
            if ev.prev is None:
                table.pop(ev.key, None)
            else:
                table[ev.key] = ev.prev
        return table

    def list(self, resource, namespace, selector, limit=0, token=None, exact_rv=None):
        """One page of a LIST: (items, list revision, continue token or "", remaining count
        or None). A token names its revision and last key; an expired one is a 410."""
        with self.cond:
            if token is not None:
                rv, start = decode_continue(token)
            else:
                rv, start = (exact_rv if exact_rv is not None else self.rv), ""
            try:
                table = self._snapshot(resource, rv)
            except TooOld as e:
                if token is not None:
                    raise kr.expired(
                        "The provided continue parameter is too old to display a consistent "
                        "list result. You can start a new list without the continue "
                        "parameter, or use the continue value from the response.") from e
                raise kr.expired(str(e)) from e
            prefix = f"{namespace}/" if namespace and resource.namespaced else ""
            keys = sorted(k for k in table if k.startswith(prefix) and k >= start)
            items, last = [], None
            for i, key in enumerate(keys):
                obj = table[key]
                if selector and not selector.matches(obj):
                    continue
                if limit and len(items) == limit:
                    more = keys[i:]
                    remaining = None if selector else len(more)
                    return items, rv, encode_continue(rv, last), remaining
                items.append(copy.deepcopy(obj))
                last = key
            return items, rv, "", None

    def watch_start(self, resource, rv_text):
        """Where a watch begins: (initial ADDED objects, revision to stream from). "" and
        "0" start with the current state; N streams events after N (410 when compacted)."""
        with self.cond:
            if rv_text in ("", "0"):
                table = self.objects[resource.plural]
                return [copy.deepcopy(table[k]) for k in sorted(table)], self.rv
            rv = parse_rv(rv_text)
            if rv < self.compacted:
                raise TooOld(rv, self.compacted)
            return [], rv

    def wait_events(self, resource, after_rv, timeout):
        """Events of the resource after after_rv, waiting up to timeout for one; returns
        (events, revision reached) — the revision every returned event is at or below.
        Raises TooOld when history after after_rv was compacted meanwhile."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if after_rv < self.compacted:
                    raise TooOld(after_rv, self.compacted)
                start = bisect.bisect_right(self.events, after_rv, key=lambda e: e.rv)
                found = [e for e in self.events[start:] if e.resource == resource.plural]
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found, max(self.rv, after_rv)
                self.cond.wait(left)

    def compact(self, advance=False):
        """Forgets all history: every revision before the current one becomes too old.
        advance=True first moves the revision on by one without an event (the writes a
        restarted server makes to objects the stand-in does not serve, e.g. its Lease)."""
        with self.cond:
            if advance:
                self.rv += 1
            self.compacted = self.rv
            self.events.clear()
            self.cond.notify_all()
            return self.rv


def parse_rv(text):
    """A resourceVersion parameter as a revision; 400 when it is not a number."""
    try:
        return int(text)
    except ValueError:
        raise kr.bad_request(f'invalid resource version: strconv.ParseUint: parsing '
                             f'"{text}": invalid syntax') from None


def encode_continue(rv, last_key):
    """The continue token of a real server: base64url(JSON{v, rv, start}) with start just
    after the last returned key."""
    body = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": last_key + "\x00"},
                      separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_continue(token):
    """(revision, start key) of a continue token; 400 when it is not one."""
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if body.get("v") != "meta.k8s.io/v1" or not isinstance(body.get("rv"), int):
            raise ValueError("unknown version")
        return body["rv"], body["start"]
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise kr.bad_request(f"continue key is not valid: {e}") from None

"""The event contract as files: loading ``schemas/``, the compatibility gate, the AsyncAPI document.

Why a gate: downstream apps read ecohub's topics for years. A schema change that makes old
events unreadable by the new schema (BACKWARD mode, as a schema registry would enforce) must fail
``make test``, not surprise a consumer. The last released version of every schema is kept in
``schemas/compat/`` (committed, so a fresh CI clone has it); :func:`check_compatibility` compares
the working copy with it. After an intended, compatible change, refresh the snapshot with
``python -m ecohub.contract snapshot``; an incompatible change needs a new major version
(``<name>.v2.json`` and a new topic), never an edit in place.

The portal enums, entity-key patterns and suite value sets in ``schemas/`` and ``quality/`` are
generated: they spell the built-in portals of :mod:`ecohub.portals` (the loaders extend them with
any portal registered at run time). ``check`` fails when they drift; ``portals`` rewrites them.

CLI::

    python -m ecohub.contract check       # compatibility of schemas/ against schemas/compat/,
                                          # and the portal sets spelled as the built-in portals
    python -m ecohub.contract portals     # rewrite the portal sets of schemas/ and quality/
    python -m ecohub.contract snapshot    # accept the current schemas as the released ones
    python -m ecohub.contract asyncapi    # print the AsyncAPI 3.0 document (YAML)
    python -m ecohub.contract index       # print schemas/index.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

from ecohub.catalog import ENTITY_TYPES, topic_name
from ecohub.catalog import SIDE_TOPICS as _SIDE_NAMES
from ecohub.errors import ConfigError
from ecohub.portals import BUILTIN_PORTALS, portal_names, spell_portal_sets
from ecohub.settings import KafkaSettings

__all__ = [
    "CLOUDEVENTS_CONTENT_TYPE",
    "ENTITY_TYPES",
    "ENVELOPE_FILE",
    "SCHEMA_BASE",
    "SCHEMA_DIR",
    "asyncapi_document",
    "check_compatibility",
    "check_directory",
    "check_portal_sets",
    "dataschema_url",
    "entity_schema",
    "load_schema",
    "main",
    "schema_index",
    "validate_asyncapi",
    "write_portal_sets",
]

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_BASE = "https://ecohub.hcmc.vn/schemas"
# Message schemas of the non-entity topics: (file stem, topic name, title)
SIDE_TOPICS: tuple[tuple[str, str, str], ...] = (
    ("deadletter", _SIDE_NAMES["deadletter"], "Dead letters"),
    ("quarantine", _SIDE_NAMES["quarantine"], "Quarantined events"),
    ("restricted_pii", _SIDE_NAMES["restricted_pii"], "Restricted personal data"),
)
ASYNCAPI_SCHEMA = SCHEMA_DIR / "vendor" / "asyncapi-3.0.0.json"
# The envelope every entity event is sent in (v1 is kept only to read old events).
ENVELOPE_FILE = "envelope.v2.json"
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
_KAFKA_BINDING = "0.5.0"
# Kafka headers of every topic: header -> (description, const or None).
_ENTITY_HEADERS: dict[str, tuple[str, str | None]] = {
    "content-type": ("CloudEvents Kafka binding, structured content mode (no ce_ headers)",
                     CLOUDEVENTS_CONTENT_TYPE),
    "schema_id": ("the schema of data, e.g. technology_offer/v1", None),
    "run_id": ("the sync run that published the event (= the runid attribute)", None),
}
_SIDE_HEADERS: dict[str, dict[str, tuple[str, str | None]]] = {
    "deadletter": {
        "schema_id": ("always deadletter/v1", "deadletter/v1"),
        "run_id": ("the sync run that dead-lettered the record", None),
        "stage": ("normalize, schema or pii (= the stage field)", None),
    },
    "quarantine": {
        "failed_expectations": ("names of the failed expectations, comma-separated", None),
    },
    "restricted_pii": {
        "schema_id": ("always restricted_pii/v1", "restricted_pii/v1"),
        "run_id": ("the sync run that published the values or the tombstone", None),
    },
}
_SIDE_KEYS = {
    "deadletter": "<portal>:<stream>:<source id> of the record (as in sourceref)",
    "quarantine": "the event's entitykey; <topic>:<partition>:<offset> when the value was not "
                  "a JSON object",
    "restricted_pii": "the entitykey; a null value (tombstone) erases the entity's values",
}


# --------------------------------------------------------------------------- loading
@cache
def _load(path: str, portals: tuple[str, ...]) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("schema file missing", path=path) from None
    loaded: dict[str, Any] = json.loads(spell_portal_sets(text, portals))
    return loaded


def load_schema(relative: str, root: Path = SCHEMA_DIR) -> dict[str, Any]:
    """A schema file under ``schemas/`` (cached, never mutate the result), its portal enums and
    key patterns naming every registered portal (:func:`ecohub.portals.spell_portal_sets`)."""
    return _load(str(root / relative), portal_names())


def entity_schema(entity_type: str, version: int = 1) -> dict[str, Any]:
    if entity_type not in ENTITY_TYPES:
        raise ConfigError(f"unknown entity type {entity_type!r}; valid: {', '.join(ENTITY_TYPES)}")
    return load_schema(f"entities/{entity_type}.v{version}.json")


def dataschema_url(entity_type: str, version: int = 1) -> str:
    return f"{SCHEMA_BASE}/entities/{entity_type}/v{version}.json"


def _schema_files(root: Path) -> list[Path]:
    files = sorted(root.glob("*.v*.json")) + sorted((root / "entities").glob("*.v*.json"))
    return [f for f in files if f.is_file()]


def schema_index(root: Path = SCHEMA_DIR, prefix: str = "ecohub") -> dict[str, Any]:
    """Machine-readable index of the contract: every schema, its id, version and topic."""
    entities = {
        name: {
            "file": f"entities/{name}.v1.json",
            "schema_id": f"{name}/v1",
            "dataschema": dataschema_url(name),
            "topic": topic_name(name, prefix),
            "cloudevents_types": [
                f"vn.hcmc.ecohub.{name}.{op}" for op in ("create", "update", "delete")
            ],
        }
        for name in ENTITY_TYPES
    }
    side = {
        stem: {"file": f"{stem}.v1.json", "schema_id": f"{stem}/v1",
               "topic": topic_name(name, prefix)}
        for stem, name, _ in SIDE_TOPICS
    }
    return {
        "contract": "ecohub events",
        "version": 1,
        "envelope": {"file": ENVELOPE_FILE, "schema_id": "envelope/v2",
                     "id": load_schema(ENVELOPE_FILE, root)["$id"],
                     "kafka_binding": "CloudEvents Kafka protocol binding, structured mode",
                     "content_type": CLOUDEVENTS_CONTENT_TYPE},
        "entities": entities,
        "topics": side,
        "compatibility": "BACKWARD",
    }


# --------------------------------------------------------------------------- compatibility
def _resolve(node: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """Inline local ``#/$defs/...`` references so that two schemas compare by content."""
    if depth > 32:
        return node
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            merged = {**_resolve(target, root, depth + 1), **rest}
            return _resolve(merged, root, depth + 1)
        return {k: _resolve(v, root, depth + 1) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_resolve(item, root, depth + 1) for item in node]
    return node


def _types(node: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema node admits (``None`` = unconstrained)."""
    if "const" in node:
        return {_json_type(node["const"])}
    if "enum" in node:
        return {_json_type(v) for v in node["enum"]}
    kind = node.get("type")
    if kind is None:
        branches = node.get("anyOf") or node.get("oneOf")
        if branches:
            acc: set[str] = set()
            for branch in branches:
                branch_types = _types(branch)
                if branch_types is None:
                    return None
                acc |= branch_types
            return acc
        return None
    found = {kind} if isinstance(kind, str) else set(kind)
    if "number" in found:
        found.add("integer")
    return found


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _object_problems(old: dict[str, Any], new: dict[str, Any], path: str) -> Iterator[str]:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    closed = new.get("additionalProperties") is False
    for name in sorted(old_props):
        if name not in new_props:
            if name in old_req:
                yield f"{path}.{name}: required field removed"
            elif closed:
                yield f"{path}.{name}: field removed while additionalProperties is false"
        else:
            yield from _problems(old_props[name], new_props[name], f"{path}.{name}")
    for name in sorted(new_req - old_req):
        if "default" not in new_props.get(name, {}):
            yield f"{path}.{name}: new required field without a default"
    if old.get("additionalProperties") is not False and closed:
        yield f"{path}: additionalProperties changed to false"
    old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
    if isinstance(old_extra, dict) and isinstance(new_extra, dict):
        yield from _problems(old_extra, new_extra, f"{path}.*")


def _bound_problems(old: dict[str, Any], new: dict[str, Any], path: str) -> Iterator[str]:
    for key in ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties"):
        if key in new and (key not in old or new[key] > old[key]):
            yield f"{path}: {key} raised"
    for key in ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties"):
        if key in new and (key not in old or new[key] < old[key]):
            yield f"{path}: {key} lowered"
    for key in ("pattern", "format", "const", "multipleOf"):
        if key in new and new.get(key) != old.get(key):
            yield f"{path}: {key} added or changed"


def _problems(old: Any, new: Any, path: str) -> Iterator[str]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old != new and new is False:
            yield f"{path}: now rejects everything"
        return
    old_types, new_types = _types(old), _types(new)
    if new_types is not None and (old_types is None or not old_types <= new_types):
        lost = "any" if old_types is None else ", ".join(sorted(old_types - new_types))
        yield f"{path}: type narrowed (no longer accepts {lost})"
    if "enum" in new:
        removed = ([v for v in old["enum"] if v not in new["enum"]] if "enum" in old
                   else ["(anything)"])
        if removed:
            yield f"{path}: enum values removed {removed}"
    yield from _bound_problems(old, new, path)
    if "object" in (new_types or set()) or "properties" in new:
        yield from _object_problems(old, new, path)
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        yield from _problems(old["items"], new["items"], f"{path}[]")
    for key in ("anyOf", "oneOf"):
        old_branches, new_branches = old.get(key), new.get(key)
        if old_branches and new_branches and len(old_branches) == len(new_branches):
            for index, (a, b) in enumerate(zip(old_branches, new_branches, strict=True)):
                yield from _problems(a, b, f"{path}<{key}{index}>")


def check_compatibility(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """BACKWARD compatibility: can ``new`` read everything ``old`` accepted? Problems, or [].

    Breaking: a required field removed, a new required field without a default, a type or enum
    narrowed, a bound tightened, a pattern/format/const added or changed, a field removed from
    a closed object, additionalProperties closed. Adding an optional field is fine.
    """
    return list(_problems(_resolve(old, old), _resolve(new, new), "$"))


def check_directory(root: Path = SCHEMA_DIR) -> dict[str, list[str]]:
    """Compare every schema with its released snapshot in ``root/compat``; problems by file.

    A schema without a snapshot is new (fine); a snapshot without a schema was removed (breaking).
    """
    compat = root / "compat"
    problems: dict[str, list[str]] = {}
    current = {f.name: f for f in _schema_files(root)}
    for snapshot in sorted(compat.glob("*.json")):
        if snapshot.name not in current:
            problems[snapshot.name] = ["schema removed"]
            continue
        found = check_compatibility(
            json.loads(snapshot.read_text(encoding="utf-8")),
            json.loads(current[snapshot.name].read_text(encoding="utf-8")),
        )
        if found:
            problems[snapshot.name] = found
    return problems


def write_snapshot(root: Path = SCHEMA_DIR) -> list[str]:
    """Accept the current schemas as released; refuses while any change is incompatible."""
    problems = check_directory(root)
    if problems:
        raise ConfigError("incompatible schema changes; bump the major version instead",
                          problems=problems)
    compat = root / "compat"
    compat.mkdir(exist_ok=True)
    written = []
    for path in _schema_files(root):
        (compat / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        written.append(path.name)
    return written


# --------------------------------------------------------------------------- portal sets
def _portal_set_files(root: Path) -> list[Path]:
    """The committed files that spell the portal set: schemas (not the released snapshots) and
    the expectation suites."""
    return _schema_files(root) + sorted((root.parent / "quality").glob("*.json"))


def _builtin_names() -> tuple[str, ...]:
    return tuple(spec.name for spec in sorted(BUILTIN_PORTALS, key=lambda s: s.rank))


def check_portal_sets(root: Path = SCHEMA_DIR) -> list[str]:
    """Files (relative to the repository) whose portal sets are not the built-in portals."""
    names = _builtin_names()
    return [
        str(path.relative_to(root.parent)) for path in _portal_set_files(root)
        if spell_portal_sets(text := path.read_text(encoding="utf-8"), names) != text
    ]


def write_portal_sets(root: Path = SCHEMA_DIR) -> list[str]:
    """Rewrite every drifted portal set to the built-in portals; the files changed."""
    names = _builtin_names()
    changed = check_portal_sets(root)
    for relative in changed:
        path = root.parent / relative
        path.write_text(spell_portal_sets(path.read_text(encoding="utf-8"), names),
                        encoding="utf-8")
    return changed


# --------------------------------------------------------------------------- AsyncAPI
def _payload(schema: dict[str, Any]) -> dict[str, Any]:
    """A self-contained JSON Schema (local refs inlined) for embedding in AsyncAPI."""
    inlined: dict[str, Any] = _resolve(schema, schema)
    inlined.pop("$id", None)
    inlined.pop("$schema", None)
    return inlined


def _headers_schema(headers: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name, (description, const) in headers.items():
        properties[name] = {"type": "string", "description": description}
        if const is not None:
            properties[name]["const"] = const
    return {"type": "object", "required": list(headers), "properties": properties}


def _key_binding(description: str) -> dict[str, Any]:
    return {"kafka": {"key": {"type": "string", "description": description},
                      "bindingVersion": _KAFKA_BINDING}}


def _entity_message(name: str) -> dict[str, Any]:
    envelope = copy.deepcopy(_payload(load_schema(ENVELOPE_FILE)))
    envelope["properties"]["entitytype"] = {"const": name}
    envelope["properties"]["dataschema"] = {"const": dataschema_url(name)}
    envelope["properties"]["data"] = {"anyOf": [_payload(entity_schema(name)), {"type": "null"}]}
    envelope["title"] = f"{name} event"
    return {
        "name": name,
        "title": f"{name.replace('_', ' ')} event",
        "summary": entity_schema(name).get("description", ""),
        "contentType": "application/cloudevents+json",
        "headers": {"$ref": "#/components/schemas/entity_headers"},
        "payload": {
            "schemaFormat": "application/schema+json;version=2020-12",
            "schema": envelope,
        },
        "bindings": _key_binding("the entitykey (= subject); the CloudEvents SDK's Kafka "
                                 "binding reads it as the partitionkey attribute"),
    }


def _channel(topic: str, message: str, description: str, kafka: KafkaSettings,
             compacted: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"cleanup.policy": ["compact"] if compacted else ["delete"]}
    if not compacted:
        config["retention.ms"] = kafka.retention_ms
    return {
        "address": topic,
        "description": description,
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        "bindings": {"kafka": {"topic": topic, "partitions": kafka.partitions,
                               "replicas": kafka.replication_factor,
                               "topicConfiguration": config, "bindingVersion": "0.5.0"}},
    }


def asyncapi_document(prefix: str = "ecohub") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every ecohub topic, built from ``schemas/`` only.

    Uses the default Kafka settings (not the environment) so that the committed document is
    reproducible; partitions and retention in a deployment come from its configuration.
    """
    kafka = KafkaSettings(topic_prefix=prefix)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name in ENTITY_TYPES:
        channels[name] = _channel(topic_name(name, prefix), name,
                                  f"Canonical {name} events, compacted by entitykey.", kafka, True)
        messages[name] = _entity_message(name)
    for stem, name, title in SIDE_TOPICS:
        schema = load_schema(f"{stem}.v1.json")
        channels[stem] = _channel(topic_name(name, prefix), stem, schema["description"], kafka,
                                  compacted=stem == "restricted_pii")
        messages[stem] = {
            "name": stem, "title": title, "contentType": "application/json",
            "headers": _headers_schema(_SIDE_HEADERS[stem]),
            "payload": {"schemaFormat": "application/schema+json;version=2020-12",
                        "schema": _payload(schema)},
            "bindings": _key_binding(_SIDE_KEYS[stem]),
        }
    for channel in channels:
        operations[f"publish_{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"ecohub publishes to {channels[channel]['address']}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ecohub events",
            "version": "2.0.0",
            "description": (
                "Canonical events of Ho Chi Minh City's S&T ecosystem hub (Stinet, Techport, "
                "H.OIP), generated from schemas/ by `python -m ecohub.contract asyncapi`. "
                "Entity events follow the CloudEvents Kafka protocol binding in structured "
                "content mode (envelope v2). Delivery is at-least-once; see "
                "docs/events/delivery-semantics.md, docs/events/versioning.md and "
                "docs/events/pii-policy.md. Payload schemas are JSON Schema 2020-12, which "
                "AsyncAPI tools may not check: validate them with a 2020-12 validator."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": kafka.bootstrap_servers, "protocol": "kafka",
                              "description": "the local stack started by `make up`"}},
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": {"entity_headers": _headers_schema(_ENTITY_HEADERS)},
        },
    }


def asyncapi_yaml(prefix: str = "ecohub") -> str:
    return yaml.safe_dump(asyncapi_document(prefix), sort_keys=False, allow_unicode=True, width=100)


def validate_asyncapi(document: dict[str, Any]) -> list[str]:
    """Errors of ``document`` against the official AsyncAPI 3.0.0 JSON Schema (vendored)."""
    spec = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    validator = Draft7Validator(spec)
    return [f"{'/'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
            for e in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))]


# --------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecohub.contract",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("command", choices=["check", "snapshot", "asyncapi", "index", "portals"])
    args = parser.parse_args(argv)
    if args.command == "asyncapi":
        sys.stdout.write(asyncapi_yaml())
    elif args.command == "index":
        sys.stdout.write(json.dumps(schema_index(), ensure_ascii=False, indent=2) + "\n")
    elif args.command == "portals":
        for name in write_portal_sets():
            print(f"portal set rewritten: {name}")
    elif args.command == "snapshot":
        for name in write_snapshot():
            print(f"snapshot: {name}")
    else:
        problems = check_directory()
        for name, found in problems.items():
            for problem in found:
                print(f"{name}: {problem}")
        drifted = check_portal_sets()
        for name in drifted:
            print(f"{name}: portal set is not the built-in portals "
                  f"({', '.join(_builtin_names())}); run python -m ecohub.contract portals")
        if problems or drifted:
            return 1
        print("schemas are backward compatible with schemas/compat/; portal sets are current")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

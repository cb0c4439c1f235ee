"""PagePreparer: pages normalized, checked and encoded in worker processes give exactly the
messages of the in-process path, in page order, at most ``depth`` pages ahead."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecohub.kafka import EventEncoder
from ecohub.kafka import _json as kafka_json
from ecohub.prepare import PagePreparer, RecordOutcome, prepare_records
from ecohub.records import SourceRecord

NAMES = ["stinet_org", "stinet_expert", "stinet_task", "stinet_doc", "techport_tech",
         "techport_demand", "techport_expert", "hoip_project", "hoip_org"]


@dataclass
class Page:
    records: list[SourceRecord]
    state: dict[str, Any]


def _encoder(pii_key: bytes) -> EventEncoder:
    return EventEncoder(run_id="run-prepare", topic_prefix="ecohub.test", pii_key=pii_key,
                        pii_key_id="k-test")


def _pages(sample: Any) -> list[Page]:
    records = [sample(name) for name in NAMES]
    records.append(sample("stinet_doc", deleted=True))
    broken = sample("stinet_org")
    records.append(SourceRecord(broken.portal, "no-such-stream", "x1", broken.data,
                                landing_uri=broken.landing_uri, run_id="run-test"))
    return [Page(records[i:i + 3], {"page": i}) for i in range(0, len(records), 3)]


def _comparable(outcome: RecordOutcome) -> list[tuple[Any, ...]]:
    """The messages of an outcome; a dead-letter's own timestamp is the one field that may
    differ between two preparations."""
    out = []
    for m in outcome.messages:
        value: Any = m.value
        if m.counter.startswith("deadletter:") and m.value is not None:
            value = json.loads(m.value)
            value.pop("deadletteredat")
        out.append((m.topic, m.key, value, m.headers, m.counter))
    return out


@pytest.mark.parametrize("workers", [0, 2])
def test_workers_build_the_same_messages_in_the_same_order(sample: Any, pii_key: bytes,
                                                           workers: int) -> None:
    pages = _pages(sample)
    expected = [prepare_records(p.records, _encoder(pii_key)) for p in pages]
    with PagePreparer(_encoder(pii_key), workers=workers) as preparer:
        got = [(page, preparer.outcomes(page)) for page in preparer.ahead(iter(pages))]
    assert [page for page, _ in got] == pages
    assert [[_comparable(o) for o in outcomes] for _, outcomes in got] == [
        [_comparable(o) for o in outcomes] for outcomes in expected
    ]
    flat = [o for _, outcomes in got for o in outcomes]
    assert len(flat) == sum(len(p.records) for p in pages)
    # every record: published (events, no reason) or dead-lettered (one message, a reason)
    assert [o.dead_letter_reason for o in flat if o.dead_letter_reason] == [
        "no mapper for stream stinet/no-such-stream"
    ]
    assert flat[-1].messages[0].counter == "deadletter:normalize"
    assert flat[NAMES.index("hoip_project")].entity_types == ["startup_project", "organization"]
    assert flat[len(NAMES)].messages[-1].counter == "restricted:tombstone"  # the delete


def test_clear_pii_is_dead_lettered_by_a_worker_too(sample: Any, pii_key: bytes,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker runs the publisher's own check: an event with a clear phone is dead-lettered
    with stage ``pii``, never encoded as an event."""
    record = sample("stinet_org")
    encoder = _encoder(pii_key)
    (outcome,) = prepare_records([record], encoder)
    assert outcome.dead_letter_reason is None
    leaky = SourceRecord(record.portal, record.stream, record.key,
                         {**record.data, "name": "Viện gọi 0912 345 678"},
                         landing_uri=record.landing_uri, run_id="run-test")
    with PagePreparer(encoder, workers=1) as preparer:  # the first page is prepared in process
        first, page = list(preparer.ahead([Page([record], {}), Page([leaky, record], {})]))
        preparer.outcomes(first)
        leaked, fine = preparer.outcomes(page)
        assert preparer._pool is not None
    assert leaked.dead_letter_reason is not None
    assert "clear personal data" in leaked.dead_letter_reason
    assert [m.counter for m in leaked.messages] == ["deadletter:pii"]
    assert b"0912 345 678" not in (leaked.messages[0].value or b"")
    assert fine.dead_letter_reason is None and fine.entity_types == ["organization"]


@dataclass(frozen=True)
class Deferred:
    """A page that reads its own records where it is prepared (as a landed page of a replay
    does); ``None`` records: a page that carries none."""

    stored: tuple[SourceRecord, ...] | None
    loaded_in: list[int]

    def load(self) -> list[SourceRecord] | None:
        self.loaded_in.append(os.getpid())  # in a worker, the parent's list does not change
        return None if self.stored is None else list(self.stored)


def test_deferred_pages_are_read_and_prepared_in_the_workers(sample: Any,
                                                             pii_key: bytes) -> None:
    pages = _pages(sample)
    expected = [prepare_records(p.records, _encoder(pii_key)) for p in pages]
    loaded: list[int] = []
    deferred = [Deferred(tuple(p.records), loaded) for p in pages] + [Deferred(None, loaded)]
    with PagePreparer(_encoder(pii_key), workers=2) as preparer:
        got = [preparer.outcomes(page) for page in preparer.ahead(deferred)]
        assert preparer._pool is not None
    assert [[_comparable(o) for o in outcomes] for outcomes in got] == [
        [_comparable(o) for o in outcomes] for outcomes in expected] + [[]]
    assert loaded == [os.getpid()]  # only the first page was read here, the rest in workers
    flat = [o for outcomes in got for o in outcomes]
    assert [o.deleted for o in flat].count(True) == 1  # the delete, told without its record
    assert flat[len(NAMES)].deleted and flat[len(NAMES)].entity_types == ["document"]


def test_look_ahead_is_bounded_by_depth(sample: Any, pii_key: bytes) -> None:
    read: list[int] = []

    def pages() -> Any:
        for i in range(6):
            read.append(i)
            yield Page([sample("stinet_org")], {"page": i})

    with PagePreparer(_encoder(pii_key), workers=1, depth=2) as preparer:
        seen = []
        for page in preparer.ahead(pages()):
            seen.append(page.state["page"])
            assert len(read) - len(seen) <= 2  # read at most depth pages past the one handed
            preparer.outcomes(page)
    assert seen == list(range(6))


def test_an_error_in_a_worker_is_raised_at_its_page(sample: Any) -> None:
    """Not a data problem but a failure of the code (here: no PII key): raised, not counted."""
    pages = [Page([sample("stinet_org")], {}),
             Page([sample("stinet_expert"), sample("stinet_org")], {})]
    with PagePreparer(_encoder(b""), workers=1) as preparer:
        first, page = list(preparer.ahead(pages))
        with pytest.raises(ValueError, match="PII HMAC key is empty"):
            preparer.outcomes(first)  # in process
        with pytest.raises(ValueError, match="PII HMAC key is empty"):
            preparer.outcomes(page)  # in the worker, raised here


def test_a_run_of_one_page_forks_nothing(sample: Any, pii_key: bytes) -> None:
    with PagePreparer(_encoder(pii_key), workers=2) as preparer:
        (page,) = list(preparer.ahead([Page([sample("stinet_org"), sample("stinet_task")], {})]))
        assert [o.entity_types for o in preparer.outcomes(page)] == [["organization"],
                                                                    ["research_project"]]
        assert preparer._pool is None


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_JSON_VALUES)
@settings(max_examples=300, deadline=None)
def test_messages_are_encoded_to_the_same_bytes_as_the_standard_encoder(value: Any) -> None:
    """orjson (the fast encoder of messages) writes exactly what ``json.dumps`` wrote."""
    assert kafka_json(value) == json.dumps(value, ensure_ascii=False,
                                           separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize("value", [{"big": 2**80}, {1: "non-text key"}, [-(2**70)]])
def test_what_orjson_refuses_goes_through_the_standard_encoder(value: Any) -> None:
    assert kafka_json(value) == json.dumps(value, ensure_ascii=False,
                                           separators=(",", ":")).encode("utf-8")


_MAIN_SCRIPT = """
import sys
if __name__ != "__main__":  # what the `airflow` script does when a worker imports it again
    raise RuntimeError("the parent's main script was run again in a worker")
from ecohub.kafka import EventEncoder
from ecohub.prepare import PagePreparer
from tests.ecohub.conftest import SAMPLES, source

class Page:
    def __init__(self, records):
        self.records = records

records = [source(*SAMPLES[name][:3], dict(SAMPLES[name][3])) for name in {names!r}]
encoder = EventEncoder(run_id="run-main", topic_prefix="ecohub.test", pii_key=b"k",
                       pii_key_id="k-test")
with PagePreparer(encoder, workers=1) as preparer:
    (page,) = list(preparer.ahead([Page(records)]))
    outcomes = preparer.outcomes(page)
print(sorted(t for o in outcomes for t in o.entity_types))
"""


def test_workers_do_not_run_the_parents_main_script_again(tmp_path: Any) -> None:
    """Under Airflow the sync's main script is ``airflow``, which cannot be imported in a
    child of a task (the supervisor blocks the metadata-database URL): workers must start
    without running it (they died with BrokenProcessPool, failing every sync task)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "main_script.py"
    script.write_text(_MAIN_SCRIPT.format(names=["techport_tech", "hoip_org"]))
    out = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "['organization', 'technology_offer']", out.stdout

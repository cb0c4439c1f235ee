"""The page-transactional publish loop, on pure logic: every record is published or
dead-lettered, and cursor state is saved only after the page's flush."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from ecohub import pipeline, prepare
from ecohub.errors import NormalizationError
from ecohub.kafka import OutMessage
from ecohub.records import CanonicalRecord, SourceRecord
from ecohub.settings import load_settings


@dataclass
class FakeBatch:
    records: list[SourceRecord]
    state: dict


class FakeEncoder:
    pii_key = b"test-key"

    def problem(self, rec):
        return ("pii", "clear personal data") if "leaky" in rec.entity_key else None

    def messages(self, rec):
        return [OutMessage("events", rec.entity_key, b"{}", [], f"event:{rec.entity_type}")]

    def dead_letter(self, record, reason, *, stage="normalize", entity_key=None):
        text = f"dlq {record.key} [{stage} {entity_key}]: {reason}"
        return OutMessage("deadletter", record.key, text.encode(), [], f"deadletter:{stage}")


@dataclass
class FakePublisher:
    log: list[str] = field(default_factory=list)
    encoder: FakeEncoder = field(default_factory=FakeEncoder)

    def send(self, message):
        if message.topic == "events":
            self.log.append(f"publish {message.key}")
        else:
            self.log.append(message.value.decode())

    def flush(self):
        self.log.append("flush")


def _rec(key: str) -> SourceRecord:
    return SourceRecord("techport", "technologies", key, {"ma": key}, run_id="r1")


def _fake_normalize(record, pii_key, publisher):
    if record.key.startswith("bad"):
        raise NormalizationError("tieu_de is empty", field="tieu_de")
    return [
        CanonicalRecord(
            "technology_offer", f"techport:technology_offer:{record.key}", "create", 1, {}, record
        )
    ]


@pytest.mark.parametrize(
    ("pages", "published", "dead"),
    [([["a", "b"], ["c"]], 3, 0), ([["a", "bad1"], ["bad2"]], 1, 2), ([[]], 0, 0)],
)
def test_every_record_published_or_dead_lettered(monkeypatch, pages, published, dead):
    monkeypatch.setattr(prepare, "normalize_checked", _fake_normalize)
    saved: list[dict] = []
    pub = FakePublisher()
    batches = [FakeBatch([_rec(k) for k in keys], {"page": i}) for i, keys in enumerate(pages)]
    report = pipeline.publish_batches(
        batches,
        pipeline.StreamReport("techport", "technologies", "r1"),
        settings=load_settings({}),
        publisher=pub,
        on_batch_published=lambda b: saved.append(b.state),
    )
    assert (report.fetched, report.published, report.dead_lettered) == (
        published + dead,
        published,
        dead,
    )
    assert report.balanced
    assert saved == [{"page": i} for i in range(len(pages))]
    assert pub.log.count("flush") == len(pages)
    assert all("tieu_de is empty" in line for line in pub.log if line.startswith("dlq"))


def test_state_saved_only_after_flush(monkeypatch):
    monkeypatch.setattr(prepare, "normalize_checked", _fake_normalize)
    pub = FakePublisher()
    pipeline.publish_batches(
        [FakeBatch([_rec("a")], {"cursor": "x"})],
        pipeline.StreamReport("techport", "t", "r1"),
        settings=load_settings({}),
        publisher=pub,
        on_batch_published=lambda b: pub.log.append("save"),
    )
    assert pub.log == ["publish techport:technology_offer:a", "flush", "save"]


def test_a_replay_flushes_once_enough_messages_are_out_not_after_every_page(monkeypatch):
    """flush_after=N: a flush once N messages went out since the last one (the publisher's
    close flushes the rest), never one wait per page."""
    monkeypatch.setattr(prepare, "normalize_checked", _fake_normalize)
    pub = FakePublisher()
    pages = [FakeBatch([_rec(f"k{i}{j}") for j in range(2)], {}) for i in range(5)]
    report = pipeline.publish_batches(
        pages, pipeline.StreamReport("techport", "t", "r1"), settings=load_settings({}),
        publisher=pub, flush_after=3,
    )
    assert report.published == 10
    marks = [i for i, line in enumerate(pub.log) if line == "flush"]
    assert marks == [4, 9]  # after pages 2 and 4 (4 messages out each time); page 5 unflushed
    assert len(pub.log) - len(marks) == 10


def test_run_ids_sort_by_time_and_are_unique():
    from datetime import UTC, datetime

    a = pipeline.new_run_id("hoip", datetime(2026, 1, 2, tzinfo=UTC))
    b = pipeline.new_run_id("hoip", datetime(2026, 1, 3, tzinfo=UTC))
    assert a < b and a.startswith("hoip-20260102T000000Z-")
    assert pipeline.new_run_id("hoip") != pipeline.new_run_id("hoip")


def test_a_record_with_one_bad_entity_is_dead_lettered_whole(monkeypatch):
    """A consultant yields an organization and a person; if one may not be published, neither is."""

    def two_entities(record, pii_key):
        return [
            CanonicalRecord(
                "organization", f"techport:organization:{record.key}", "create", 1, {}, record
            ),
            CanonicalRecord(
                "person", f"techport:person:{record.key}-leaky", "create", 1, {}, record
            ),
        ]

    monkeypatch.setattr(prepare, "normalize", two_entities)
    pub = FakePublisher()
    report = pipeline.publish_batches(
        [FakeBatch([_rec("tv1")], {})],
        pipeline.StreamReport("techport", "consultants", "r1"),
        settings=load_settings({}),
        publisher=pub,
    )
    assert (report.published, report.dead_lettered, report.events) == (0, 1, 0)
    assert pub.log == [
        "dlq tv1 [pii techport:person:tv1-leaky]: clear personal data "
        "(entitykey='techport:person:tv1-leaky', stage='pii')",
        "flush",
    ]


def test_page_counts_and_cursor_commit_together_and_a_retry_continues_them(tmp_path, monkeypatch):
    """Counts are stored with each page's cursor; a retried task (same run id) resumes both."""
    from connectors import KeyStore, StateStore
    from ecohub.db import get_engine
    from ecohub.warehouse import init_db
    from ecohub.warehouse.runs import extract_counts

    monkeypatch.setattr(prepare, "normalize_checked", _fake_normalize)
    engine = get_engine(f"sqlite:///{tmp_path}/wh.db")
    init_db(engine)
    states, keys = StateStore(engine), KeyStore(engine)

    def attempt(pages):
        report = pipeline.resume_report(engine, "techport", "technologies", "run-1")
        batches = [FakeBatch([_rec(k) for k in ks], {"cursor": c}) for c, ks in pages]
        return pipeline.publish_batches(
            batches,
            report,
            settings=load_settings({}),
            publisher=FakePublisher(),
            on_batch_published=lambda b: pipeline._commit_batch(
                engine, states, keys, b, report, None
            ),
        )

    attempt([("c1", ["a", "bad1"]), ("c2", ["b"])])  # first attempt: two pages, then "crash"
    assert states.get("techport", "technologies") == {"cursor": "c2"}
    assert extract_counts(engine, "run-1", "technologies") == {
        "fetched": 3,
        "published": 2,
        "dead_lettered": 1,
        "events": 2,
    }
    retry = attempt([("c3", ["c", "d"])])  # the retry reads on from c2
    assert (retry.fetched, retry.published, retry.dead_lettered) == (5, 4, 1)
    assert extract_counts(engine, "run-1", "technologies")["fetched"] == 5
    # every key the portal listed, dead-lettered or not, is known for key-set reconciliation
    assert keys.keys("techport", "technologies") == {"a", "bad1", "b", "c", "d"}


def test_progress_sees_the_listing_total_of_each_page(tmp_path, monkeypatch):
    """The progress callback gets the portal's listing size from the page state (percent, ETA);
    a finished state (no progress block) keeps the last known total."""
    from connectors import KeyStore, StateStore
    from ecohub.db import get_engine
    from ecohub.warehouse import init_db

    monkeypatch.setattr(prepare, "normalize_checked", _fake_normalize)
    engine = get_engine(f"sqlite:///{tmp_path}/wh.db")
    init_db(engine)
    states, keys = StateStore(engine), KeyStore(engine)
    report = pipeline.StreamReport("techport", "technologies", "run-1")
    seen = []
    batches = [
        FakeBatch([_rec("a")], {"cursor": "c1", "progress": {"total": 3, "pages": 1}}),
        FakeBatch([_rec("b"), _rec("c")], {"cursor": "c2", "progress": None}),
    ]
    pipeline.publish_batches(
        batches, report, settings=load_settings({}), publisher=FakePublisher(),
        on_batch_published=lambda b: pipeline._commit_batch(
            engine, states, keys, b, report, lambda r: seen.append((r.fetched, r.total))),
    )
    assert seen == [(1, 3), (3, 3)]


def test_a_sync_of_several_streams_migrates_the_warehouse_once(tmp_path, monkeypatch):
    """``sync`` builds the warehouse engine once and passes it to every stream: init_db runs
    once per entry point, and each stream still records its (empty) run on that warehouse."""
    from ecohub.warehouse.runs import extract_counts

    class Quiet:  # a portal with nothing new, and a publisher that is never used
        stream_names = ("technologies", "suppliers", "consultants")
        encoder = None  # what the page preparer would encode with, were there pages

        def read(self, stream, **_):
            return iter(())

        def stream(self, name):  # Techport's streams are reconciled by key set
            return SimpleNamespace(name=name, deletes="reconcile")

        def close(self):
            pass

    migrations = []
    real_init_db = pipeline.init_db
    monkeypatch.setattr(pipeline, "init_db", lambda e: (migrations.append(e), real_init_db(e)))
    monkeypatch.setattr(pipeline, "ensure_topics", lambda settings: None)
    monkeypatch.setattr(pipeline, "get_connector", lambda portal, settings: Quiet())
    monkeypatch.setattr(pipeline, "Publisher", lambda settings, run_id: Quiet())
    monkeypatch.setattr(pipeline.Landing, "from_settings", classmethod(lambda cls, s: None))
    settings = load_settings({"ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db"})

    reports = pipeline.sync("techport", run_id="run-1", settings=settings)

    assert tuple(r.stream for r in reports) == Quiet.stream_names
    assert len(migrations) == 1
    assert [extract_counts(migrations[0], "run-1", s) for s in Quiet.stream_names] == [
        {"fetched": 0, "published": 0, "dead_lettered": 0, "events": 0}
    ] * 3

"""Scoring of the quality gate against the simulators' truth (pure logic of bench.audit)."""

from __future__ import annotations

from bench.audit import Outcome, TruthLine, render, score


def _line(key: str, defect: str | None = None, field: str | None = None,
          resource: str = "cong-nghe") -> TruthLine:
    return TruthLine("techport", resource, key, defect, field)


def _date_issue(field: str = "ngay_dang") -> dict[str, str]:
    return {"field": field, "kind": "date", "reason": "not a valid date", "value": "31/02/2024"}


TRUTH = [
    _line("1"),
    _line("2", "missing_title", "ten_cong_nghe"),
    _line("3", "implausible_price", "gia_tham_khao"),
    _line("4", "impossible_date", "ngay_dang"),
    _line("5"),
]


def test_a_gate_that_stops_exactly_the_broken_records_scores_one() -> None:
    done = {
        ("techport", "1"): Outcome(loaded=True),
        ("techport", "2"): Outcome(dead_letter_reasons=["required field 'ten_cong_nghe'"]),
        ("techport", "3"): Outcome(failed_expectations=["technology_offer.price.plausible"]),
        ("techport", "4"): Outcome(loaded=True, issues=[_date_issue()]),
        ("techport", "5"): Outcome(loaded=True),
    }
    result = score(TRUTH, done)
    assert (result.record_precision.value, result.record_recall.value) == (1.0, 1.0)
    assert (result.field_precision.value, result.field_recall.value) == (1.0, 1.0)
    assert result.perfect
    assert "techport/cong-nghe/implausible_price" in render(result)


def test_false_stops_missed_defects_and_wrong_field_issues_lower_the_scores() -> None:
    done = {
        ("techport", "1"): Outcome(failed_expectations=["technology_offer.title.length"]),
        ("techport", "2"): Outcome(dead_letter_reasons=["required field 'ten_cong_nghe'"]),
        # 3: the implausible price loaded: missed
        ("techport", "3"): Outcome(loaded=True),
        # 4: the field defect stopped the whole record: a false stop and a missed field defect
        ("techport", "4"): Outcome(dead_letter_reasons=["required date"]),
        # 5: a good date flagged as broken
        ("techport", "5"): Outcome(loaded=True, issues=[_date_issue()]),
    }
    result = score(TRUTH, done)
    assert (result.record_precision.hits, result.record_precision.total) == (1, 3)
    assert (result.record_recall.hits, result.record_recall.total) == (1, 2)
    assert (result.field_precision.hits, result.field_precision.total) == (0, 1)
    assert (result.field_recall.hits, result.field_recall.total) == (0, 1)
    assert not result.perfect
    assert result.missed == {"techport/cong-nghe/implausible_price": 1,
                             "techport/cong-nghe/impossible_date": 1}
    assert result.false_stops == {
        "techport/cong-nghe: quarantine: technology_offer.title.length": 1,
        "techport/cong-nghe: dead letter: required date": 1}


def test_a_record_the_hub_never_saw_counts_as_missed() -> None:
    result = score([_line("9", "missing_title", "ten_cong_nghe")], {})
    assert (result.record_recall.hits, result.record_recall.total) == (0, 1)
    assert result.record_precision.value is None

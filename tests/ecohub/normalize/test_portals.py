"""Per-portal mappers on records shaped as in docs/portals/*.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ecohub.errors import NormalizationError
from ecohub.normalize import normalize, registered_streams
from ecohub.normalize.pii import find_clear_pii, tokenize

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "entities"


def entity_validator(entity_type: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / f"{entity_type}.v1.json").read_text()))


@pytest.mark.parametrize(
    ("name", "keys", "operation", "version"),
    [
        # version = the source updated time in Vietnam (UTC+7), in epoch milliseconds
        ("stinet_org", ["stinet:organization:1017"], "update", 1772334000000),
        ("stinet_expert", ["stinet:person:88"], "create", 1772330400000),
        ("stinet_task", ["stinet:research_project:512"], "update", 1772339400000),
        ("stinet_doc", ["stinet:document:oai:stinet.gov.vn:doc/00012345"], "update", 1772334760000),
        ("techport_tech", ["techport:technology_offer:104211"], "update", 1772332800000),
        ("techport_demand", ["techport:technology_demand:3301"], "create", 1772334300000),
        ("techport_expert", ["techport:person:tu-van-77"], "update", 1772413200000),
        ("hoip_project", ["hoip:startup_project:prj_0001877",
                          "hoip:organization:prj_0001877.company"], "update", 1772420400000),
        ("hoip_org", ["hoip:organization:org_0000017"], "update", 1772334000000),
    ],
)
def test_mapping_keys_operation_version_and_schema(sample: Any, pii_key: bytes, name: str,
                                                   keys: list[str], operation: str,
                                                   version: int) -> None:
    entities = normalize(sample(name), pii_key=pii_key)
    assert [e.entity_key for e in entities] == keys
    assert {e.operation for e in entities} == {operation}
    assert {e.version for e in entities} == {version}
    for entity in entities:
        errors = list(entity_validator(entity.entity_type).iter_errors(entity.data))
        assert errors == []
        assert find_clear_pii(entity.data) == []


def test_stinet_expert_contacts_are_tokens_and_clear_values_restricted(sample: Any,
                                                                       pii_key: bytes) -> None:
    (person,) = normalize(sample("stinet_expert"), pii_key=pii_key)
    assert person.data["name"] == {"full_name": "Nguyễn Văn An", "titles": ["PGS", "TS"],
                                   "as_served": "PGS.TS. Nguyễn Văn An"}
    assert person.data["email_token"] == tokenize("an.nv@itb.ac.vn", pii_key)
    assert person.data["phone_token"] == tokenize("+84912345678", pii_key)
    assert person.restricted == {
        "email_token": {"kind": "email", "value": "an.nv@itb.ac.vn",
                        "token": tokenize("an.nv@itb.ac.vn", pii_key)},
        "phone_token": {"kind": "phone", "value": "+84912345678",
                        "token": tokenize("+84912345678", pii_key)},
    }
    assert "an.nv@itb.ac.vn" not in person.data["specialization"]
    assert tokenize("+84912345678", pii_key) in person.data["specialization"]
    assert person.data["organization"] == {"key": "stinet:organization:1017",
                                           "name": "Viện Sinh học Nhiệt đới"}
    assert person.data["gender"] == "male"


def test_stinet_task_keeps_invalid_optional_date_as_an_issue(sample: Any, pii_key: bytes) -> None:
    (task,) = normalize(sample("stinet_task"), pii_key=pii_key)
    assert task.data["end_date"] is None
    assert task.data["issues"] == [{"field": "end_date", "kind": "date", "value": "31/02/2023",
                                    "reason": "not a valid date: day is out of range for month"}]
    assert task.data["budget"]["amount_vnd"] == 1_500_000_000
    assert task.data["status"] == "accepted"
    assert task.data["principal_investigator"]["full_name"] == "Lê Hoàng Thái"
    assert task.data["document_keys"] == ["stinet:document:oai:stinet.gov.vn:doc/00012345"]
    assert [f["code"] for f in task.data["fields"]] == ["2"]


def test_stinet_document_fields(sample: Any, pii_key: bytes) -> None:
    (doc,) = normalize(sample("stinet_doc"), pii_key=pii_key)
    data = doc.data
    assert (data["document_type"], data["isbn"], data["source_url"], data["institution"]) == (
        "thesis", "9786047312344", "https://stinet.gov.vn/tai-lieu/12345", "hcmus")
    assert data["research_project_code"] == "27/2021/HĐ-QPTKHCN"
    assert data["contributors"][0]["titles"] == ["PGS", "TS"]
    assert data["published"] == {"value": "2025-11-20", "text": "2025-11-20", "precision": "day"}
    assert data["full_text_available"] is True


def test_techport_technology_refers_to_its_supplier(sample: Any, pii_key: bytes) -> None:
    (tech,) = normalize(sample("techport_tech"), pii_key=pii_key)
    assert tech.data["supplier"] == {"key": "techport:organization:20417",
                                     "name": "Cty TNHH Nông nghiệp Công nghệ cao Minh Phát"}
    assert tech.data["price"]["amount_vnd"] == 450_000_000
    assert tech.data["maturity"] == "commercialized"
    assert tech.data["description"].startswith("Giải pháp tưới tiết kiệm nước. Liên hệ: hmac:")


def test_techport_demand_old_mobile_number_is_renumbered(sample: Any, pii_key: bytes) -> None:
    (demand,) = normalize(sample("techport_demand"), pii_key=pii_key)
    assert demand.restricted["phone_token"]["value"] == "+84381234567"
    assert demand.data["status"] == "searching"


def test_hoip_project_yields_its_company_and_tokenizes_founders(sample: Any,
                                                               pii_key: bytes) -> None:
    project, company = normalize(sample("hoip_project"), pii_key=pii_key)
    founder = project.data["founders"][0]
    assert founder["name"]["full_name"] == "Lê Văn Anh"
    assert founder["email_token"] == tokenize("anh.lv@eduai.vn", pii_key)
    assert set(project.restricted) == {"founders[0].email_token", "founders[0].phone_token"}
    assert project.data["company"]["key"] == company.entity_key
    assert (company.data["legal_form"], company.data["tax_code"]["value"]) == (
        "Công ty TNHH", "0312687878")
    assert company.restricted == {}
    assert [i["field"] for i in project.data["issues"]] == ["founded_date"]
    assert company.data["issues"] == []


@pytest.mark.parametrize(
    ("name", "override", "field"),
    [
        ("techport_tech", {"ten_cong_nghe": "  "}, "ten_cong_nghe"),
        ("stinet_org", {"modified": "31/02/2024 10:00"}, "modified"),
        ("hoip_project", {"stage": "growth"}, "stage"),
        ("stinet_expert", {"full_name": "PGS.TS."}, "name"),
    ],
)
def test_unmappable_records_raise_with_field_and_reason(sample: Any, pii_key: bytes, name: str,
                                                        override: dict[str, Any],
                                                        field: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize(sample(name, **override), pii_key=pii_key)
    assert caught.value.context["field"] == field


def test_oai_document_without_title_is_refused(sample: Any, pii_key: bytes) -> None:
    record = sample("stinet_doc")
    del record.data["metadata"]["dc:title"]
    with pytest.raises(NormalizationError, match="'dc:title' is missing"):
        normalize(record, pii_key=pii_key)


def test_unknown_stream_is_refused(sample: Any, pii_key: bytes) -> None:
    from ecohub.records import SourceRecord

    with pytest.raises(NormalizationError, match="no mapper for stream techport/khac"):
        normalize(SourceRecord("techport", "khac", "1", {}), pii_key=pii_key)


@pytest.mark.parametrize(
    ("portal", "stream", "data", "cursor", "keys", "version"),
    [
        ("stinet", "documents", {"header": {"datestamp": "2026-03-01T04:00:00Z"}}, None,
         ["stinet:document:oai:x"], 1772337600000),
        ("hoip", "changes", {"resource": "startup-projects", "op": "delete",
                             "deleted_at": "2026-03-02T10:00:00+07:00"}, None,
         ["hoip:startup_project:oai:x", "hoip:organization:oai:x.company"], 1772420400000),
        ("techport", "tu-van", {}, "2026-03-05T07:30:00Z",
         ["techport:organization:tu-van-oai:x", "techport:person:tu-van-oai:x"], 1741159800000
         + 365 * 86400000),
    ],
)
def test_deletes(portal: str, stream: str, data: dict[str, Any], cursor: str | None,
                 keys: list[str], version: int, pii_key: bytes) -> None:
    from ecohub.records import SourceRecord

    record = SourceRecord(portal, stream, "oai:x", data, cursor=cursor, deleted=True)
    deletes = normalize(record, pii_key=pii_key)
    assert [d.entity_key for d in deletes] == keys
    assert {(d.operation, d.version) for d in deletes} == {("delete", version)}
    assert all(d.data == {} for d in deletes)


def test_delete_without_any_time_is_refused(pii_key: bytes) -> None:
    from ecohub.records import SourceRecord

    with pytest.raises(NormalizationError, match="no deletion time"):
        normalize(SourceRecord("techport", "cong-nghe", "9", {}, deleted=True), pii_key=pii_key)


def test_every_portal_resource_has_a_mapper() -> None:
    streams = registered_streams()
    documented = {("stinet", "documents"), ("stinet", "tasks"), ("stinet", "experts"),
                  ("stinet", "laboratories"), ("stinet", "organizations"),
                  ("techport", "cong_nghe"), ("techport", "nhu_cau"), ("techport", "nha_cung_cap"),
                  ("techport", "tu_van"), ("techport", "tim_doi_tac"),
                  ("hoip", "startup_projects"), ("hoip", "organizations"), ("hoip", "programs"),
                  ("hoip", "challenges"), ("hoip", "support_applications")}
    assert documented <= set(streams)


def test_stinet_document_in_the_connector_shape(pii_key: bytes) -> None:
    from ecohub.records import SourceRecord

    data = {"identifier": "oai:stinet.gov.vn:doc/00000000", "datestamp": "2016-01-09T18:26:40Z",
            "set_specs": ["inst:ou", "type:thesis"], "deleted": False,
            "dc": {"title": ["Nghi&#234;n cứu ứng dụng liệu pháp tế bào gốc"],
                   "creator": ["Kỹ sư Lê Đức Châu"], "subject": ["Khoa học y, dược", "liệu"],
                   "type": ["Luận văn thạc sĩ"], "date": ["2016"], "rights": ["Chỉ có tóm tắt"]}}
    (doc,) = normalize(SourceRecord("stinet", "documents", data["identifier"], data),
                       pii_key=pii_key)
    assert doc.data["title"] == "Nghiên cứu ứng dụng liệu pháp tế bào gốc"
    assert doc.data["authors"] == [{"full_name": "Lê Đức Châu", "titles": ["KS"],
                                    "as_served": "Kỹ sư Lê Đức Châu"}]
    assert (doc.data["institution"], doc.data["full_text_available"]) == ("ou", False)
    assert [f["code"] for f in doc.data["fields"]] == ["3"]
    assert doc.data["published"]["precision"] == "year"

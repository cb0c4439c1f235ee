from __future__ import annotations

import pytest

from connectors.toolkit.stream import Stream, raw_records, record_schema
from ecohub.errors import PortalContractError

SUPPLIERS = Stream(
    name="suppliers",
    path="/api/v2/nha-cung-cap",
    key="ma_nha_cung_cap",
    cursor="ngay_cap_nhat",
    schema=record_schema(
        {"ma_nha_cung_cap": "integer", "ngay_cap_nhat": "string", "ten_don_vi": "string"}
    ),
)
GOOD = {
    "ma_nha_cung_cap": 20417,
    "ten_don_vi": "Cty TNHH Nông nghiệp Công nghệ cao Minh Phát",
    "ma_so_thue": None,
    "ngay_cap_nhat": "01/03/2026 09:40",
    "phien_ban": 4,
}


def test_a_record_of_the_contract_passes():
    SUPPLIERS.check(GOOD, where="page-1#0")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "ngay_cap_nhat"}, "'ngay_cap_nhat' is a required"),
        (
            {**GOOD, "ma_nha_cung_cap": "20417"},
            "at ma_nha_cung_cap: '20417' is not of type 'integer'",
        ),
        ({**GOOD, "ten_don_vi": None}, "at ten_don_vi"),
    ],
)
def test_a_record_breaking_the_contract_is_reported_with_where_and_key(record, message):
    with pytest.raises(PortalContractError, match=message) as caught:
        SUPPLIERS.check(record, where="file:///landing/page-3.json.gz#17")
    assert caught.value.context["where"] == "file:///landing/page-3.json.gz#17"
    assert caught.value.context["stream"] == "suppliers"


def test_raw_records_take_key_and_cursor_from_the_declaration():
    records = raw_records([GOOD], SUPPLIERS)
    assert (records[0].key, records[0].cursor, records[0].deleted) == (
        "20417",
        "01/03/2026 09:40",
        False,
    )
    with pytest.raises(PortalContractError, match="not a JSON object"):
        raw_records([GOOD, ["not", "an", "object"]], SUPPLIERS)


def test_an_invalid_schema_fails_at_declaration():
    with pytest.raises(Exception, match=r"objekt"):
        Stream(name="x", path="/x", key="id", cursor=None, schema={"type": "objekt"})


@pytest.mark.parametrize(
    ("record", "message"),
    [  # values the compiled validator cannot read are judged by the reference one
        ({**GOOD, "ma_nha_cung_cap": 2**70}, None),
        ({**GOOD, "ten_don_vi": object()}, "at ten_don_vi"),
        ({**GOOD, "ngay_cap_nhat": 1.5}, "at ngay_cap_nhat: 1.5 is not of type 'string'"),
    ],
)
def test_every_record_is_judged_as_the_reference_validator_judges_it(record, message):
    if message is None:
        SUPPLIERS.check(record, where="page-1#0")
        return
    with pytest.raises(PortalContractError, match=message):
        SUPPLIERS.check(record, where="page-1#0")

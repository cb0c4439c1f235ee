"""Every normalizer and the PII scanner stay linear on 1 MB adversarial portal text.

A quadratic regex (the old email pattern took over 200 s on 1 MB) is caught by a per-call
guard: each call runs in a child process that is killed when a call overruns. The guard is
generous on purpose (a loaded CI machine must not fail it); it proves linearity, not speed.
Short fields (names, dates, money, phones...) are refused beyond their length limit before any
pattern runs; free text is scanned whole.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import textwrap

import pytest

MB = 1 << 20
GUARD = 20.0  # seconds per call; a quadratic pattern needs minutes on 1 MB
SHORT_FIELD_GUARD = 1.0  # refused on length before any pattern runs

ADVERSARIAL = {
    "long run without @": "a" * MB,
    "many @": "a@" * (MB // 2),
    "dotted domain without end": "a@a" + ".a" * (MB // 2 - 2),
    "digits": "1" * MB,
    "digits and spaces": "1 " * (MB // 2),
    "digits and dots": "1." * (MB // 2),
    "unclosed tag": "<a " + "x" * MB,
    "entities": "&amp;" * (MB // 5),
    "commas and spaces": ", " + " a" * (MB // 2),
    "dotted titles": "PGS.TS. " * (MB // 8),
    "legal forms": "cty tnhh " * (MB // 9),
    "space run": "1" + " " * MB + "x",
}

SHORT_FIELDS = {
    "person name": "from ecohub.normalize.names import split_person_name as f",
    "organization name": "from ecohub.normalize.orgnames import parse_org_name as f",
    "date": "from ecohub.normalize.dates import parse_date as f",
    "money": "from ecohub.normalize.money import parse_money as f",
    "phone": "from ecohub.normalize.phones import normalize_phone as f",
    "tax code": "from ecohub.normalize.taxcodes import normalize_tax_code as f",
    "field label": (
        "from ecohub.normalize.fields import map_field; f = lambda v: map_field('techport', v)"
    ),
    "address": "from ecohub.normalize.addresses import parse_address as f",
    "email": "from ecohub.normalize.pii import normalize_email as f",
}
FREE_TEXT = {
    "clean_text": "from ecohub.normalize.text import clean_text as f",
    "fold": "from ecohub.normalize.text import fold as f",
    "redact_text": (
        "from ecohub.normalize.pii import redact_text; f = lambda v: redact_text(v, b'k')"
    ),
    "find_clear_pii": "from ecohub.normalize.pii import find_clear_pii as f",
}

_CHILD = textwrap.dedent(
    """
    import json, sys, time
    from ecohub.errors import DataQualityError
    {imports}
    inputs = json.loads(sys.stdin.read())
    for name, value in inputs.items():
        started = time.monotonic()
        try:
            outcome = type(f(value)).__name__
        except DataQualityError as exc:
            outcome = "refused: " + exc.message
        print(json.dumps([name, time.monotonic() - started, outcome]), flush=True)
    """
)


def _run(imports: str, guard: float) -> dict[str, tuple[float, str]]:
    """Time ``f`` on every adversarial input in a child killed as soon as one call overruns."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(imports=imports)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(ADVERSARIAL))
    child.stdin.close()
    results: dict[str, tuple[float, str]] = {}
    try:
        while len(results) < len(ADVERSARIAL):
            ready, _, _ = select.select([child.stdout], [], [], guard + 10)  # + start-up
            if not ready:
                break  # a call overran its guard: the missing input is named by the caller
            line = child.stdout.readline()
            if not line:
                break
            name, seconds, outcome = json.loads(line)
            results[name] = (seconds, outcome)
    finally:
        child.kill()
        child.wait()
    return results


@pytest.mark.parametrize("what", SHORT_FIELDS, ids=SHORT_FIELDS.keys())
def test_short_field_normalizers_refuse_1mb_values_on_length(what):
    results = _run(SHORT_FIELDS[what], SHORT_FIELD_GUARD)
    assert set(results) == set(ADVERSARIAL), f"killed after {sorted(results)}"
    for name, (seconds, outcome) in results.items():
        assert seconds < SHORT_FIELD_GUARD, (name, seconds)
        assert outcome.startswith(f"refused: {what} longer than"), (name, outcome)


@pytest.mark.parametrize("what", FREE_TEXT, ids=FREE_TEXT.keys())
def test_free_text_scanners_are_linear_on_1mb(what):
    results = _run(FREE_TEXT[what], GUARD)
    assert set(results) == set(ADVERSARIAL), f"killed after {sorted(results)}"
    slow = {name: round(seconds, 2) for name, (seconds, _) in results.items() if seconds >= GUARD}
    assert slow == {}

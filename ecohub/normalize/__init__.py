"""Normalization: portal records in, canonical entities out.

The pipeline calls :func:`normalize` for every :class:`~ecohub.records.SourceRecord`; it
dispatches on ``(portal, stream)`` to the mappers of :mod:`ecohub.normalize.stinet`,
:mod:`~ecohub.normalize.techport` and :mod:`~ecohub.normalize.hoip`, which are built from the
generic, portal-agnostic normalizers grouped by topic:

* :mod:`~ecohub.normalize.text` - NFC, HTML entities, whitespace; folding for look-ups
* :mod:`~ecohub.normalize.names` - academic titles split from person names
* :mod:`~ecohub.normalize.orgnames` - legal forms of organization names, match keys
* :mod:`~ecohub.normalize.dates` - portal date formats to UTC ISO-8601, source text kept
* :mod:`~ecohub.normalize.money` - Vietnamese money text to integer VND, text kept
* :mod:`~ecohub.normalize.phones` - phone numbers to E.164 (``phonenumbers``)
* :mod:`~ecohub.normalize.taxcodes` - tax codes checked with ``stdnum.vn.mst``
* :mod:`~ecohub.normalize.fields` - one S&T field classification, portal label tables
* :mod:`~ecohub.normalize.addresses` - administrative units before and after the 2025 reform

One source record may yield several entities (an H.OIP startup project also yields its
company); a delete yields ``operation="delete"`` with ``data == {}``. See
:mod:`ecohub.normalize.registry` for the rules every mapper follows.
"""

from __future__ import annotations

from ecohub.normalize.registry import normalize, registered_streams

__all__ = ["normalize", "registered_streams"]

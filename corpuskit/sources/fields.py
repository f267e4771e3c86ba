"""The input's own fields: its record id, its language label, and everything else.

Every reader hands a row (a mapping of field name to value) to :func:`read_fields`, which
returns what the record carries beyond its text:

* ``meta``: the fields corpuskit reads itself (title, url, published, source, the record
  id and the language label), each as a string;
* ``metadata``: every other field as one JSON object (keys sorted, no spaces, non-ASCII
  kept as it is), restricted to ``--keep-fields`` when that is given; None when no field
  is left. Values become what JSON can hold: dates and times ISO 8601 text, other
  non-JSON scalars (decimals, durations) their text, NaN and infinities null. A field
  whose value holds bytes is left out, and counted;
* ``unread``: the output columns whose value could not be read: ``source_record_id``
  for an id that is neither text nor a number, ``metadata`` for a field left out of it
  (or for a whole object over ``max_record_bytes``, then null). The map stage counts them
  as "metadata not understood".
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corpuskit.config import SourceConfig

#: The output columns of the record id and of the other fields.
ID_COLUMN = "source_record_id"
METADATA_COLUMN = "metadata"

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class Fields:
    """What a row carries besides its text (see the module docstring)."""

    meta: dict[str, str]
    metadata: str | None
    unread: tuple[str, ...]


class _Unwritable(Exception):
    """A value JSON cannot hold (bytes)."""


def used_fields(config: SourceConfig) -> frozenset[str]:
    """The input fields corpuskit reads itself: the others are the user's own."""
    return config.field_names[1]


def kept_fields(names: list[str], config: SourceConfig) -> list[str]:
    """Which of the input fields ``names`` go into the ``metadata`` column, in order."""
    used = config.field_names[1]
    keep = config.keep_fields
    return [n for n in names if n and n not in used and (keep is None or n in keep)]


def id_text(value: Any) -> str | None:
    """A record id as text: a string as it is (None when blank), a number as its digits.

    Raises ValueError for anything else (a list, an object, a boolean, a date, NaN).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a record id")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return str(value)
    raise ValueError(f"a {type(value).__name__} is not a record id")


def meta_value(value: Any) -> str | None:
    """A meta value (title, url, date, source, language label) as a string, or None
    when it is missing or blank. Dates become ISO 8601; numbers and booleans their JSON
    spelling; lists and objects compact JSON, so nothing is silently dropped."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
        return text if text.strip() else None
    if isinstance(value, (bool, int, float, list, dict)):
        try:
            return json.dumps(value, ensure_ascii=False, default=str)
        except ValueError:  # NaN in a strict context, circular: fall back to str
            return str(value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value)
    return text if text.strip() else None


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it (see the module docstring); _Unwritable for bytes."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise _Unwritable
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # a Parquet map column gives (key, value) tuples
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def metadata_json(
    row: Mapping[str, Any], names: list[str], max_bytes: int
) -> tuple[str | None, bool]:
    """(the ``metadata`` JSON of fields ``names`` of ``row``, whether a value was left
    out); None when no field is there, or when the object is over ``max_bytes``."""
    out: dict[str, Any] = {}
    left_out = False
    for name in names:
        if name not in row:
            continue
        try:
            out[name] = plain(row[name])
        except (_Unwritable, RecursionError):
            left_out = True
    if not out:
        return None, left_out
    try:
        text = json.dumps(out, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    except (RecursionError, ValueError):
        return None, True
    if _LONE_SURROGATE.search(text):  # from a JSON escape like "\ud800": not writable
        text = _LONE_SURROGATE.sub("\ufffd", text)
    if len(text) > max_bytes // 4 and len(text.encode("utf-8")) > max_bytes:
        return None, True
    return text, left_out


def read_fields(row: Mapping[str, Any], config: SourceConfig, names: list[str]) -> Fields:
    """The meta values, the ``metadata`` JSON and the unread columns of one row;
    ``names``: the row's fields that go into ``metadata`` (:func:`kept_fields`)."""
    meta: dict[str, str] = {}
    unread: list[str] = []
    for key, name in config.meta_fields():
        if name not in row:
            continue
        if key == "id":
            try:
                value = id_text(row[name])
            except ValueError:
                unread.append(ID_COLUMN)
                continue
        else:
            value = meta_value(row[name])
        if value is not None:
            meta[key] = value
    metadata, left_out = (
        metadata_json(row, names, config.max_record_bytes) if names else (None, False)
    )
    if left_out:
        unread.append(METADATA_COLUMN)
    return Fields(meta, metadata, tuple(unread))

"""The artifact's Croissant metadata (``croissant.json``): a JSON-LD description of the
dataset that ML tools (``mlcroissant``, TFDS, the Hugging Face Hub) can read without
corpuskit.

A pure function of what it is given: the dataset's descriptive fields, the Parquet files of
every config (``SplitFiles``, paths relative to the artifact root) and their sha256. The
columns come from :mod:`corpuskit.schema`, like the Parquet schemas and the card's
features, so the three cannot disagree.

Facts used, from the Croissant 1.1 specification
(https://github.com/mlcommons/croissant/blob/main/docs/croissant-spec-1.1.md; the version
``mlcroissant`` 1.1 reads by default and the Hub serves):

- ``conformsTo`` names the version; the ``@context`` is given inline (never fetched).
- Each Parquet file is a ``cr:FileObject`` with a relative ``contentUrl`` (resolved against
  the folder of the JSON-LD file), ``encodingFormat`` ``application/x-parquet`` and
  ``sha256``.
- Each config is a ``cr:RecordSet`` whose fields (``cr:Field``) ``extract`` a ``column``
  of a ``cr:FileSet``. The FileSet's ``includes`` (glob patterns) name exactly the
  config's files, so the record set holds the same rows as the config ``datasets`` loads.
  A field has one source, so a FileSet (not the FileObjects) is what a record set reads
  from; the FileSet has no ``containedIn`` (a Parquet file is not an archive), and its
  paths resolve against the JSON-LD file's folder like the FileObjects'. (``mlcroissant``
  therefore does not check the FileObjects' sha256 when it reads records.)
- A list column is a Field with ``isArray`` (1.1's replacement for the deprecated
  ``repeated``) and ``arrayShape`` ``-1`` (one dimension of any length).
- Splits ("Splits" section of the spec): a record set with ``dataType`` ``cr:Split`` lists
  each config's split names, and a ``split`` field of the config's record set takes the
  split from each file's path (``fileProperty`` ``fullpath`` and a ``regex``) and
  ``references`` that list. ``train`` means ``cr:TrainingSplit``; ``eval`` means
  ``cr:TestSplit``, as ``datasets`` reads the name (a test-split keyword there).

Record set ids: the config name (``default``, ``rejects``, ``duplicates``) and
``{config}_splits``; field ids ``{config}/{column}`` and ``{config}/split``. The Hub's own
Croissant for a dataset uses the same naming.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from corpuskit import schema
from corpuskit.output.writer import SplitFiles

#: The Croissant version this module writes (``dct:conformsTo``).
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
#: The media type Croissant uses for Parquet.
PARQUET = "application/x-parquet"

#: The JSON-LD context of Croissant 1.1: short names for the vocabulary's terms. A reader
#: needs it inline: a context given as a URL would be fetched over the network.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileProperty": "cr:fileProperty",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

#: Croissant data types of the schema's scalar dtypes (a list column takes its item's).
_SCALAR_TYPES = {
    "string": "sc:Text",
    "float32": "sc:Float",
    "int32": "sc:Integer",
}
#: What a split name means to ML tools (the spec's split classes). ``eval`` is a test
#: split, as ``datasets`` files the name.
SPLIT_MEANINGS = {
    "train": "cr:TrainingSplit",
    "validation": "cr:ValidationSplit",
    "eval": "cr:TestSplit",
    "test": "cr:TestSplit",
}
#: The name of the field that gives a record's split in every config's record set.
SPLIT_FIELD = "split"

_CONFIG_DESCRIPTIONS = {
    "default": "The kept articles, one record per article; `split` says train or eval.",
    "rejects": "Input records that were rejected, with the reason and where they came from.",
    "duplicates": "Exact and near copies that were dropped, with the record each duplicates.",
}


def data_type(field: schema.Field) -> tuple[str, bool]:
    """A column's Croissant ``dataType`` and whether it is an array of that type."""
    if field.dtype == schema.LIST_OF_STRINGS:
        return _SCALAR_TYPES["string"], True
    if field.dtype.startswith("timestamp["):
        return "sc:DateTime", False
    if field.dtype in _SCALAR_TYPES:
        return _SCALAR_TYPES[field.dtype], False
    raise ValueError(f"column {field.name!r}: no Croissant dataType for {field.dtype!r}")


def _license(license: str, license_url: str | None) -> str | list[str]:
    """The Hub license id, or the link when the id says only "other"."""
    if license_url is None:
        return license
    if license == "other":
        return license_url
    return [license, license_url]


def _file_object(path: str, sha256: Mapping[str, str]) -> dict[str, Any]:
    if path not in sha256:
        raise ValueError(f"no sha256 given for {path}")
    return {
        "@type": "cr:FileObject",
        "@id": path,
        "name": path,
        "contentUrl": path,
        "encodingFormat": PARQUET,
        "sha256": sha256[path],
    }


def _split_regex(splits: Sequence[SplitFiles]) -> str:
    """A regex whose one group takes a file's split name from its path (Croissant's
    ``fullpath``: relative to the artifact root), checked against every file.

    It also maps a bare split name to itself: ``mlcroissant`` applies a field's transform
    twice when the field ``references`` another record set (once to join, then again to
    the joined value), and would log a warning for every file otherwise.
    """
    folders = sorted({posixpath.dirname(path) for s in splits for path in s.files})
    folder = "|".join(re.escape(f"{f}/") for f in folders)
    names = "|".join(re.escape(s.name) for s in splits)
    regex = rf"^(?:{folder})?({names})(?:-[0-9]+-of-[0-9]+\.parquet)?$"
    for s in splits:
        for path in (*s.files, s.name):
            match = re.match(regex, path)
            if match is None or match.group(1) != s.name:
                raise ValueError(f"{path}: its split {s.name!r} cannot be read from its path")
    return regex


def _splits_record_set(config: str, splits: Sequence[SplitFiles]) -> dict[str, Any]:
    """The record set that lists a config's splits and what each one means."""
    rs = f"{config}_splits"
    fields: list[dict[str, Any]] = [
        {
            "@type": "cr:Field",
            "@id": f"{rs}/name",
            "name": "name",
            "description": "The split's name, as datasets loads it.",
            "dataType": "sc:Text",
        }
    ]
    rows: list[dict[str, str]] = []
    for s in splits:
        row = {f"{rs}/name": s.name}
        if s.name in SPLIT_MEANINGS:
            row[f"{rs}/url"] = SPLIT_MEANINGS[s.name]
        rows.append(row)
    if any(len(row) > 1 for row in rows):
        fields.append(
            {
                "@type": "cr:Field",
                "@id": f"{rs}/url",
                "name": "url",
                "description": "What the split is for, as a Croissant split class.",
                # The spec's example gives only cr:Split; mlcroissant also needs a type it
                # can read values as, and the values are URLs (compacted with `cr:`).
                "dataType": ["sc:URL", "cr:Split"],
            }
        )
    return {
        "@type": "cr:RecordSet",
        "@id": rs,
        "name": rs,
        "description": f"The splits of the {config} config.",
        "dataType": "cr:Split",
        "key": {"@id": f"{rs}/name"},
        "field": fields,
        "data": rows,
    }


def _field(config: str, file_set: str, field: schema.Field) -> dict[str, Any]:
    dtype, is_array = data_type(field)
    out: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"{config}/{field.name}",
        "name": field.name,
        "description": field.doc,
        "dataType": dtype,
        "source": {"fileSet": {"@id": file_set}, "extract": {"column": field.name}},
    }
    if is_array:
        out["isArray"] = True
        out["arrayShape"] = "-1"
    return out


def _config(
    config: str, fields: tuple[schema.Field, ...], splits: Sequence[SplitFiles]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A config's FileSet and its record sets (its rows, and its splits)."""
    names = [f.name for f in fields]
    if SPLIT_FIELD in names or len(set(names)) != len(names):
        raise ValueError(f"config {config!r}: a column is named twice, or {SPLIT_FIELD!r}")
    file_set = f"{config}-parquet-files"
    distribution = {
        "@type": "cr:FileSet",
        "@id": file_set,
        "name": file_set,
        "description": f"The Parquet files of the {config} config.",
        "encodingFormat": PARQUET,
        "includes": [path for s in splits for path in s.files],
    }
    split_field = {
        "@type": "cr:Field",
        "@id": f"{config}/{SPLIT_FIELD}",
        "name": SPLIT_FIELD,
        "description": "The split the record is in (from the name of its file).",
        "dataType": "sc:Text",
        "source": {
            "fileSet": {"@id": file_set},
            "extract": {"fileProperty": "fullpath"},
            "transform": {"regex": _split_regex(splits)},
        },
        "references": {"field": {"@id": f"{config}_splits/name"}},
    }
    records = {
        "@type": "cr:RecordSet",
        "@id": config,
        "name": config,
        "description": _CONFIG_DESCRIPTIONS.get(config, f"The {config} config."),
        "field": [split_field] + [_field(config, file_set, f) for f in fields],
    }
    return distribution, [_splits_record_set(config, splits), records]


def document(
    *,
    name: str,
    description: str,
    license: str,
    license_url: str | None,
    url: str | None,
    citation: str | None,
    version: str | None,
    keywords: Sequence[str],
    configs: Sequence[tuple[str, tuple[schema.Field, ...], Sequence[SplitFiles]]],
    sha256: Mapping[str, str],
) -> dict[str, Any]:
    """The Croissant document of an artifact.

    ``configs``: (config name, its schema fields, its splits' files). Splits without files
    are left out, and so is a config without any, as the card leaves them undeclared.
    ``sha256``: relative path → sha256 hex; it must hold every Parquet file (other entries
    are ignored, so the manifest's checksums can be passed as they are).
    """
    file_objects: list[dict[str, Any]] = []
    file_sets: list[dict[str, Any]] = []
    record_sets: list[dict[str, Any]] = []
    for config, fields, splits in configs:
        present = [s for s in splits if s.files]
        if not present:
            continue
        file_objects += [_file_object(path, sha256) for s in present for path in s.files]
        file_set, sets = _config(config, fields, present)
        file_sets.append(file_set)
        record_sets += sets
    ids = [node["@id"] for node in (*file_objects, *file_sets, *record_sets)]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two Croissant nodes would have the same @id: {sorted(ids)}")
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": description,
        "license": _license(license, license_url),
        "keywords": list(keywords),
        "distribution": file_objects + file_sets,
        "recordSet": record_sets,
    }
    optional = {"url": url, "citeAs": citation, "version": version}
    doc.update({key: value for key, value in optional.items() if value is not None})
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """The document as text: keys sorted, two-space indents, UTF-8 characters as they are,
    one final newline. The same document always gives the same bytes."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

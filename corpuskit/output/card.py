"""The dataset card: README.md with the YAML `datasets` reads, and a body people read.

Everything in the YAML is derived: features from ``schema``, split sizes from what the
writer measured (``load_dataset`` verifies ``num_examples``, so they must be exact), the
language list from the kept records, license and names from the card settings
(:class:`corpuskit.cardconfig.CardConfig`). The body is written for someone who finds the
dataset on the Hub: what it is, how to load it, its fields with an example, splits and
languages (with a chart), where it came from, what the build did with every record (so the
accounting invariant is visible), leakage, personal data, limitations, license, citation.

The card is a function of the settings, the report's deterministic part, the shard list
and the example row only, so ``corpuskit card DIR`` can write it again from the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from corpuskit import schema
from corpuskit.layout import CHART, DATA_DIR, DUPLICATES_DIR, MANIFEST, REJECTS_DIR
from corpuskit.output import card_sections
from corpuskit.output.writer import Shards, SplitFiles
from corpuskit.report import markdown_table

if TYPE_CHECKING:
    from corpuskit.config import BuildConfig
    from corpuskit.report import BuildReport

SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
]


def size_category(n: int) -> str:
    for bound, label in SIZE_CATEGORIES:
        if n < bound:
            return label
    return "1B<n<10B"


def hub_language(code: str) -> str | None:
    """The Hub's `language` list wants ISO 639 codes: zh-Hans/zh-Hant are `zh` there."""
    if code == "und":
        return None
    return code.split("-", 1)[0]


def _info(
    config_name: str, fields: tuple[schema.Field, ...], splits: Sequence[SplitFiles]
) -> dict[str, Any]:
    return {
        "config_name": config_name,
        "features": schema.features_yaml(fields),
        "splits": [
            {"name": s.name, "num_bytes": s.num_bytes, "num_examples": s.num_examples}
            for s in splits
        ],
        "download_size": sum(s.download_size for s in splits),
        "dataset_size": sum(s.num_bytes for s in splits),
    }


def _data_files(splits: Sequence[SplitFiles], folder: str) -> list[dict[str, str]]:
    return [{"split": s.name, "path": f"{folder}/{s.name}-*"} for s in splits]


def language_configs(config: BuildConfig, report: BuildReport) -> list[str]:
    """The languages that get a config of their own: at least ``language_configs``
    articles, not ``und``; the most articles first (ties by code)."""
    least = config.card.language_configs
    if least <= 0:
        return []
    return [lang for lang, n in report.languages.items() if n >= least and lang != "und"]


def _language_config(
    lang: str, splits: Sequence[SplitFiles], by_split: Mapping[str, Mapping[str, int]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A per-language config: the default config's files, filtered on ``language``
    (``datasets``' Parquet builder takes ``filters`` from the card's config entry and
    pushes them into its scan), and its dataset_info. A split without that language is
    left out: ``datasets`` checks every declared split's ``num_examples``."""
    present = [s for s in splits if by_split.get(s.name, {}).get(lang)]
    entry = {
        "config_name": lang,
        "data_files": _data_files(present, DATA_DIR),
        "filters": [["language", "==", lang]],
    }
    counts = {s.name: by_split[s.name][lang] for s in present}
    info = {
        "config_name": lang,
        "features": schema.features_yaml(schema.RECORD_FIELDS),
        "splits": [
            {"name": s.name, "num_bytes": s.num_bytes_by[lang], "num_examples": counts[s.name]}
            for s in present
        ],
        "download_size": sum(s.download_size for s in present),
        "dataset_size": sum(s.num_bytes_by[lang] for s in present),
    }
    return entry, info


def _field_rows(fields: tuple[schema.Field, ...]) -> list[tuple[str, str, str]]:
    return [
        (f"`{f.name}`", f"{f.dtype}{', nullable' if f.nullable else ''}", f.doc) for f in fields
    ]


def metadata(config: BuildConfig, report: BuildReport, shards: Shards) -> dict[str, Any]:
    """The card's YAML header (the Hub's dataset card keys), as a dict."""
    card = config.card
    languages = sorted({c for c in map(hub_language, report.languages) if c})
    declared = [
        (name, fields, folder, [s for s in parts if s.num_examples])
        for name, fields, folder, parts in (
            ("default", schema.RECORD_FIELDS, DATA_DIR, list(shards.splits)),
            ("rejects", schema.REJECT_FIELDS, REJECTS_DIR, [shards.rejects]),
            ("duplicates", schema.DUPLICATE_FIELDS, DUPLICATES_DIR, [shards.duplicates]),
        )
    ]
    declared = [d for d in declared if d[3]]
    configs: list[dict[str, Any]] = []
    infos: list[dict[str, Any]] = []
    for name, fields, folder, parts in declared:
        entry: dict[str, Any] = {"config_name": name}
        if name == "default":
            entry["default"] = True
        entry["data_files"] = _data_files(parts, folder)
        configs.append(entry)
        infos.append(_info(name, fields, parts))
        if name == "default":
            for lang in language_configs(config, report):
                entry, info = _language_config(lang, parts, report.languages_by_split)
                configs.append(entry)
                infos.append(info)
    meta: dict[str, Any] = {
        "pretty_name": card.pretty_name or config.name,
        "license": card.license,
    }
    if card.license_name:
        meta["license_name"] = card.license_name
    if card.license_link:
        meta["license_link"] = card.license_link
    meta.update(
        {
            "language": languages or None,
            "multilinguality": "multilingual" if len(languages) > 1 else "monolingual",
            "size_categories": [size_category(report.kept)],
            "task_categories": ["text-generation"],
            "tags": list(dict.fromkeys(("corpuskit", "news", *card.tags))),
            "configs": configs,
            "dataset_info": infos,
        }
    )
    return meta


def render(
    config: BuildConfig,
    report: BuildReport,
    shards: Shards,
    example: Mapping[str, Any] | None,
) -> str:
    """The whole README.md; ``example`` is the first row of the train split (None if it
    has none)."""
    meta = metadata(config, report, shards)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    card = config.card
    title = card.pretty_name or config.name
    parts = [f"---\n{front}---\n", f"# {title}\n", _description(config, report)]
    parts.append(how_to_load(config.name, card.repo_id, shards, language_configs(config, report)))
    parts.append(_structure(config, example))
    parts.append(_splits_and_languages(config, report, shards))
    shown = list(report.sources.items())[:30]
    more = len(report.sources) - len(shown)
    parts.append(
        "## Sources\n\n"
        "Each article's `source_id` says where it came from: "
        + _source_rule(config)
        + ".\n\n"
        + markdown_table(["source_id", "articles"], [(k, f"{v:,}") for k, v in shown])
        + (f"\n\n…and {more:,} more sources." if more > 0 else "")
        + "\n"
    )
    parts.append(report.card_accounting())
    parts.append(card_sections.leakage(config, report))
    parts.append(card_sections.personal_data(config, report))
    parts.append(card_sections.limitations(config))
    parts.append(_license(config))
    parts.append(_citation(config))
    parts.append(
        "## Reproducibility\n\n"
        f"Same inputs and same settings give a byte-identical artifact. `{MANIFEST}` holds "
        "the full configuration, package versions (language detection: "
        f"`{report.language_engine}`, seed {config.seed}), the sha256 of every input and "
        "output file, and the counts above.\n"
    )
    return "\n".join(parts)


def summary(report: BuildReport) -> str:
    """One paragraph on what the artifact holds and how it was made."""
    return (
        f"{report.kept:,} articles in {len(report.languages)} language(s) from "
        f"{len(report.sources)} source(s), made with corpuskit from {report.read:,} input "
        "records: validated, cleaned of site furniture, language-tagged with langdetect, "
        "de-duplicated (exact and near copies), and split into train and eval so that no "
        "near-copy of an eval article is in train."
    )


def _description(config: BuildConfig, report: BuildReport) -> str:
    card = config.card
    given = (
        card.description.strip() + "\n"
        if card.description
        else "*No description was given: its builder can add one with `description` in "
        "corpuskit.toml (or `--description`) and `corpuskit card`.*\n"
    )
    made = "\n" + summary(report) + "\n"
    home = f"\nHomepage: [{card.homepage}]({card.homepage})\n" if card.homepage else ""
    return given + made + home


def how_to_load(
    name: str, repo_id: str | None, shards: Shards, languages: Sequence[str] = ()
) -> str:
    """The card's loading code: one line per config the artifact declares, so every line
    runs. A config with no rows is not declared (``datasets`` 5.2 cannot load a split with
    no examples: "Instruction ... corresponds to no data"); the text says why it is absent.

    The local path starts with "./": a bare name such as ``"news"`` is also a Hub id, and
    ``load_dataset`` may then load a cached or remote dataset of that name instead."""
    path = f"./{name}"
    configs: list[tuple[str, str | None, str]] = [("ds", None, "train and eval")]
    if languages:
        shown = ", ".join(languages[:LANGUAGE_CONFIGS_SHOWN])
        more = len(languages) - LANGUAGE_CONFIGS_SHOWN
        configs.append(
            (
                "one_language",
                languages[0],
                f"one language's articles (configs: {shown}"
                + (f" and {more} more)" if more > 0 else ")"),
            )
        )
    absent = []
    for var, config_name, files, what in (
        ("rejects", "rejects", shards.rejects, "what was rejected, and why"),
        ("dups", "duplicates", shards.duplicates, "what was dropped as a copy"),
    ):
        if files.num_examples:
            configs.append((var, config_name, what))
        else:
            absent.append(config_name)

    def block(where: str) -> str:
        calls = [
            (f'{var} = load_dataset("{where}"' + (f', "{c}")' if c else ")"), what)
            for var, c, what in configs
        ]
        width = max(len(code) for code, _ in calls) + 2
        return (
            "```python\nfrom datasets import load_dataset\n\n"
            + "".join(f"{code.ljust(width)}# {comment}\n" for code, comment in calls)
            + "```\n"
        )

    text = (
        f"## How to load\n\nFrom the folder that holds this artifact's folder `{name}` (the "
        "path starts with `./` so that it can never be taken for a dataset of the same name "
        "on the Hub or in the `datasets` cache):\n\n" + block(path)
    )
    if repo_id:
        text += f"\nFrom the Hub, once published as `{repo_id}`:\n\n" + block(repo_id)
    if absent:
        nothing = {"rejects": "no record was rejected", "duplicates": "no record was a copy"}
        text += "\n" + " ".join(f"The `{c}` config is absent: {nothing[c]}." for c in absent) + "\n"
    return text


def _structure(config: BuildConfig, example: Mapping[str, Any] | None) -> str:
    text = (
        "## Fields\n\n"
        + markdown_table(["field", "type", "meaning"], _field_rows(schema.RECORD_FIELDS))
        + "\n\n"
        + card_sections.input_fields(config)
        + "\n"
    )
    if example is not None:
        shown = {
            k: v[:EXAMPLE_CHARS] + "…" if isinstance(v, str) and len(v) > EXAMPLE_CHARS else v
            for k, v in example.items()
        }
        cut = [f"`{k}`" for k in shown if shown[k] != example[k]]
        text += (
            "\nAn example (the first article of the train split"
            + (f"; {', '.join(cut)} cut at {EXAMPLE_CHARS} characters" if cut else "")
            + "):\n\n```json\n"
            + json.dumps(shown, ensure_ascii=False, indent=2, default=str)
            + "\n```\n"
        )
    return text


#: Language configs named in the loading code's comment (all are in the YAML).
LANGUAGE_CONFIGS_SHOWN = 6
#: Characters of the example's text shown in the card.
EXAMPLE_CHARS = 400


def _splits_and_languages(config: BuildConfig, report: BuildReport, shards: Shards) -> str:
    text = (
        "## Splits and languages\n\n"
        + markdown_table(
            ["split", "articles", "files"],
            [(s.name, f"{s.num_examples:,}", len(s.files)) for s in shards.splits],
        )
        + "\n\n"
        + card_sections.split_rule(config, report)
        + "\n"
    )
    if report.languages_by_split:
        text += f"\n![Articles per language in each split]({CHART})\n"
    shown = list(report.languages.items())[:LANGUAGE_ROWS]
    rows = [
        (
            f"`{lang}`",
            f"{n:,}",
            *(f"{report.languages_by_split.get(s.name, {}).get(lang, 0):,}" for s in shards.splits),
        )
        for lang, n in shown
    ]
    more = len(report.languages) - len(shown)
    text += (
        "\n"
        + markdown_table(["language", "articles", *(s.name for s in shards.splits)], rows)
        + (f"\n\n…and {more:,} more languages." if more > 0 else "")
        + "\n\n"
        + card_sections.script_corrections(report)
        + "\n"
        + card_sections.language_labels(config, report)
    )
    return text


#: Languages listed in the card's table (all of them are in the YAML and the chart).
LANGUAGE_ROWS = 30


def _source_rule(config: BuildConfig) -> str:
    field = config.source.source_field
    rule = {
        "stem": "the input file's name without its extension",
        "parent": "the name of the folder holding the input file",
        "top": "the first folder below the SOURCE argument",
    }.get(config.source_id, f"the part of the file path matched by `{config.source_id}`")
    return f"the input's `{field}` field when it has one, else {rule}" if field else rule


def _license(config: BuildConfig) -> str:
    card = config.card
    head = "## License\n\n"
    theirs = " The articles' own copyright stays with their publishers.\n"
    if card.license != "other":
        return (
            head + f"`{card.license}` (see [the Hub's list of licenses]"
            "(https://hf.co/docs/hub/repositories-licenses)), as declared by whoever built the "
            "dataset." + theirs
        )
    link = f"[{card.license_link}]({card.license_link})" if card.license_link else ""
    if card.license_name:
        return head + f"`{card.license_name}`" + (f": {link}" if link else "") + "." + theirs
    if link:
        return head + f"A license of its own: {link}." + theirs
    return (
        head + "**No license was given** (`license: other` without a name): ask whoever "
        "published the dataset before using it. Its builder can set `license`, or "
        "`license_name` and `license_link`, in corpuskit.toml and run `corpuskit card`.\n"
    )


def _citation(config: BuildConfig) -> str:
    citation = config.card.citation
    if not citation:
        return "## Citation\n\nNo citation was given.\n"
    fence = "`" * max(3, _longest_run(citation, "`") + 1)  # the citation cannot close it
    return f"## Citation\n\n{fence}bibtex\n{citation.strip()}\n{fence}\n"


def _longest_run(text: str, char: str) -> int:
    longest = run = 0
    for c in text:
        run = run + 1 if c == char else 0
        longest = max(longest, run)
    return longest

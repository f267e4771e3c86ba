"""The dataset card: README.md with the YAML `datasets` reads, and a body people read.

Everything in the YAML is derived: features from ``schema``, split sizes from what the
writer measured (``load_dataset`` verifies ``num_examples``, so they must be exact), the
language list from the kept records. The body explains what the build did with every
record, so the accounting invariant is visible to anyone who opens the card.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import yaml

from corpuskit import schema
from corpuskit.layout import DATA_DIR, DUPLICATES_DIR, REJECTS_DIR
from corpuskit.output.writer import SplitFiles
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


def metadata(
    config: BuildConfig,
    report: BuildReport,
    splits: Sequence[SplitFiles],
    rejects: SplitFiles,
    duplicates: SplitFiles,
) -> dict[str, Any]:
    languages = sorted({c for c in map(hub_language, report.languages) if c})
    declared = [
        (name, fields, folder, [s for s in parts if s.num_examples])
        for name, fields, folder, parts in (
            ("default", schema.RECORD_FIELDS, DATA_DIR, list(splits)),
            ("rejects", schema.REJECT_FIELDS, REJECTS_DIR, [rejects]),
            ("duplicates", schema.DUPLICATE_FIELDS, DUPLICATES_DIR, [duplicates]),
        )
    ]
    declared = [d for d in declared if d[3]]
    configs: list[dict[str, Any]] = []
    for name, _, folder, parts in declared:
        entry: dict[str, Any] = {"config_name": name}
        if name == "default":
            entry["default"] = True
        entry["data_files"] = _data_files(parts, folder)
        configs.append(entry)
    return {
        "pretty_name": config.pretty_name or config.name,
        "license": config.license,
        "language": languages or None,
        "multilinguality": "multilingual" if len(languages) > 1 else "monolingual",
        "size_categories": [size_category(report.kept)],
        "task_categories": ["text-generation"],
        "tags": ["corpuskit", "news"],
        "configs": configs,
        "dataset_info": [_info(name, fields, parts) for name, fields, _, parts in declared],
    }


def _field_rows(fields: tuple[schema.Field, ...]) -> list[tuple[str, str, str]]:
    rows = []
    for f in fields:
        rows.append((f"`{f.name}`", f"{f.dtype}{', nullable' if f.nullable else ''}", f.doc))
    return rows


def _how_to_load(name: str, rejects: SplitFiles, duplicates: SplitFiles) -> str:
    """The card's loading code: one line per config the artifact declares, so every line
    runs. A config with no rows is not declared (``datasets`` 5.2 cannot load a split with
    no examples: "Instruction ... corresponds to no data"); the text says why it is absent."""
    calls = [(f'ds = load_dataset("{name}")', "train + eval (path or Hub id)")]
    absent = []
    for var, config_name, files, what in (
        ("rejects", "rejects", rejects, "what was rejected, and why"),
        ("dups", "duplicates", duplicates, "what was dropped as a copy"),
    ):
        if files.num_examples:
            calls.append((f'{var} = load_dataset("{name}", "{config_name}")', what))
        else:
            absent.append(config_name)
    width = max(len(code) for code, _ in calls) + 2
    text = (
        "## How to load\n\n```python\nfrom datasets import load_dataset\n\n"
        + "".join(f"{code.ljust(width)}# {comment}\n" for code, comment in calls)
        + "```\n"
    )
    if absent:
        nothing = {"rejects": "no record was rejected", "duplicates": "no record was a copy"}
        text += "\n" + " ".join(f"The `{c}` config is absent: {nothing[c]}." for c in absent) + "\n"
    return text


def render(
    config: BuildConfig,
    report: BuildReport,
    splits: Sequence[SplitFiles],
    rejects: SplitFiles,
    duplicates: SplitFiles,
) -> str:
    meta = metadata(config, report, splits, rejects, duplicates)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    name = config.pretty_name or config.name
    parts = [f"---\n{front}---\n", f"# {name}\n"]
    parts.append(
        f"{report.kept:,} articles in {len(report.languages)} language(s) from "
        f"{len(report.sources)} source(s), built with corpuskit from {report.read:,} input "
        "records: validated, cleaned of site furniture, language-tagged with langdetect, "
        "de-duplicated (exact and near copies), and split into train and eval so that no "
        "near-copy of an eval article is in train.\n"
    )
    parts.append(_how_to_load(config.name, rejects, duplicates))
    parts.append(
        "## Splits\n\n"
        + markdown_table(
            ["split", "articles", "files"],
            [(s.name, f"{s.num_examples:,}", len(s.files)) for s in splits],
        )
        + "\n\n"
        f"Assignment is a hash of (seed {config.seed}, group key) against the eval ratio "
        f"{config.eval_ratio}; the group is "
        + (
            f"the `{config.group_by}` value, joined through near-duplicate clusters"
            if config.group_by
            else "the near-duplicate cluster"
        )
        + " (near-copies are grouped at a slightly looser similarity for the split than for "
        "dropping, so no near-copy straddles it). A group's split depends only on its key, "
        "so adding articles never moves an existing article unless it joins or merges "
        "clusters; `--previous` pins published articles even then."
        + (
            f" Stratified by language: each language with enough groups has at least its "
            f"share of eval ({report.split_forced:,} groups moved to eval for that)."
            if config.stratify_language
            else ""
        )
        + (
            f" {report.split_pinned:,} groups were pinned to their split in the previous "
            f"artifact; no published article moved ({len(report.held):,} were held in place "
            "although their group joined another)."
            if config.previous
            else ""
        )
        + "\n"
    )
    parts.append(
        "## Fields\n\n"
        + markdown_table(["field", "type", "meaning"], _field_rows(schema.RECORD_FIELDS))
        + "\n"
    )
    parts.append(
        "## Languages\n\n"
        + markdown_table(
            ["language", "articles"], [(k, f"{v:,}") for k, v in report.languages.items()]
        )
        + "\n\n"
        + _script_corrections(report)
        + "\n"
    )
    shown = list(report.sources.items())[:30]
    more = len(report.sources) - len(shown)
    parts.append(
        "## Sources\n\n"
        + markdown_table(["source_id", "articles"], [(k, f"{v:,}") for k, v in shown])
        + (f"\n\n…and {more:,} more sources." if more > 0 else "")
        + "\n"
    )
    parts.append(_personal_data(config, report))
    parts.append(_limitations())
    parts.append(report.card_accounting())
    parts.append(_leakage(config, report))
    parts.append(
        "## Reproducibility\n\n"
        "Same inputs and same settings give a byte-identical artifact. `corpuskit.json` holds "
        "the full configuration, package versions (language detection: "
        f"`{report.language_engine}`, seed {config.seed}), the sha256 of every input and "
        "output file, and the counts above.\n"
    )
    return "\n".join(parts)


def _script_corrections(report: BuildReport) -> str:
    fixed = sum(report.language_corrections.values())
    if not fixed:
        return "No language tag had to be corrected by the text's script (see Limitations)."
    which = ", ".join(f"{k}: {v:,}" for k, v in report.language_corrections.items())
    tags, were = ("tag", "was") if fixed == 1 else ("tags", "were")
    return (
        f"{fixed:,} {tags} that langdetect gave {were} ruled out by the text's script and "
        f"corrected ({which}); see Limitations."
    )


#: What each kind of personal data is, for the card.
_PII_KIND_DOCS = {
    "email": "e-mail addresses",
    "phone": "phone numbers (checked with libphonenumber)",
    "ip": "IPv4 and IPv6 addresses",
    "card": "payment card numbers (Luhn-checked)",
    "secret": "credentials and tokens in URLs (user-info, token-like query parameters)",
}


def _personal_data(config: BuildConfig, report: BuildReport) -> str:
    """The "Personal and Sensitive Information" section (the Hub's card template has it)."""
    head = "## Personal and Sensitive Information\n\n"
    clean = config.clean
    if not clean.enabled or "pii" not in clean.steps:
        return (
            head + "The build did not look for personal data (the `pii` clean step was off): "
            "articles may hold e-mail addresses, phone numbers and other personal data.\n"
        )
    done = {
        "redact": "replaced by a placeholder such as "
        f"`{clean.pii_placeholder.replace('{KIND}', 'EMAIL')}`",
        "keep": "counted but left in the text (`--pii keep`)",
        "reject": "made its article a reject (`pii`; its text is redacted in the rejects config)",
    }[clean.pii]
    rows = [(doc, f"{report.pii.get(kind, 0):,}") for kind, doc in _PII_KIND_DOCS.items()]
    allowed = ", ".join(f"`{a}`" for a in clean.pii_allow) or "nothing"
    return (
        head + "The `pii` clean step looked for personal data in the texts, titles and URLs of "
        f"the articles and in the texts of rejected records; each match was {done}.\n\n"
        + markdown_table(["personal data", "found"], rows)
        + "\n\n"
        f"Never treated as personal data: {allowed}. Phone numbers count when written "
        "internationally (`+44 …`), or in a national format right after a phone word "
        f'("tel.", "call", …) for {", ".join(clean.pii_phone_regions)}.\n\n'
        "**Not caught**: names, postal addresses, ID numbers other than payment cards, "
        "phone numbers in a national format without a phone word, and addresses written to "
        'dodge scrapers ("name at example dot org"). Treat the articles as possibly '
        "holding personal data.\n"
    )


def _limitations() -> str:
    return (
        "## Limitations\n\n"
        "- **Language tags** are langdetect's best guess (seeded, so reproducible), `und` "
        "below the score threshold. Where the text's dominant script rules that language "
        "out, the tag is corrected: Han characters alone give `zh-Hans` or `zh-Hant` (by "
        "which characters occur), Han with kana `ja`, Hangul `ko`, and a script that one "
        "language is written in (Greek, Armenian, Georgian, Hebrew, Thai, ...) that "
        "language; otherwise `und`. `language_score` is then that script's share of the "
        "letters. Texts that mix languages get one tag.\n"
        "- **`num_words`** counts whitespace-separated words, but each character of a script "
        "written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) as a word, as "
        "the near-duplicate shingles do.\n"
    )


def _leakage(config: BuildConfig, report: BuildReport) -> str:
    nd = config.near_dup
    if not nd.enabled:
        return (
            "## Train/eval leakage\n\nNear-duplicate detection was switched off: only exact "
            "duplicates were removed, so near-copies may straddle the split.\n"
        )
    audit = report.audit
    rows = [
        (
            "method",
            f"MinHash ({nd.num_perm} permutations, seed {nd.seed}) + LSH over "
            f"{nd.shingle_size}-word shingles, candidates verified by estimated Jaccard",
        ),
        ("threshold", f"Jaccard ≥ {nd.threshold}"),
        (
            "policy",
            f"`{config.near_dups}`"
            + (
                " (one representative per cluster kept: the longest, then smallest id)"
                if config.near_dups == "drop"
                else " (all members kept, sharing `dup_cluster`)"
            ),
        ),
        ("clusters", f"{report.clusters:,} ({report.clustered_records:,} distinct texts)"),
        ("near duplicates dropped", f"{report.near_duplicates:,}"),
        ("exact duplicates dropped", f"{report.exact_duplicates:,}"),
    ]
    if audit:
        rows.append(
            (
                "max estimated train–eval similarity among LSH candidates",
                f"{audit.get('max_cross_similarity', 0.0):.3f}",
            )
        )
        rows.append(
            ("eval articles with a near-copy in train", f"{audit.get('eval_with_train_copy', 0):,}")
        )
        contained = audit.get("containment_threshold", 0.0)
        rows.append(
            (
                "max estimated share of an eval article inside a train article (containment, "
                "among articles sharing a paragraph)",
                f"{audit.get('max_eval_in_train_containment', 0.0):.3f}",
            )
        )
        rows.append(
            (
                f"eval articles ≥ {contained:g} contained in a train article",
                f"{audit.get('eval_contained_in_train', 0):,}",
            )
        )
    return (
        "## Train/eval leakage\n\n" + markdown_table(["", ""], rows) + "\n\n"
        "An article whose shingles are at least 80 % contained in another (a wire story and a "
        "longer version that carries it) is kept in the same split as that one, like the "
        "members of a near-duplicate cluster.\n"
    )

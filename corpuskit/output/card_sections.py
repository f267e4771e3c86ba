"""The card's longer prose sections: language corrections, personal data, limitations and
train/eval leakage. Each is a function of the settings and the report only, so the build
and ``corpuskit card`` write the same text (:mod:`corpuskit.output.card` assembles them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corpuskit.report import markdown_table

if TYPE_CHECKING:
    from corpuskit.config import BuildConfig
    from corpuskit.report import BuildReport


def split_rule(config: BuildConfig, report: BuildReport) -> str:
    """How articles were assigned to train and eval."""
    return (
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
            if report.split_pinned or report.held
            else ""
        )
    )


def input_fields(config: BuildConfig) -> str:
    """What the build kept of the input's own fields."""
    source = config.source
    own = (
        f"`source_record_id` is the input's own `{source.id_field}` field, as text (also in "
        "the rejects and duplicates configs, to find a record in the input). "
        if source.id_field
        else "The input's own record ids were not kept (`--id-field` was empty). "
    )
    if source.keep_fields is None:
        kept = "every other field of the input"
    elif source.keep_fields:
        kept = "the input's fields " + ", ".join(f"`{f}`" for f in source.keep_fields)
    else:
        return own + "No other field of the input was kept (`metadata` is null).\n"
    return (
        own + f"`metadata` holds {kept} as one JSON object (null when there is none); "
        "personal data in its values is redacted like the text.\n"
    )


def language_labels(config: BuildConfig, report: BuildReport) -> str:
    """Where the language tags came from when the input gave them (--language-field)."""
    field = config.source.language_field
    if not field:
        return ""
    text = (
        f"\nThe language of {report.language_from_field:,} articles comes from the input's "
        f"`{field}` field (ISO 639-1, region subtags dropped); "
        f"{report.language_fallbacks:,} had no usable label and were tagged by langdetect. "
        f"langdetect disagreed with {report.language_disagreements_total:,} labels "
        "(their `language_score` is 0)"
    )
    if not report.language_disagreements:
        return text + ".\n"
    top = list(report.language_disagreements.items())[:10]
    return (
        text
        + ":\n\n"
        + markdown_table(["label → langdetect", "articles"], [(k, f"{v:,}") for k, v in top])
        + "\n"
    )


def script_corrections(report: BuildReport) -> str:
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


def personal_data(config: BuildConfig, report: BuildReport) -> str:
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


def limitations(config: BuildConfig) -> str:
    """What a user of the data should not assume."""
    items = [
        "**Language tags** are langdetect's best guess (seeded, so reproducible), `und` below "
        "the score threshold. langdetect knows 55 languages: a text in any other (Belarusian, "
        "Serbian, Bosnian, Kazakh, Malay, ...) gets the closest of them (Malay usually `id`) or"
        " `und`, and close languages (Croatian and Slovenian, Danish and Norwegian, Czech and "
        "Slovak, Spanish and Catalan, Hindi, Marathi and Nepali) are told apart less reliably "
        "in short texts. Where the text's dominant script rules the tag out, it is corrected: "
        "Han characters alone give `zh-Hans` or `zh-Hant` (by which characters occur), Han with"
        " kana `ja`, Hangul `ko`, and a script that one language is written in (Greek, "
        "Armenian, Georgian, Hebrew, Thai, ...) that language; otherwise `und`. "
        "`language_score` is then that script's share of the letters. Texts that mix languages "
        "get one tag.",
        '**Cleaning is rule-based.** Site furniture (share buttons, "Read more", related-'
        "article lists, newsletter prompts) is removed by patterns for the languages of the "
        "rule files; furniture they do not know stays, and a real sentence that looks like "
        'furniture may go. How many articles each step changed is in "What the build did".',
        "**Duplicates are found approximately.** Near-copies are pairs whose MinHash-"
        "estimated Jaccard similarity reaches the threshold; pairs just below it, and "
        "rewrites that share few word shingles, stay.",
        "**Metadata is as the input gave it.** Titles, URLs and publication times are not "
        "checked against the text; values that could not be read are null.",
        "**The articles are what their sources published.** Topics, viewpoints, regions and "
        "languages are not balanced, and no quality, toxicity or fact filter was applied.",
        "**`num_words`** counts whitespace-separated words, but each character of a script "
        "written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Myanmar) as a word, as "
        "the near-duplicate shingles do.",
    ]
    if not config.clean.enabled:
        items[1] = "**The texts were not cleaned** (`--no-clean`): site furniture is in them."
    return "## Limitations\n\n" + "".join(f"- {item}\n" for item in items)


def leakage(config: BuildConfig, report: BuildReport) -> str:
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

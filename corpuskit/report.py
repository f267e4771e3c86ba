"""The build report: what every stage counted, and every rendering of it.

``BuildReport`` is filled stage by stage (:meth:`BuildReport.add_batch` per map-stage
batch, :meth:`~BuildReport.finish_map`, :meth:`~BuildReport.add_plan`, then the write
stage's counts) and rendered here only: the terminal summary (:meth:`~BuildReport.summary`),
the JSON of ``--report`` (:meth:`~BuildReport.to_json`), the card's accounting section
(:meth:`~BuildReport.card_accounting`) and the error when nothing was kept
(:class:`NothingKept`). ``counts`` is the accounting the manifest records and the tests
check: ``read = kept + duplicates + rejected``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corpuskit.errors import CorpuskitError
from corpuskit.record import PII_KINDS, REASON_DOCS, Reason

if TYPE_CHECKING:
    from corpuskit.mapstage.base import BatchResult
    from corpuskit.plan import Plan
    from corpuskit.sources.base import SourceStats


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; ``|``, line breaks, and HTML (``<``, ``>``,
    ``&`` outside code spans: source ids come from the input) in cells are escaped."""

    def cell(v: Any) -> str:
        return markdown_text(str(v)).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_text(text: str) -> str:
    """``text`` with ``&``, ``<`` and ``>`` escaped outside `code spans`, so a value from
    the input cannot become HTML in the card (the Hub renders inline HTML)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _add(total: dict[str, Any], more: Mapping[str, Any]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value


class NothingKept(CorpuskitError):
    """Every record was rejected or dropped: there is no dataset to write."""

    def __init__(self, report: BuildReport):
        super().__init__(
            f"no article was kept out of {report.read:,} records read (rejected: "
            f"{report.rejects_by_count() or 'none'}; duplicates: {report.duplicates:,}); "
            "nothing was written. Check --text-field, --min-chars and --languages"
            + (
                f"; {sum(report.files_skipped.values())} files were skipped as not articles "
                f"({', '.join(sorted(report.files_skipped))})"
                if report.files_skipped
                else ""
            )
        )


#: Warnings need this many records read, and one reject reason above this share of them.
WARN_MIN_READ = 10
WARN_SHARE = 0.5
#: Lengths of too_short rejects kept for the warning's median.
WARN_SAMPLE = 10_000
_DETECTED = re.compile(r"language (\S+)")


#: Report fields that describe one run, not the artifact: never in the manifest.
RUN_ONLY = (
    "name",
    "out",
    "timings",
    "index_bytes",
    "from_cache",
    "files_from_cache",
    "cache_corrupt",
    "cache_problem",
)


@dataclass
class BuildReport:
    """Everything a build counted. ``counts`` is the accounting the tests check."""

    name: str
    out: str
    read: int = 0
    kept: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    # split -> language -> kept articles (the card's chart)
    languages_by_split: dict[str, dict[str, int]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    clean_steps: dict[str, int] = field(default_factory=dict)
    chars_in: int = 0
    chars_removed: int = 0
    files_read: int = 0
    files_skipped: dict[str, int] = field(default_factory=dict)
    clusters: int = 0
    clustered_records: int = 0
    split_forced: int = 0
    split_pinned: int = 0
    split_conflicts: int = 0
    held: list[tuple[str, str, str]] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)
    source_rule_misses: int = 0
    meta_not_understood: dict[str, int] = field(default_factory=dict)
    language_corrections: dict[str, int] = field(default_factory=dict)
    index_bytes: int = 0
    language_engine: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # The cache (corpuskit.cache): records whose map-stage result came from it, entries
    # found corrupt (recomputed), and why it was off, if it was. Never in the artifact.
    from_cache: int = 0
    files_from_cache: int = 0  # input files whose results were taken whole (filecache)
    cache_corrupt: int = 0
    cache_problem: str | None = None
    # kind -> personal data the pii step found (corpuskit.clean.pii.KINDS order)
    pii: dict[str, int] = field(default_factory=dict)
    # --language-field: records whose language is their label; records without a usable
    # label (the detector's answer was used); "given -> detected" where the detector named
    # another language (by count), and their total. Counted before duplicates are removed.
    language_from_field: int = 0
    language_fallbacks: int = 0
    language_disagreements: dict[str, int] = field(default_factory=dict)
    language_disagreements_total: int = 0
    # Seconds per map-stage step, summed over batches (reported as timings["map.STEP"]).
    _map_seconds: dict[str, float] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # What the warnings are made of (see warnings()): the first detail of each reject
    # reason, up to WARN_SAMPLE lengths of too_short rejects, the languages of language
    # rejects.
    _reject_example: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _short_lengths: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _rejected_languages: dict[str, int] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def duplicates(self) -> int:
        return self.exact_duplicates + self.near_duplicates

    @property
    def counts(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "kept": self.kept,
            "duplicates": self.duplicates,
            "rejected": dict(sorted(self.rejected.items())),
        }

    def balanced(self) -> bool:
        return self.read == self.kept + self.duplicates + sum(self.rejected.values())

    def rejects_by_count(self) -> str:
        """'too_short 12, empty 3': reject reasons, most frequent first."""
        ranked = sorted(self.rejected.items(), key=lambda kv: -kv[1])
        return ", ".join(f"{k} {v:,}" for k, v in ranked)

    # ------------------------------------------------------------------------------------
    # Filling the report, stage by stage

    def add_batch(self, result: BatchResult) -> None:
        """Count one map-stage batch's rejects and statistics (rows are counted later,
        by the write stage, once duplicates are known)."""
        for reject in result.rejects:
            reason = str(reject.reason)
            self.rejected[reason] = self.rejected.get(reason, 0) + 1
            self._reject_example.setdefault(reason, reject.detail)
            if reject.reason is Reason.TOO_SHORT and len(self._short_lengths) < WARN_SAMPLE:
                self._short_lengths.append(len(reject.text or ""))
            elif reject.reason is Reason.LANGUAGE:
                found = _DETECTED.match(reject.detail)
                code = found.group(1) if found else "?"
                self._rejected_languages[code] = self._rejected_languages.get(code, 0) + 1
        _add(self.clean_steps, result.clean_steps)
        self.chars_in += result.chars_in
        self.chars_removed += result.chars_removed
        self.source_rule_misses += result.source_rule_misses
        _add(self.meta_not_understood, result.meta_not_understood)
        _add(self.language_corrections, result.language_corrections)
        _add(self._map_seconds, result.seconds)
        self.language_engine = result.language_engine
        self.from_cache += result.cached
        _add(self.pii, result.pii)
        self.language_from_field += result.language_from_field
        self.language_fallbacks += result.language_fallbacks
        _add(self.language_disagreements, result.language_disagreements)
        self.cache_corrupt += result.cache_corrupt
        if result.cache_problem and not self.cache_problem:
            self.cache_problem = result.cache_problem

    def finish_map(self, stats: SourceStats, seconds: float) -> None:
        """What the sources counted, and the map stage's time (in total and per step)."""
        self.read = stats.records
        self.files_read = stats.files_read
        self.files_skipped = dict(stats.files_skipped)
        self.meta_not_understood = dict(sorted(self.meta_not_understood.items()))
        self.language_corrections = dict(sorted(self.language_corrections.items()))
        self.language_disagreements = dict(
            sorted(self.language_disagreements.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        self.language_disagreements_total = sum(self.language_disagreements.values())
        order = {kind: i for i, kind in enumerate(PII_KINDS)}
        self.pii = dict(sorted(self.pii.items(), key=lambda kv: order.get(kv[0], len(order))))
        self.timings["map"] = seconds
        self.timings.update({f"map.{k}": v for k, v in self._map_seconds.items()})

    def add_plan(self, plan: Plan) -> None:
        """What the global stage decided: duplicates, clusters, the split, the audit."""
        self.exact_duplicates = plan.exact_duplicates
        self.near_duplicates = plan.near_duplicates
        self.clusters = plan.clusters
        self.clustered_records = plan.clustered_records
        self.index_bytes = plan.index_bytes
        self.held = sorted(plan.held)
        self.split_forced = plan.split_forced
        self.split_pinned = plan.split_pinned
        self.split_conflicts = plan.split_conflicts
        if plan.audit is not None:
            self.audit = dict(plan.audit.__dict__)

    # ------------------------------------------------------------------------------------
    # Renderings

    def to_json(self) -> dict[str, Any]:
        """Every field, for ``--report`` (``counts`` added; private tallies left out)."""
        data = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        data["counts"] = self.counts
        data["warnings"] = self.warnings()
        return data

    def _language_table(self, rows: int = 8) -> list[str]:
        """Kept articles by language (the most first) and split, as aligned text."""
        splits = list(self.splits) or ["kept"]
        by_split = self.languages_by_split or {"kept": self.languages}
        shown = list(self.languages.items())[:rows]
        table = [["language", *splits, "all"]]
        for lang, n in shown:
            table.append(
                [lang, *(f"{by_split.get(s, {}).get(lang, 0):,}" for s in splits), f"{n:,}"]
            )
        more = len(self.languages) - len(shown)
        if more > 0:
            rest = sum(n for _, n in list(self.languages.items())[rows:])
            per = [
                sum(by_split.get(s, {}).get(lang, 0) for lang in list(self.languages)[rows:])
                for s in splits
            ]
            table.append([f"+{more} more", *(f"{v:,}" for v in per), f"{rest:,}"])
        table.append(["all", *(f"{self.splits.get(s, 0):,}" for s in splits), f"{self.kept:,}"])
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        return [
            "  "
            + row[0].ljust(widths[0])
            + "".join("  " + cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))
            for row in table
        ]

    def card_json(self) -> dict[str, Any]:
        """What the card, its chart and croissant.json are made from: every field that
        the same inputs and settings always give (no timings, paths, cache figures).
        The manifest keeps it (``report``), so ``corpuskit card`` can write them again."""
        data = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        for key in RUN_ONLY:
            data.pop(key)
        return data

    @classmethod
    def from_card_json(cls, name: str, out: str, data: Mapping[str, Any]) -> BuildReport:
        """The report a manifest's ``report`` record describes (see :meth:`card_json`).

        Raises ``KeyError``/``TypeError`` on a record of another shape."""
        values = dict(data)
        values["held"] = [tuple(h) for h in values.get("held", [])]
        return cls(name=name, out=out, **values)

    def warnings(self) -> list[str]:
        """What a person should look at before using (or rebuilding) the artifact: most
        records rejected for one reason, with the option to change; an empty split."""
        out: list[str] = []
        if self.read >= WARN_MIN_READ and self.rejected:
            reason, n = max(self.rejected.items(), key=lambda kv: (kv[1], kv[0]))
            if n > WARN_SHARE * self.read:
                share = f"{n:,} of {self.read:,} records ({n / self.read:.0%})"
                out.append(f"{share} were rejected as {reason}: {self._advice(reason)}")
        if self.kept and self.splits:  # a dry run (validate) has no splits
            for split in ("train", "eval"):
                if self.splits.get(split, 0) == 0:
                    out.append(
                        f"split {split!r} is empty: too few groups for the eval ratio; add "
                        "articles, or change --eval-ratio"
                    )
        return out

    def _advice(self, reason: str) -> str:
        example = self._reject_example.get(reason, "")
        if reason == Reason.TOO_SHORT.value and self._short_lengths:
            lengths = sorted(self._short_lengths)
            median = lengths[len(lengths) // 2]
            return (
                f"their median length is {median:,} characters; if they are articles, lower "
                f"--min-chars (e.g. --min-chars {max(1, lengths[len(lengths) // 10]):,})"
            )
        if reason == Reason.LANGUAGE.value and self._rejected_languages:
            top = sorted(self._rejected_languages.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            shown = ", ".join(f"{k} {v:,}" for k, v in top)
            return f"their languages: {shown}; add them to --languages, or leave it out"
        if reason == Reason.TOO_LONG.value:
            return "raise --max-chars if they are articles"
        if reason in (Reason.EMPTY_AFTER_CLEAN.value, Reason.REPETITIVE.value):
            return (
                "cleaning left too little of them; compare with --no-clean, or leave steps "
                f"out with --clean-steps (e.g. {example})"
            )
        return f"e.g. {example}" if example else "see the rejects config"

    def summary(self) -> str:
        """What a person reads after a build (the CLI prints it): the accounting, a table
        of kept articles by language and split, rejects by reason, time per stage."""
        report = self
        rejected = sum(report.rejected.values())
        t = report.timings
        lines = [
            f"Built {report.out}  ({t.get('total', 0):.1f} s)",
            f"  read {report.read:,} = kept {report.kept:,} + duplicates {report.duplicates:,} "
            f"(exact {report.exact_duplicates:,}, near {report.near_duplicates:,}) "
            f"+ rejected {rejected:,}",
            "",
            *self._language_table(),
            "",
        ]
        if report.rejected:
            lines.append("  rejected: " + report.rejects_by_count())
        stages = [
            ("read + map", t.get("map")),
            ("global", t.get("global")),
            ("write", t.get("write")),
        ]
        if any(v is not None for _, v in stages):
            lines.append(
                "  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages if v is not None)
            )
        if report.files_skipped:
            lines.append(
                "  skipped files: "
                + ", ".join(f"{k} {v}" for k, v in sorted(report.files_skipped.items()))
            )
        if report.meta_not_understood:
            lines.append(
                "  metadata not understood (set to null, articles kept): "
                + ", ".join(f"{k} {v}" for k, v in report.meta_not_understood.items())
            )
        if report.language_from_field or report.language_fallbacks:
            lines.append("  " + report.language_field_summary())
        if report.pii:
            lines.append(
                "  personal data found: " + ", ".join(f"{k} {v:,}" for k, v in report.pii.items())
            )
        if report.from_cache or report.cache_corrupt:
            corrupt = (
                f" ({report.cache_corrupt:,} corrupt entries recomputed)"
                if report.cache_corrupt
                else ""
            )
            whole = f", {report.files_from_cache:,} whole files" if report.files_from_cache else ""
            lines.append(
                f"  from the cache: {report.from_cache:,} of {report.read:,}{whole}{corrupt}"
            )
        if report.cache_problem:
            lines.append(f"  warning: {report.cache_problem}")
        if report.held:
            lines.append(
                f"  held in their published split by --previous: {len(report.held)} "
                "(their near-duplicate group joined another; listed in --report)"
            )
        lines.append(f"  load: datasets.load_dataset({str(report.out)!r})")
        return "\n".join(lines)

    def language_field_summary(self) -> str:
        """One line on the languages --language-field gave: how many, how many records had
        no usable label, and where the detector disagreed (the five most frequent pairs)."""
        top = list(self.language_disagreements.items())[:5]
        shown = ", ".join(f"{k} {v:,}" for k, v in top)
        more = ", ..." if len(self.language_disagreements) > len(top) else ""
        return (
            f"language from the input's label: {self.language_from_field:,} records; "
            f"no usable label (detected instead): {self.language_fallbacks:,}; the detector "
            f"disagreed: {self.language_disagreements_total:,}"
            + (f" ({shown}{more})" if shown else "")
        )

    def card_accounting(self) -> str:
        """The card's "What the build did" section: the accounting, rejects, cleaning."""
        report, total_rejected = self, sum(self.rejected.values())
        rows = [
            ("records read", f"{report.read:,}"),
            ("kept", f"{report.kept:,}"),
            ("exact duplicates dropped", f"{report.exact_duplicates:,}"),
            ("near duplicates dropped", f"{report.near_duplicates:,}"),
            ("rejected", f"{total_rejected:,}"),
        ]
        text = (
            "## What the build did\n\n" + markdown_table(["stage", "records"], rows) + "\n\n"
            f"`read = kept + duplicates + rejected`: {report.read:,} = {report.kept:,} + "
            f"{report.duplicates:,} + {total_rejected:,}."
        )
        if report.files_skipped:
            skipped = ", ".join(f"{k}: {v}" for k, v in sorted(report.files_skipped.items()))
            text += f" Files that are not articles were skipped ({skipped})."
        if report.meta_not_understood:
            fields = ", ".join(
                f"{k}: {v:,} value{'s' if v != 1 else ''}"
                for k, v in report.meta_not_understood.items()
            )
            text += (
                f" Metadata not understood ({fields}) was set to null; those articles were kept."
            )
        text += "\n\n### Rejected, by reason\n\n" + markdown_table(
            ["reason", "records", "meaning"],
            [
                (f"`{r.value}`", f"{report.rejected.get(r.value, 0):,}", REASON_DOCS[r])
                for r in Reason
                if report.rejected.get(r.value)
            ]
            or [("—", "0", "nothing was rejected")],
        )
        pct = 100 * report.chars_removed / report.chars_in if report.chars_in else 0.0
        text += (
            "\n\n### Cleaning\n\n"
            + markdown_table(
                ["step", "articles changed"],
                [(f"`{k}`", f"{v:,}") for k, v in sorted(report.clean_steps.items())]
                or [("—", "0")],
            )
            + f"\n\nCleaning removed {report.chars_removed:,} of {report.chars_in:,} characters "
            f"({pct:.1f} %) from the articles that passed cleaning.\n"
        )
        return text

"""The card's chart: articles per language in each split, as an SVG file in the artifact.

Drawn with ``leather`` (pure Python, no dependencies, ~0.1 s to import against ~1.1 s for
matplotlib's figure module, which every build would pay), whose SVG output is plain text
with no timestamps or random ids, so the same counts always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import leather

#: Languages shown by name; the rest are summed into one "other" bar.
TOP_LANGUAGES = 15
#: The chart's size in pixels (leather's units): one chart per split, side by side.
WIDTH_PER_SPLIT = 420
HEIGHT_BASE = 90
HEIGHT_PER_BAR = 22


def bars(counts: Mapping[str, int], shown: list[str]) -> list[tuple[int, str]]:
    """(articles, language) for each of ``shown``, then "other" for the rest (if any)."""
    rows = [(counts.get(lang, 0), lang) for lang in shown]
    rest = sum(n for lang, n in counts.items() if lang not in shown)
    if rest or len(counts) > len(shown):
        rows.append((rest, "other"))
    return rows


def languages_chart(by_split: Mapping[str, Mapping[str, int]], path: Path) -> None:
    """Write ``path`` (SVG): for each split (in ``by_split``'s order) a horizontal bar per
    language, the languages with the most articles overall first (ties by code).

    ``by_split`` maps split name → language → kept articles.
    """
    total: dict[str, int] = {}
    for counts in by_split.values():
        for lang, n in counts.items():
            total[lang] = total.get(lang, 0) + n
    ordered = sorted(total, key=lambda lang: (-total[lang], lang))
    shown = ordered[:TOP_LANGUAGES] if len(ordered) > TOP_LANGUAGES + 1 else ordered
    grid = leather.Grid()
    for split, counts in by_split.items():
        chart = leather.Chart(f"{split}: articles per language")
        rows = bars(counts, shown)
        chart.add_bars(rows, fill_color="#377eb8")  # first row on top, as in the card's table
        grid.add_one(chart)
    n_bars = len(shown) + (1 if len(shown) < len(ordered) else 0)
    grid.to_svg(
        str(path),
        width=WIDTH_PER_SPLIT * max(1, len(by_split)),
        height=HEIGHT_BASE + HEIGHT_PER_BAR * max(1, n_bars),
    )

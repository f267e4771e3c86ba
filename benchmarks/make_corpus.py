"""Deterministic generator of a multilingual news benchmark corpus (JSONL).

    python benchmarks/make_corpus.py --n 20000 --out /tmp/bench/corpus.jsonl

Each line is ``{"text", "title", "url", "source"}``. Articles are 1-4 KB of prose in one
language, paragraphs separated by a blank line, built from the Leipzig sentences in
``../shared/data/langid/leipzig-sentences-23langs.jsonl`` (23 languages) when that file is
present, else from synthetic English drawn from a built-in word list (a user's clone has no
``../shared``). The language mix is weighted like a multilingual news crawl: English is the
largest single language (~30 %), most articles are not English.

Shapes a real crawl has, injected at known rates (``SHAPES``) so a build's counts can be
checked against what was injected:

- ``exact_dup``  the text of an earlier article, verbatim, under another source and url
- ``near_dup``   a syndicated copy: a few words edited, last sentence dropped, a
                 "Read more »" line added, under another source
- ``furniture``  "Also read | …" lines, "Share this story", a trailing "Recent Posts"
                 block of headlines with "N hours ago" stamps
- ``too_short``  under 200 characters
- ``empty``      empty or whitespace-only text
- ``original``   everything else

The output depends only on ``(n, seed, sentence file)``, and the first ``k`` articles of a
corpus of ``n`` are the corpus of ``k`` (nothing depends on ``n``). Writing streams: memory
holds the sentence pool and a bounded reservoir of recent articles to copy from.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SENTENCES = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "langid"
    / "leipzig-sentences-23langs.jsonl"
)

# Share of articles per language, roughly like a multilingual news crawl.
LANGUAGE_WEIGHTS: dict[str, float] = {
    "en": 0.30,
    "de": 0.08,
    "ru": 0.08,
    "fr": 0.07,
    "es": 0.07,
    "it": 0.05,
    "pt": 0.05,
    "nl": 0.04,
    "sv": 0.03,
    "uk": 0.03,
    "id": 0.03,
    "da": 0.02,
    "ca": 0.02,
    "bg": 0.02,
    "hr": 0.02,
    "nb": 0.02,
    "sl": 0.01,
    "mk": 0.01,
    "sr": 0.01,
    "bs": 0.01,
    "be": 0.01,
    "ms": 0.01,
    "nn": 0.01,
}

# Injected shapes and their rates; the rest are plain originals.
SHAPES: dict[str, float] = {
    "exact_dup": 0.05,
    "near_dup": 0.05,
    "furniture": 0.10,
    "too_short": 0.01,
    "empty": 0.005,
}

MIN_BYTES = 1024
MAX_BYTES = 4096
POOL_NGRAM = 6  # sentences sharing a word 6-gram with an earlier one are left out
RESERVOIR = 4096  # recent originals that copies are drawn from (bounds memory)
OUTLETS = ("herald", "times", "post", "courier", "tribune", "gazette", "observer", "daily")
WIRES = ("newswire", "syndicate", "aggregator", "feedhub")

# Synthetic English when the sentence file is absent: common words, Zipf-weighted.
WORDS = (
    "the of and to in a is that for on was with he it as at by said from his be have has are "
    "an they not this which or were but had their been its one after new who we also more "
    "two first year government people than would there other president about into up some "
    "over out only could minister state last time years between city country when while "
    "told week police officials under three since against most ministry during before back "
    "report national public world four talks security president's company per cent market "
    "prices million billion percent economy election party leader court law health school "
    "water energy war peace forces border region capital agreement deal support plan crisis "
    "vote parliament council meeting statement spokesman according official local military "
    "attack killed injured people's families children women workers union strike protest "
    "investigation charges trial judge sentence prison evidence witness research study "
    "scientists data results growth inflation rates bank banks investors shares trade "
    "exports imports tariffs budget tax taxes spending debt reform policy decision announced "
    "expected continue remain increase fell rose reached hit early later despite however "
    "already still again both each every many several such own same another whether because"
).split()


@dataclass
class CorpusStats:
    """What was written: counts per injected shape and per language of originals."""

    n: int = 0
    bytes: int = 0
    shapes: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    sentences: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "bytes": self.bytes,
            "shapes": dict(sorted(self.shapes.items())),
            "languages": dict(self.languages.most_common()),
            "sentences": self.sentences,
        }


@dataclass
class _Article:
    lang: str
    source: str
    title: str
    paragraphs: list[list[str]]  # paragraphs of sentences
    used: set[int]  # indices of the pool sentences it is made of


def load_sentences(path: Path | None) -> dict[str, list[str]] | None:
    """Sentences per language from the Leipzig JSONL, or None when it is not there."""
    if path is None or not path.is_file():
        return None
    pool: dict[str, list[str]] = {}
    seen: dict[str, set[tuple[str, ...]]] = {}
    # Some sentences contain U+0085 / U+0092: split on b"\n" only, never splitlines().
    for line in path.read_bytes().split(b"\n"):
        if not line.strip():
            continue
        row = json.loads(line)
        text = " ".join(str(row["text"]).split())
        if not text:
            continue
        # The file holds a few near-identical sentences (the same boilerplate sentence of
        # one site, twice): two of them in one article would make it look repetitive
        # (a Gopher-style filter rightly rejects it). Keep the first of such a family, and
        # no sentence that repeats itself.
        words = text.lower().split()
        grams = {tuple(words[i : i + POOL_NGRAM]) for i in range(len(words) - POOL_NGRAM + 1)}
        lang_seen = seen.setdefault(str(row["lang"]), set())
        if grams & lang_seen or len(grams) < len(words) - POOL_NGRAM + 1:
            continue  # like an earlier sentence, or repeating itself
        lang_seen |= grams
        pool.setdefault(str(row["lang"]), []).append(text)
    return {lang: pool[lang] for lang in sorted(pool)} or None


class _Synthetic:
    """Seeded English-like sentences from ``WORDS`` (Zipf-weighted)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(WORDS))]

    def sentence(self) -> str:
        drawn = self.rng.choices(WORDS, self.weights, k=self.rng.randint(12, 30))
        words = [w for i, w in enumerate(drawn) if i == 0 or w != drawn[i - 1]]
        if self.rng.random() < 0.4:
            words.insert(self.rng.randint(1, len(words) - 1), f"{self.rng.randint(2, 980)}")
        if self.rng.random() < 0.5:
            words[self.rng.randint(2, len(words) - 2)] += ","
        return " ".join(words).capitalize() + "."


class Generator:
    """Stream of articles; ``next_article()`` returns ``(record, shape, language)``."""

    def __init__(self, seed: int = 0, sentences: dict[str, list[str]] | None = None):
        self.rng = random.Random(seed)
        self.pool = sentences
        self.synthetic = None if sentences else _Synthetic(random.Random(seed + 1))
        if sentences:
            langs = [lang for lang in LANGUAGE_WEIGHTS if lang in sentences]
            langs += [lang for lang in sentences if lang not in LANGUAGE_WEIGHTS]
            self.langs = langs
            self.lang_weights = [LANGUAGE_WEIGHTS.get(lang, 0.01) for lang in langs]
        else:
            self.langs, self.lang_weights = ["en"], [1.0]
        self.recent: deque[_Article] = deque(maxlen=RESERVOIR)
        self.seq = 0
        self.shape_names = list(SHAPES)
        self.shape_cum: list[float] = []
        total = 0.0
        for name in self.shape_names:
            total += SHAPES[name]
            self.shape_cum.append(total)

    # -- building blocks ------------------------------------------------------------------

    def _pick(self, lang: str, used: set[int]) -> str:
        """A sentence of ``lang`` not used yet in this article (a real article does not
        repeat its sentences; repeats would make it look like spam to a repetition filter)."""
        sents = self.pool[lang] if self.pool else []
        for _ in range(64):
            i = self.rng.randrange(len(sents))
            if i not in used:
                used.add(i)
                return sents[i]
        return sents[self.rng.randrange(len(sents))]  # pool exhausted: give up on uniqueness

    def _sentence(self, lang: str, used: set[int]) -> str:
        if self.pool is None:
            assert self.synthetic is not None
            return self.synthetic.sentence()
        first = self._pick(lang, used)
        if self.rng.random() < 0.5:
            return first
        # Splice two sentences of the same language at word boundaries: many more distinct
        # sentences than the pool has, so unrelated articles share few shingles (as in a
        # real crawl) while every sentence stays in its language.
        second = self._pick(lang, used)
        a, b = first.split(), second.split()
        if len(a) < 4 or len(b) < 4:
            return first
        return " ".join(a[: self.rng.randint(2, len(a) - 2)] + b[self.rng.randint(2, len(b) - 2) :])

    def _headline(self, lang: str, used: set[int]) -> str:
        words = self._sentence(lang, used).rstrip(".!?").split()
        return " ".join(words[: self.rng.randint(5, 11)])

    def _source(self, lang: str, wire: bool = False) -> str:
        name = self.rng.choice(WIRES if wire else OUTLETS)
        return f"{name}-{lang}{self.rng.randint(1, 4)}.example"

    def _url(self, source: str) -> str:
        return f"https://www.{source}/news/{self.rng.randint(2019, 2025)}/{self.seq:08d}"

    def _original(self) -> _Article:
        lang = self.rng.choices(self.langs, self.lang_weights)[0]
        target = self.rng.randint(8, 25)
        used: set[int] = set()
        sentences: list[str] = []
        size = 0
        while len(sentences) < target or size < MIN_BYTES:
            s = self._sentence(lang, used)
            if size + len(s.encode()) + 2 > MAX_BYTES and len(sentences) >= 8:
                break
            sentences.append(s)
            size += len(s.encode()) + 2
        paragraphs: list[list[str]] = []
        i = 0
        while i < len(sentences):
            k = self.rng.randint(1, 4)
            paragraphs.append(sentences[i : i + k])
            i += k
        title = self._headline(lang, used)
        return _Article(lang, self._source(lang), title, paragraphs, used)

    @staticmethod
    def _text(paragraphs: list[list[str]]) -> str:
        return "\n\n".join(" ".join(p) for p in paragraphs)

    def _furniture(self, art: _Article) -> str:
        paras = [" ".join(p) for p in art.paragraphs]
        used = set(art.used)
        out: list[str] = []
        also = set(self.rng.sample(range(1, len(paras) + 1), k=min(len(paras), 3)))
        share_at = self.rng.randint(1, len(paras)) if self.rng.random() < 0.6 else -1
        for i, para in enumerate(paras, start=1):
            out.append(para)
            if i in also and i < len(paras) and self.rng.random() < 0.7:
                out.append(f"Also read | {self._headline(art.lang, used)}")
            if i == share_at:
                out.append("Share this story")
        if self.rng.random() < 0.7 or len(out) == len(paras):
            out.append("Recent Posts")
            minutes = self.rng.randint(3, 50)
            for _ in range(self.rng.randint(3, 6)):
                out.append(self._headline(art.lang, used))
                out.append(self._headline(art.lang, used) + "…")
                if minutes < 60:
                    out.append(f"{minutes} minutes ago")
                else:
                    hours = minutes // 60
                    out.append(f"{hours} hour{'s' if hours > 1 else ''} ago")
                minutes += self.rng.randint(10, 90)
        return "\n\n".join(out)

    def _near_copy(self, art: _Article) -> str:
        paragraphs = [list(p) for p in art.paragraphs]
        used = set(art.used)
        # drop the last sentence
        paragraphs[-1].pop()
        if not paragraphs[-1]:
            paragraphs.pop()
        # edit a few words
        flat = [(i, j) for i, p in enumerate(paragraphs) for j in range(len(p))]
        for _ in range(self.rng.randint(2, 4)):
            i, j = self.rng.choice(flat)
            words = paragraphs[i][j].split()
            if len(words) < 3:
                continue
            k = self.rng.randrange(len(words))
            replacement = self._sentence(art.lang, used).split()
            words[k] = self.rng.choice(replacement).strip(".,!?;:")
            paragraphs[i][j] = " ".join(words)
        return self._text(paragraphs) + "\n\nRead more »"

    # -- one article ------------------------------------------------------------------------

    def next_article(self) -> tuple[dict[str, str], str, str]:
        self.seq += 1
        roll = self.rng.random()
        shape = "original"
        for name, cum in zip(self.shape_names, self.shape_cum, strict=True):
            if roll < cum:
                shape = name
                break
        if shape in ("exact_dup", "near_dup") and not self.recent:
            shape = "original"

        if shape in ("exact_dup", "near_dup"):
            src = self.rng.choice(self.recent)
            source = src.source
            while source == src.source:
                source = self._source(src.lang, wire=shape == "near_dup")
            text = self._text(src.paragraphs) if shape == "exact_dup" else self._near_copy(src)
            record = {"text": text, "title": src.title, "url": self._url(source), "source": source}
            return record, shape, src.lang

        art = self._original()
        if shape == "too_short":
            text = self._sentence(art.lang, set())
            if len(text) > 180:
                text = text[: self.rng.randint(40, 180)].rsplit(" ", 1)[0] + "."
            record = {"text": text, "title": art.title, "url": self._url(art.source)}
        elif shape == "empty":
            text = self.rng.choice(["", " ", "\n\n", " \t "])
            record = {"text": text, "title": art.title, "url": self._url(art.source)}
        else:
            text = self._furniture(art) if shape == "furniture" else self._text(art.paragraphs)
            record = {"text": text, "title": art.title, "url": self._url(art.source)}
            if shape == "original":
                # Copies are made of clean originals only: what they copy is then known.
                self.recent.append(art)
        record["source"] = art.source
        return record, shape, art.lang


def iter_articles(
    n: int, seed: int = 0, sentences: Path | None = DEFAULT_SENTENCES
) -> Iterator[tuple[dict[str, str], str, str]]:
    """``(record, shape, language)`` for ``n`` articles."""
    gen = Generator(seed, load_sentences(sentences))
    for _ in range(n):
        yield gen.next_article()


def write_corpus(
    out: Path, n: int, seed: int = 0, sentences: Path | None = DEFAULT_SENTENCES
) -> CorpusStats:
    """Write ``n`` articles to ``out`` (JSONL), streaming; returns what was injected."""
    pool = load_sentences(sentences)
    stats = CorpusStats(sentences=str(sentences) if pool else "synthetic English (word list)")
    gen = Generator(seed, pool)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        for _ in range(n):
            record, shape, lang = gen.next_article()
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            fh.write(line)
            stats.n += 1
            stats.bytes += len(line)
            stats.shapes[shape] += 1
            if shape not in ("exact_dup", "near_dup"):
                stats.languages[lang] += 1
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="articles (default 20,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmark-corpus.jsonl"))
    parser.add_argument(
        "--sentences",
        type=Path,
        default=DEFAULT_SENTENCES,
        help="Leipzig sentences JSONL (default: ../shared/data/langid/...)",
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="use synthetic English even if sentences exist"
    )
    parser.add_argument("--stats", type=Path, help="also write the injected counts as JSON")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("--n must be >= 0")
    stats = write_corpus(args.out, args.n, args.seed, None if args.synthetic else args.sentences)
    summary = json.dumps(stats.to_json(), indent=2)
    if args.stats:
        args.stats.write_text(summary + "\n", encoding="utf-8")
    print(f"wrote {stats.n:,} articles ({stats.bytes / 1e6:.1f} MB) to {args.out}", file=sys.stderr)
    print(summary, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

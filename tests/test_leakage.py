"""Near-duplicates and the split, end to end: no near-copy straddles train and eval, and
growing a corpus never moves a published article (with --previous, never at all)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuskit import BuildConfig, build
from corpuskit.config import NearDupConfig
from corpuskit.dedup import exact_jaccard

from .conftest import english_article, french_article


def syndicate(text: str, seed: int) -> str:
    """A syndicated copy: some words edited, a furniture line added, maybe the last
    paragraph dropped — between 0.6 and 0.95 Jaccard to the original (checked by callers)."""
    rng = random.Random(seed)
    paras = text.split("\n\n")
    if rng.random() < 0.5 and len(paras) > 3:
        paras = paras[:-1]
    words = "\n\n".join(paras).split(" ")
    for _ in range(rng.randint(2, 6)):
        i = rng.randrange(len(words))
        words[i] = rng.choice(["reportedly", "officials", "Thursday", "regional", "quickly"])
    return " ".join(words) + ("\n\nRead more »" if rng.random() < 0.5 else "")


def syndicated_corpus(n_bases: int, seed: int, low: float = 0.6) -> dict[str, str]:
    rng = random.Random(seed)
    files: dict[str, str] = {}
    for b in range(n_bases):
        base = english_article(1000 * seed + b)
        files[f"origin/a{b:03d}.txt"] = base
        for v in range(rng.randint(0, 3)):
            copy = syndicate(base, rng.randrange(10**9))
            if low <= exact_jaccard(base, copy) <= 0.95:
                files[f"site{v}/a{b:03d}.txt"] = copy
    return files


def _rows(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "data").glob("*.parquet")):
        split = path.name.split("-", 1)[0]
        for row in pq.read_table(path, columns=["id", "text", "dup_cluster"]).to_pylist():
            rows.append({**row, "split": split})
    return rows


def test_syndicated_fixtures_are_in_the_near_duplicate_range() -> None:
    files = syndicated_corpus(10, 1)
    copies = [k for k in files if not k.startswith("origin/")]
    assert copies
    for name in copies:
        original = files["origin/" + name.split("/", 1)[1]]
        assert 0.6 <= exact_jaccard(original, files[name]) <= 0.95


def test_drop_policy_keeps_one_article_per_cluster(write_corpus, tmp_path: Path) -> None:
    # Clear near-copies (J >= 0.7): at exactly the threshold, the MinHash estimate decides
    # which copies are dropped; the split protects those anyway (see the next tests).
    files = syndicated_corpus(30, 2, low=0.7)
    copies = sum(1 for k in files if not k.startswith("origin/"))
    report = build([write_corpus(files)], tmp_path / "out", BuildConfig(name="syn", min_chars=50))
    assert report.near_duplicates == copies
    assert report.kept == 30
    assert report.balanced()


def test_keep_policy_puts_whole_clusters_in_one_split(write_corpus, tmp_path: Path) -> None:
    files = syndicated_corpus(40, 3)
    out = tmp_path / "out"
    build(
        [write_corpus(files)],
        out,
        BuildConfig(name="syn", min_chars=50, near_dups="keep", eval_ratio=0.4),
    )
    rows = _rows(out)
    assert len(rows) == len(files)
    split_of_cluster: dict[str, set[str]] = {}
    for r in rows:
        split_of_cluster.setdefault(r["dup_cluster"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of_cluster.values())
    assert any(len([r for r in rows if r["dup_cluster"] == c]) > 1 for c in split_of_cluster)


def test_no_eval_article_has_a_near_copy_in_train(write_corpus, tmp_path: Path) -> None:
    files = syndicated_corpus(40, 4)
    out = tmp_path / "out"
    build(
        [write_corpus(files)],
        out,
        BuildConfig(name="syn", min_chars=50, near_dups="keep", eval_ratio=0.4),
    )
    rows = _rows(out)
    train = [r["text"] for r in rows if r["split"] == "train"]
    evals = [r["text"] for r in rows if r["split"] == "eval"]
    assert evals and train
    worst = max(exact_jaccard(a, b) for a, b in itertools.product(evals, train))
    assert worst < 0.6


def test_card_reports_the_leakage_audit(write_corpus, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(
        [write_corpus(syndicated_corpus(20, 5))],
        out,
        BuildConfig(name="syn", min_chars=50, near_dups="keep", eval_ratio=0.4),
    )
    card = (out / "README.md").read_text()
    assert "## Train/eval leakage" in card
    assert "| eval articles with a near-copy in train | 0 |" in card


def _eval_languages(out: Path) -> dict[str, int]:
    table = pq.read_table(next((out / "data").glob("eval-*.parquet")), columns=["language"])
    counts: dict[str, int] = {}
    for code in table.column("language").to_pylist():
        counts[code] = counts.get(code, 0) + 1
    return counts


def test_stratify_language_gives_a_small_language_its_eval_share(
    write_corpus, tmp_path: Path
) -> None:
    # 30 English and 10 French articles, eval ratio 0.2. The source names were chosen so
    # that the split hash alone puts only 1 French article in eval; --stratify language
    # must bring French up to round(0.2 * 10) = 2 and leave English (7 >= 6) alone.
    files = {f"en{i}.txt": english_article(90_000 + i) for i in range(30)}
    files.update({f"gazette1-{i}.txt": french_article(91_000 + i) for i in range(10)})
    src = write_corpus(files)
    base = dict(name="s", min_chars=50, eval_ratio=0.2)
    build([src], tmp_path / "plain", BuildConfig(**base))
    report = build([src], tmp_path / "strat", BuildConfig(**base, stratify_language=True))
    assert _eval_languages(tmp_path / "plain") == {"en": 7, "fr": 1}
    assert _eval_languages(tmp_path / "strat") == {"en": 7, "fr": 2}
    assert report.split_forced == 1
    assert report.kept == 40


def test_group_by_source_keeps_whole_sources_in_one_split(write_corpus, tmp_path: Path) -> None:
    files = {f"s{i % 6}/a{i}.txt": english_article(i) for i in range(36)}
    out = tmp_path / "out"
    build(
        [write_corpus(files)],
        out,
        BuildConfig(
            name="g", min_chars=50, source_id="parent", group_by="source_id", eval_ratio=0.3
        ),
    )
    splits: dict[str, set[str]] = {}
    for path in (out / "data").glob("*.parquet"):
        for sid in pq.read_table(path, columns=["source_id"])["source_id"].to_pylist():
            splits.setdefault(sid, set()).add(path.name.split("-", 1)[0])
    assert len(splits) == 6
    assert all(len(s) == 1 for s in splits.values())


def _split_by_id(out: Path) -> dict[str, str]:
    return {r["id"]: r["split"] for r in _rows(out)}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10**6), st.integers(5, 30))
def test_growing_the_corpus_never_moves_an_article_without_a_cluster_change(
    write_corpus, tmp_path_factory, seed: int, extra: int
) -> None:
    tmp = tmp_path_factory.mktemp("grow")
    everything = syndicated_corpus(40, seed)
    names = sorted(everything)
    random.Random(seed).shuffle(names)
    first = {k: everything[k] for k in names[: len(names) // 2]}
    grown = {k: everything[k] for k in names[: len(names) // 2 + extra]}
    # split_margin 0 and no containment grouping: split groups are exactly the dup_cluster
    # column, so a cluster join/merge is visible in the artifact.
    cfg = BuildConfig(
        name="g",
        min_chars=50,
        near_dups="keep",
        eval_ratio=0.3,
        near_dup=NearDupConfig(split_margin=0.0, containment=0.0),
    )
    build([write_corpus(first, name=f"a{seed}")], tmp / "v1", cfg)
    build([write_corpus(grown, name=f"b{seed}")], tmp / "v2", cfg)
    after = {r["id"]: r for r in _rows(tmp / "v2")}
    for r in _rows(tmp / "v1"):
        now = after[r["id"]]
        if now["split"] != r["split"]:
            assert now["dup_cluster"] != r["dup_cluster"], "moved without a cluster change"


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10**6))
def test_with_previous_no_published_article_ever_moves(
    write_corpus, tmp_path_factory, seed: int
) -> None:
    tmp = tmp_path_factory.mktemp("prev")
    everything = syndicated_corpus(40, seed)
    names = sorted(everything)
    random.Random(seed).shuffle(names)
    first = {k: everything[k] for k in names[: len(names) // 2]}
    cfg = BuildConfig(name="g", min_chars=50, near_dups="keep", eval_ratio=0.3)
    build([write_corpus(first, name=f"a{seed}")], tmp / "v1", cfg)
    report = build(
        [write_corpus(everything, name=f"b{seed}")],
        tmp / "v2",
        BuildConfig(
            name="g", min_chars=50, near_dups="keep", eval_ratio=0.3, previous=str(tmp / "v1")
        ),
    )
    before, after = _split_by_id(tmp / "v1"), _split_by_id(tmp / "v2")
    assert all(after[i] == s for i, s in before.items())
    assert all(rid in before and before[rid] == pinned for rid, pinned, _ in report.held)


def test_manifest_counts_exact_and_near_copies(write_corpus, tmp_path: Path) -> None:
    import json

    files = syndicated_corpus(20, 6, low=0.7)
    files["dup/exact.txt"] = files["origin/a000.txt"]
    out = tmp_path / "out"
    report = build([write_corpus(files)], out, BuildConfig(name="syn", min_chars=50))
    manifest = json.loads((out / "corpuskit.json").read_text())
    assert manifest["duplicates"]["exact"] == 1
    assert manifest["duplicates"]["near"] == report.near_duplicates > 0
    assert manifest["counts"]["duplicates"] == 1 + report.near_duplicates
    assert manifest["duplicates"]["audit"]["eval_with_train_copy"] == 0


def hugging_copy(text: str, seed: int) -> str:
    """A copy with 9-22 words edited: about 0.5-0.7 Jaccard to the original, the band
    around the 0.6 drop threshold where the MinHash estimate (spread ~0.04) decides."""
    rng = random.Random(seed)
    words = text.split(" ")
    for _ in range(rng.randint(9, 22)):
        i = rng.randrange(len(words))
        words[i] = rng.choice(["reportedly", "officials", "Thursday", "regional", "quickly"])
    return " ".join(words)


def threshold_corpus(n_bases: int, seed: int) -> tuple[dict[str, str], list[float]]:
    """Originals, each with 1-3 copies at 0.5-0.65 exact Jaccard (on both sides of 0.6)."""
    rng = random.Random(seed)
    files: dict[str, str] = {}
    similarities = []
    for b in range(n_bases):
        base = english_article(7000 * seed + b)
        files[f"origin/a{b:03d}.txt"] = base
        for v in range(rng.randint(1, 3)):
            copy = hugging_copy(base, rng.randrange(10**9))
            j = exact_jaccard(base, copy)
            if 0.5 <= j <= 0.65:
                files[f"site{v}/a{b:03d}.txt"] = copy
                similarities.append(j)
    return files, similarities


def test_copies_hugging_the_threshold_never_straddle_the_split(
    write_corpus, tmp_path: Path
) -> None:
    # Copies just below, at and just above the 0.6 threshold, all kept: where the MinHash
    # estimate falls below 0.6 for a pair whose true J is above it, only the looser split
    # join (threshold - split_margin) keeps the two in one split. Without it (issue 15's
    # planted bug, split_margin = 0) this corpus has a train-eval pair at J = 0.61.
    files, similarities = threshold_corpus(60, 6)
    assert min(similarities) < 0.55 and sum(j >= 0.6 for j in similarities) >= 20
    out = tmp_path / "out"
    config = BuildConfig(name="hug", min_chars=50, near_dups="keep", eval_ratio=0.4)
    build([write_corpus(files)], out, config)
    rows = _rows(out)
    train = [r["text"] for r in rows if r["split"] == "train"]
    evals = [r["text"] for r in rows if r["split"] == "eval"]
    assert len(evals) > 20 and len(train) > 20
    leaks = [j for a, b in itertools.product(evals, train) if (j := exact_jaccard(a, b)) >= 0.6]
    assert leaks == []


# --- leakage by containment: a wire story inside a longer version ---------------------------


def wire_and_longer(seed: int) -> tuple[str, str]:
    """A 3-paragraph wire story and a longer version that carries it verbatim, with five
    more paragraphs, two before it and three after."""
    wire = english_article(seed, paragraphs=3)
    extra = english_article(seed + 50_000, paragraphs=5).split("\n\n")
    return wire, "\n\n".join([*extra[:2], wire, *extra[2:]])


def containment_corpus(n: int, seed: int) -> dict[str, str]:
    files: dict[str, str] = {}
    for i in range(n):
        wire, longer = wire_and_longer(seed * 1000 + i)
        files[f"wire/w{i}.txt"] = wire
        files[f"paper/p{i}.txt"] = longer
    for i in range(n):
        files[f"other/o{i}.txt"] = english_article(seed * 1000 + 900 + i)
    return files


def test_a_wire_story_and_its_longer_version_are_not_near_duplicates() -> None:
    # What makes containment its own case: the Jaccard is far below the near-dup bar.
    from corpuskit.dedup import shingle_tokens
    from corpuskit.dedup.containment import estimate_containment

    wire, longer = wire_and_longer(7)
    j = exact_jaccard(wire, longer)
    assert 0.25 < j < 0.45
    shingles = [len(shingle_tokens(t)) - 4 for t in (wire, longer)]
    assert estimate_containment(np.array([j]), np.array([shingles[0]]), np.array([shingles[1]]))[
        0
    ] == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_an_article_contained_in_another_never_straddles_the_split(
    write_corpus, tmp_path: Path, seed: int
) -> None:
    corpus = write_corpus(containment_corpus(15, seed), name=f"c{seed}")
    out = tmp_path / f"out{seed}"
    report = build([corpus], out, BuildConfig(name="c", min_chars=50, eval_ratio=0.3, seed=seed))
    assert report.near_duplicates == 0  # nothing here is a near-duplicate
    split_of = {row["text"]: split for split, rows in _rows_by_split(out).items() for row in rows}
    for i in range(15):
        wire, longer = wire_and_longer(seed * 1000 + i)
        assert split_of[wire] == split_of[longer], i
    assert report.audit["eval_contained_in_train"] == 0
    assert report.audit["max_eval_in_train_containment"] < 0.8
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "eval articles ≥ 0.8 contained in a train article | 0" in card


def test_containment_zero_turns_the_grouping_off_and_the_audit_sees_it(
    write_corpus, tmp_path: Path
) -> None:
    corpus = write_corpus(containment_corpus(15, 1), name="in")
    report = build(
        [corpus],
        tmp_path / "off",
        BuildConfig(
            name="c", min_chars=50, eval_ratio=0.3, seed=1, near_dup=NearDupConfig(containment=0.0)
        ),
    )
    split_of = {
        row["text"]: split
        for split, rows in _rows_by_split(tmp_path / "off").items()
        for row in rows
    }
    pairs = [wire_and_longer(1000 + i) for i in range(15)]
    straddling = sum(split_of[w] != split_of[long] for w, long in pairs)
    wire_in_eval = sum(split_of[w] == "eval" != split_of[long] for w, long in pairs)
    assert straddling > 0  # what the grouping prevents
    assert report.audit["eval_contained_in_train"] == wire_in_eval
    assert report.audit["containment_threshold"] == 0.8


def test_the_audit_reports_an_eval_article_contained_in_a_train_one() -> None:
    from corpuskit.dedup import NearDupIndex, signatures
    from corpuskit.dedup.containment import ContainmentIndex, paragraph_keys
    from corpuskit.tokens import TokenBatch

    wire, longer = wire_and_longer(11)
    stranger = english_article(12)
    texts = [wire, longer, stranger]
    config = NearDupConfig()
    index, contained = NearDupIndex(config), ContainmentIndex()
    for key, (text, sig) in enumerate(zip(texts, signatures(texts, config), strict=True)):
        index.add(key, sig)
        tokens = int(TokenBatch.from_texts([text]).counts[0])
        contained.add(key, paragraph_keys(text), tokens - config.shingle_size + 1)
    checked, worst, leaked = contained.audit(index, {0: "eval", 1: "train", 2: "train"})
    assert (checked, leaked) == (1, 1) and worst >= 0.9
    # The other way round the long article is not contained in the wire story.
    checked, worst, leaked = contained.audit(index, {0: "train", 1: "eval", 2: "eval"})
    assert (checked, leaked) == (1, 0) and worst < 0.5


def test_paragraph_keys_ignore_short_paragraphs_case_and_rewrapping() -> None:
    from corpuskit.dedup.containment import paragraph_keys

    long = english_article(5, paragraphs=1)
    rewrapped = long.replace(" ", "\n", 3).replace(" ", ",  ", 2).upper()
    assert paragraph_keys(long) == paragraph_keys(rewrapped) != b""
    assert paragraph_keys("Short line.\n\nAnother short one.") == b""
    assert len(paragraph_keys(f"{long}\n\n{long}\n\nShort.")) == 8  # distinct keys only
    other = english_article(6, paragraphs=1)
    both = paragraph_keys(f"{long}\n\n{other}")
    assert {both[:8], both[8:]} == {paragraph_keys(long), paragraph_keys(other)}


def test_paragraph_keys_of_a_batch_equal_those_of_each_text() -> None:
    from corpuskit.dedup.containment import PARAGRAPH_MIN_TOKENS, paragraph_keys
    from corpuskit.tokens import TokenBatch

    texts = [english_article(i, paragraphs=i % 4) for i in range(12)] + ["", "Short."]
    batch = TokenBatch.from_texts(texts).paragraph_keys(PARAGRAPH_MIN_TOKENS)
    assert batch == [paragraph_keys(t) for t in texts]
    selected = TokenBatch.from_texts(texts).select([i % 3 == 0 for i in range(len(texts))])
    assert selected.paragraph_keys(PARAGRAPH_MIN_TOKENS) == [
        paragraph_keys(t) for i, t in enumerate(texts) if i % 3 == 0
    ]


def test_a_paragraph_shared_by_many_articles_pairs_none_of_them() -> None:
    from corpuskit.dedup.containment import MAX_POSTING, ContainmentIndex, paragraph_keys

    boilerplate = english_article(99, paragraphs=1)
    index = ContainmentIndex()
    for key in range(MAX_POSTING + 1):
        index.add(key, paragraph_keys(f"{english_article(key)}\n\n{boilerplate}"), 300)
    a, b = index.candidates()
    assert len(a) == len(b) == 0
    index = ContainmentIndex()
    for key in range(3):
        index.add(key, paragraph_keys(f"{english_article(key)}\n\n{boilerplate}"), 300)
    a, b = index.candidates()
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2)]


def _rows_by_split(out: Path) -> dict[str, list[dict]]:
    by: dict[str, list[dict]] = {}
    for path in sorted((out / "data").glob("*.parquet")):
        by.setdefault(path.name.split("-")[0], []).extend(pq.read_table(path).to_pylist())
    return by

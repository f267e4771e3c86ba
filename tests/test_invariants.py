"""Property tests for the artifact as a whole: order independence and accounting."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuskit import BuildConfig, build

from .conftest import FR_PARAS, english_article

SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _records(seeds: list[int]) -> list[dict[str, str]]:
    records = [{"text": english_article(s), "source": f"site{s % 3}"} for s in seeds]
    records.append({"text": "\n\n".join(FR_PARAS), "source": "fr"})
    records.append({"text": english_article(seeds[0]), "source": "copy"})  # exact duplicate
    records.append({"text": "too short", "source": "x"})
    records.append({"text": 42, "source": "x"})  # wrong type
    return records


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _data(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


@SETTINGS
@given(
    st.lists(st.integers(0, 10**6), min_size=2, max_size=12, unique=True),
    st.randoms(use_true_random=False),
)
def test_shuffling_input_rows_changes_nothing_in_the_data(
    tmp_path_factory, seeds: list[int], rnd: random.Random
) -> None:
    tmp = tmp_path_factory.mktemp("order")
    records = _records(seeds)
    shuffled = records[:]
    rnd.shuffle(shuffled)
    cfg = BuildConfig(name="o", min_chars=50)
    build([_write_jsonl(tmp / "a" / "feed.jsonl", records)], tmp / "out-a", cfg)
    build([_write_jsonl(tmp / "b" / "feed.jsonl", shuffled)], tmp / "out-b", cfg)
    assert _data(tmp / "out-a") == _data(tmp / "out-b")
    card_a = (tmp / "out-a" / "README.md").read_text()
    card_b = (tmp / "out-b" / "README.md").read_text()
    # Only the rejects' line numbers (their provenance) may differ between the two.
    strip = [
        ln
        for ln in card_a.splitlines()
        if "num_bytes" not in ln and "download_size" not in ln and "dataset_size" not in ln
    ]
    assert strip == [
        ln
        for ln in card_b.splitlines()
        if "num_bytes" not in ln and "download_size" not in ln and "dataset_size" not in ln
    ]


@SETTINGS
@given(
    st.lists(st.integers(0, 10**6), min_size=2, max_size=12, unique=True), st.permutations(range(4))
)
def test_file_order_and_names_of_folders_do_not_change_the_data(
    tmp_path_factory, seeds: list[int], order: list[int]
) -> None:
    tmp = tmp_path_factory.mktemp("files")
    texts = [english_article(s) for s in seeds]
    chunks = [texts[i::4] for i in range(4)]
    for variant, perm in (("a", range(4)), ("b", order)):
        for slot, i in enumerate(perm):
            for j, text in enumerate(chunks[i]):
                # The same article always has the same source id ("src<i>") and so the same id,
                # but sits in a differently named and ordered file.
                _write_jsonl(
                    tmp / variant / f"{slot}-{j}.jsonl", [{"text": text, "source": f"src{i}"}]
                )
    cfg = BuildConfig(name="o", min_chars=50)
    build([tmp / "a"], tmp / "out-a", cfg)
    build([tmp / "b"], tmp / "out-b", cfg)
    assert _data(tmp / "out-a") == _data(tmp / "out-b")


@SETTINGS
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=12, unique=True))
def test_every_record_is_kept_dropped_or_rejected(tmp_path_factory, seeds: list[int]) -> None:
    tmp = tmp_path_factory.mktemp("acct")
    records = _records(seeds)
    report = build(
        [_write_jsonl(tmp / "in" / "feed.jsonl", records)],
        tmp / "out",
        BuildConfig(name="a", min_chars=50),
    )
    counts = json.loads((tmp / "out" / "corpuskit.json").read_text())["counts"]
    assert counts["read"] == len(records)
    assert counts["read"] == counts["kept"] + counts["duplicates"] + sum(
        counts["rejected"].values()
    )
    assert counts["rejected"] == {"too_short": 1, "wrong_type": 1}
    assert report.exact_duplicates == 1

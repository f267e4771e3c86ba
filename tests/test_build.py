"""End to end: build an artifact, then load it the way users will."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from corpuskit import BuildConfig, build, schema
from corpuskit.errors import OutputError
from corpuskit.layout import WORK_DIR
from corpuskit.output import write
from corpuskit.report import NothingKept

from .conftest import FR_PARAS, english_article, files_of, shared


def _load(path: Path, tmp_path: Path, config: str | None = None) -> datasets.DatasetDict:
    return datasets.load_dataset(
        str(path), config, cache_dir=str(tmp_path / "hf-cache"), verification_mode="all_checks"
    )


@pytest.fixture
def built(small_corpus: Path, tmp_path: Path) -> tuple[Path, object]:
    out = tmp_path / "dist" / "news"
    report = build([small_corpus], out, BuildConfig(name="news", min_chars=50))
    return out, report


def test_artifact_loads_with_all_checks(built: tuple[Path, object], tmp_path: Path) -> None:
    out, report = built
    ds = _load(out, tmp_path)
    assert set(ds) == {"train", "eval"}
    assert ds["train"].num_rows + ds["eval"].num_rows == report.kept  # type: ignore[attr-defined]


def test_loaded_features_are_the_schema(built: tuple[Path, object], tmp_path: Path) -> None:
    out, _ = built
    ds = _load(out, tmp_path)
    assert ds["train"].features == schema.features(schema.RECORD_FIELDS)


def test_card_split_sizes_match_what_datasets_measures(
    built: tuple[Path, object], tmp_path: Path
) -> None:
    out, _ = built
    ds = _load(out, tmp_path)
    info = DatasetCard.load(out / "README.md").data.to_dict()["dataset_info"]
    default = next(c for c in info if c["config_name"] == "default")
    for entry in default["splits"]:
        assert entry["num_examples"] == ds[entry["name"]].num_rows
        assert entry["num_bytes"] == ds[entry["name"]].info.splits[entry["name"]].num_bytes


def test_rejects_and_duplicates_are_their_own_configs(
    built: tuple[Path, object], tmp_path: Path
) -> None:
    out, _ = built
    assert sorted(datasets.get_dataset_config_names(str(out))) == [
        "default",
        "duplicates",
        "rejects",
    ]
    rejects = _load(out, tmp_path, "rejects")["rejects"]
    assert sorted(rejects["reason"]) == ["empty", "too_short"]
    dups = _load(out, tmp_path, "duplicates")["duplicates"]
    assert dups["kind"] == ["exact"]
    assert dups[0]["duplicate_of"] in set(_load(out, tmp_path)["train"]["id"]) | set(
        _load(out, tmp_path)["eval"]["id"]
    )


def test_no_working_file_is_left_in_the_artifact(tmp_path: Path, small_corpus: Path) -> None:
    # With a pool: spill parts and the near-dup signature file live in the work folder.
    out = tmp_path / "news"
    build([small_corpus], out, BuildConfig(name="news", min_chars=50, jobs=2, batch_size=2))
    assert not (out / WORK_DIR).exists()
    assert not any(p.suffix in (".arrow", ".bin") for p in out.rglob("*"))


def test_manifest_counts_add_up(built: tuple[Path, object]) -> None:
    out, _ = built
    counts = json.loads((out / "corpuskit.json").read_text())["counts"]
    assert counts["read"] == counts["kept"] + counts["duplicates"] + sum(
        counts["rejected"].values()
    )
    assert counts == {
        "read": 15,
        "kept": 12,
        "duplicates": 1,
        "rejected": {"empty": 1, "too_short": 1},
    }


def test_manifest_checksums_match_thefiles_of(built: tuple[Path, object]) -> None:
    import hashlib

    out, _ = built
    files = json.loads((out / "corpuskit.json").read_text())["files"]
    assert "README.md" in files and "corpuskit.json" not in files
    for rel, digest in files.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("tally_rows", [1, 3, 1 << 16])
def test_the_report_counts_the_languages_and_sources_of_the_rows_written(
    small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally_rows: int
) -> None:
    # however many rows the write stage holds before it counts them
    monkeypatch.setattr(write, "TALLY_ROWS", tally_rows)
    out = tmp_path / "news"
    report = build([small_corpus], out, BuildConfig(name="news", min_chars=50))

    def ranked(values: list[str]) -> dict[str, int]:
        return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))

    written = {
        split: [
            r
            for f in sorted((out / "data").glob(f"{split}-*"))
            for r in pq.read_table(f).to_pylist()
        ]
        for split in ("train", "eval")
    }
    assert report.languages_by_split == {
        s: ranked([r["language"] for r in written[s]]) for s in written
    }
    everything = written["train"] + written["eval"]
    assert report.languages == ranked([r["language"] for r in everything])
    assert report.sources == ranked([r["source_id"] for r in everything])
    assert len(report.languages) > 1 and len(report.sources) > 1


def test_languages_are_tagged(built: tuple[Path, object], tmp_path: Path) -> None:
    out, _ = built
    ds = _load(out, tmp_path)
    langs = set(ds["train"]["language"]) | set(ds["eval"]["language"])
    assert {"en", "fr", "de"} <= langs


def test_ids_are_unique(built: tuple[Path, object]) -> None:
    out, _ = built
    ids = [i for p in (out / "data").glob("*.parquet") for i in pq.read_table(p)["id"].to_pylist()]
    assert len(ids) == len(set(ids))


def test_rebuild_is_byte_identical(small_corpus: Path, tmp_path: Path) -> None:
    cfg = BuildConfig(name="news", min_chars=50)
    build([small_corpus], tmp_path / "a", cfg)
    build([small_corpus], tmp_path / "b", cfg)
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


def test_jobs_do_not_change_the_artifact(small_corpus: Path, tmp_path: Path) -> None:
    build([small_corpus], tmp_path / "a", BuildConfig(name="news", min_chars=50, jobs=1))
    build(
        [small_corpus], tmp_path / "b", BuildConfig(name="news", min_chars=50, jobs=2, batch_size=3)
    )
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


def test_existing_output_is_refused_without_force(
    built: tuple[Path, object], small_corpus: Path
) -> None:
    out, _ = built
    with pytest.raises(OutputError, match="--force"):
        build([small_corpus], out, BuildConfig(name="news"))


def test_languages_filter_rejects_others_with_reason_language(
    small_corpus: Path, tmp_path: Path
) -> None:
    report = build(
        [small_corpus], tmp_path / "out", BuildConfig(name="news", min_chars=50, languages=("en",))
    )
    assert report.rejected["language"] == 2
    assert report.balanced()


@pytest.mark.parametrize("languages", [(), ("en",)])
def test_keyword_stuffing_is_rejected_as_repetitive(
    write_corpus, tmp_path: Path, languages: tuple[str, ...]
) -> None:
    spam = " ".join(["cheap", "watches"] * 60) + " and more stuff here today."
    files = {f"a{i}.txt": english_article(i) for i in range(6)}
    files["spam.txt"] = spam
    files["fr.txt"] = "\n\n".join(FR_PARAS)
    src = write_corpus(files)
    out = tmp_path / "out"
    report = build([src], out, BuildConfig(name="x", min_chars=50, languages=languages))
    assert report.rejected.get("repetitive") == 1
    assert report.kept == (6 if languages else 7) and report.balanced()
    rejects = pq.read_table(out / "rejects" / "rejects-00000-of-00001.parquet").to_pylist()
    (spam_reject,) = [r for r in rejects if r["reason"] == "repetitive"]
    assert spam_reject["file"].endswith("spam.txt")
    assert spam_reject["detail"].startswith("top 2-gram")
    assert spam_reject["text"] == spam


def test_two_articles_fill_both_splits(write_corpus, tmp_path: Path) -> None:
    src = write_corpus({"a.txt": english_article(1), "b.txt": english_article(2)})
    report = build([src], tmp_path / "out", BuildConfig(name="two", min_chars=50))
    assert report.splits == {"train": 1, "eval": 1}


def test_nothing_kept_is_a_clear_error_and_writes_nothing(write_corpus, tmp_path: Path) -> None:
    src = write_corpus({"a.txt": "", "b.txt": "tiny"})
    out = tmp_path / "out"
    with pytest.raises(NothingKept, match="empty 1, too_short 1"):
        build([src], out, BuildConfig(name="none"))
    assert not out.exists()


def test_single_article_declares_only_the_train_split(write_corpus, tmp_path: Path) -> None:
    src = write_corpus({"a.txt": english_article(1)})
    out = tmp_path / "out"
    build([src], out, BuildConfig(name="one", min_chars=50))
    assert set(_load(out, tmp_path)) == {"train"}
    assert datasets.get_dataset_config_names(str(out)) == ["default"]


def test_seeds_build_into_five_english_articles(tmp_path: Path) -> None:
    out = tmp_path / "peace-talks"
    report = build([shared("seeds")], out, BuildConfig(name="peace-talks"))
    ds = _load(out, tmp_path)
    rows = list(ds["train"]) + list(ds["eval"])
    assert len(rows) == 5
    assert {r["language"] for r in rows} == {"en"}
    assert len({r["source_id"] for r in rows}) == 5
    assert report.balanced()


def test_a_pool_build_with_many_batches_equals_an_inline_build(
    small_corpus: Path, tmp_path: Path
) -> None:
    build([small_corpus], tmp_path / "a", BuildConfig(name="news", min_chars=50, jobs=1))
    build(
        [small_corpus], tmp_path / "b", BuildConfig(name="news", min_chars=50, jobs=2, batch_size=2)
    )
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


# A date each of these frameworks or feeds writes, that names no instant UTC can hold or that
# is not a date at all. Each must cost the field, never the article, and be counted.
UNREADABLE_DATES = [
    "0001-01-01T00:00:00+01:00",  # .NET DateTime.MinValue written with a local offset
    "9999-12-31T23:30:00-05:00",  # the maximum date, west of Greenwich
    "0000-00-00 00:00:00",  # MySQL's zero date
    "99999-01-01",
    "31/12/2024",
    12345,
    True,
    ["2024-01-01"],
    {"$date": "2024-01-01"},
]


def test_unreadable_published_values_become_null_and_are_counted(tmp_path: Path) -> None:
    rows = [
        {"text": english_article(400 + i), "published": value}
        for i, value in enumerate(UNREADABLE_DATES)
    ]
    rows.append({"text": english_article(499), "published": "2024-02-29T23:30:00-01:00"})
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    report = build([tmp_path / "in"], out, BuildConfig(name="d", min_chars=50))
    assert (report.kept, report.rejected) == (len(rows), {})
    assert report.meta_not_understood == {"published": len(UNREADABLE_DATES)}
    manifest = json.loads((out / "corpuskit.json").read_text())
    assert manifest["metadata_not_understood"] == {"published": len(UNREADABLE_DATES)}
    assert f"published: {len(UNREADABLE_DATES)} values" in (out / "README.md").read_text()
    published = [v for split in _load(out, tmp_path).values() for v in split["published"]]
    assert sorted(str(v) for v in published if v is not None) == ["2024-03-01 00:30:00+00:00"]


def test_readable_metadata_leaves_no_not_understood_line(built: tuple[Path, object]) -> None:
    out, report = built
    assert report.meta_not_understood == {}  # type: ignore[attr-defined]
    assert json.loads((out / "corpuskit.json").read_text())["metadata_not_understood"] == {}
    assert "Metadata not understood" not in (out / "README.md").read_text()


def card_code_blocks(out: Path) -> list[str]:
    """Every ```python block of the card."""
    text = (out / "README.md").read_text(encoding="utf-8")
    return [
        block.split("\n", 1)[1]
        for block in text.split("```python")[1:]
        for block in [block.split("```", 1)[0]]
    ]


def run_card_code(out: Path, tmp_path: Path) -> list[str]:
    """Run the card's local loading code as a user would, from the folder that holds the
    artifact; return the configs its load_dataset lines loaded. (The Hub block, shown
    when --repo-id is set, is the same code with the repository id: see test_card.py.)"""
    code = card_code_blocks(out)[0]
    code += "\nprint(sorted(k for k, v in dict(globals()).items() if type(v).__name__ == "
    code += "'DatasetDict'))\n"
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf-cache")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=out.parent,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"')))


def test_every_load_line_of_the_card_runs(built: tuple[Path, object], tmp_path: Path) -> None:
    out, _ = built
    assert run_card_code(out, tmp_path) == ["ds", "dups", "rejects"]


def test_a_card_without_rejects_or_copies_shows_only_lines_that_run(
    write_corpus, tmp_path: Path
) -> None:
    corpus = write_corpus({f"s/a{i}.txt": english_article(700 + i) for i in range(4)})
    out = tmp_path / "clean"
    report = build([corpus], out, BuildConfig(name="clean", min_chars=50))
    assert (report.duplicates, report.rejected) == (0, {})
    assert run_card_code(out, tmp_path) == ["ds"]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "The `rejects` config is absent: no record was rejected." in card
    assert "config_name: rejects" not in card and "config_name: duplicates" not in card


def test_a_chinese_article_langdetect_calls_korean_is_tagged_by_its_script(
    write_corpus, tmp_path: Path
) -> None:
    from .test_language import ZH_HANT

    library = "圖書館舉辦兒童閱讀週，吸引數百名家長與孩子參加。館長說，閱讀習慣應從小養成。"
    bus = ZH_HANT.replace("渡輪", "公車").replace("離島", "機場")
    chinese = "\n\n".join([ZH_HANT, bus, library])
    corpus = write_corpus(
        {"tw/a.txt": chinese, "en/b.txt": english_article(3), "en/c.txt": english_article(4)}
    )
    out = tmp_path / "out"
    report = build([corpus], out, BuildConfig(name="zh", min_chars=50))
    assert report.language_corrections == {"ko -> zh-Hant": 1}
    rows = pq.read_table(out / "data").to_pylist()
    (row,) = [r for r in rows if r["num_chars"] < 200]
    assert (row["language"], row["language_score"]) == ("zh-Hant", 1.0)
    assert row["num_words"] == sum(ch.isalpha() for ch in row["text"])
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "corrected (ko -> zh-Hant: 1)" in card and "## Limitations" in card
    assert "- zh" in card  # the Hub's language list

"""The card for a stranger on the Hub: its settings, its sections, its chart, and
`corpuskit card DIR`, which writes it again without a rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import yaml
from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit.cardconfig import CardConfig
from corpuskit.cli import main
from corpuskit.errors import ConfigError, OutputError
from corpuskit.output.documents import rewrite
from corpuskit.output.verify import verify

from .conftest import english_article, files_of, french_article
from .test_build import card_code_blocks, run_card_code

CARD = CardConfig(
    pretty_name="Harbour News",
    description="Local news from made-up harbour towns.",
    license="other",
    license_name="harbour-news-1.0",
    license_link="https://example.org/license",
    homepage="https://example.org/harbour",
    citation="@misc{harbour, title={Harbour News}, year={2026}}",
    tags=("local-news", "harbour"),
    language_configs=1,
    repo_id="example-org/harbour-news",
)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    for i in range(12):
        (src / "wire").mkdir(parents=True, exist_ok=True)
        (src / "wire" / f"a{i}.txt").write_text(english_article(900 + i))
    (src / "presse").mkdir()
    (src / "presse" / "f.txt").write_text(french_article(5))
    (src / "wire" / "short.txt").write_text("too short")
    return src


def _build(corpus: Path, out: Path, card: CardConfig | None = None) -> Path:
    build([corpus], out, BuildConfig(name=out.name, min_chars=50, card=card or CardConfig()))
    return out


def _front(out: Path) -> dict[str, object]:
    text = (out / "README.md").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text.split("---\n")[1]))


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"license": "CC BY 4.0"}, "is not a license id"),
        ({"license": "mit", "license_name": "x"}, "--license-name is only for --license other"),
        ({"license": "mit", "license_link": "https://x"}, "--license-link is only for"),
        ({"license_name": "My License"}, "must be an id in lower case"),
        ({"tags": ("two words",)}, "a tag is 1 to 64 characters"),
        ({"repo_id": "no-namespace"}, "is not a Hub repository id"),
        ({"description": "  "}, "--description must not be empty"),
    ],
)
def test_bad_card_settings_are_refused_with_the_fix(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CardConfig(**settings)


def test_card_settings_round_trip_through_the_manifest_record() -> None:
    from corpuskit.output.documents import config_of

    record = json.loads(json.dumps(BuildConfig(name="news", card=CARD).to_manifest()))
    assert config_of({"config": record}).card == CARD


def test_card_settings_never_change_a_row(corpus: Path, tmp_path: Path) -> None:
    plain = _build(corpus, tmp_path / "a" / "news")
    described = _build(corpus, tmp_path / "b" / "news", CARD)
    for name, data in files_of(plain).items():
        if name.endswith(".parquet"):
            assert files_of(described)[name] == data


# -- what the card says ---------------------------------------------------------------------


def test_the_yaml_carries_the_license_name_link_and_tags(corpus: Path, tmp_path: Path) -> None:
    front = _front(_build(corpus, tmp_path / "news", CARD))
    assert front["pretty_name"] == "Harbour News"
    assert (front["license"], front["license_name"], front["license_link"]) == (
        "other",
        "harbour-news-1.0",
        "https://example.org/license",
    )
    assert front["tags"] == ["corpuskit", "news", "local-news", "harbour"]


def test_the_card_shows_description_homepage_license_and_citation(
    corpus: Path, tmp_path: Path
) -> None:
    text = (_build(corpus, tmp_path / "news", CARD) / "README.md").read_text()
    assert "# Harbour News\n\nLocal news from made-up harbour towns.\n" in text
    assert "Homepage: [https://example.org/harbour](https://example.org/harbour)" in text
    assert "`harbour-news-1.0`: [https://example.org/license](https://example.org/license)" in text
    assert "```bibtex\n@misc{harbour, title={Harbour News}, year={2026}}\n```" in text


def test_a_card_without_settings_says_what_is_missing(corpus: Path, tmp_path: Path) -> None:
    text = (_build(corpus, tmp_path / "news") / "README.md").read_text()
    assert "*No description was given" in text
    assert "**No license was given**" in text
    assert "No citation was given." in text


def test_the_load_path_cannot_be_taken_for_a_hub_dataset(corpus: Path, tmp_path: Path) -> None:
    local = card_code_blocks(_build(corpus, tmp_path / "news"))[0]
    assert 'ds = load_dataset("./news")' in local


def test_the_hub_block_is_the_local_block_with_the_repository_id(
    corpus: Path, tmp_path: Path
) -> None:
    local, hub = card_code_blocks(_build(corpus, tmp_path / "news", CARD))

    def calls(block: str) -> list[str]:
        return [
            line.split("#")[0].strip() for line in block.splitlines() if "load_dataset(" in line
        ]

    assert [c.replace('"example-org/harbour-news"', '"./news"') for c in calls(hub)] == calls(local)


def test_every_config_the_card_declares_loads_and_its_code_runs(
    corpus: Path, tmp_path: Path
) -> None:
    out = _build(corpus, tmp_path / "news", CARD)
    front = _front(out)
    declared = [c["config_name"] for c in front["configs"]]  # type: ignore[union-attr]
    assert declared == ["default", "en", "fr", "rejects"]
    assert declared == datasets.get_dataset_config_names(str(out))
    infos = {i["config_name"]: i for i in front["dataset_info"]}  # type: ignore[union-attr]
    for name in declared:
        loaded = datasets.load_dataset(
            str(out), name, cache_dir=str(tmp_path / "hf"), verification_mode="all_checks"
        )
        for entry in infos[name]["splits"]:
            split = loaded[entry["name"]]
            assert (split.num_rows, split.info.splits[entry["name"]].num_bytes) == (
                entry["num_examples"],
                entry["num_bytes"],
            )
    assert run_card_code(out, tmp_path) == ["ds", "one_language", "rejects"]


def test_a_language_config_holds_exactly_that_languages_articles(
    corpus: Path, tmp_path: Path
) -> None:
    out = _build(corpus, tmp_path / "news", CARD)
    french = datasets.load_dataset(str(out), "fr", cache_dir=str(tmp_path / "hf"))
    everything = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    expected = {r["id"] for s in everything.values() for r in s if r["language"] == "fr"}
    assert {r["id"] for s in french.values() for r in s} == expected and expected


def test_languages_below_the_threshold_get_no_config(corpus: Path, tmp_path: Path) -> None:
    import dataclasses

    out = _build(corpus, tmp_path / "news", dataclasses.replace(CARD, language_configs=2))
    assert "fr" not in datasets.get_dataset_config_names(str(out))
    out = _build(corpus, tmp_path / "none", dataclasses.replace(CARD, language_configs=0))
    assert datasets.get_dataset_config_names(str(out)) == ["default", "rejects"]


def test_the_example_record_is_the_first_train_row(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news")
    text = (out / "README.md").read_text()
    shown = json.loads(text.split("```json\n", 1)[1].split("\n```", 1)[0])
    first = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["train"][0]
    assert shown["id"] == first["id"]
    assert first["text"].startswith(shown["text"].rstrip("…"))


def test_the_chart_is_in_the_artifact_and_the_card_shows_it(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news")
    svg = (out / "languages.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert ">train: articles per language<" in svg and ">eval: articles per language<" in svg
    assert (
        "![Articles per language in each split](languages.svg)" in (out / "README.md").read_text()
    )
    assert "languages.svg" in json.loads((out / "corpuskit.json").read_text())["files"]


def test_the_chart_and_card_are_byte_identical_between_builds(corpus: Path, tmp_path: Path) -> None:
    a = files_of(_build(corpus, tmp_path / "a" / "news", CARD))
    b = files_of(_build(corpus, tmp_path / "b" / "news", CARD))
    assert a == b


def test_the_chart_groups_languages_beyond_the_top_ones_as_other(tmp_path: Path) -> None:
    from corpuskit.output.chart import TOP_LANGUAGES, languages_chart

    counts = {f"l{i:02d}": 100 - i for i in range(TOP_LANGUAGES + 5)}
    languages_chart({"train": counts, "eval": {"l00": 1}}, tmp_path / "c.svg")
    svg = (tmp_path / "c.svg").read_text()
    assert ">other<" in svg and ">l00<" in svg and f">l{TOP_LANGUAGES + 4:02d}<" not in svg


def test_the_languages_table_counts_each_split(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news")
    manifest = json.loads((out / "corpuskit.json").read_text())
    by_split = manifest["report"]["languages_by_split"]
    total = manifest["report"]["languages"]
    for lang, n in total.items():
        assert by_split["train"].get(lang, 0) + by_split["eval"].get(lang, 0) == n
        row = f"| `{lang}` | {n:,} | {by_split['train'].get(lang, 0):,} |"
        assert row in (out / "README.md").read_text()


# -- corpuskit card DIR ----------------------------------------------------------------------


def test_rewriting_the_card_equals_building_with_those_settings(
    corpus: Path, tmp_path: Path
) -> None:
    first = _build(corpus, tmp_path / "a" / "news")
    changed = rewrite(first, lambda _: CARD)
    assert changed == ["README.md", "croissant.json", "corpuskit.json"]
    assert files_of(first) == files_of(_build(corpus, tmp_path / "b" / "news", CARD))
    assert verify(first).ok


def test_rewriting_with_the_same_settings_changes_nothing(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news", CARD)
    before = files_of(out)
    assert rewrite(out, lambda built: built) == []
    assert files_of(out) == before


def test_the_card_command_keeps_the_settings_it_is_not_given(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news", CARD)
    result = CliRunner().invoke(main, ["card", str(out), "--license", "other", "--tag", "x"])
    assert result.exit_code == 0, result.output
    front = _front(out)
    assert front["pretty_name"] == "Harbour News"
    assert front["license_name"] == "harbour-news-1.0"
    assert front["tags"] == ["corpuskit", "news", "x"]
    assert f"rewrote README.md, croissant.json, corpuskit.json in {out}" in result.output


def test_the_card_command_reads_corpuskit_toml(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _build(corpus, tmp_path / "news")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpuskit.toml").write_text('description = """\nFrom the file."""\n')
    result = CliRunner().invoke(main, ["card", str(out)])
    assert result.exit_code == 0, result.output
    assert "\nFrom the file.\n" in (out / "README.md").read_text()


def test_the_card_command_says_when_nothing_changed(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news", CARD)
    result = CliRunner().invoke(main, ["card", str(out)])
    assert result.exit_code == 0
    assert result.output == f"{out}: the card already says that; nothing changed\n"


def test_a_card_edited_by_hand_is_kept_unless_forced(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news")
    card = out / "README.md"
    card.write_text(card.read_text() + "\nMy notes.\n")
    result = CliRunner().invoke(main, ["card", str(out), "--license", "mit"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {card} was changed since the build: pass --force to replace it anyway (put "
        "lasting text in corpuskit.toml's description instead)\n"
    )
    assert card.read_text().endswith("My notes.\n")
    result = CliRunner().invoke(main, ["card", str(out), "--license", "mit", "--force"])
    assert result.exit_code == 0, result.output
    assert "My notes." not in card.read_text() and verify(out).ok


def test_an_artifact_whose_data_changed_is_refused(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news")
    shard = next((out / "data").glob("train-*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"x")
    before = files_of(out)
    with pytest.raises(OutputError, match="differs from the build's checksum"):
        rewrite(out, lambda _: CARD)
    assert files_of(out) == before


def test_a_folder_that_is_not_an_artifact_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    result = CliRunner().invoke(main, ["card", str(tmp_path / "notes")])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path / 'notes'} is not a corpuskit artifact (no corpuskit.json): build "
        "one with corpuskit build\n"
    )


def test_a_bad_setting_is_a_usage_error(corpus: Path, tmp_path: Path) -> None:
    out = _build(corpus, tmp_path / "news")
    before = files_of(out)
    result = CliRunner().invoke(main, ["card", str(out), "--license", "mit", "--license-name", "x"])
    assert result.exit_code == 2
    assert result.output == (
        "Error: --license-name is only for --license other (the license is 'mit', which the "
        "Hub already names and links)\n"
    )
    assert files_of(out) == before


def test_a_failed_rewrite_leaves_the_artifact_as_it_was(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _build(corpus, tmp_path / "news")
    before = files_of(out)

    def broken(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("corpuskit.output.documents.languages_chart", broken)
    with pytest.raises(OSError):
        rewrite(out, lambda _: CARD)
    assert files_of(out) == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_a_rewrite_waits_for_no_one_while_a_build_holds_the_folder(
    corpus: Path, tmp_path: Path
) -> None:
    from corpuskit.output import lock, staging

    out = _build(corpus, tmp_path / "news")
    with (
        lock.hold(staging.resolve(out).lock_file, str(out), wait=False),
        pytest.raises(OutputError, match="another build"),
    ):
        rewrite(out, lambda _: CARD)


def test_validate_takes_no_card_options() -> None:
    result = CliRunner().invoke(main, ["validate", "--help"])
    assert "--license" not in result.output and "--description" not in result.output


# -- what review found ------------------------------------------------------------------------


def test_force_replaces_a_card_edited_by_hand_even_with_the_same_settings(
    corpus: Path, tmp_path: Path
) -> None:
    out = _build(corpus, tmp_path / "news", CARD)
    built = files_of(out)
    (out / "README.md").write_text("my own card\n")
    assert rewrite(out, lambda same: same, force=True) == ["README.md"]
    assert files_of(out) == built and verify(out).ok


def test_a_rewrite_that_dies_after_its_commit_point_never_leaves_a_file_missing(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    out = _build(corpus, tmp_path / "news")
    real = os.replace
    calls: list[str] = []

    def dies_on_the_second(src: object, dst: object) -> None:
        calls.append(str(dst))
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr("corpuskit.output.staging.os.replace", dies_on_the_second)
    with pytest.raises(OSError):
        rewrite(out, lambda _: CARD)
    assert {"README.md", "corpuskit.json", "croissant.json"} <= {p.name for p in out.iterdir()}
    monkeypatch.undo()
    rewrite(out, lambda _: CARD)  # finishes the committed swap first, then has nothing to do
    assert files_of(out) == files_of(_build(corpus, tmp_path / "b" / "news", CARD))


def test_the_card_command_removes_a_setting_given_empty_and_a_hub_license_drops_the_name(
    corpus: Path, tmp_path: Path
) -> None:
    out = _build(corpus, tmp_path / "news", CARD)
    args = ["card", str(out), "--license", "cc-by-4.0", "--description", "", "--tag", ""]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    front = _front(out)
    assert front["license"] == "cc-by-4.0"
    assert "license_name" not in front and "license_link" not in front
    assert front["tags"] == ["corpuskit", "news"]
    assert "*No description was given" in (out / "README.md").read_text()


def test_settings_this_corpuskit_does_not_know_are_never_dropped(
    corpus: Path, tmp_path: Path
) -> None:
    out = _build(corpus, tmp_path / "news")
    manifest = json.loads((out / "corpuskit.json").read_text())
    manifest["config"]["clean"]["a_future_step"] = True
    (out / "corpuskit.json").write_text(json.dumps(manifest, indent=2) + "\n")
    before = files_of(out)
    with pytest.raises(OutputError, match="holds settings this corpuskit does not know"):
        rewrite(out, lambda _: CARD)
    assert files_of(out) == before


def test_the_example_cuts_every_long_value_not_only_the_text(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    record = {"text": english_article(3), "raw_html": "<p>" + "x" * 5000 + "</p>"}
    (src / "feed.jsonl").write_text(json.dumps(record) + "\n")
    out = _build(src, tmp_path / "news")
    text = (out / "README.md").read_text()
    assert max(len(line) for line in text.splitlines()) < 2_000
    assert "`text`, `metadata` cut at 400 characters" in text


def test_html_from_the_input_is_escaped_in_the_card_tables(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    record = {"text": english_article(4), "source": "a<img src=x onerror=alert(1)>"}
    (src / "feed.jsonl").write_text(json.dumps(record) + "\n")
    text = (_build(src, tmp_path / "news") / "README.md").read_text()
    assert "<img" not in text.split("## Sources", 1)[1].split("##", 1)[0]
    assert "a&lt;img src=x onerror=alert(1)&gt;" in text


def test_a_citation_holding_a_code_fence_cannot_close_it(corpus: Path, tmp_path: Path) -> None:
    import dataclasses

    card = dataclasses.replace(CARD, citation="@misc{x,\n note = {```}\n}")
    text = (_build(corpus, tmp_path / "news", card) / "README.md").read_text()
    assert "````bibtex\n@misc{x,\n note = {```}\n}\n````\n" in text


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"homepage": "example.org"}, "is not a web address"),
        ({"pretty_name": "Two\nlines"}, "--pretty-name must be one line"),
        ({"license_link": "see the file LICENSE"}, "give a URL, or the name of a file"),
        ({"language_configs": -1}, "--language-configs must be 0 (none) or more"),
    ],
)
def test_card_settings_that_would_break_the_card_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CardConfig(**settings)


def test_the_build_command_takes_every_card_option(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "news"
    args = [
        "build", str(corpus), "--out", str(out), "--min-chars", "50", "-q",
        "--pretty-name", "Harbour News", "--description", "Made-up harbour news.",
        "--license", "other", "--license-name", "harbour-1.0",
        "--license-link", "https://example.org/l", "--homepage", "https://example.org",
        "--citation", "@misc{h}", "--tag", "a", "--tags", "b",
        "--repo-id", "me/harbour", "--language-configs", "1",
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    front = _front(out)
    assert (front["pretty_name"], front["license_name"], front["tags"]) == (
        "Harbour News",
        "harbour-1.0",
        ["corpuskit", "news", "a", "b"],
    )
    assert [c["config_name"] for c in front["configs"]] == ["default", "en", "fr", "rejects"]  # type: ignore[index]
    text = (out / "README.md").read_text()
    assert 'load_dataset("me/harbour")' in text and "@misc{h}" in text


def test_a_bad_card_option_stops_the_build_before_it_reads(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "news"
    result = CliRunner().invoke(main, ["build", str(corpus), "--out", str(out), "--homepage", "x"])
    assert result.exit_code == 2
    assert result.output == ("Error: --homepage 'x' is not a web address: give an http(s):// URL\n")
    assert not out.exists()

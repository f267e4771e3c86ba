"""`verify` catches every way an artifact can silently go bad after it was built."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit.cli import main
from corpuskit.errors import CorpuskitError
from corpuskit.output.verify import ArtifactInvalid, Problem, verify

from .conftest import FR_PARAS, english_article


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One artifact with train, eval, rejects and duplicates, built once for the module."""
    src = tmp_path_factory.mktemp("src")
    for i in range(8):
        (src / f"a{i}.txt").write_text(english_article(i), encoding="utf-8")
    (src / "copy.txt").write_text(english_article(0), encoding="utf-8")
    (src / "fr.txt").write_text("\n\n".join(FR_PARAS), encoding="utf-8")
    (src / "empty.txt").write_text("", encoding="utf-8")
    out = tmp_path_factory.mktemp("dist") / "news"
    build([src], out, BuildConfig(name="news", min_chars=50, eval_ratio=0.3))
    return out


@pytest.fixture
def artifact(pristine: Path, tmp_path: Path) -> Path:
    """A private copy each test may damage."""
    out = tmp_path / "news"
    shutil.copytree(pristine, out, symlinks=True)
    return out


def _manifest(path: Path) -> dict:
    return json.loads((path / "corpuskit.json").read_text(encoding="utf-8"))


def _rewrite_manifest(path: Path, edit: Callable[[dict], None]) -> None:
    data = _manifest(path)
    edit(data)
    (path / "corpuskit.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def _relist(path: Path, rel: str) -> None:
    """Record a file's current sha256 in the manifest, as a careless hand-edit would."""
    digest = hashlib.sha256((path / rel).read_bytes()).hexdigest()
    _rewrite_manifest(path, lambda m: m["files"].__setitem__(rel, digest))


def _only(problems: list[Problem], file: str) -> list[str]:
    return [p.message for p in problems if p.file == file]


def _cli(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["verify", str(path)])
    assert "Traceback" not in result.output
    return result.exit_code, result.output.splitlines()


def test_a_fresh_build_verifies(artifact: Path) -> None:
    result = verify(artifact)
    assert result.ok, result.problems
    listed = _manifest(artifact)["files"]
    assert {"README.md", "rejects/rejects-00000-of-00001.parquet"} <= set(listed)
    assert any(f.startswith("duplicates/") for f in listed)
    assert result.files_verified == len(listed)
    result.raise_for_problems()  # no-op when intact
    assert _cli(artifact) == (0, [f"OK: {len(listed)} files verified"])


def test_one_flipped_byte_in_a_shard_is_caught(artifact: Path) -> None:
    shard = sorted((artifact / "data").glob("train-*.parquet"))[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the column chunks: the footer still parses
    shard.write_bytes(bytes(data))
    result = verify(artifact)
    rel = shard.relative_to(artifact).as_posix()
    assert [m for m in _only(result.problems, rel) if "sha256 mismatch" in m]
    code, lines = _cli(artifact)
    assert code == 1
    assert len(lines) == len(result.problems)
    assert any(line.startswith(f"{rel}: sha256 mismatch") for line in lines)


def test_a_deleted_file_is_caught(artifact: Path) -> None:
    victim = next((artifact / "duplicates").glob("*.parquet"))
    victim.unlink()
    result = verify(artifact)
    rel = victim.relative_to(artifact).as_posix()
    assert _only(result.problems, rel) == ["listed in corpuskit.json but missing"]
    # ...and what the missing file breaks is said too: the card and the counts.
    assert any("matches no file" in m for m in _only(result.problems, "README.md"))
    assert any("duplicates" in m for m in _only(result.problems, "corpuskit.json"))
    assert _cli(artifact)[0] == 1


@pytest.mark.parametrize("stray", ["notes.txt", "data/extra.parquet", ".DS_Store", "x/y/z"])
def test_a_stray_file_is_caught(artifact: Path, stray: str) -> None:
    path = artifact / stray
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not part of the build")
    result = verify(artifact)
    assert [p.file for p in result.problems if "stray" in p.message] == [stray]
    assert _cli(artifact)[0] == 1


def test_a_stray_symlink_is_reported_not_followed(artifact: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path, artifact / "elsewhere")  # a link to a folder, never walked into
    result = verify(artifact)
    assert [p.file for p in result.problems] == ["elsewhere"]


def test_an_edited_num_examples_is_caught(artifact: Path) -> None:
    card = artifact / "README.md"
    train = _manifest(artifact)["splits"]["train"]
    text = card.read_text(encoding="utf-8")
    # the first num_examples in the YAML is the default config's train split
    edited = text.replace(f"num_examples: {train}\n", f"num_examples: {train + 1}\n", 1)
    assert edited != text
    card.write_text(edited, encoding="utf-8")
    _relist(artifact, "README.md")  # even with a matching checksum, the card is wrong
    result = verify(artifact)
    assert [str(p) for p in result.problems] == [
        f"README.md: dataset_info default/train: num_examples is {train + 1} but its Parquet "
        f"files hold {train:,} rows (load_dataset would fail with NonMatchingSplitsSizesError)"
    ]


def test_a_language_config_is_checked_against_the_rows_its_filter_keeps(
    artifact: Path,
) -> None:
    from corpuskit.cardconfig import CardConfig
    from corpuskit.output.documents import rewrite

    rewrite(artifact, lambda _: CardConfig(language_configs=1))
    assert verify(artifact).ok  # en and fr configs, each checked against its own rows
    card = artifact / "README.md"
    text = card.read_text(encoding="utf-8")
    fr = text.split("- config_name: fr\n  features:", 1)[1]
    edited = text.replace(fr, fr.replace("num_examples: 1\n", "num_examples: 2\n", 1), 1)
    assert edited != text
    card.write_text(edited, encoding="utf-8")
    _relist(artifact, "README.md")
    problems = [str(p) for p in verify(artifact).problems]
    assert len(problems) == 1
    assert problems[0].startswith("README.md: dataset_info fr/")
    assert ": num_examples is 2 but its Parquet files hold 1 rows" in problems[0]


def test_counts_that_do_not_add_up_are_caught(artifact: Path) -> None:
    _rewrite_manifest(artifact, lambda m: m["counts"].__setitem__("read", m["counts"]["read"] + 1))
    messages = _only(verify(artifact).problems, "corpuskit.json")
    assert len(messages) == 1 and messages[0].startswith("counts do not add up: read")


def test_kept_must_match_the_rows_in_data(artifact: Path) -> None:
    def edit(m: dict) -> None:
        m["counts"]["kept"] += 1
        m["counts"]["read"] += 1  # still adds up, but data/ has fewer rows

    _rewrite_manifest(artifact, edit)
    messages = _only(verify(artifact).problems, "corpuskit.json")
    assert len(messages) == 1 and "counts say kept" in messages[0]


def test_a_folder_without_manifest_is_not_an_artifact(artifact: Path) -> None:
    (artifact / "corpuskit.json").unlink()
    result = verify(artifact)
    assert _only(result.problems, "corpuskit.json") == [
        "missing: not a corpuskit artifact, or the manifest was lost"
    ]
    with pytest.raises(ArtifactInvalid, match="not an intact corpuskit artifact") as info:
        result.raise_for_problems()
    assert isinstance(info.value, CorpuskitError)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"files": 3}'])
def test_a_damaged_manifest_is_a_problem_not_a_crash(artifact: Path, content: str) -> None:
    (artifact / "corpuskit.json").write_text(content, encoding="utf-8")
    result = verify(artifact)
    assert not result.ok
    assert any(p.file == "corpuskit.json" for p in result.problems)
    assert _cli(artifact)[0] == 1


def test_manifest_paths_cannot_escape_the_artifact(artifact: Path) -> None:
    _rewrite_manifest(artifact, lambda m: m["files"].__setitem__("../outside", "0" * 64))
    messages = _only(verify(artifact).problems, "corpuskit.json")
    assert messages == ["lists '../outside', which is not a path inside the artifact"]


def test_a_card_that_is_not_yaml_is_a_problem_not_a_crash(artifact: Path) -> None:
    (artifact / "README.md").write_text("---\nconfigs: [unclosed\n---\n# x\n", encoding="utf-8")
    _relist(artifact, "README.md")
    messages = _only(verify(artifact).problems, "README.md")
    assert len(messages) == 1 and "cannot be parsed" in messages[0]


def test_every_problem_is_one_line_even_for_hostile_names(artifact: Path) -> None:
    (artifact / "two\nlines").write_bytes(b"x")
    fd = os.open(os.fsencode(artifact) + b"/bad-\xff-name", os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(fd)
    code, lines = _cli(artifact)
    assert code == 1
    assert sorted(lines) == [
        "bad-\\xff-name: not listed in corpuskit.json (a stray file)",
        "two\\nlines: not listed in corpuskit.json (a stray file)",
    ]


def test_cli_refuses_a_path_that_is_not_a_folder(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["verify", str(tmp_path / "missing")]).exit_code == 2

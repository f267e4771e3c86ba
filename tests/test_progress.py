"""The build's progress: what the pipeline reports, and the display on a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner

from corpuskit import EXAMPLE_CORPUS, BuildConfig, build
from corpuskit.cli import main
from corpuskit.cli.progress import LiveProgress
from corpuskit.sources import input_bytes
from corpuskit.sources.formats import detect_format


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def stage(self, name: str) -> None:
        self.events.append(("stage", name))

    def mapped(self, records: int, rejected: int, bytes_read: int) -> None:
        self.events.append(("mapped", records, rejected, bytes_read))


def test_a_build_reports_its_stages_and_its_counts_as_it_goes(tmp_path: Path) -> None:
    recorder = Recorder()
    config = BuildConfig(name="example", source_id="parent", batch_size=8)
    report = build([EXAMPLE_CORPUS], tmp_path / "out", config, progress=recorder)
    stages = [e[1] for e in recorder.events if e[0] == "stage"]
    assert stages == ["map", "global", "write"]
    mapped = [e for e in recorder.events if e[0] == "mapped"]
    assert len(mapped) == 6  # 45 records in batches of 8
    records, rejected, bytes_read = mapped[-1][1:]
    assert (records, rejected) == (report.read, sum(report.rejected.values()))
    assert bytes_read == input_bytes([EXAMPLE_CORPUS]) > 0
    assert [e[1] for e in mapped] == sorted(e[1] for e in mapped)  # only grows


def test_input_bytes_counts_the_files_a_build_reads_and_not_for_urls() -> None:
    total = input_bytes([EXAMPLE_CORPUS])
    root = Path(EXAMPLE_CORPUS)
    files = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and detect_format(p.name)
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    assert total == sum(p.stat().st_size for p in files)
    assert input_bytes(["memory://nowhere"]) is None


def test_the_display_draws_counts_and_rates_on_a_terminal() -> None:
    screen = io.StringIO()
    with LiveProgress(screen, total_bytes=1000, force_terminal=True) as shown:
        shown.stage("map")
        shown.mapped(records=10, rejected=2, bytes_read=500)
        shown.progress.refresh()
        shown.stage("global")
        shown.progress.refresh()
    drawn = screen.getvalue()
    assert "reading + map" in drawn and "10 records" in drawn and "rejected 2" in drawn
    assert "global stage" in drawn


def test_a_piped_build_prints_only_the_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", "--example", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and result.stdout.startswith("Built ")

"""Shared fixtures: small corpora written into tmp_path, and offline `datasets`."""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

# Tests never reach a hub: set before `datasets` is imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
# The CLI's default map-stage cache lives in the user cache folder: tests get their own,
# empty at the start of every run (and never fill the user's).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="corpuskit-tests-cache-")

REPO = Path(__file__).resolve().parents[1]


def _find_shared() -> Path | None:
    """Where the project's ``shared`` folder (real seeds and data) is, or None.

    Looked for, in order: ``$CORPUSKIT_SHARED``; ``../shared`` beside this checkout (how CI
    lays it out); ``../shared`` beside the checkout this one was cloned from, when that is a
    local path, so a throw-away ``git clone`` into a temporary folder still finds it.
    """
    candidates = [os.environ.get("CORPUSKIT_SHARED", ""), str(REPO.parent / "shared")]
    try:
        origin = subprocess.run(
            ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        origin = ""
    if origin.startswith("file://"):
        origin = origin[len("file://") :]
    if origin.startswith("/"):
        candidates.append(str(Path(origin).parent / "shared"))
    for candidate in candidates:
        if candidate and Path(candidate, "DESIGN.md").is_file():
            return Path(candidate)
    return None


SHARED = _find_shared()


def shared(rel: str) -> Path:
    """``shared/REL`` (the project's real seeds and data).

    When it cannot be found the test is skipped with the reason, except under ``CI`` (which
    always lays ``../shared`` beside the clone): there it fails, so a lost ``shared`` folder
    can never switch these tests off unseen.
    """
    if SHARED is None or not (SHARED / rel).exists():
        where = f"{SHARED / rel}" if SHARED is not None else f"{REPO.parent / 'shared'}/{rel}"
        message = f"{where} is missing (set CORPUSKIT_SHARED, or lay ../shared beside the clone)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return SHARED / rel


EN_WORDS = (
    "the council harbour minister talks agreement workers union port city river bridge "
    "budget school hospital election mayor police court river festival museum farmers "
    "market weather storm flood train station airport company factory energy prices "
    "residents families children teachers doctors nurses report said announced promised "
    "warned agreed rejected opened closed delayed approved reviewed planned expected "
    "tuesday monday week month year morning evening local national regional new old "
    "small large public private several many few"
).split()

FR_PARAS = [
    "Le conseil municipal a adopté mardi soir le nouveau budget de la ville après un long "
    "débat sur le financement des écoles et des transports publics.",
    "Les habitants du quartier du port se sont rassemblés devant la mairie pour demander "
    "davantage de logements sociaux et une meilleure desserte en autobus.",
    "Selon le maire, les travaux du pont commenceront au printemps et dureront environ "
    "deux ans, ce qui provoquera des perturbations importantes pour les automobilistes.",
]
DE_PARAS = [
    "Der Stadtrat hat am Dienstagabend den neuen Haushalt beschlossen, nachdem lange über "
    "die Finanzierung der Schulen und des öffentlichen Nahverkehrs gestritten worden war.",
    "Die Bewohner des Hafenviertels versammelten sich vor dem Rathaus und forderten mehr "
    "bezahlbare Wohnungen sowie bessere Busverbindungen in die Innenstadt.",
    "Nach Angaben des Bürgermeisters beginnen die Bauarbeiten an der Brücke im Frühjahr "
    "und werden voraussichtlich zwei Jahre dauern.",
]


FR_WORDS = (
    "le conseil municipal a adopté mardi soir nouveau budget de la ville après un long débat "
    "sur financement des écoles et transports publics les habitants du quartier port se sont "
    "rassemblés devant mairie pour demander davantage logements sociaux une meilleure desserte "
    "en autobus selon maire travaux pont commenceront au printemps dureront environ deux ans ce "
    "qui provoquera perturbations importantes pour automobilistes"
).split()


def english_article(seed: int, paragraphs: int = 4, words: Sequence[str] = EN_WORDS) -> str:
    """A deterministic, unique article (~80 words a paragraph) drawn from ``words``
    (English unless told otherwise)."""
    rng = random.Random(seed)
    paras = []
    for _ in range(paragraphs):
        drawn = [rng.choice(words) for _ in range(rng.randint(60, 90))]
        drawn[0] = drawn[0].capitalize()
        paras.append(" ".join(drawn) + ".")
    return "\n\n".join(paras)


def french_article(seed: int) -> str:
    """A deterministic, unique article that langdetect tags ``fr``."""
    return english_article(seed, words=FR_WORDS)


@pytest.fixture
def write_corpus(tmp_path: Path) -> Callable[..., Path]:
    """Write {relative path: text or bytes} under tmp_path/<name> and return the folder."""

    def write(files: dict[str, str | bytes], name: str = "corpus") -> Path:
        root = tmp_path / name
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return write


@pytest.fixture
def small_corpus(write_corpus: Callable[..., Path]) -> Path:
    """Ten English articles, a French and a German one, an exact duplicate, an empty file,
    a too-short file and a non-article file."""
    files: dict[str, str | bytes] = {f"site-a/a{i}.txt": english_article(i) for i in range(6)}
    files.update({f"site-b/b{i}.txt": english_article(100 + i) for i in range(4)})
    files["site-c/fr.txt"] = "\n\n".join(FR_PARAS)
    files["site-c/de.txt"] = "\n\n".join(DE_PARAS)
    files["site-b/copy-of-a0.txt"] = english_article(0)
    files["site-b/empty.txt"] = ""
    files["site-b/short.txt"] = "Breaking news."
    files["site-a/logo.png"] = b"\x89PNG\r\n\x1a\n"
    return write_corpus(files)


def fake_artifact(root: Path, files: dict[str, str]) -> Path:
    """A folder that passes for a corpuskit artifact: ``files`` plus a manifest listing
    them (the fields that make a folder corpuskit's to replace)."""
    import hashlib
    import json

    root.mkdir(parents=True, exist_ok=True)
    listed = {}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        listed[rel] = hashlib.sha256(text.encode()).hexdigest()
    manifest = {"name": root.name, "versions": {"corpuskit": "0"}, "files": listed}
    (root / "corpuskit.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def files_of(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` and its bytes, by POSIX relative path: what "the
    artifact is byte-identical" and "the folder is untouched" compare."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }

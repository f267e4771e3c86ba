"""Fuzzing: generated articles and whole input folders must never break a build.

Invariants, for whatever text and files hypothesis comes up with:

* no crash: the map stage turns every record into exactly one row or one reject and never
  needs its ``internal_error`` safety net; a build either succeeds or stops with the one
  clean error it is allowed to give (``NothingKept``);
* accounting: every record of the input is read, and read = kept + duplicates + rejected;
* determinism: building the same folder twice gives byte-identical artifacts;
* integrity: the artifact passes ``verify`` and loads with ``verification_mode="all_checks"``.

Time is bounded by a hypothesis profile: ``ci`` (the default, ~30 s on 2 cores) or
``long`` (``CORPUSKIT_FUZZ=long``: many more examples, for a nightly run or before a
release). Profiles are applied to these tests only, never loaded globally.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from corpuskit import BuildConfig, build
from corpuskit.config import CleanConfig
from corpuskit.mapstage import MapState, process_batch
from corpuskit.output.verify import verify
from corpuskit.record import Provenance, RawRecord, Reason
from corpuskit.report import NothingKept

from .conftest import DE_PARAS, EN_WORDS, FR_PARAS, files_of

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
settings.register_profile(
    "ci", max_examples=30, deadline=None, suppress_health_check=_SLOW_OK, print_blob=True
)
settings.register_profile(
    "long", max_examples=600, deadline=None, suppress_health_check=_SLOW_OK, print_blob=True
)
PROFILE = settings.get_profile("long" if os.environ.get("CORPUSKIT_FUZZ") == "long" else "ci")
#: The map-stage fuzz costs milliseconds an example, whole builds a few hundred.
MAP_EXAMPLES = PROFILE.max_examples * 8
BUILD_EXAMPLES = PROFILE.max_examples


# -- articles ---------------------------------------------------------------------------

VOCABULARY: dict[str, tuple[str, str]] = {  # words, and how they are joined
    "en": (" ".join(EN_WORDS), " "),
    "ru": (
        "город совет мост школа больница выборы мэр полиция суд река фестиваль музей "
        "рынок погода поезд станция компания завод энергия цены жители семьи дети "
        "учителя врачи сказал объявил обещал утром вечером неделю",
        " ",
    ),
    "uk": (
        "місто рада міст школа лікарня вибори мер поліція суд річка фестиваль музей "
        "ринок погода потяг станція компанія завод енергія ціни мешканці родини діти",
        " ",
    ),
    "ar": (
        "المدينة المجلس الجسر المدرسة المستشفى الانتخابات العمدة الشرطة المحكمة النهر "
        "المهرجان المتحف السوق الطقس القطار المحطة الشركة المصنع الطاقة الأسعار",
        " ",
    ),
    "he": (
        "העיר המועצה הגשר בית ספר בית חולים הבחירות ראש העיר המשטרה בית המשפט הנהר "
        "הפסטיבל המוזיאון השוק מזג האוויר הרכבת התחנה החברה המפעל",
        " ",
    ),
    "zh": (
        "城市 议会 桥梁 学校 医院 选举 市长 警察 法院 河流 节日 博物馆 市场 天气 火车 车站 "
        "公司 工厂 能源 价格 居民 家庭 儿童 教师 医生",
        "",
    ),
    "hi": (
        "शहर परिषद पुल स्कूल अस्पताल चुनाव महापौर पुलिस अदालत नदी उत्सव संग्रहालय बाजार "
        "मौसम रेलगाड़ी स्टेशन कंपनी कारखाना ऊर्जा कीमतें",
        " ",
    ),
}
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧", "🇺🇦", "❤️", "🎉", "🔥", "🙏"]
HTML = [
    "<p>",
    "</p>",
    "<br/>",
    "<script>var x = 1 < 2;</script>",
    "&amp;",
    "&nbsp;",
    "&#8217;",
    '<div class="ad">',
    "</div>",
    "<!-- comment -->",
    "<a href='https://x.test/'>link</a>",
    "<style>p { color: red }</style>",
    "<![CDATA[ x ]]>",
    "<p",
]
FURNITURE = [
    "Read more »",
    "Also read | Council approves the budget",
    "Share this:",
    "Advertisement",
    "Recent Posts",
    "Subscribe to our newsletter",
    "© 2026 Harbor Gazette. All rights reserved.",
    "13 minutes ago",
    "Click here to comment",
    "Follow us on Twitter",
    "Photo: Reuters",
    "By Jane Doe",
    "Читайте также: новости",
    "Lire aussi : le budget",
]
INVISIBLE = ["\u200b", "\u200f", "\u202e", "\u2066", "\ufeff", "\u00ad", "\u2028", "\u0085"]


@st.composite
def prose(draw: st.DrawFn) -> str:
    """A paragraph of words of one language (RTL and CJK included)."""
    lang = draw(st.sampled_from(sorted(VOCABULARY)))
    words, sep = VOCABULARY[lang]
    vocab = words.split()
    n = draw(st.integers(3, 90))
    picked = draw(st.lists(st.sampled_from(vocab), min_size=n, max_size=n))
    return sep.join(picked) + ("。" if lang == "zh" else ".")


def _repeated(unit: str, times: int) -> str:
    return unit * times


#: Any code point but surrogates: controls, format and private-use characters, unassigned.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)

fragments = st.one_of(
    prose(),
    prose(),
    st.sampled_from(FR_PARAS + DE_PARAS),
    any_text,
    st.sampled_from(FURNITURE),
    st.sampled_from(HTML),
    st.lists(st.sampled_from(EMOJI), min_size=1, max_size=30).map("".join),
    st.lists(st.sampled_from(INVISIBLE), min_size=1, max_size=5).map("".join),
    # huge repetition: a line, a word or a character many times over
    st.builds(
        _repeated,
        st.sampled_from(["Breaking news!\n", "spam ", "a", "ха", "\n"]),
        st.integers(2, 20_000),
    ),
    st.builds(_repeated, prose().map(lambda p: p + "\n"), st.integers(2, 40)),
)
separators = st.sampled_from(["\n\n", "\n", "\r\n", "\r\n\r\n", "\r", " ", "\t", ""])


@st.composite
def messy_articles(draw: st.DrawFn) -> str:
    """Anything: prose mixed with noise, furniture, markup, repetition, in any line ending."""
    parts = draw(st.lists(fragments, min_size=1, max_size=8))
    return draw(separators).join(parts)


@st.composite
def plausible_articles(draw: st.DrawFn) -> str:
    """Mostly prose in one language, with the dirt real pages carry sprinkled in."""
    lang = draw(st.sampled_from(sorted(VOCABULARY)))
    words, sep = VOCABULARY[lang]
    vocab = words.split()
    paragraphs = []
    for _ in range(draw(st.integers(2, 6))):
        n = draw(st.integers(20, 90))
        paragraphs.append(sep.join(draw(st.lists(st.sampled_from(vocab), min_size=n, max_size=n))))
    for dirt in draw(
        st.lists(
            st.one_of(*(st.sampled_from(x) for x in (FURNITURE, HTML, EMOJI, INVISIBLE))),
            max_size=4,
        )
    ):
        paragraphs.insert(draw(st.integers(0, len(paragraphs))), dirt)
    return draw(st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\r\n"])).join(paragraphs)


@st.composite
def articles(draw: st.DrawFn) -> str:
    text = draw(st.one_of(plausible_articles(), messy_articles()))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text


# -- the map stage ----------------------------------------------------------------------

_STATES: dict[tuple[bool, int], MapState] = {}


def _state(clean: bool, min_chars: int) -> MapState:
    """MapStates are costly (rules, detector profiles): one per config, reused."""
    key = (clean, min_chars)
    if key not in _STATES:
        config = BuildConfig(name="fuzz", min_chars=min_chars, clean=CleanConfig(enabled=clean))
        _STATES[key] = MapState(config)
    return _STATES[key]


@settings(PROFILE, max_examples=MAP_EXAMPLES)
@given(
    texts=st.lists(articles(), min_size=1, max_size=6),
    clean=st.booleans(),
    min_chars=st.sampled_from([0, 20, 200]),
)
def test_map_stage_turns_every_record_into_one_row_or_one_reject(
    texts: list[str], clean: bool, min_chars: int
) -> None:
    batch = [(i, RawRecord(text, Provenance(f"fuzz/{i}.txt"))) for i, text in enumerate(texts)]
    result = process_batch(_state(clean, min_chars), batch)
    out = sorted(
        [("row", r["_seq"]) for r in result.rows]
        + [("reject", int(r.provenance.file[5:-4])) for r in result.rejects]
    )
    assert sorted(seq for _, seq in out) == list(range(len(texts)))
    event(f"map: {len(result.rows)} of {len(texts)} kept")
    for reason in {str(r.reason) for r in result.rejects}:
        event(f"map: rejected {reason}")
    internal = [r.detail for r in result.rejects if r.reason is Reason.INTERNAL_ERROR]
    assert internal == [], internal  # the safety net caught a crash: a bug
    assert all(isinstance(r.reason, Reason) for r in result.rejects)
    for row in result.rows:
        assert row["text"].strip() and len(row["text"]) >= min_chars
        assert row["num_chars"] == len(row["text"])
        row["text"].encode("utf-8")  # writable as Parquet strings
        if clean:
            assert "\x00" not in row["text"] and "\r" not in row["text"]


# -- whole input folders ----------------------------------------------------------------


@dataclass
class Corpus:
    """Files to write under a folder, and how many records they hold."""

    files: dict[str, bytes] = field(default_factory=dict)
    records: int = 0


SAFE_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_ éж中", min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and not s.startswith(".")
)
BAD_LINES = [
    "{",
    "[1, 2]",
    "42",
    '"just a string"',
    '{"text": 5}',
    '{"text": null}',
    '{"text": ["a", "b"]}',
    '{"body": "no text field"}',
    "not json at all",
    '{"text": "lone \\ud800 surrogate, and more words to be long enough for the minimum."}',
    '{"text": "x", "text": "duplicate keys"}',
]
META = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(st.none(), any_text, st.integers()),
        "url": st.one_of(st.none(), st.just("https://news.test/a?b=1&c=ü")),
        "published": st.one_of(
            st.none(),
            st.sampled_from(
                [
                    "2026-03-04",
                    "2026-03-04T10:00:00Z",
                    "yesterday",
                    "2026-13-45",
                    "9999-12-31T23:59:59+14:00",
                    "0001-01-01T00:00:00+01:00",
                    "9999-12-31T23:30:00-05:00",
                ]
            ),
        ),
        "source": st.one_of(st.none(), st.just(""), SAFE_NAME),
    },
)


@st.composite
def jsonl_lines(draw: st.DrawFn) -> tuple[list[str], int]:
    lines: list[str] = []
    records = 0
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["good", "good", "good", "bad", "blank"]))
        if kind == "blank":
            lines.append(draw(st.sampled_from(["", "   ", "\t", "\r"])))
            continue
        records += 1
        if kind == "bad":
            lines.append(draw(st.sampled_from(BAD_LINES)))
        else:
            obj = {"text": draw(articles()), **draw(META)}
            lines.append(json.dumps(obj, ensure_ascii=draw(st.booleans())))
    return lines, records


ENCODINGS = ["utf-8"] * 6 + ["utf-8-sig", "utf-16", "utf-16-le", "cp1251", "cp1252", "bytes"]


@st.composite
def input_folders(draw: st.DrawFn) -> Corpus:
    """A few .txt files (some in sub-folders, some not UTF-8), JSONL with bad lines, a CSV."""
    corpus = Corpus()
    for i in range(draw(st.integers(1, 5))):
        folder = draw(st.sampled_from(["", "site-a/", "site-b/deep/"]))
        name = f"{folder}{draw(SAFE_NAME)}-{i}.txt"
        text = draw(articles())
        encoding = draw(st.sampled_from(ENCODINGS))
        if encoding == "bytes":  # anything at all under a .txt name: still one record
            corpus.files[name] = draw(st.binary(max_size=3000))
        else:
            corpus.files[name] = text.encode(encoding, errors="replace")
        corpus.records += 1
    if draw(st.booleans()):
        lines, records = draw(jsonl_lines())
        data = "\n".join(lines).encode("utf-8") + draw(st.sampled_from([b"", b"\n"]))
        if draw(st.booleans()):
            corpus.files["feed.jsonl.gz"] = gzip.compress(data, mtime=0)
        else:
            corpus.files["feed.jsonl"] = data
        corpus.records += records
    if draw(st.booleans()):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["text", "title"])
        rows = draw(st.lists(articles(), max_size=4))
        for text in rows:
            # NUL bytes in a CSV make the whole file "binary" (one reject, not one per row):
            # the hostile-input test covers that; here rows are counted one by one.
            writer.writerow([text.replace("\x00", ""), "t"])
        corpus.files["table.csv"] = buffer.getvalue().encode("utf-8")
        corpus.records += len(rows)
    if draw(st.booleans()):
        corpus.files["notes.md"] = b"# not an article: skipped and counted"
    return corpus


def _load_all_checks(path: Path, cache: Path) -> Any:
    import datasets

    return datasets.load_dataset(str(path), cache_dir=str(cache), verification_mode="all_checks")


configs = st.builds(
    lambda min_chars, clean, near, languages: BuildConfig(
        name="fuzz",
        min_chars=min_chars,
        clean=CleanConfig(enabled=clean),
        near_dup=_near(near),
        languages=languages,
    ),
    min_chars=st.sampled_from([0, 50, 200]),
    clean=st.booleans(),
    near=st.booleans(),
    languages=st.sampled_from([(), (), (), ("en",), ("en", "ru", "zh-Hans")]),
)


def _near(enabled: bool) -> Any:
    from dataclasses import replace

    from corpuskit.config import NearDupConfig

    return replace(NearDupConfig(), enabled=enabled)


def _with_tmp(test: Callable[..., None]) -> Callable[..., None]:
    """A fresh folder per example (pytest's tmp_path is one per test, not per example)."""

    def run(*args: Any, **kwargs: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="corpuskit-fuzz-") as tmp:
            test(Path(tmp), *args, **kwargs)

    return run


@settings(PROFILE, max_examples=BUILD_EXAMPLES)
@given(corpus=input_folders(), config=configs)
def test_any_input_folder_builds_a_sound_artifact_or_says_nothing_was_kept(
    corpus: Corpus, config: BuildConfig
) -> None:
    _with_tmp(_check_build)(corpus, config)


def _internal_errors(out: Path) -> list[str]:
    import pyarrow.parquet as pq

    return [
        f"{r['file']}:{r['line']}: {r['detail']}"
        for p in sorted((out / "rejects").glob("*.parquet"))
        for r in pq.read_table(p).to_pylist()
        if r["reason"] == "internal_error"
    ]


def _check_build(tmp: Path, corpus: Corpus, config: BuildConfig) -> None:
    src = tmp / "src"
    src.mkdir()
    for rel, data in corpus.files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    out = tmp / "a"
    try:
        report = build([src], out, config)
    except NothingKept:
        event("build: nothing kept")
        assert not out.exists()
        assert sorted(p.name for p in tmp.iterdir()) == ["src"]  # no temporary folder left
        return
    event(f"build: kept {min(report.kept, 3)}{'+' if report.kept >= 3 else ''}")
    for reason in report.rejected:
        event(f"build: rejected {reason}")
    # internal_error is the safety net for bugs: a generated folder must never need it.
    assert "internal_error" not in report.rejected, _internal_errors(out)
    assert report.read == corpus.records
    assert report.balanced()
    result = verify(out)
    assert result.ok, result.problems

    build([src], tmp / "b", config)
    assert files_of(out) == files_of(tmp / "b")

    ds = _load_all_checks(out, tmp / "hf-cache")
    assert sum(split.num_rows for split in ds.values()) == report.kept

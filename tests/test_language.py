"""Language tagging: langdetect's answers, seeded, from either engine."""

from __future__ import annotations

import json
import pickle

from corpuskit import language

from .conftest import shared

TEXTS = [
    "The minister said the talks would resume next week in the capital.",
    "Le ministre a déclaré que les négociations reprendraient la semaine prochaine.",
    "Der Minister sagte, die Gespräche würden nächste Woche fortgesetzt.",
    "Міністр заявив, що переговори відновляться наступного тижня.",
    "北京是中华人民共和国的首都，也是全国的政治中心。",
    "12345 !!! ---",
    "",
]



def test_both_engines_agree_exactly() -> None:
    fast = language.LangdetectRs(0).detect_batch(TEXTS)
    ref = language.LangdetectReference(0).detect_batch(TEXTS)
    assert fast == ref


def test_detection_is_reproducible_with_a_seed() -> None:
    d = language.make_detector(language.LanguageConfig(seed=0))
    assert d.detect_batch(TEXTS) == d.detect_batch(TEXTS)


def test_text_without_features_is_undetermined_with_score_zero() -> None:
    tags = language.tag(language.LangdetectRs(0).detect_batch(["12345 !!!", ""]), 0.5)
    assert tags == [("und", 0.0), ("und", 0.0)]


def test_chinese_codes_map_to_bcp47_scripts() -> None:
    assert language.tag([("zh-cn", 0.99), ("zh-tw", 0.99)], 0.5) == [
        ("zh-Hans", 0.99),
        ("zh-Hant", 0.99),
    ]


def test_low_probability_is_undetermined_but_keeps_its_score() -> None:
    assert language.tag([("en", 0.4)], 0.5) == [("und", 0.4)]


def test_detector_survives_pickling_for_worker_processes() -> None:
    d = language.LangdetectRs(0)
    assert pickle.loads(pickle.dumps(d)).detect_batch(TEXTS) == d.detect_batch(TEXTS)


def test_engines_agree_on_the_shared_sentences() -> None:
    path = shared("data/langid/leipzig-sentences-23langs.jsonl")
    texts = [json.loads(line)["text"] for line in path.read_bytes().split(b"\n") if line.strip()]
    texts = texts[::10]  # the reference engine is slow; every 10th sentence of each language
    assert language.LangdetectRs(0).detect_batch(texts) == language.LangdetectReference(
        0
    ).detect_batch(texts)

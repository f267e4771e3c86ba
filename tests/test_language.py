"""Language tagging: langdetect's answers, seeded, from either engine."""

from __future__ import annotations

import json
import pickle

import pytest

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


# --- the script settles what langdetect cannot -----------------------------------------------

# Our own Traditional Chinese news paragraph: no Hangul at all, yet langdetect says Korean.
ZH_HANT = (
    "臺北市政府今日宣布，將於明年春季啟用新的渡輪航線，連接舊港區與離島。"
    "當地居民對此表示歡迎，但也擔心票價過高。"
)
ZH_HANS = (
    "台北市政府今日宣布，将于明年春季启用新的渡轮航线，连接旧港区与离岛。当地居民对此表示欢迎。"
)
JA = "市議会は昨夜、市の新しい予算を承認しました。港の住民は、もっと多くのバスを求めています。"
KO = "시의회는 어젯밤 시의 새 예산을 승인했다. 항구 주민들은 더 많은 버스를 요구했다."
ONE_LANGUAGE_SCRIPTS = {
    "el": "Το δημοτικό συμβούλιο ενέκρινε χθες τον νέο προϋπολογισμό της πόλης.",
    "hy": "Քաղաքային խորհուրդը երեկ հաստատեց քաղաքի նոր բյուջեն։",
    "ka": "ქალაქის საბჭომ გუშინ დაამტკიცა ქალაქის ახალი ბიუჯეტი.",
    "he": "מועצת העיר אישרה אתמול בערב את התקציב החדש של העיר.",
    "th": "สภาเมืองอนุมัติงบประมาณใหม่ของเมืองเมื่อคืนนี้",
}


def test_traditional_chinese_that_langdetect_calls_korean_is_zh_hant() -> None:
    ((code, score),) = language.tag(language.LangdetectRs(0).detect_batch([ZH_HANT]), 0.5)
    assert (code, score > 0.99) == ("ko", True)  # langdetect's own answer
    assert language.correct_by_script(code, score, ZH_HANT) == ("zh-Hant", 1.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ZH_HANT, "zh-Hant"),
        (ZH_HANS, "zh-Hans"),
        (JA, "ja"),
        (KO, "ko"),
        *((text, code) for code, text in ONE_LANGUAGE_SCRIPTS.items()),
    ],
)
def test_a_tag_the_script_rules_out_becomes_the_scripts_language(text: str, expected: str) -> None:
    wrong = "ru" if expected != "ru" else "en"
    code, score = language.correct_by_script(wrong, 0.99, text)
    assert (code, score) == (expected, pytest.approx(1.0, abs=0.05))


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("zh-Hans", ZH_HANS),
        ("zh-Hant", ZH_HANT),
        ("ja", JA),
        ("ko", KO),
        *ONE_LANGUAGE_SCRIPTS.items(),
        ("en", "The council met on Tuesday."),
        ("de", "Der Stadtrat tagte am Dienstag über Straßen."),
        ("mk", "Експериментисање у -{Somewhere in Time}- доводи до албума -{Seventh Son}-."),
    ],
)
def test_a_tag_written_in_the_texts_script_stands(code: str, text: str) -> None:
    # The Macedonian sentence quotes English titles: its Cyrillic is a minority, still a tag.
    assert language.correct_by_script(code, 0.9, text) == (code, 0.9)


def test_chinese_with_kana_is_japanese_and_with_hangul_korean() -> None:
    assert language.correct_by_script("zh-Hans", 0.9, JA)[0] == "ja"
    assert language.correct_by_script("zh-Hant", 0.9, KO)[0] == "ko"
    assert language.correct_by_script("ja", 0.9, ZH_HANT)[0] == "zh-Hant"


def test_a_ruled_out_tag_in_a_shared_script_becomes_und() -> None:
    # Cyrillic is written by many languages: the script rules Korean out, settles nothing.
    assert language.correct_by_script(
        "ko", 0.99, "Міністр заявив, що переговори відновляться наступного тижня."
    ) == ("und", 0.0)


def test_und_and_unknown_codes_are_left_alone() -> None:
    assert language.correct_by_script("und", 0.3, ZH_HANT) == ("und", 0.3)
    assert language.correct_by_script("xx", 0.9, ZH_HANT) == ("xx", 0.9)


def test_script_correction_keeps_langdetects_accuracy_on_the_shared_sentences() -> None:
    # Measured: 3,284 of 4,600 right (71.4 %) for langdetect and after the correction.
    path = shared("data/langid/leipzig-sentences-23langs.jsonl")
    rows = [json.loads(line) for line in path.read_bytes().split(b"\n") if line.strip()]
    texts = [r["text"] for r in rows]
    tags = language.tag(language.LangdetectRs(0).detect_batch(texts), 0.5)
    fixed = [language.correct_by_script(c, s, t) for (c, s), t in zip(tags, texts, strict=True)]
    raw = sum(c == r["lang"] for (c, _), r in zip(tags, rows, strict=True))
    corrected = sum(c == r["lang"] for (c, _), r in zip(fixed, rows, strict=True))
    assert corrected >= raw

"""Content hashes and ids: stable, normalised, source-aware."""

import pytest

from corpuskit import ids


def test_content_hash_ignores_case_and_whitespace_layout() -> None:
    assert ids.content_hash("Hello  World\n\nAgain") == ids.content_hash("hello world again")


def test_content_hash_sees_punctuation() -> None:
    assert ids.content_hash("Hello, world") != ids.content_hash("Hello world")


def test_record_id_depends_on_source() -> None:
    h = ids.content_hash("text")
    assert ids.record_id("a", h) != ids.record_id("b", h)


def test_content_hashes_and_ids_are_frozen_values() -> None:
    # Literal values, not the function compared with itself: if one changes, every
    # published artifact's ids change and --previous pins stop matching.
    assert ids.content_hash("Some article.") == "0e4ddbdae0f50b835869ff056998a1b6"
    assert ids.content_hash("some   ARTICLE.") == "0e4ddbdae0f50b835869ff056998a1b6"
    assert (
        ids.content_hash("Straße  ﬁnal\u3000report\n\nZweite Zeile")
        == "84261667933234bc8c7d25f842962b41"
    )
    assert ids.content_hash("Київ — столиця України.") == "e8b7c65dafb5882e8738996ae6d522a5"
    assert ids.record_id("src", "0e4ddbdae0f50b835869ff056998a1b6") == "957d4de1bd2e9b9bb17c"
    assert (
        ids.record_id("harbor-gazette", "e8b7c65dafb5882e8738996ae6d522a5")
        == "50455391b0576a2a18ee"
    )


def test_fingerprint_agrees_with_content_hash_and_word_count() -> None:
    text = "Straße  ﬁnal\u3000report\n\nZweite Zeile"
    assert ids.fingerprint(text) == (ids.content_hash(text), len(text.split()))


def test_lone_surrogates_hash_instead_of_raising() -> None:
    # A file name that is not UTF-8 (read with surrogateescape) or a text with a lone
    # surrogate must still get a stable id, not a UnicodeEncodeError.
    text = "Lone \ud800 surrogate"
    assert ids.content_hash(text) == "a05d67ae23dbefa2e97b5dd5e808c029"
    assert ids.fingerprint(text) == ("a05d67ae23dbefa2e97b5dd5e808c029", 3)
    assert ids.record_id("caf\udce9", "ab") == "51bfe835418505343733"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("The ferry left at noon.", 5),
        ("市议会昨晚批准了该市的新预算。", 14),  # one word per Han character, none for "。"
        ("2024年 港口", 4),  # "2024" and "年" are two words
        ("Ferry 渡轮 service", 4),
        ("สภาเมืองอนุมัติ", 15),  # Thai: one per character, its vowel signs included
        ("。 、 !", 3),  # punctuation alone stays one whitespace word each, as before
    ],
)
def test_num_words_counts_characters_of_scripts_written_without_spaces(
    text: str, words: int
) -> None:
    assert ids.fingerprint(text)[1] == words


@pytest.mark.parametrize(
    "text",
    [
        "The ferry left at noon.",
        "市议会昨晚批准了该市的新预算。",
        "2024年 港口",
        "ｱｲｳ and more",
        "สภาเมืองอนุมัติ",
        "Café “quoted” — naïve",
        "",
    ],
)
def test_num_words_is_the_same_when_the_tokens_say_which_script(text: str) -> None:
    from corpuskit.tokens import TokenBatch

    spaceless = bool(TokenBatch.from_texts([text]).char_token_counts()[0] > 0)
    assert ids.fingerprint(text, spaceless) == ids.fingerprint(text)

"""The clean stage: one behaviour per test, plus properties over arbitrary text."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuskit.clean import Cleaner, CleanResult, Rule, load_rules, markup, whitespace
from corpuskit.clean import unicode as clean_unicode
from corpuskit.config import CLEAN_STEPS, CleanConfig
from corpuskit.errors import ConfigError
from tests.fixtures_clean import (
    FURNITURE_EN,
    FURNITURE_OTHER,
    PROSE,
    PROSE_OTHER,
    RECENT_POSTS_TAIL,
    SIMILAR_NEWS_TAIL,
    SPLIT_WORD,
    TITLE_CAPS,
    TITLE_CASE,
    article,
    interleave,
)

from .conftest import shared


@pytest.fixture(scope="module")
def cleaner() -> Cleaner:
    return Cleaner(CleanConfig())


def paragraphs(result: CleanResult) -> list[str]:
    return result.text.split("\n\n")


# --- furniture ------------------------------------------------------------------------


def test_no_furniture_line_survives(cleaner: Cleaner) -> None:
    text = article(interleave(PROSE, FURNITURE_EN))
    result = cleaner.clean(text)
    for line in FURNITURE_EN:
        assert line not in paragraphs(result)
    assert all(p.startswith(tuple(s[:20] for s in PROSE)) for p in paragraphs(result))
    assert "furniture" in result.flags


def test_furniture_on_single_newline_separated_lines_removed(cleaner: Cleaner) -> None:
    text = article(PROSE[0], FURNITURE_EN[0], PROSE[1], sep="\n")
    assert paragraphs(cleaner.clean(text)) == PROSE[:2]


def test_recent_posts_tail_removed(cleaner: Cleaner) -> None:
    result = cleaner.clean(article(PROSE, RECENT_POSTS_TAIL))
    assert paragraphs(result) == PROSE


def test_similar_news_teaser_block_removed(cleaner: Cleaner) -> None:
    result = cleaner.clean(article(PROSE[:3], SIMILAR_NEWS_TAIL, sep="\n"))
    assert paragraphs(result) == PROSE[:3]


def test_tail_header_followed_by_prose_is_kept(cleaner: Cleaner) -> None:
    text = article(PROSE[:2], "Related stories", PROSE[2:])
    assert paragraphs(cleaner.clean(text)) == [*PROSE[:2], "Related stories", *PROSE[2:]]


def test_tail_header_as_first_paragraph_is_not_cut(cleaner: Cleaner) -> None:
    text = article("Recent Posts", "Short headline one", "Short headline two")
    result = cleaner.clean(text, has_title=True)
    assert paragraphs(result) == ["Recent Posts", "Short headline one", "Short headline two"]


def test_prose_containing_read_more_is_kept(cleaner: Cleaner) -> None:
    prose = [
        "Doctors say children who read more at home do better at school, the study found.",
        "Read more books, the mayor told pupils, and you will understand the world better.",
        "Click here and there on the old map, and you can still trace the original walls.",
    ]
    assert paragraphs(cleaner.clean(article(prose))) == prose


def test_long_paragraph_starting_like_furniture_is_kept(cleaner: Cleaner) -> None:
    long_para = "Advertisement " + " ".join(PROSE)
    assert paragraphs(cleaner.clean(article(PROSE[0], long_para))) == [PROSE[0], long_para]


@pytest.mark.parametrize("lang", sorted(FURNITURE_OTHER))
def test_non_english_furniture_removed(cleaner: Cleaner, lang: str) -> None:
    prose = PROSE_OTHER[lang]
    text = article(prose, FURNITURE_OTHER[lang], prose + " 2")
    assert paragraphs(cleaner.clean(text)) == [prose, prose + " 2"]


def test_user_rule_file_extends_rules(tmp_path: Path) -> None:
    rules = tmp_path / "mysite.toml"
    rules.write_text(
        "[[line]]\npattern = 'brindle gazette app: .{0,80}$'\nnote = 'app promo'\n\n"
        "[[tail]]\npattern = 'from the archive$'\n",
        encoding="utf-8",
    )
    text = article(
        PROSE[:2],
        "Brindle Gazette app: download it today",
        PROSE[2],
        FURNITURE_EN[0],
        "From the archive",
        "Harbour Flooded In 1953",
    )
    default = paragraphs(Cleaner(CleanConfig()).clean(text))
    extended = paragraphs(Cleaner(CleanConfig(boilerplate_rules=(str(rules),))).clean(text))
    assert "Brindle Gazette app: download it today" in default
    assert extended == PROSE[:3]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[[line]\npattern = 'x'\n", "not valid TOML"),
        ("[[line]]\npattern = '(unclosed'\n", "not a valid regular expression"),
        ("[[line]]\npatern = 'x'\n", "unknown key 'patern'"),
        ("[[line]]\nnote = 'no pattern'\n", "key 'pattern' is missing"),
        ("[[line]]\npattern = 'Upper Case'\n", "upper-case letters"),
        ("[[line]]\npattern = 'x'\nmax_chars = 'ten'\n", "key 'max_chars'"),
        ("[[lines]]\npattern = 'x'\n", "unknown top-level key 'lines'"),
        ("line = 'x'\n", "array of tables"),
        ("[[line]]\npattern = '(?i)x'\n", "global inline flag"),
    ],
)
def test_malformed_rule_file_raises_config_error(
    tmp_path: Path, content: str, expected: str
) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Cleaner(CleanConfig(boilerplate_rules=(str(rules),)))
    message = str(info.value)
    assert expected in message
    assert str(rules) in message
    assert "boilerplate.toml for the format" in message


def test_malformed_rule_names_its_line(tmp_path: Path) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text("# a comment\n\n[[line]]\npattern = 'ok'\n\n[[line]]\npattern = '['\n")
    with pytest.raises(ConfigError, match=r"\[\[line\]\] rule #2 \(line 6\)"):
        Cleaner(CleanConfig(boilerplate_rules=(str(rules),)))


def test_missing_rule_file_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        Cleaner(CleanConfig(boilerplate_rules=(str(tmp_path / "nope.toml"),)))


# --- repetition -------------------------------------------------------------------------


def test_doubled_article_kept_once(cleaner: Cleaner) -> None:
    # Seed shape: an intro, four paragraphs, then the same four paragraphs again.
    text = article(PROSE[0], PROSE[1:5], PROSE[1:5], sep="\n")
    result = cleaner.clean(text)
    assert paragraphs(result) == PROSE[:5]
    assert result.repetitive is None
    assert "repetition" in result.flags


def test_article_repeated_with_title_between_copies_kept_once(cleaner: Cleaner) -> None:
    text = article(TITLE_CASE, PROSE, TITLE_CASE, PROSE)
    result = cleaner.clean(text)
    assert result.title == TITLE_CASE
    assert paragraphs(result) == PROSE
    assert result.repetitive is None


def test_text_doubled_inside_one_paragraph_kept_once(cleaner: Cleaner) -> None:
    body = " ".join(PROSE[:3])
    result = cleaner.clean(body + " " + body)
    assert result.text == body
    assert result.repetitive is None


def test_repeated_short_lines_are_kept(cleaner: Cleaner) -> None:
    code = [
        "$ make build",
        "updating to branch default",
        "$ make test",
        "updating to branch default",
    ]
    text = article(PROSE[0], code, PROSE[1])
    assert paragraphs(cleaner.clean(text)) == [PROSE[0], *code, PROSE[1]]


def test_repetitive_spam_flagged(cleaner: Cleaner) -> None:
    spam = article(["Buy cheap watches online today, best prices guaranteed!"] * 12)
    result = cleaner.clean(spam)
    assert result.repetitive is not None
    assert result.repetitive.startswith("duplicate lines")
    assert "> 0.30" in result.repetitive


def test_keyword_stuffing_flagged(cleaner: Cleaner) -> None:
    words = ["cheap", "watches"] * 40 + ["and", "more", "stuff", "here", "now"] * 4
    result = cleaner.clean(" ".join(words) + ".")
    assert result.repetitive is not None
    assert result.repetitive.startswith("top 2-gram")


def test_normal_prose_not_flagged(cleaner: Cleaner) -> None:
    text = article(TITLE_CASE, PROSE, PROSE_OTHER["fr"], PROSE_OTHER["de"])
    assert cleaner.clean(text).repetitive is None


def test_repetition_thresholds_are_configurable() -> None:
    text = article(PROSE[:4], ["Buy cheap watches online today, best prices guaranteed!"] * 5)
    assert Cleaner(CleanConfig()).clean(text).repetitive == "duplicate lines 0.44 > 0.30"
    lenient = CleanConfig(
        max_duplicate_line_fraction=0.9,
        max_duplicate_char_fraction=0.9,
        max_duplicate_ngram_fraction=0.9,
    )
    assert Cleaner(lenient).clean(text).repetitive is None


# --- paragraphs -------------------------------------------------------------------------


def test_split_word_rejoined(cleaner: Cleaner) -> None:
    pytest.importorskip("wordfreq")  # "promised" occurs only once: the lexicon decides
    result = cleaner.clean(article(PROSE[0], SPLIT_WORD, PROSE[1]))
    assert paragraphs(result)[1] == (
        "After months of argument, the council finally voted on Tuesday after the mayor "
        "promised that the school roofs would be repaired with money left over from the "
        "project."
    )
    assert "paragraphs" in result.flags


def test_split_word_rejoined_from_article_vocabulary_without_lexicon() -> None:
    cleaner = Cleaner(CleanConfig(lexicon_languages=()))
    text = article(
        "Die Gemeinde plant eine neue Hafenbrü",
        "cke für den Verkehr, sagte die Bürgermeisterin am Dienstag.",
        "Die Hafenbrücke war im Frühjahr gesperrt worden.",
    )
    assert paragraphs(cleaner.clean(text))[0] == (
        "Die Gemeinde plant eine neue Hafenbrücke für den Verkehr, sagte die "
        "Bürgermeisterin am Dienstag."
    )


def test_split_sentence_joined_with_space(cleaner: Cleaner) -> None:
    text = article("The council said the new bridge would be finished", "by next summer.")
    assert cleaner.clean(text, has_title=True).text == (
        "The council said the new bridge would be finished by next summer."
    )


def test_two_words_are_not_glued(cleaner: Cleaner) -> None:
    text = article(
        "The new walkway will run along the outer edge of the bridge and in", "side the arches."
    )
    assert cleaner.clean(text, has_title=True).text.endswith("bridge and in side the arches.")


def test_lower_case_list_items_are_not_joined(cleaner: Cleaner) -> None:
    items = [
        "the council approved the bridge budget for next year",
        "the school roofs will be inspected in March",
        "the market square will be repaved in the autumn",
    ]
    assert paragraphs(cleaner.clean(article(PROSE[0], items), True)) == [PROSE[0], *items]


def test_code_line_is_not_joined_to_following_prose(cleaner: Cleaner) -> None:
    text = article("$ hg clone test-repo dev-repo", "dev-repo is now your local copy.")
    assert paragraphs(cleaner.clean(text, True)) == [
        "$ hg clone test-repo dev-repo",
        "dev-repo is now your local copy.",
    ]


# --- headline ---------------------------------------------------------------------------


@pytest.mark.parametrize("title", [TITLE_CAPS, TITLE_CASE])
def test_title_extracted(cleaner: Cleaner, title: str) -> None:
    result = cleaner.clean(article(title, PROSE))
    assert result.title == title
    assert paragraphs(result) == PROSE
    assert "headline" in result.flags


def test_first_sentence_is_not_a_title(cleaner: Cleaner) -> None:
    result = cleaner.clean(article(PROSE))
    assert result.title is None
    assert paragraphs(result) == PROSE


@pytest.mark.parametrize(
    "first",
    ["Photo: Jane Example/AFP/Getty Images", "Posted by Jane Example on 2019-02-15", "Highlights"],
)
def test_credit_byline_or_label_is_not_a_title(cleaner: Cleaner, first: str) -> None:
    assert cleaner.clean(article(first, PROSE)).title is None


def test_has_title_leaves_first_line_in_text(cleaner: Cleaner) -> None:
    result = cleaner.clean(article(TITLE_CASE, PROSE), has_title=True)
    assert result.title is None
    assert paragraphs(result) == [TITLE_CASE, *PROSE]


def test_single_paragraph_is_never_moved_to_title(cleaner: Cleaner) -> None:
    assert cleaner.clean(TITLE_CASE).text == TITLE_CASE


# --- markup -----------------------------------------------------------------------------


def test_html_with_script_and_style_becomes_clean_paragraphs(cleaner: Cleaner) -> None:
    html = (
        "<!DOCTYPE html><html><head><title>Page</title><style>p { color: red }</style>"
        "<script>var tracking = 1;</script></head><body>\n"
        f"<nav><a href='/'>Home</a></nav>\n<p>{PROSE[0]}</p>\n"
        f"<div><p>{PROSE[1].replace('“', '&ldquo;').replace('”', '&rdquo;')}\n</p>"
        "<script>alert('x')</script><noscript>Enable JavaScript</noscript></div>\n"
        f"<p>{PROSE[2].replace(chr(39), '&#39;')}<br>{PROSE[3]}</p></body></html>"
    )
    result = cleaner.clean(html, has_title=True)
    assert paragraphs(result) == PROSE[:4]
    assert "markup" in result.flags


def test_html_source_newlines_are_layout_not_breaks(cleaner: Cleaner) -> None:
    html = "<p>The council voted on\nTuesday to rebuild the\nbridge.</p><p>Work starts soon.</p>"
    assert paragraphs(cleaner.clean(html, True)) == [
        "The council voted on Tuesday to rebuild the bridge.",
        "Work starts soon.",
    ]


def test_table_cells_stay_in_order(cleaner: Cleaner) -> None:
    html = (
        "<table><tr><td>Bridge</td><td>1911</td></tr><tr><td>Harbour</td><td>1850</td></tr></table>"
    )
    assert paragraphs(cleaner.clean(html, True)) == ["Bridge 1911", "Harbour 1850"]


def test_html_remnants_in_plain_text_removed(cleaner: Cleaner) -> None:
    text = article(f"{PROSE[0]}<br>", f"<b>Tom &amp; Jerry</b> {PROSE[1]}")
    assert paragraphs(cleaner.clean(text)) == [PROSE[0], f"Tom & Jerry {PROSE[1]}"]


def test_prose_quoting_html_keeps_its_literal_tags(cleaner: Cleaner) -> None:
    prose = [
        "Add this line to your test page to load the library:",
        '<script src="vendor/blanket.js"></script>',
        "Then use the <img> element as usual; a < b and b > c still hold.",
    ]
    result = cleaner.clean(article(prose))
    assert paragraphs(result) == prose
    assert "markup" not in result.flags


def test_plain_text_without_markup_passes_markup_step_untouched(cleaner: Cleaner) -> None:
    text = "AT&T and R&D budgets rose; 3 < 4 > 2."
    assert cleaner.clean(text).text == text


# Plain text whose "<" and ">" are comparisons, generics or quotes around words: none of it
# is HTML, though each has a tag name right after a "<" and a ">" further on.
NOT_TAGS = [
    "The loop runs while if (a<b && c>d) holds.",  # the example from the bug report
    "Reading x<a and b>y as one range is a mistake.",
    "In the bracket, 0<p or q>1 reads as two tests.",
    "The filter keeps rows where u<i || j>v after the merge.",
    "He wrote <b = 3> on the board, then erased it.",
    "The <b> element makes text bold, said the trainer.",
    "Gates x<s and t>y were opened in that order.",
]


@pytest.mark.parametrize("sentence", NOT_TAGS)
def test_comparisons_in_plain_text_are_not_markup(cleaner: Cleaner, sentence: str) -> None:
    result = cleaner.clean(sentence)
    assert result.text == sentence
    assert "markup" not in result.flags


@pytest.mark.parametrize("sentence", NOT_TAGS)
def test_comparisons_survive_beside_real_markup(cleaner: Cleaner, sentence: str) -> None:
    # The same sentences inside text that does have markup (an entity, a paired tag).
    text = f"<p>{PROSE[0]} &amp; more.</p>\n\n{sentence}"
    assert paragraphs(cleaner.clean(text)) == [f"{PROSE[0]} & more.", sentence]


@pytest.mark.parametrize(
    ("remnant", "text"),
    [
        ('<a href="https://x.test/a?b=1&amp;c=2" target=_blank>the report</a>', "the report"),
        ("<td width=50% nowrap>Bridge</td>", "Bridge"),
        ("<span class='lede'>Bridge</span>", "Bridge"),
        ("<B>Bridge</B>", "Bridge"),
        ("Bridge<br/>", "Bridge"),
        ("Bridge<wbr>", "Bridge"),
    ],
)
def test_real_tag_syntax_is_still_markup(cleaner: Cleaner, remnant: str, text: str) -> None:
    assert cleaner.clean(f"{PROSE[1]} {remnant} opened.").text == f"{PROSE[1]} {text} opened."


def test_escaped_markup_is_decoded_to_a_fixpoint(cleaner: Cleaner) -> None:
    assert cleaner.clean("Bridge &amp;lt;b&amp;gt;vote&amp;lt;/b&amp;gt; today").text == (
        "Bridge vote today"
    )


# --- unicode and whitespace -------------------------------------------------------------


def test_mojibake_repaired(cleaner: Cleaner) -> None:
    broken = "The mayorâ€™s cafÃ© reopened after the bridge vote."
    assert cleaner.clean(broken).text == "The mayor’s café reopened after the bridge vote."
    assert cleaner.clean(broken).flags == ["unicode"]


def test_clean_text_never_reaches_ftfy(cleaner: Cleaner, monkeypatch: pytest.MonkeyPatch) -> None:
    import ftfy

    def boom(*args: object, **kwargs: object) -> str:
        raise AssertionError("ftfy called on clean text")

    monkeypatch.setattr(ftfy, "fix_text", boom)
    text = article(PROSE, PROSE_OTHER.values(), "Ärger über Straße, naïve café, «citation».")
    assert cleaner.clean(text).text


def test_crlf_and_zero_width_normalised(cleaner: Cleaner) -> None:
    text = "\ufeffThe bri\u200bdge re\u00adopened.  \r\n\r\n\r\nIt was\t\tbusy.\r\n"
    result = cleaner.clean(text, has_title=True)
    assert result.text == "The bridge reopened.\n\nIt was busy."
    assert result.flags == ["unicode", "whitespace"]


def test_control_characters_removed_and_line_breaks_kept(cleaner: Cleaner) -> None:
    text = "First\x00 line\x07.\x0bSecond line.\u2028Third line.\x0cFourth line."
    assert paragraphs(cleaner.clean(text, True)) == [
        "First line.",
        "Second line.",
        "Third line.",
        "Fourth line.",
    ]


def test_c1_controls_repaired_as_cp1252(cleaner: Cleaner) -> None:
    # Latin-1-decoded cp1252 text: U+0092 is an apostrophe, U+0085 an ellipsis.
    assert (
        cleaner.clean("The mayor\x92s bridge\x85 finally.").text == "The mayor’s bridge… finally."
    )


C1_LINES = [
    "Certaines versions du monde sont l\x92expression directe du ressentiment.",
    "Це\x96тест для нашої газети, і він пройшов добре.",
    "He said \x93we will rebuild the bridge\x94 and left\x85",
    "The fare is \x80 5\x81 for adults, \x9cuvre d\x92art included.",
]


@pytest.mark.parametrize("line", C1_LINES)
def test_lone_c1_controls_are_mapped_without_ftfy_as_ftfy_would(
    line: str, cleaner: Cleaner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ftfy

    expected = ftfy.fix_text(line, clean_unicode._ftfy_config(False))
    expected = expected.replace("\x81", "")  # undefined in cp1252: deleted as a control

    def boom(*args: object, **kwargs: object) -> str:
        raise AssertionError("ftfy called for lone C1 controls")

    monkeypatch.setattr(ftfy, "fix_text", boom)
    assert cleaner.clean(line, has_title=True).text == expected


def test_c1_control_beside_utf8_mojibake_goes_to_ftfy(cleaner: Cleaner) -> None:
    text = "The CafÃ© owners\x92 union met.\n\nThe mayor\x92s office agreed."
    assert cleaner.clean(text, has_title=True).text == (
        "The Café owners’ union met.\n\nThe mayor’s office agreed."
    )


def test_nfc_normalisation(cleaner: Cleaner) -> None:
    assert cleaner.clean("Cafe\u0301 prices rose.").text == "Café prices rose."


def test_unicode_spaces_folded(cleaner: Cleaner) -> None:
    text = "Also read |\u00a0Harbour plan\n\nThe bridge\u00a0opened\u2009today ."
    assert cleaner.clean(text).text == "The bridge opened today ."


@pytest.mark.parametrize(
    ("normalize", "expected"), [(False, "“Yes” – it’s done."), (True, '"Yes" - it\'s done.')]
)
def test_quote_normalisation_only_when_configured(normalize: bool, expected: str) -> None:
    cleaner = Cleaner(CleanConfig(normalize_punctuation=normalize))
    assert cleaner.clean("“Yes” – it’s done.").text == expected


def test_output_paragraphs_separated_by_one_blank_line(cleaner: Cleaner) -> None:
    text = "  One para.\n\n\n\n  Two para.  \nThree para.\n \n"
    assert cleaner.clean(text, True).text == "One para.\n\nTwo para.\n\nThree para."


# --- configuration, result, API ---------------------------------------------------------


def test_unknown_step_raises_config_error_listing_valid_steps() -> None:
    with pytest.raises(ConfigError, match=r"unknown clean step.*'typo'.*unicode, markup"):
        CleanConfig(steps=("unicode", "typo"))


def test_steps_are_applied_in_canonical_order() -> None:
    assert CleanConfig(steps=("headline", "unicode")).steps == ("unicode", "headline")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (0.0, "max_duplicate_line_fraction"),
        (2, "max_top_ngram_fraction"),
        (0, "max_article_copies"),
    ],
)
def test_bad_threshold_raises_config_error(value: float, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        CleanConfig(**{field: value})


# A text that makes every step change something.
EVERYTHING = (
    f"{TITLE_CASE}\r\n<p>{PROSE[0]}</p>\u200b\r\n"
    f"{FURNITURE_EN[0]}\n{PROSE[1]}\n{PROSE[1]}\n{SPLIT_WORD[0]}\n{SPLIT_WORD[1]}\n"
    "Work starts\t\tsoon.\n"
    "The mayorâ€™s cafÃ© reopened. Questions to desk@example.com."
)


def test_flags_list_every_step_that_changed_something_in_order(cleaner: Cleaner) -> None:
    assert cleaner.clean(EVERYTHING).flags == list(CLEAN_STEPS)


@pytest.mark.parametrize("step", CLEAN_STEPS)
def test_each_step_can_be_switched_off(step: str) -> None:
    steps = tuple(s for s in CLEAN_STEPS if s != step)
    result = Cleaner(CleanConfig(steps=steps)).clean(EVERYTHING)
    assert step not in result.flags
    evidence = {
        "unicode": "â€™",
        "markup": "<p>",
        "whitespace": "\t\t",
        "furniture": FURNITURE_EN[0],
        "repetition": f"{PROSE[1]}\n\n{PROSE[1]}",
        "paragraphs": SPLIT_WORD[0],
        "headline": TITLE_CASE,
        "pii": "desk@example.com",
    }
    assert evidence[step] in result.text
    assert result.title is None if step == "headline" else result.title == TITLE_CASE


def test_disabled_returns_text_stripped_only() -> None:
    result = Cleaner(CleanConfig(enabled=False)).clean(f"  {EVERYTHING}\n")
    assert result == CleanResult(EVERYTHING, None, [], 3, None)


def test_chars_removed_counts_everything_the_text_lost(cleaner: Cleaner) -> None:
    text = article(TITLE_CASE, PROSE[0], "Advertisement", PROSE[1])
    result = cleaner.clean(text)
    assert result.chars_removed == len(text) - len(result.text)
    assert result.chars_removed == len(TITLE_CASE) + len("Advertisement") + 4


def test_cleaner_is_picklable_and_behaves_the_same(tmp_path: Path) -> None:
    rules = tmp_path / "extra.toml"
    rules.write_text("[[line]]\npattern = 'brindle gazette app$'\n", encoding="utf-8")
    cleaner = Cleaner(CleanConfig(boilerplate_rules=(str(rules),)))
    clone = pickle.loads(pickle.dumps(cleaner))
    text = article(EVERYTHING, "Brindle Gazette app", PROSE[2])
    assert clone.clean(text) == cleaner.clean(text)


def test_clean_batch_matches_clean(cleaner: Cleaner) -> None:
    texts = [EVERYTHING, article(TITLE_CASE, PROSE), ""]
    flags = [False, True, False]
    assert cleaner.clean_batch(texts, flags) == [
        cleaner.clean(t, h) for t, h in zip(texts, flags, strict=True)
    ]


def test_clean_batch_rejects_mismatched_lengths(cleaner: Cleaner) -> None:
    with pytest.raises(ValueError, match="2 texts but 1"):
        cleaner.clean_batch(["a", "b"], [False])


def test_empty_and_blank_text(cleaner: Cleaner) -> None:
    assert cleaner.clean("") == CleanResult("", None, [], 0, None)
    assert cleaner.clean(" \n\u200b\t ").text == ""


# --- real data (../shared: fails in CI when absent, skipped elsewhere) ----------------


def test_readability_pages_keep_nearly_all_prose(cleaner: Cleaner) -> None:
    lines = shared("data/web/readability-pages.jsonl").read_text(encoding="utf-8").split("\n")
    pages = [json.loads(line)["text"] for line in lines if line.strip()]
    # Readability's own test fixtures (lorem ipsum, tiny pages) repeat text on purpose.
    real = [t for t in pages if "lorem ipsum" not in t.lower() and len(t) >= 300]
    assert len(real) > 80
    results = [cleaner.clean(t, has_title=True) for t in real]
    # The one flagged page is a fixture of three near-identical paragraphs.
    flagged = [t for r, t in zip(results, real, strict=True) if r.repetitive]
    assert [t[:14] for t in flagged] == ["Regarding item"]
    removed = sum(r.chars_removed for r in results) / sum(map(len, real))
    assert removed < 0.01
    assert sum(r.chars_removed > 0.05 * len(t) for r, t in zip(results, real, strict=True)) <= 5


def test_seed_articles_lose_their_furniture(cleaner: Cleaner) -> None:
    for path in sorted(shared("seeds").glob("*.txt")):
        result = cleaner.clean(path.read_text(encoding="utf-8"))
        assert result.repetitive is None
        for marker in ("Also read", "Read more", "Recent Posts", "Similar News", "ago\n"):
            assert marker not in result.text, (path.name, marker)
        assert "prom\n" not in result.text


# --- properties -------------------------------------------------------------------------

FRAGMENTS = [
    *PROSE,
    *FURNITURE_EN,
    *RECENT_POSTS_TAIL,
    *SIMILAR_NEWS_TAIL,
    *SPLIT_WORD,
    TITLE_CAPS,
    TITLE_CASE,
    *PROSE_OTHER.values(),
    "<p>", "</p>", "<br>", "<script>x()</script>", "&amp;", "&lt;p&gt;", "&nbsp;",
    "â€™", "Ã©", "\u200b", "\x00", "\r", "\t", "prom", "ised", "in", "side", "-", "»",
    "$ make", "the end of the", "bridge", "Read more", "“quoted”",
]  # fmt: skip
SEPARATORS = ["\n", "\n\n", " ", "\r\n", "", "\n \n", "<br>", "<p>"]

article_like = st.lists(
    st.tuples(st.sampled_from(FRAGMENTS), st.sampled_from(SEPARATORS)), max_size=25
).map(lambda parts: "".join(f + s for f, s in parts))
any_text = st.text(max_size=400)  # every code point but surrogates, controls included
texts = st.one_of(any_text, article_like)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLEANER = Cleaner(CleanConfig())


@PROPERTY
@given(text=texts, has_title=st.booleans())
def test_cleaning_never_raises_and_keeps_the_output_shape(text: str, has_title: bool) -> None:
    result = CLEANER.clean(text, has_title)
    assert result.text == result.text.strip()
    assert "\n\n\n" not in result.text
    assert all(p and p == p.strip() for p in result.text.split("\n\n")) or result.text == ""
    assert "\n" not in result.text.replace("\n\n", "")
    assert result.chars_removed == max(0, len(text) - len(result.text))
    assert result.flags == [s for s in CLEAN_STEPS if s in result.flags]
    if has_title:
        assert result.title is None


@PROPERTY
@given(text=texts, has_title=st.booleans())
def test_cleaning_is_deterministic(text: str, has_title: bool) -> None:
    assert CLEANER.clean(text, has_title) == Cleaner(CleanConfig()).clean(text, has_title)


@PROPERTY
@given(text=texts, has_title=st.booleans())
def test_cleaning_is_idempotent(text: str, has_title: bool) -> None:
    # The second pass gets has_title=True: the first pass already moved any headline out.
    once = CLEANER.clean(text, has_title)
    twice = CLEANER.clean(once.text, has_title=True)
    assert twice.text == once.text
    assert twice.flags == []


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300), steps=st.sets(st.sampled_from(CLEAN_STEPS)))
def test_any_step_subset_never_raises(text: str, steps: set[str]) -> None:
    Cleaner(CleanConfig(steps=tuple(steps))).clean(text)


# --- fast paths agree with the general code they stand in for ---------------------------

# The scans as they were written before they were fused into class-first patterns.
_CONT = clean_unicode._CONT
MOJIBAKE_ALTERNATION = re.compile(
    f"[\x80-\x9f]|[\xc2-\xc5\xcc-\xdb]{_CONT}|[\xe0-\xef](?!\xa0){_CONT}{_CONT}"
    f"|\xf0{_CONT}{_CONT}{_CONT}"
)
ODD_BLANKS = re.compile("[\t\r\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")
SCAN_ALPHABET = (
    "aZé \n\t\r\x00\x08\x0b\x0c\x0e\x1c\x1f\x7f\x80\x85\x92\x9f\xa0\xa9\xbf"
    "\xc1\xc2\xc5\xc6\xcc\xdb\xdc\xe0\xef\xf0\xf1€‚…‘’“”–—™š\u00ad\u180e\u200b\u200c"
    "\u2028\u2060\u2064\ufeff\ufffc\ufffd\u1680\u2009\u3000′″"
)


@settings(max_examples=2000, deadline=None)
@given(text=st.text(alphabet=SCAN_ALPHABET, max_size=8), quotes=st.booleans())
def test_fused_scans_find_exactly_what_the_step_regexes_find(text: str, quotes: bool) -> None:
    mojibake = MOJIBAKE_ALTERNATION.search(text) is not None
    assert (clean_unicode._MOJIBAKE_RE.search(text) is not None) == mojibake
    work = bool(
        clean_unicode._LINEBREAK_RE.search(text)
        or clean_unicode._INVISIBLE_RE.search(text)
        or mojibake
        or (quotes and clean_unicode._PUNCT_RE.search(text))
    )
    fused = clean_unicode._UNICODE_WORK_PUNCT_RE if quotes else clean_unicode._UNICODE_WORK_RE
    assert (fused.search(text) is not None) == work
    assert clean_unicode.is_plain(text, quotes) == (not work and not ODD_BLANKS.search(text))


def _whitespace_line_by_line(text: str) -> str:
    """The whitespace step as first written: every line rebuilt."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = whitespace.HSPACE_RE.sub(" ", text)
    return "\n\n".join(line for line in (raw.strip(" ") for raw in text.split("\n")) if line)


@settings(max_examples=1000, deadline=None)
@given(text=st.text(alphabet="ab \n\t\r\xa0\x0c\u2028\u3000", max_size=20))
def test_whitespace_fast_path_matches_rebuilding_every_line(text: str) -> None:
    expected = _whitespace_line_by_line(text)
    assert whitespace.fold_whitespace(text) == (expected, whitespace.split_paragraphs(expected))
    if not ODD_BLANKS.search(text) and clean_unicode.is_plain(text, False):
        assert whitespace.fold_whitespace(text, blank_free=True) == (
            expected,
            whitespace.split_paragraphs(expected),
        )


REFERENCE_PARTS = [
    "a", "Z", " ", "  ", "\t", "\n", "&", ";", "#", "é", "\u2028", "\x85", "\ufeff", "😀",
    "&amp;", "&lt;", "&AMP;", "&#8217;", "&#151;", "&#x81;", "&#0;", "&#x110000;", "&#xD800;",
    "&#xFDD0;", "&#1;", "&#32;", "&#10;", "&nbsp;", "&copy;", "&copyx;", "&foo;", "&Tab;", "&#;",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.sampled_from(REFERENCE_PARTS), min_size=1, max_size=12))
def test_reference_only_text_decodes_as_the_html_parser_does(parts: list[str]) -> None:
    text = "".join(parts)
    simple = markup._decode_references(text)
    if simple is not None:
        with mock.patch.object(markup, "_decode_references", return_value=None):
            assert simple == markup.html_to_text(text)


def test_entity_only_prose_is_decoded(cleaner: Cleaner) -> None:
    text = "  The mayor&#8217;s plan &#151; AT&T &amp; R&D &copyx; agree.\n\nIt &lt;works&gt;."
    assert cleaner.clean(text).text == ("The mayor’s plan — AT&T & R&D ©x; agree.\n\nIt <works>.")


def test_rule_caps_are_checked_per_matching_rule(tmp_path: Path) -> None:
    # The first rule matches but its cap is too small; the second, later rule decides.
    rules = tmp_path / "caps.toml"
    rules.write_text(
        "[[line]]\npattern = '(promo)\\b.{0,200}$'\nmax_chars = 12\n\n"
        "[[line]]\npattern = 'promo code.{0,60}$'\nmax_chars = 60\n",
        encoding="utf-8",
    )
    cleaner = Cleaner(CleanConfig(boilerplate_rules=(str(rules),)))
    short, medium, long = "Promo today", "Promo code BRINDLE for readers", "Promo " + "x" * 70
    result = cleaner.clean(article(PROSE[0], short, PROSE[1], medium, PROSE[2], long), True)
    assert paragraphs(result) == [PROSE[0], PROSE[1], PROSE[2], long]


@pytest.mark.parametrize(
    ("label", "removed"),
    [
        ("Malaysia Latest News, Malaysia Headlines", True),
        ("Kuala Lumpur Latest News,Kuala Lumpur Headlines", True),
        ("One Two Three Four Latest News, Five Six Seven Eight Headlines", True),
        ("One Two Three Four Five Latest News, Malaysia Headlines", False),
        ("Malaysia Latest News, Malaysia Headlines today", False),
    ],
)
def test_aggregator_section_label(cleaner: Cleaner, label: str, removed: bool) -> None:
    result = paragraphs(cleaner.clean(article(PROSE[0], label, PROSE[1]), True))
    assert (label not in result) == removed


@pytest.mark.parametrize(
    ("first", "is_title"),
    [
        ("Bridge Reopens After 3 Years", True),
        ("2019-02-15 12:30 Bridge", False),
        ("Мост открыт после ремонта 2019", True),
        ("١٢:٣٠ ٢٠١٩-٠٢-١٥ Мост", False),  # Arabic-Indic digits count as digits too
    ],
)
def test_digit_heavy_first_line_is_not_a_title(
    cleaner: Cleaner, first: str, is_title: bool
) -> None:
    assert (cleaner.clean(article(first, PROSE)).title == first) == is_title


def test_decomposed_text_that_composes_into_mojibake_is_cleaned_idempotently() -> None:
    cleaner = Cleaner(CleanConfig())
    once = cleaner.clean(
        "Cafe\u0301 A\u0302\u20ac\u2122 prices rose sharply this week.", has_title=True
    )
    assert cleaner.clean(once.text, has_title=True).text == once.text


# --- every packaged furniture rule: a true positive and a near miss ---------------------

PACKAGED_RULES = load_rules()


def _rule_id(rule: Rule) -> str:
    return f"{rule.kind}@{rule.origin.rsplit(':', 1)[-1]}"


def test_every_packaged_rule_documents_an_example_and_a_near_miss() -> None:
    assert PACKAGED_RULES
    assert all(r.examples and r.near_misses for r in PACKAGED_RULES), [
        _rule_id(r) for r in PACKAGED_RULES if not (r.examples and r.near_misses)
    ]


@pytest.mark.parametrize("rule", PACKAGED_RULES, ids=_rule_id)
def test_each_rule_removes_its_examples(cleaner: Cleaner, rule: Rule) -> None:
    for example in rule.examples:
        para = example if rule.case_sensitive else example.lower()
        assert re.match(rule.pattern, para) and len(example) <= rule.max_chars, example
        if rule.kind == "line":
            text = article(PROSE[0], example, PROSE[1])
        else:
            text = article(
                PROSE[0],
                PROSE[1],
                example,
                "Ferry fares rise in May",
                "Pier repairs start next week",
            )
        assert paragraphs(cleaner.clean(text)) == [PROSE[0], PROSE[1]], example


@pytest.mark.parametrize("rule", PACKAGED_RULES, ids=_rule_id)
def test_each_rule_leaves_its_near_misses(cleaner: Cleaner, rule: Rule) -> None:
    for prose in rule.near_misses:
        if rule.kind == "line":
            expected = [PROSE[0], prose, PROSE[1]]
        else:  # even with short items after it, a near miss is not a tail header
            expected = [PROSE[0], PROSE[1], prose, "Fares rise in May.", "Repairs start soon."]
        assert paragraphs(cleaner.clean(article(*expected))) == expected, prose


@pytest.mark.parametrize(
    "prose",
    [
        "Share this with your neighbours, the mayor said.",
        "Keep reading to your children, the librarian said.",
        "Copyright law was the main topic of the second debate, which lasted two hours.",
        "Register your bike for free at the police station.",
    ],
)
def test_the_reported_prose_is_kept(cleaner: Cleaner, prose: str) -> None:
    # The four paragraphs a local-news article lost to the furniture rules (issue 14).
    expected = [PROSE[0], prose, PROSE[1]]
    assert paragraphs(cleaner.clean(article(*expected))) == expected


@pytest.mark.parametrize(
    "prose",
    [
        "Read more about it in the minutes, the clerk said.",
        "Follow us on Twitter, the officers told the crowd, and you will see the route.",
        "Subscribe to our newsletter, the editor urged readers in her farewell column.",
        "“Click here to vote,” said the poll worker, pointing at the screen.",
        "Teilen Sie das mit Ihren Nachbarn, so der Bürgermeister.",
        "Abonnez-vous à notre newsletter, a dit le maire en riant.",
    ],
)
def test_a_quote_attribution_makes_any_paragraph_prose(cleaner: Cleaner, prose: str) -> None:
    expected = [PROSE[0], prose, PROSE[1]]
    assert paragraphs(cleaner.clean(article(*expected))) == expected


def test_a_headline_ending_in_an_attribution_is_still_a_cross_link(cleaner: Cleaner) -> None:
    text = article(PROSE[0], "Also read | Bridge will reopen in May, mayor says", PROSE[1])
    assert paragraphs(cleaner.clean(text)) == [PROSE[0], PROSE[1]]


def test_rule_examples_must_be_arrays_of_strings(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text("[[line]]\npattern = 'x'\nexamples = 'not a list'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'examples' must be an array of strings"):
        Cleaner(CleanConfig(boilerplate_rules=(str(rules),)))

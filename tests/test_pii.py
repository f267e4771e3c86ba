"""The pii clean step: personal data found and redacted, look-alikes left alone."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit.clean import Cleaner
from corpuskit.clean.pii import PiiFinder, card_network, luhn_ok, redact, screen
from corpuskit.cli import main
from corpuskit.config import PII_ALLOW, PII_PHONE_REGIONS, CleanConfig
from corpuskit.errors import ConfigError

from .conftest import english_article


@pytest.fixture(scope="module")
def finder() -> PiiFinder:
    return PiiFinder(PII_ALLOW, PII_PHONE_REGIONS)


def redacted(finder: PiiFinder, text: str) -> str:
    return redact(text, finder.find(text), "<{KIND}>")


# -- found, in several formats and languages -------------------------------------------------

FOUND = [
    # e-mail addresses
    ("Write to jane.doe@example.com today.", "Write to <EMAIL> today."),
    ("Kontakt: J.Müller+presse@zeitung-beispiel.de.", "Kontakt: <EMAIL>."),
    ("Écrivez à prénom.nom@exemple.fr pour répondre.", "Écrivez à <EMAIL> pour répondre."),
    ("Пишите на ivan_petrov@pochta.ru, ответим.", "Пишите на <EMAIL>, ответим."),
    # phone numbers: international, and national after a phone word
    ("Call +44 20 7946 0958 after nine.", "Call <PHONE> after nine."),
    ("Ring 0044 20 7946 0958 from abroad.", "Ring <PHONE> from abroad."),
    ("For questions call (212) 555-0143.", "For questions call <PHONE>."),
    ("Tel: 030 12345678, mobil 0171 1234567.", "Tel: <PHONE>, mobil <PHONE>."),
    ("Téléphone : 01 42 68 53 00 (standard).", "Téléphone : <PHONE> (standard)."),
    ("Teléfono 91 123 45 67 en Madrid.", "Teléfono <PHONE> en Madrid."),
    ("Звоните: тел. +7 495 123-45-67.", "Звоните: тел. <PHONE>."),
    ("Zadzwoń +48 22 123 45 67 w Warszawie.", "Zadzwoń <PHONE> w Warszawie."),
    # IP addresses
    ("The log showed 84.17.52.209 twice.", "The log showed <IP> twice."),
    ("Requests from 10.20.30.40 were blocked.", "Requests from <IP> were blocked."),
    ("Its address was 2a02:26f0:fd::17 then.", "Its address was <IP> then."),
    ("Full form 2a00:1450:4001:0829:0000:0000:0000:200e here.", "Full form <IP> here."),
    # payment cards (Luhn-valid test numbers of several networks)
    ("Card 4111 1111 1111 1111 was charged.", "Card <CARD> was charged."),
    ("Mastercard 5500-0000-0000-0004 expired.", "Mastercard <CARD> expired."),
    ("Amex 378282246310005 on file.", "Amex <CARD> on file."),
    ("Discover 6011 0009 9013 9424 too.", "Discover <CARD> too."),
    # credentials and tokens in URLs
    (
        "Mirror at ftp://bob:hunter2@files.example.net/pub now.",
        "Mirror at ftp://<SECRET>@files.example.net/pub now.",
    ),
    (
        "See https://api.example.com/v1/items?lang=en&api_key=Zx81Qm3 for data.",
        "See https://api.example.com/v1/items?lang=en&api_key=<SECRET> for data.",
    ),
    (
        "Get https://b.s3.amazonaws.com/r.pdf?X-Amz-Signature=9f8e7d&X-Amz-Expires=60 now",
        "Get https://b.s3.amazonaws.com/r.pdf?X-Amz-Signature=<SECRET>&X-Amz-Expires=60 now",
    ),
    (
        "Reset via https://example.org/reset?token=eyJhbGciOi.x.y&id=4 please.",
        "Reset via https://example.org/reset?token=<SECRET>&id=4 please.",
    ),
]


@pytest.mark.parametrize(("text", "expected"), FOUND, ids=[t for t, _ in FOUND])
def test_personal_data_is_found_and_redacted(finder: PiiFinder, text: str, expected: str) -> None:
    assert redacted(finder, text) == expected


# -- look-alikes left intact -----------------------------------------------------------------

LOOK_ALIKES = [
    "On 12/03/2024 at 14:30 the price was 1 299,99 € (was 1.499,00 €).",
    "Am 03.12.2024 um 18.30 Uhr; Preis 12.345,67 Euro.",
    "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2 are in print.",
    "Version 2.4.1.3 of the app, firmware v1.2.3.4, build 10.0.19041.1, PSeMu3 1.3.3.9.",
    "The final score was 3-1 after 2-2 at half-time; 104-98 in basketball.",
    "Between 1998 and 2005 the population grew to 8 336 817 (1998-2005-2011).",
    "He lives at 1600 Pennsylvania Avenue NW, Washington, DC 20500.",
    "The demo server is 192.0.2.15 (and 2001:db8::1 on IPv6).",
    "At 12:30:45 the train left; John 3:16; aspect ratio 16:9.",
    "Revenue rose 12.5% to $4,567,890,123 in 2023.",
    "Order number 1234567890123 and parcel 9400111899223197428490.",
    "Follow @newsdesk on X, or email us via the form.",
    "Loopback 127.0.0.1 and 0.0.0.0 are not anyone's.",
    "Coordinates 48.8566, 2.3522 and 40.7128° N.",
    "Call 2024 the year of elections; dial 911 in an emergency.",
    "Le match s'est terminé 2-1, devant 45 000 spectateurs, le 14/07/2023.",
    "Тираж 1 000 000 экземпляров, 2019–2023 годы, цена 1 299 ₽.",
    "See https://example.org/articles?page=2&sort=date for more.",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_left_intact(finder: PiiFinder, text: str) -> None:
    assert finder.find(text) == []


def test_luhn_and_card_networks() -> None:
    assert luhn_ok("4111111111111111") and card_network("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert not card_network("9780306406157")  # an ISBN-13 starts like no card network


def test_allowed_addresses_and_domains_are_kept() -> None:
    finder = PiiFinder(("press@un.org", "@who.int"), ())
    text = "Ask press@un.org, media@who.int or a.person@gmail.com."
    assert redact(text, finder.find(text), "<{KIND}>") == (
        "Ask press@un.org, media@who.int or <EMAIL>."
    )


def test_an_allowed_network_is_kept() -> None:
    finder = PiiFinder(("84.17.0.0/16",), ())
    assert [f.start for f in finder.find("From 84.17.52.209 and 85.17.52.209.")] == [22]


# -- the step in the cleaner -----------------------------------------------------------------


def test_the_cleaner_redacts_flags_and_counts() -> None:
    text = english_article(1) + "\n\nContact jane@example.com or +44 20 7946 0958."
    result = Cleaner(CleanConfig()).clean(text)
    assert result.text.endswith("Contact <EMAIL> or <PHONE>.")
    assert "pii" in result.flags
    assert result.pii == {"email": 1, "phone": 1}


def test_keep_counts_without_changing_the_text() -> None:
    text = english_article(1) + "\n\nContact jane@example.com."
    result = Cleaner(CleanConfig(pii="keep")).clean(text)
    assert result.text.endswith("Contact jane@example.com.")
    assert "pii" not in result.flags and result.pii == {"email": 1}


def test_the_placeholder_is_configurable() -> None:
    text = english_article(1) + "\n\nContact jane@example.com."
    result = Cleaner(CleanConfig(pii_placeholder="[{KIND} removed]")).clean(text)
    assert result.text.endswith("Contact [EMAIL removed].")


def test_the_step_can_be_switched_off() -> None:
    steps = tuple(s for s in CleanConfig().steps if s != "pii")
    text = english_article(1) + "\n\nContact jane@example.com."
    result = Cleaner(CleanConfig(steps=steps)).clean(text)
    assert result.text.endswith("jane@example.com.") and result.pii == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pii": "hide"}, "--pii must be one of redact, keep, reject"),
        ({"pii_allow": ("not a network",)}, "--pii-allow 'not a network' is not an IP network"),
        ({"pii_phone_regions": ("usa",)}, "phone region 'usa' is not an ISO 3166 alpha-2"),
    ],
)
def test_bad_pii_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CleanConfig(**changes)


# -- builds ----------------------------------------------------------------------------------

CONFIG = BuildConfig(name="news", min_chars=50, source_id="parent")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    records = [
        {
            "text": english_article(1) + "\n\nReach the author at jane@example.com.",
            "url": "https://news.example.com/a?id=1&session=Ab12Cd34",
            "source": "wire",
        },
        {"text": english_article(2) + "\n\nCall +44 20 7946 0958.", "source": "wire"},
        {"text": english_article(3), "source": "wire"},
        {"text": "Too short; mail bob@example.org", "source": "wire"},
    ]
    path = tmp_path / "src" / "feed.jsonl"
    path.parent.mkdir()
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path.parent


def _rows(folder: Path, sub: str) -> list[dict[str, Any]]:
    return [
        row
        for f in sorted((folder / sub).glob("*.parquet"))
        for row in pq.read_table(f).to_pylist()
    ]


def test_a_build_publishes_no_personal_data_and_counts_it(tmp_path: Path, corpus: Path) -> None:
    report = build([corpus], tmp_path / "out", CONFIG)
    rows = _rows(tmp_path / "out", "data")
    texts = " ".join(r["text"] for r in rows)
    assert "@example" not in texts and "7946" not in texts
    assert "<EMAIL>" in texts and "<PHONE>" in texts
    assert sorted(r["url"] for r in rows if r["url"]) == [
        "https://news.example.com/a?id=1&session=<SECRET>"
    ]
    assert sum("pii" in r["clean_flags"] for r in rows) == 2
    rejects = _rows(tmp_path / "out", "rejects")
    assert [r["text"] for r in rejects] == ["Too short; mail <EMAIL>"]  # rejects are published
    assert report.pii == {"email": 2, "phone": 1, "secret": 1}
    manifest = json.loads((tmp_path / "out" / "corpuskit.json").read_text())
    assert manifest["personal_data"] == {"email": 2, "phone": 1, "secret": 1}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "## Personal and Sensitive Information" in card
    assert "| e-mail addresses | 2 |" in card and "**Not caught**: names" in card


def test_reject_makes_articles_with_personal_data_rejects(tmp_path: Path, corpus: Path) -> None:
    config = replace(CONFIG, clean=CleanConfig(pii="reject"))
    report = build([corpus], tmp_path / "out", config)
    assert report.rejected == {"pii": 2, "too_short": 1}
    rejects = _rows(tmp_path / "out", "rejects")
    assert all("@example" not in r["text"] and "7946" not in r["text"] for r in rejects)
    assert {r["detail"] for r in rejects if r["reason"] == "pii"} == {
        "holds personal data (email 1, secret 1); --pii reject",
        "holds personal data (phone 1); --pii reject",
    }


def test_keep_publishes_the_text_as_it_was_and_says_so(tmp_path: Path, corpus: Path) -> None:
    report = build([corpus], tmp_path / "out", replace(CONFIG, clean=CleanConfig(pii="keep")))
    texts = " ".join(r["text"] for r in _rows(tmp_path / "out", "data"))
    assert "jane@example.com" in texts and report.pii["email"] == 2
    card = (tmp_path / "out" / "README.md").read_text()
    assert "counted but left in the text (`--pii keep`)" in card


def test_the_card_says_when_nobody_looked(tmp_path: Path, corpus: Path) -> None:
    steps = tuple(s for s in CleanConfig().steps if s != "pii")
    build([corpus], tmp_path / "out", replace(CONFIG, clean=CleanConfig(steps=steps)))
    card = (tmp_path / "out" / "README.md").read_text()
    assert "The build did not look for personal data" in card


def test_the_cli_takes_pii_options(tmp_path: Path, corpus: Path) -> None:
    args = ["build", str(corpus), "--out", str(tmp_path / "out"), "--min-chars", "50"]
    args += ["--pii", "keep", "--pii-allow", "@example.com", "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "personal data found: email 1, phone 1, secret 1" in result.output
    manifest = json.loads((tmp_path / "out" / "corpuskit.json").read_text())
    assert manifest["config"]["clean"]["pii"] == "keep"
    assert "@example.com" in manifest["config"]["clean"]["pii_allow"]


def test_the_cli_refuses_a_bad_allow_entry(tmp_path: Path, corpus: Path) -> None:
    args = ["build", str(corpus), "--out", str(tmp_path / "out"), "--pii-allow", "nonsense"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2  # a usage error, like every bad setting
    assert "Error: --pii-allow 'nonsense' is not an IP network" in result.output


SCREENED = [
    "Mail x&#64;example.com now",  # an entity the markup step decodes into "@"
    "Call <b>+44</b> 20 7946 0958",  # digits joined across a tag the markup step removes
    "IP 84.17.52.209",
    "Amex 3782 8224 6310 005",
    "Its address was 2a02:26f0:fd::17 then.",
]


@pytest.mark.parametrize("text", SCREENED)
def test_the_batch_screen_lets_through_every_text_the_step_finds_something_in(
    text: str,
) -> None:
    assert screen([text]) == [True]
    assert Cleaner(CleanConfig()).clean(text + " word" * 60, ngrams=False).pii


def test_the_batch_screen_passes_over_texts_without_any_candidate() -> None:
    assert screen(["Plain words, in 2024 a score of 3-1 and 12 apples.", ""]) == [False, False]


def test_every_text_the_screen_passes_over_holds_nothing_the_step_finds() -> None:
    texts = [f"{english_article(i)} {LOOK_ALIKES[i % len(LOOK_ALIKES)]}" for i in range(40)]
    texts += [text for text, _ in FOUND]
    cleaner = Cleaner(CleanConfig())
    for text, flag in zip(texts, screen(texts), strict=True):
        if not flag:
            assert cleaner.clean(text, ngrams=False).pii == {}, text


ODD_SPACES = [
    "tél. : 01\u00a042\u00a068\u00a053\u00a000",  # French typography: no-break spaces
    "tél. : 01\u202f42\u202f68\u202f53\u202f00",  # narrow no-break spaces
    "Call +44\u200920\u20097946\u20090958",  # thin spaces
    "Call +1 212\u00ad736\u00ad5000",  # soft hyphens, deleted by the unicode step
    "Card 4539\u00a01488\u00a00343\u00a06467",
]


@pytest.mark.parametrize("text", ODD_SPACES)
def test_numbers_written_with_odd_spaces_pass_the_screen_and_are_found(text: str) -> None:
    padded = text + " word" * 60
    assert screen([padded]) == [True]
    assert Cleaner(CleanConfig()).clean(padded, ngrams=False).pii


def test_a_reject_cut_short_loses_its_last_word_rather_than_half_an_address(
    tmp_path: Path,
) -> None:
    # Cut at 10,000 characters right inside an address: "…reach john.smith@exam"
    long = "w" * (10_000 - len("reach john.smith@exam")) + " reach john.smith@example.com"
    folder = tmp_path / "src"
    folder.mkdir()
    records = [{"text": long}, {"text": english_article(4)}]
    (folder / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    build([folder], tmp_path / "out", replace(CONFIG, max_chars=5000))
    (reject,) = _rows(tmp_path / "out", "rejects")
    assert reject["reason"] == "too_long"
    assert "john" not in reject["text"] and reject["text"].endswith("reach")


def test_personal_data_behind_an_entity_is_redacted_in_a_reject(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    records = [{"text": "short john&#64;example.com"}, {"text": english_article(3)}]
    (folder / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report = build([folder], tmp_path / "out", CONFIG)
    rejects = _rows(tmp_path / "out", "rejects")
    assert [r["text"] for r in rejects] == ["short <EMAIL>"]
    assert report.pii == {"email": 1}

"""Personal data in article text: e-mail addresses, phone numbers, IP addresses, payment
card numbers, and credentials or tokens in URLs. Found, then redacted (each match becomes
a typed placeholder such as ``<EMAIL>``), only counted, or made a reason to reject.

Each kind has a cheap regular expression that finds candidates and a check that decides:

- **email**: a local part, ``@``, a domain with a letters-only top-level label.
- **phone**: a run of 7+ digits with the usual separators, checked by ``phonenumbers``
  (Google's libphonenumber rules: a real country code, a valid length and number plan).
  A number written internationally (``+44 …``, ``0044 …``) is checked as it is; one in a
  national format only when a phone word (``tel``, ``phone``, ``call``, ``fax``,
  ``téléphone``, ``тел.``, …) comes just before it, against ``phone_regions`` in turn.
  Dates, prices, ISBNs, scores, years and street numbers have no country code and no
  phone word, so they are left alone.
- **ip**: an IPv4 or IPv6 address that ``ipaddress`` accepts, but not one that only
  looks like an address: loopback, unspecified, multicast and reserved addresses, ones
  after ``version``/``v``/``build`` (``version 1.2.3.4``) or of four single digits
  (``1.3.3.9``, a version everywhere it was seen), and the ``allow`` networks
  (by default the documentation ranges of RFC 5737 and RFC 3849: ``config.PII_ALLOW``).
- **card**: 13-19 digits (spaces or dashes between groups) that pass the Luhn check and
  start like a card network's number (Visa, Mastercard, Amex, Discover, JCB, Diners,
  UnionPay, Maestro), so an ISBN (978…) or an order number rarely qualifies.
- **secret**: in a URL, the user-info (``https://user:pass@host``) and the values of
  query parameters named like credentials (``token``, ``api_key``, ``password``,
  ``sig``, ``X-Amz-Signature``, …).

Not caught (the card says so): names, postal addresses, ID numbers other than card
numbers, phone numbers in a national format without a phone word before them, addresses
written to dodge scrapers (``name at domain dot com``).
"""

from __future__ import annotations

import html
import ipaddress
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from corpuskit.record import PII_KINDS

#: The kinds of personal data, in the order reports list them.
KINDS = PII_KINDS

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w+-](?:[\w.+-]{0,62}[\w+-])?@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,24}(?![\w@])"
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\s<>\"'\]\[]+")
_USERINFO = re.compile(r"://([^/\s@?#]+)@")
_QUERY = re.compile(r"[?&;]([A-Za-z0-9_.\-]{1,40})=([^&#;\s]+)")
_SECRET_NAMES = frozenset(
    """token access_token refresh_token id_token auth auth_token authorization api_key apikey
    key secret client_secret password passwd pwd pass sig signature session sessionid
    session_id sid jwt private_token x-amz-credential x-amz-security-token
    x-goog-credential""".split()
)
_SECRET_SUFFIXES = ("token", "signature", "secret", "password", "apikey", "api_key", "credential")
_IPV4 = re.compile(
    r"(?<![\w.:-])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?![\w-]|\.\d)"
)
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}(?![\w:])")
_VERSION_BEFORE = re.compile(
    r"(?i)(?:\bv|\bver\.?|\bversion|\bbuild|\brelease|\bfirmware|\bupdate|\bverze|\bversión|\bversão)\s*$"
)
#: One scan finds every stretch of text that could hold an IPv4 address, a card number or
#: a phone number (a digit, 5+ digits or separators, a digit); the precise patterns below
#: then run on those stretches only. Most articles have a few (dates, figures), so this
#: costs one regular-expression scan per text instead of three.
_DIGIT = "0-9\u0660-\u0669\u06f0-\u06f9\u0966-\u096f\uff10-\uff19"  # ASCII, Arabic, Persian,
# Devanagari and full-width digits: an explicit set scans ~2x faster than \d (measured).
_NUMBER = re.compile(f"[{_DIGIT}][{_DIGIT} \t().\\-/]{{5,}}[{_DIGIT}]")
_SEPARATORS = " \t().-/"
_CARD = re.compile(r"(?<![\d.,-])\d(?:[ -]?\d){12,18}(?![\d-]|[.,]\d)")
_PHONE = re.compile(r"(?<![\w+.,/-])(?:\+|\(\+?)?\d[\d \t().\-/]{5,22}\d(?![\d\w]|[.,]\d)")
_PHONE_WORD = re.compile(
    r"(?i)(?:\b(?:tel|tél|tlf|phone|telephone|téléphone|teléfono|telefone|telefono|telefon|"
    r"telefoon|call|fax|mobile|mobil|mob|cell|whatsapp|hotline|ring)|тел|телефон|факс)"
    r"\b[.:]?\s*(?:\w{1,12}\s*){0,2}?[.:]?\s*\(?$"
)
_PHONE_CONTEXT = 40  # characters before a national-format number searched for a phone word


#: RE2 syntax (pyarrow's regex engine): what a text must hold for :meth:`PiiFinder.find`
#: to find anything in it, even after cleaning. Cleaning can decode an entity into "@" or
#: a digit (``&#64;``), join digits across a removed tag (``<b>``), fold any space
#: (NBSP, U+202F, ...) into " ", delete invisible characters (soft hyphens, zero-width
#: spaces), turn dashes into "-" and other numerals into digits (NFKC: ``\pN``). So five
#: numerals count as a stretch whatever is between them, as long as it holds no letter.
#: Five numerals in a stretch: the fewest an IPv4 address that is reported has.
SCREEN = (
    r"@|://|::|&(?:#|[A-Za-z]+;)|<[A-Za-z/!]|\pN(?:[^\pL\pN]*\pN){4}"
    r"|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"
)


def screen(texts: Sequence[str]) -> list[bool]:
    """For each text, whether it may hold personal data (see ``SCREEN``): one call over
    the whole batch in pyarrow's compiled regex engine (~3 µs an article here, against
    ~40 µs for :meth:`PiiFinder.find`); a news article passes about a third of the time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not texts:
        return []
    mask = pc.match_substring_regex(pa.array(texts, pa.large_string()), SCREEN)
    return [bool(flag) for flag in mask.to_pylist()]


def luhn_ok(digits: str) -> bool:
    """The Luhn check (ISO/IEC 7812-1) every payment card number passes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_network(digits: str) -> bool:
    """Whether ``digits`` start like a card network's numbers (their issuer prefixes:
    Visa 4; Mastercard 51-55, 2221-2720; Amex 34, 37; Discover 6011, 644-649, 65; JCB
    3528-3589; Diners 300-305, 36, 38; UnionPay 62; Maestro 50, 56-69) with that network's
    length."""
    n = len(digits)
    p2, p4 = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if p4 == 6011 or 644 <= int(digits[:3]) <= 649 or p2 == 65:
        return 16 <= n <= 19
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19
    if 300 <= int(digits[:3]) <= 305 or p2 in (36, 38):
        return 14 <= n <= 19
    if p2 == 62:
        return 16 <= n <= 19
    return (p2 == 50 or 56 <= p2 <= 69) and 12 <= n <= 19


@dataclass(frozen=True)
class Found:
    """One match: ``text[start:end]`` is personal data of ``kind``."""

    start: int
    end: int
    kind: str


class PiiFinder:
    """Finds personal data; build once per config (``phonenumbers`` loads its metadata
    once per region, on first use).

    ``allow``: networks (``192.0.2.0/24``), addresses (``press@example.org``) and domains
    (``@example.org``) that are never redacted: public institutional contacts.
    ``phone_regions``: ISO 3166 codes tried, in order, for numbers in a national format.
    """

    def __init__(self, allow: Iterable[str] = (), phone_regions: Iterable[str] = ()) -> None:
        self.networks: list[Any] = []
        self.addresses: set[str] = set()
        self.domains: set[str] = set()
        for entry in allow:
            entry = entry.strip()
            if entry.startswith("@"):
                self.domains.add(entry[1:].lower())
            elif "@" in entry:
                self.addresses.add(entry.lower())
            else:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
        self.phone_regions = tuple(phone_regions)

    def find(self, text: str) -> list[Found]:
        """Every match in ``text``, by position; where two overlap, the one that starts
        first (then the longer) is kept."""
        found: list[Found] = []
        if "@" in text:
            found += self._emails(text)
        if "://" in text:
            found += self._secrets(text)
        for number in _NUMBER.finditer(text):
            stretch = number.group()
            digits = len(stretch) - sum(stretch.count(c) for c in _SEPARATORS)
            if digits < 5:  # the fewest an address passing the checks below has
                continue
            # The stretch, with two characters of context on each side for the patterns'
            # look-arounds (a look-behind sees before ``pos``; a look-ahead stops at
            # ``endpos``). The patterns may start with "+" or "(" that _NUMBER leaves out.
            pos, endpos = max(0, number.start() - 2), min(len(text), number.end() + 2)
            if stretch.count(".") >= 3:
                found += self._ipv4(text, pos, endpos)
            if digits >= 13:
                found += self._cards(text, pos, endpos)
            if digits >= 7:
                found += self._phones(text, pos, endpos)
        if "::" in text or text.count(":") >= 7:  # the compressed or the full form
            found += self._ipv6(text)
        found.sort(key=lambda f: (f.start, -f.end))
        kept: list[Found] = []
        for f in found:
            if not kept or f.start >= kept[-1].end:
                kept.append(f)
        return kept

    def secrets(self, url: str) -> list[Found]:
        """Only the credentials and tokens in ``url`` (what a URL field can leak; a
        cheaper look than :meth:`find`)."""
        if "://" in url and ("@" in url or "=" in url):
            return self._secrets(url)
        return []

    # -- the kinds ------------------------------------------------------------------------

    def _emails(self, text: str) -> list[Found]:
        out = []
        for m in _around(text, "@", 64, 256, _EMAIL):
            address = m.group().lower()
            if address in self.addresses or address.rsplit("@", 1)[1] in self.domains:
                continue
            out.append(Found(m.start(), m.end(), "email"))
        return out

    def _secrets(self, text: str) -> list[Found]:
        out = []
        for url in _around(text, "://", 16, 4096, _URL):
            base = url.start()
            value = url.group()
            info = _USERINFO.search(value)
            if info is not None:
                out.append(Found(base + info.start(1), base + info.end(1), "secret"))
            if "=" in value:
                for q in _QUERY.finditer(value):
                    name = q.group(1).lower()
                    if name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES):
                        out.append(Found(base + q.start(2), base + q.end(2), "secret"))
        return out

    def _ipv4(self, text: str, pos: int, endpos: int) -> list[Found]:
        return self._ips(text, _IPV4.finditer(text, pos, endpos))

    def _ipv6(self, text: str) -> list[Found]:
        found: list[Found] = []
        for start, end in _ipv6_windows(text):
            found += self._ips(text, _IPV6.finditer(text, start, end))
        return found

    def _ips(self, text: str, candidates: Iterable[re.Match[str]]) -> list[Found]:
        out = []
        for m in candidates:
            try:
                address = ipaddress.ip_address(m.group())
            except ValueError:
                continue
            if (
                (address.version == 4 and len(m.group()) == 7)  # 1.3.3.9: a version number
                or address.is_loopback
                or address.is_unspecified
                or address.is_multicast
                or address.is_reserved
                or any(address in net for net in self.networks)
                or _VERSION_BEFORE.search(text, max(0, m.start() - 12), m.start())
            ):
                continue
            out.append(Found(m.start(), m.end(), "ip"))
        return out

    def _cards(self, text: str, pos: int, endpos: int) -> list[Found]:
        out = []
        for m in _CARD.finditer(text, pos, endpos):
            digits = re.sub(r"\D", "", m.group())
            if luhn_ok(digits) and card_network(digits):
                out.append(Found(m.start(), m.end(), "card"))
        return out

    def _phones(self, text: str, pos: int, endpos: int) -> list[Found]:
        out = []
        for m in _PHONE.finditer(text, pos, endpos):
            candidate = m.group()
            if sum(ch.isdigit() for ch in candidate) < 7:
                continue
            international = candidate.lstrip("(").startswith(("+", "00"))
            if international:
                regions: tuple[str | None, ...] = (None,)
            else:
                before = text[max(0, m.start() - _PHONE_CONTEXT) : m.start()]
                if not _PHONE_WORD.search(before):
                    continue
                regions = self.phone_regions
            span = _valid_phone(candidate, regions)
            if span is not None:
                out.append(Found(m.start() + span[0], m.start() + span[1], "phone"))
        return out


def _ipv6_windows(text: str) -> Iterator[tuple[int, int]]:
    """Stretches of ``text`` that can hold an IPv6 address: around a "::" (the compressed
    form) or seven colons within 39 characters (the full form). Prose has colons
    ("Note:", "12:30") but rarely either, so the address pattern scans little."""
    colons: list[int] = []
    at = text.find(":")
    while at >= 0:
        colons.append(at)
        at = text.find(":", at + 1)
    end = 0
    for i, at in enumerate(colons):
        full = i + 6 < len(colons) and colons[i + 6] - at <= 38
        if (full or text.startswith("::", at)) and at >= end:
            start = max(end, at - 40)
            end = min(len(text), at + 41)
            yield start, end


#: Above this many markers in a text, _around scans it whole.
_MANY_MARKERS = 16


def _around(
    text: str, marker: str, before: int, after: int, pattern: re.Pattern[str]
) -> Iterator[re.Match[str]]:
    """``pattern``'s matches in windows of ``text`` around each ``marker`` (``before`` and
    ``after`` characters of it), each match once: a scan of a few hundred characters per
    "@" instead of the whole text."""
    if text.count(marker) > _MANY_MARKERS:
        # Windows would overlap and be scanned again and again (a page of "x://x://…"):
        # one scan of the whole text instead.
        yield from pattern.finditer(text)
        return
    searched_to = 0
    at = text.find(marker)
    while at >= 0:
        start = max(searched_to, at - before)
        end = min(len(text), at + len(marker) + after)
        for m in pattern.finditer(text, start, end):
            if m.start() <= at < m.end():
                yield m
                searched_to = m.end()
        searched_to = max(searched_to, at + len(marker))
        at = text.find(marker, searched_to)


def _valid_phone(candidate: str, regions: tuple[str | None, ...]) -> tuple[int, int] | None:
    """Where in ``candidate`` libphonenumber finds a valid number, or None.

    ``regions == (None,)``: an international number (``+``/``00``), found with
    libphonenumber's matcher (which also finds where it ends). Otherwise a number in a
    national format: the whole candidate is parsed for each region in turn (one parse each,
    cheaper than a matcher per region).
    """
    import phonenumbers

    if regions == (None,):
        text = candidate
        if text.startswith("00"):
            text = "+" + text[2:]  # the international prefix most of the world dials
        shift = len(candidate) - len(text)
        matcher = phonenumbers.PhoneNumberMatcher(text, "ZZ", leniency=phonenumbers.Leniency.VALID)
        for match in matcher:
            start = match.start + (shift if match.start > 0 else 0)
            return start, match.end + shift
        return None
    start = 1 if candidate.startswith("(") and ")" not in candidate else 0
    for region in regions:
        try:
            number = phonenumbers.parse(candidate[start:], region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return start, len(candidate)
    return None


def decoded(text: str) -> str:
    """``text`` as cleaning would present it to the finder: entities decoded, NFKC (other
    numerals and compatibility characters), invisible characters dropped, every space
    character a plain space. For texts that are not cleaned (rejects)."""
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    return _INVISIBLE.sub("", _SPACES.sub(" ", text))


_SPACES = re.compile(r"[^\S\n]")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060-\u2064\ufeff]")


def cut_last_word(text: str) -> str:
    """``text`` without its last word: a text cut to a length may end in half an address
    or number, which no pattern recognises."""
    at = max(text.rfind(" "), text.rfind("\n"))
    return text[:at] if at > 0 else ""


def redact(text: str, found: list[Found], placeholder: str) -> str:
    """``text`` with every match replaced by ``placeholder`` (``{KIND}`` becomes the
    upper-case kind, e.g. ``<{KIND}>`` → ``<EMAIL>``)."""
    parts: list[str] = []
    at = 0
    for f in found:
        parts.append(text[at : f.start])
        parts.append(placeholder.replace("{KIND}", f.kind.upper()))
        at = f.end
    parts.append(text[at:])
    return "".join(parts)


def count(found: Iterable[Found]) -> Counter[str]:
    """Matches by kind."""
    return Counter(f.kind for f in found)

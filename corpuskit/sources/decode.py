"""Bytes of unknown encoding → text, or a reason why not.

Real corpora mix UTF-8 with files saved by old tools (cp1252, cp1251, UTF-16 from Windows
editors) and with files that are not text at all. Guessing wrong silently produces mojibake
that survives into the dataset, so the order of the checks matters:

1. A byte-order mark is proof, so it wins.
2. Known binary signatures (PNG, PDF, ZIP, ...) are rejected before anything else looks at
   the NUL bytes they contain.
3. UTF-16/32 without a BOM are recognised only when obvious (NULs at every other byte).
4. Other NUL bytes mean binary.
5. Valid UTF-8 is UTF-8: legacy text almost never forms valid multi-byte sequences by chance.
6. Otherwise the legacy code pages are ranked. charset-normalizer proposes candidates, but it
   misguesses on short texts (cp1250 for Spanish, cp1006 for French, Shift-JIS for KOI8-R),
   so every candidate's decoding is scored for implausible letter patterns and cp1252 wins
   ties unless charset-normalizer has a real reason to prefer another code page.
7. Finally the decoded text must not be mostly control characters.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

from charset_normalizer import from_bytes

from corpuskit.record import Reason
from corpuskit.sources.plausibility import implausibility, tie_breaker

#: How many bytes the sniffers and the legacy-encoding scorer look at. Enough for a stable
#: guess, small enough that guessing a 10 MB file costs milliseconds.
SAMPLE_BYTES = 256 * 1024

#: Encoding label recorded when text is UTF-8 except for a few invalid bytes, which were
#: replaced by U+FFFD (see :func:`decode_bytes`). Not a codec name: it is a label for humans.
UTF8_REPLACED = "utf-8+replace"

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32-LE's BOM starts with UTF-16-LE's, so it must be tested first.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF87a", 0, "a GIF image"),
    (b"GIF89a", 0, "a GIF image"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"%PDF-", 0, "a PDF document"),
    (b"PK\x03\x04", 0, "a ZIP archive (or DOCX/XLSX/EPUB)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "an old Microsoft Office document"),
    (b"\x1f\x8b", 0, "gzip-compressed data (name it .jsonl.gz, or decompress it)"),
    (b"\xfd7zXZ\x00", 0, "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", 0, "zstd-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive"),
    (b"\x7fELF", 0, "an ELF executable"),
    (b"PAR1", 0, "a Parquet file (name it .parquet)"),
    (b"SQLite format 3\x00", 0, "an SQLite database"),
    (b"OggS", 0, "an Ogg media file"),
    (b"ID3", 0, "an MP3 audio file"),
    (b"ftyp", 4, "an MP4/MOV media file"),
    (b"RIFF", 0, "a RIFF media file (WAV/AVI/WebP)"),
)

# C0 controls other than the whitespace ones, and DEL: what binary data decodes to.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_FALLBACKS = ("cp1252", "cp1251", "cp1250", "koi8-r")

_LAST_RESORT = "iso8859-1"  # decodes anything; scored like the others, so it rarely wins

# Above this many implausible patterns per non-ASCII token, a reading is not accepted.
# Measured: random high-bit bytes are refused by every code page at 400+ bytes (81 % at 40
# bytes); 4,600 Leipzig sentences in cp1252/cp1250/cp1251/KOI8-R were never refused.
_UNDECODABLE_RATIO = 0.5


@dataclass(frozen=True)
class Decoded:
    """Text and the encoding it was decoded from (a Python codec name, or UTF8_REPLACED)."""

    text: str
    encoding: str


@dataclass(frozen=True)
class DecodeFailure:
    """Why bytes are not usable as text: Reason.NOT_TEXT or Reason.UNDECODABLE."""

    reason: Reason
    detail: str


def binary_signature(data: bytes) -> str | None:
    """What well-known binary format ``data`` starts with, if any (for a helpful detail)."""
    for magic, offset, what in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return what
    return None


def detect_bom(data: bytes) -> tuple[str, int] | None:
    """(codec name, BOM length) when ``data`` starts with a byte-order mark."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    return None


def sniff_wide(data: bytes) -> str | None:
    """'utf-16-le'/'-be' or 'utf-32-le'/'-be' when BOM-less wide text is obvious.

    Only NUL patterns count as obvious: ASCII-range characters in UTF-16 have a NUL in the
    high byte, so NULs pile up at odd (LE) or even (BE) positions while the other positions
    have almost none. Text with few ASCII characters (all-CJK UTF-16) is not recognised;
    that needs a BOM.
    """
    sample = data[:4096]
    if len(sample) >= 8 and len(data) % 4 == 0:
        units = len(sample) // 4
        for name, zero_at, nonzero_at in (("utf-32-le", (2, 3), 0), ("utf-32-be", (0, 1), 3)):
            hits = sum(
                1
                for i in range(0, units * 4, 4)
                if sample[i + zero_at[0]] == 0
                and sample[i + zero_at[1]] == 0
                and sample[i + nonzero_at] != 0
            )
            if hits >= 0.9 * units:
                return name
    if len(sample) >= 4 and len(data) % 2 == 0:
        pairs = len(sample) // 2
        even = sample[0 : pairs * 2 : 2].count(0)
        odd = sample[1 : pairs * 2 : 2].count(0)
        if odd >= 0.1 * pairs and even <= 0.01 * pairs:
            return "utf-16-le"
        if even >= 0.1 * pairs and odd <= 0.01 * pairs:
            return "utf-16-be"
    return None


def too_many_nuls(data: bytes) -> bool:
    """True when NUL bytes say "binary": more than one per thousand bytes (at least one)."""
    nuls = data.count(0)
    return nuls > 0 and nuls >= max(1, len(data) // 1000)


def control_problem(text: str) -> str | None:
    """A detail when decoded text is mostly control characters (binary in disguise)."""
    if not text:
        return None
    bad = len(_CONTROL_RE.findall(text))
    if bad >= 2 and bad / len(text) > 0.02:
        return (
            f"{bad:,} of {len(text):,} characters are control characters "
            f"({bad / len(text):.0%}); this looks like binary data, not text"
        )
    return None


def decode_bytes(data: bytes) -> Decoded | DecodeFailure:
    """Decode one record's bytes (a whole .txt file, a JSONL line, a binary cell)."""
    bom = detect_bom(data)
    if bom is not None:
        name, skip = bom
        try:
            text = data[skip:].decode("utf-8" if name == "utf-8-sig" else name)
        except UnicodeDecodeError as exc:
            return DecodeFailure(
                Reason.UNDECODABLE,
                f"starts with a {name} byte-order mark but is not valid {name} "
                f"(at byte {exc.start + skip}); re-save the file as UTF-8",
            )
        return _checked(Decoded(text, name))
    what = binary_signature(data)
    if what is not None:
        return DecodeFailure(Reason.NOT_TEXT, f"content is {what}, not text")
    wide = sniff_wide(data)
    if wide is not None:
        try:
            return _checked(Decoded(data.decode(wide), wide))
        except UnicodeDecodeError:
            pass  # NUL pattern was a coincidence; treat as binary below
    if too_many_nuls(data):
        return DecodeFailure(
            Reason.NOT_TEXT,
            f"contains {data.count(0):,} NUL bytes in {len(data):,} bytes; this is binary data "
            "(or UTF-16 without a byte-order mark that could not be recognised)",
        )
    try:
        return _checked(Decoded(data.decode("utf-8"), "utf-8"))
    except UnicodeDecodeError:
        pass
    lossy = _mostly_utf8(data)
    if lossy is not None:
        return _checked(Decoded(lossy, UTF8_REPLACED))
    return _checked(decode_legacy(data))


def _checked(result: Decoded | DecodeFailure) -> Decoded | DecodeFailure:
    if isinstance(result, Decoded):
        problem = control_problem(result.text)
        if problem is not None:
            return DecodeFailure(Reason.NOT_TEXT, f"decoded as {result.encoding}, but {problem}")
    return result


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few stray bytes (a truncated last character, one pasted cp1252 byte).

    Reading such a file as cp1252 would turn every correct character into mojibake, so
    when valid multi-byte sequences outnumber invalid bytes 8 to 1 the invalid bytes
    become U+FFFD and the rest stays right.
    """
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    valid = sum(1 for ch in text if ord(ch) > 0x7F) - invalid - data.count(b"\xef\xbf\xbd")
    if invalid > 0 and valid >= 8 * invalid:
        return text
    return None


def is_utf8_prefix(data: bytes) -> bool:
    """True when ``data`` is valid UTF-8, allowing a character cut off at the end."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def decode_legacy(data: bytes, complete: bool = True) -> Decoded | DecodeFailure:
    """Pick the legacy (8-bit or East Asian multi-byte) code page that best explains ``data``.

    ``complete`` is False when ``data`` is the head of a longer stream (it may then end
    inside a multi-byte character).

    Candidates are ranked by an implausibility score of their decoding (scripts mixed
    inside a word, case flips inside a word, symbols between letters, Latin words made only
    of accented letters, control characters); ties go to the reading whose accented
    letters one European orthography explains best, then to the earlier candidate, and
    the order prefers cp1252, cp1251, cp1250 and KOI8-R over rarer code pages.
    """
    sample = data[:SAMPLE_BYTES]
    whole = complete and len(sample) == len(data)
    names = candidate_order(sample, whole)
    scored: list[tuple[float, int, int, str, int]] = []
    for rank, name in enumerate(names):
        text = _decode_prefix(sample, name, whole)
        if text is None:
            continue
        penalty, units = implausibility(text)
        scored.append((penalty, tie_breaker(text), rank, name, units))
    # Ties go to the earlier candidate, so a reading identical to cp1252's is reported as
    # cp1252 (the first candidate).
    scored.sort()
    for penalty, _, _, name, units in scored:
        if penalty > _UNDECODABLE_RATIO * max(units, 1):
            continue
        text = _decode_prefix(data, name, complete)
        if text is None:
            continue  # the sample decoded, the rest of the file does not
        return Decoded(text, name)
    tried = ", ".join(n for *_, n, _ in sorted(scored, key=lambda s: s[2])[:6]) or "none"
    return DecodeFailure(
        Reason.UNDECODABLE,
        "not valid UTF-8, and no legacy encoding gives plausible text "
        f"(code pages that decode it at all: {tried}); re-save the file as UTF-8",
    )


def candidate_order(sample: bytes, whole: bool = True) -> list[str]:
    """Code pages to try, most trusted first: the common ones, then charset-normalizer's.

    charset-normalizer's own ranking is not used as a prior: on single sentences it puts
    cp1250 or cp775 ahead of cp1252 for Norwegian "på" or Italian "città", and
    mac-cyrillic ahead of cp1251. Its candidates still matter for code pages the fixed
    list lacks (Greek, Turkish, Baltic, CJK), where the fixed ones score badly.

    ``whole`` is False when ``sample`` is the head of a longer file and so may end inside
    a multi-byte character; charset-normalizer drops a multi-byte code page that cannot
    decode its whole input, so it is also asked about the sample cut 1 to 3 bytes shorter
    (a legacy multi-byte character is at most 4 bytes).
    """
    names = [*_FALLBACKS]
    for cut in range(1 if whole else 4):
        try:
            for match in from_bytes(sample[: len(sample) - cut]):
                name = _normal_name(match.encoding)
                if name is not None and name not in names:
                    names.append(name)
        except Exception:  # a detector bug must not lose the record; the fixed list remains
            pass
    if _LAST_RESORT not in names:
        names.append(_LAST_RESORT)
    return names


@lru_cache(maxsize=256)
def _normal_name(name: str) -> str | None:
    """Codec name as Python spells it, or None for codecs that cannot be legacy text here.

    UTF-16/32 are handled by the BOM and NUL sniffers; code pages that do not map ASCII to
    itself (EBCDIC, UTF-7) would misread the JSON/CSV structure around the text.
    """
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if info.name.startswith(("utf-16", "utf-32", "utf-7", "utf-8")):
        return None
    probe = b'The quick brown fox, 0123456789 {"a": [1]}\n'
    try:
        if probe.decode(info.name) != probe.decode("ascii"):
            return None
    except UnicodeDecodeError:
        return None
    return info.name


def _try_decode(data: bytes, name: str) -> str | None:
    try:
        return data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None


def _decode_prefix(sample: bytes, name: str, whole: bool) -> str | None:
    """Decode a sample that may end inside a multi-byte character."""
    try:
        return codecs.getincrementaldecoder(name)().decode(sample, final=whole)
    except (UnicodeDecodeError, LookupError):
        return None


@lru_cache(maxsize=65536)
class LineDecoder:
    """Decodes the lines of one JSONL/CSV file.

    The file-level guess (from its first bytes) is a prior, not a verdict: a UTF-8 file
    with one pasted cp1252 line still gets that line right, and a cp1252 file whose
    later lines are UTF-8 keeps them as UTF-8. Order per line: UTF-8, then the file's
    legacy code page, then full detection on the line alone.
    """

    def __init__(self, legacy: str | None, utf8_label: str = "utf-8") -> None:
        self.legacy = legacy
        # Lines of a UTF-16 file arrive transcoded to UTF-8; record what the file was.
        self.utf8_label = utf8_label

    def decode(self, line: bytes) -> Decoded | DecodeFailure:
        if line.isascii():
            return Decoded(line.decode("ascii"), self.legacy or self.utf8_label)
        try:
            return Decoded(line.decode("utf-8"), self.utf8_label)
        except UnicodeDecodeError:
            pass
        if self.legacy is not None:
            text = _try_decode(line, self.legacy)
            if text is not None:
                return Decoded(text, self.legacy)
        return decode_bytes(line)

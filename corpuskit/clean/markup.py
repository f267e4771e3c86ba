"""Step ``markup``: HTML (or HTML remnants in plain text) to plain text."""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterator

from corpuskit.clean.unicode import C1_TO_CP1252

# ---------------------------------------------------------------------------------------
# Step 2: markup
# ---------------------------------------------------------------------------------------
#
# Two situations look alike and need opposite treatment:
#  * HTML: a page or fragment, or text littered with <p>/<br>/<b>/&amp; remnants of one;
#  * prose ABOUT HTML: a tech article quoting `<script src=...>` or "the <img> element".
# Clean web text has plenty of the second (a third of the readability pages mention tags),
# so markup is handled in one of two modes:
#  * document mode (the text starts with a tag, or >= 30 % of its lines hold a known tag):
#    every known tag is markup; script/style/head/... are dropped with their content;
#    source newlines are layout (HTML whitespace), block elements make the paragraphs;
#  * remnant mode (otherwise): only formatting/structure tags (<p>, <br>, <b>, <a>, <div>,
#    <li>, ...) and entities are markup; any other "<" is literal text and is kept, as are
#    the text's own line breaks.
# In both modes a tag needs HTML's shape (_is_tag): attributes written name=value (or a
# known boolean one), and an opening tag its closing partner unless it is void, may omit
# its end tag or has a name=value attribute. "if (a<b && c>d)", "x<a and b>y" and "the <b>
# element" are prose.
# The step runs at all only when the text holds a remnant-class tag or a valid entity. Its
# output holds neither (both modes parse them), which is what makes it idempotent.

_TAGS = (
    "a|abbr|address|area|article|aside|audio|b|base|bdi|bdo|big|blockquote|body|br|button|"
    "canvas|caption|center|cite|code|col|colgroup|data|datalist|dd|del|details|dfn|dialog|"
    "div|dl|dt|em|embed|fieldset|figcaption|figure|font|footer|form|h[1-6]|head|header|"
    "hgroup|hr|html|i|iframe|img|input|ins|kbd|label|legend|li|link|main|map|mark|menu|meta|"
    "meter|nav|noscript|object|ol|optgroup|option|output|p|param|picture|pre|progress|q|rp|"
    "rt|ruby|s|samp|script|section|select|small|source|span|strike|strong|style|sub|"
    "summary|sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|time|title|tr|track|"
    "tt|u|ul|var|video|wbr"
)
# Tags that are never worth keeping as literal text, even in prose about HTML.
_REMNANT_TAGS = (
    "a|abbr|b|big|blockquote|br|center|cite|dd|del|div|dl|dt|em|font|h[1-6]|hr|i|ins|li|"
    "mark|ol|p|q|s|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|tt|u|ul|wbr"
)


# A tag's attributes as HTML spells them: name, name=value, name="value", name='value'.
# "<b && c>" in "if (a<b && c>d)" has no such shape, so it is text, not a tag.
_ATTR_NAME = r"[A-Za-z_:@][-\w:.@]*"  # data-id, aria-label, xml:lang, and Vue's @click, :src
_ATTRS = rf"""(?:\s+{_ATTR_NAME}(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*/?"""


def _tag_body(names: str) -> str:
    return rf"/?(?:{names})(?=[\s/>]){_ATTRS}>"


_DOCUMENT_START_RE = re.compile(r"<(?:!--.*?-->|!doctype[^<>]*>)", re.I | re.S)
_REMNANT_TAG_BODY = _tag_body(_REMNANT_TAGS)
_REMNANT_TAG_RE = re.compile("<" + _REMNANT_TAG_BODY, re.I)
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|([A-Za-z][A-Za-z0-9]{1,31}));")
# "&" that does not start a complete entity stays literal ("AT&T", "?a=1&copy=2").
_STRAY_AMP_RE = re.compile(r"&(?!#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_HTML5_ENTITIES = frozenset(name for name in html.entities.html5 if name.endswith(";"))
_DOCUMENT_LINE_FRACTION = 0.3
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend "
    "li main menu nav ol p pre section summary table tbody tfoot thead tr ul".split()
)


def _names(alternation: str) -> frozenset[str]:
    names = alternation.replace("h[1-6]", "h1|h2|h3|h4|h5|h6").split("|")
    return frozenset(names)


_ALL_TAG_NAMES = _names(_TAGS)
_REMNANT_TAG_NAMES = _names(_REMNANT_TAGS)
# Every "<" in one pass: a complete tag (name, attributes, ">"), a comment or doctype, or
# a bare "<". The callback decides per mode, which is 5x faster than one regex per job.
_LT_RE = re.compile(
    rf"<(?:(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>])({_ATTRS}>)"
    r"|(!--.*?-->|![dD][oO][cC][tT][yY][pP][eE][^<>]*>))?",
    re.S,
)
# Attribute names that stand alone in real markup (<td nowrap>, <option selected>). Any
# other bare word ("<a and b>" in "x<a and b>y") is prose, unless the tag also has a
# name=value attribute.
_BOOLEAN_ATTRS = frozenset(
    "allowfullscreen async autofocus autoplay checked compact controls default defer "
    "disabled formnovalidate hidden inert ismap itemscope loop multiple muted nomodule "
    "noresize noshade novalidate nowrap open readonly required reversed selected".split()
)
_ATTR_RE = re.compile(rf"""({_ATTR_NAME})(\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
# Elements that stand without a partner tag: void ones, and those whose end tag HTML lets
# the writer leave out ("text<p>more", "<li>one<li>two").
_UNPAIRED_OK = frozenset(
    "area base br col embed hr img input link meta param source track wbr "
    "p li dd dt td th tr option thead tbody tfoot colgroup html head body".split()
)
_DROP_TAGS = [
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
    "canvas", "select", "button", "nav", "head", "title", "textarea", "datalist",
]  # fmt: skip
# Form feed marks breaks through the parser: it is HTML whitespace, so Lexbor keeps it
# even inside tables (any other marker character would be foster-parented out of them).
_FF = "\x0c"
_FF_RUN_RE = re.compile(_FF + "{2,}")


def _closing_names(text: str) -> frozenset[str]:
    """Lower-cased names of the well-formed closing tags in ``text``."""
    return frozenset(
        m.group(2).lower() for m in _LT_RE.finditer(text) if m.group(1) and m.group(2) is not None
    )


def _is_tag(m: re.Match[str], names: frozenset[str], closing: frozenset[str]) -> bool:
    """Whether a tag-shaped ``_LT_RE`` match is markup rather than prose.

    Prose uses "<" and ">" too ("if (a<b && c>d)", "x<a and b>y", "the <b> element"). A tag
    counts when its name is in ``names``, its attributes are name=value pairs or known
    boolean ones, and, for an opening tag, its closing partner is among ``closing`` (the
    names of the text's closing tags), unless it has a name=value attribute or the element
    is void or may omit its end tag.
    """
    name = m.group(2).lower()
    if name not in names:
        return False
    attrs = _ATTR_RE.findall(m.group(3))
    valued = any(value for _, value in attrs)
    if not valued and any(n.lower() not in _BOOLEAN_ATTRS for n, _ in attrs):
        return False
    if m.group(1) or valued or name in _UNPAIRED_OK:
        # A lone closing tag is the commonest remnant of cut-off HTML ("wreck</font> in");
        # prose spells tags out with their opening form ("the <b> element").
        return True
    return name in closing


def _markup_tags(text: str, names: frozenset[str]) -> Iterator[re.Match[str]]:
    """The tags of ``text`` that count as markup by the evidence asked of non-documents."""
    closing = _closing_names(text)
    for m in _LT_RE.finditer(text):
        if m.group(2) is not None and _is_tag(m, names, closing):
            yield m


def has_markup(text: str) -> bool:
    if (
        "<" in text
        and _REMNANT_TAG_RE.search(text)
        and next(_markup_tags(text, _REMNANT_TAG_NAMES), None) is not None
    ):
        return True
    if "&" in text:
        for m in _ENTITY_RE.finditer(text):
            if m.group(1) is None or m.group(1) + ";" in _HTML5_ENTITIES:
                return True
    return False


def _is_document(text: str) -> bool:
    """HTML proper, as opposed to prose with a few tags or entities in it."""
    stripped = text.lstrip()
    if _DOCUMENT_START_RE.match(stripped):
        return True
    tags = list(_markup_tags(text, _ALL_TAG_NAMES)) if "<" in text else []
    if not tags:
        return False
    if tags[0].start() == len(text) - len(stripped):  # the text starts with a tag
        return True
    lines = [line for line in text.split("\n") if line.strip()]
    tagged = len({text.count("\n", 0, m.start()) for m in tags})
    return tagged >= _DOCUMENT_LINE_FRACTION * len(lines)


def _mark_tags(text: str, document: bool) -> str:
    """Escape every "<" the parser must not see; put break markers before block tags.

    Form feeds go before block tags (two: a paragraph) and <br> (one: a line); a space
    before table cells keeps "Bridge</td><td>1911" apart.
    """
    # An HTML document writes a literal "<b>" as "&lt;b&gt;", but the document test is a
    # heuristic: the partner evidence is asked in both modes.
    names = _ALL_TAG_NAMES if document else _REMNANT_TAG_NAMES
    closing = _closing_names(text)

    def mark(m: re.Match[str]) -> str:
        name = m.group(2)
        if name is not None:
            name = name.lower()
            if _is_tag(m, names, closing):
                if name in _BLOCK_TAGS:
                    return _FF + _FF + m.group(0)
                if name == "br":
                    return _FF + m.group(0)
                if name in ("td", "th"):
                    return " " + m.group(0)
                return m.group(0)
        elif m.group(4) is not None and document:
            return m.group(0)
        return "&lt;" + m.group(0)[1:]

    return _LT_RE.sub(mark, text)


# Characters the HTML parser itself rewrites or drops in text (NUL, CR, form feed, which
# is also our break marker) or cannot take (lone surrogates), and the start of a tag.
_PARSER_SENSITIVE_RE = re.compile("[<\x00\r\x0c\ud800-\udfff]")
# HTML whitespace: dropped by the parser at the start of a document.
_HTML_SPACE = "\t\n\x0c\r "


def _reference_value(match: re.Match[str]) -> str | None:
    """What the HTML5 tokenizer makes of one complete character reference in text, or None
    when that is not simply a lookup (a name known only without ";", which the tokenizer
    matches by prefix) or the result is HTML whitespace (dropped at the start)."""
    ref = match.group(0)
    if match.group(1) is not None:  # named
        value = html.entities.html5.get(ref[1:])
    else:
        num = int(ref[3:-1], 16) if ref[2] in "xX" else int(ref[2:-1])
        if num == 0 or num > 0x10FFFF or 0xD800 <= num <= 0xDFFF:
            value = "\ufffd"
        elif 0x80 <= num <= 0x9F:  # the windows-1252 reading, where it defines one
            value = C1_TO_CP1252.get(num, chr(num))
        else:  # controls and noncharacters included: a parse error, but kept
            value = chr(num)
    if value is None or any(c in _HTML_SPACE for c in value):
        return None
    return value


def _decode_references(text: str) -> str | None:
    """``html_to_text(text)`` without the parser, for text whose only markup is character
    references (the common case: "&#8217;" in scraped prose), else None.

    The parser's whole effect on such text is fixed by the HTML5 spec: each complete
    reference is replaced by its character(s), a stray "&" stays as it is, and leading
    whitespace is dropped (no body has started yet); ``html_to_text`` then strips spaces
    and tabs at both ends. That costs ~3 µs here and ~30 µs through Lexbor. Anything
    else -- a "<", a character the parser rewrites, a reference resolved by prefix or
    decoding to whitespace -- goes to the parser.
    """
    if _PARSER_SENSITIVE_RE.search(text):
        return None
    parts: list[str] = []
    end = 0
    for match in _ENTITY_RE.finditer(text):
        value = _reference_value(match)
        if value is None:
            return None
        parts.append(text[end : match.start()])
        parts.append(value)
        end = match.end()
    if not parts:  # no reference: not what this is for (a blank text is a "document")
        return None
    parts.append(text[end:])
    return "".join(parts).lstrip(_HTML_SPACE).strip(" \t")


def html_to_text(text: str) -> str:
    from selectolax.lexbor import LexborHTMLParser

    simple = _decode_references(text)
    if simple is not None:
        return simple
    document = _is_document(text)
    text = _mark_tags(text.replace(_FF, " "), document)
    text = _STRAY_AMP_RE.sub("&amp;", text)
    if document:
        text = re.sub(r"\n[ \t\r]*\n", _FF + _FF, text)
    tree = LexborHTMLParser(text)
    if document:
        tree.strip_tags(_DROP_TAGS)
    body = tree.body
    out = body.text(deep=True, separator="", strip=False) if body is not None else ""
    # str methods, not regexes: a regex over every space of the page cost ~100 µs.
    segments = out.split(_FF)
    if document:  # HTML whitespace: any run is one space, breaks come from the markers
        segments = [" ".join(seg.split()) for seg in segments]
    else:
        segments = [seg.strip(" \t") for seg in segments]
    return _FF_RUN_RE.sub("\n\n", _FF.join(segments)).replace(_FF, "\n")

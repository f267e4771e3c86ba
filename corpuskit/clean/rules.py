"""Furniture rules: load the packaged rules file and the user's, and validate every entry.

The rules themselves are data: ``corpuskit/rules/boilerplate.toml`` (its header comment
documents the format). A rule author edits that file; this module only reads it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from corpuskit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


PACKAGED_RULES = "rules/boilerplate.toml"
RULES_DOC = "see the comments at the top of corpuskit/rules/boilerplate.toml for the format"


# ---------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One furniture rule as loaded from a rules file (kept for error messages and docs)."""

    kind: str  # "line" or "tail"
    pattern: str
    max_chars: int
    case_sensitive: bool
    lang: str
    note: str
    origin: str  # "file:line"
    # Documentation the tests hold every packaged rule to: furniture the rule removes, and
    # prose that looks like it and must stay.
    examples: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()
    # Strings of which every match holds at least one (lower case unless case_sensitive):
    # the rule is tried only on paragraphs that contain one (see RuleMatcher).
    literals: tuple[str, ...] = ()


# Escapes (\S, \W, \N{...}) are exempt from the lower-case rule for patterns.
_ESCAPE_RE = re.compile(r"\\(?:N\{[^}]*\}|.)", re.S)
_RULE_KEYS = {
    "pattern",
    "max_chars",
    "case_sensitive",
    "lang",
    "note",
    "examples",
    "near_misses",
    "literals",
}
_DEFAULT_MAX_CHARS = {"line": 200, "tail": 80}


def _entry_lines(source: str, kind: str) -> list[int]:
    """1-based line numbers of each ``[[kind]]`` header, so errors can point into the file."""
    header = re.compile(rf"^[ \t]*\[\[[ \t]*{kind}[ \t]*\]\]", re.M)
    return [source.count("\n", 0, m.start()) + 1 for m in header.finditer(source)]


def _parse_rules(source: str, name: str) -> list[Rule]:
    """Validate one rules document; every problem becomes a ConfigError naming file, rule, key."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rules file {name}: not valid TOML: {exc}; {RULES_DOC}") from None
    unknown = sorted(set(data) - {"line", "tail"})
    if unknown:
        raise ConfigError(
            f"rules file {name}: unknown top-level key {unknown[0]!r}; only [[line]] and "
            f"[[tail]] rule tables are allowed; {RULES_DOC}"
        )
    rules: list[Rule] = []
    for kind in ("line", "tail"):
        entries = data.get(kind, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigError(
                f"rules file {name}: key {kind!r} must be an array of tables written as "
                f"[[{kind}]]; {RULES_DOC}"
            )
        lines = _entry_lines(source, kind)
        for i, entry in enumerate(entries):
            at = f"{name}:{lines[i]}" if i < len(lines) else name
            where = f"rules file {name}: [[{kind}]] rule #{i + 1}" + (
                f" (line {lines[i]})" if i < len(lines) else ""
            )
            extra = sorted(set(entry) - _RULE_KEYS)
            if extra:
                raise ConfigError(
                    f"{where}: unknown key {extra[0]!r} (allowed: "
                    f"{', '.join(sorted(_RULE_KEYS))}); {RULES_DOC}"
                )
            pattern = entry.get("pattern")
            if not isinstance(pattern, str) or not pattern:
                raise ConfigError(
                    f"{where}: key 'pattern' is missing or not a non-empty string; {RULES_DOC}"
                )
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"{where}: key 'pattern' is not a valid regular expression ({exc}); {RULES_DOC}"
                ) from None
            if re.match(r"\(\?[aiLmsux]+\)", pattern):
                raise ConfigError(
                    f"{where}: key 'pattern' starts with a global inline flag; use a scoped "
                    f"group like (?s:...) instead (case: see case_sensitive); {RULES_DOC}"
                )
            max_chars = entry.get("max_chars", _DEFAULT_MAX_CHARS[kind])
            if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
                raise ConfigError(
                    f"{where}: key 'max_chars' must be a positive integer; {RULES_DOC}"
                )
            case_sensitive = entry.get("case_sensitive", False)
            letters = _ESCAPE_RE.sub("", pattern)
            if case_sensitive is False and letters != letters.lower():
                raise ConfigError(
                    f"{where}: key 'pattern' has upper-case letters; case-insensitive "
                    f"patterns are matched against the lower-cased paragraph, so write them "
                    f"in lower case (or set case_sensitive = true); {RULES_DOC}"
                )
            if not isinstance(case_sensitive, bool):
                raise ConfigError(
                    f"{where}: key 'case_sensitive' must be true or false; {RULES_DOC}"
                )
            for key in ("lang", "note"):
                if not isinstance(entry.get(key, ""), str):
                    raise ConfigError(f"{where}: key {key!r} must be a string; {RULES_DOC}")
            for key in ("examples", "near_misses", "literals"):
                value = entry.get(key, [])
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(
                        f"{where}: key {key!r} must be an array of strings; {RULES_DOC}"
                    )
            literals = tuple(entry.get("literals", []))
            _check_literals(where, pattern, case_sensitive, literals, entry.get("examples", []))
            rules.append(
                Rule(
                    kind=kind,
                    pattern=pattern,
                    max_chars=max_chars,
                    case_sensitive=case_sensitive,
                    lang=entry.get("lang", ""),
                    note=entry.get("note", ""),
                    origin=at,
                    examples=tuple(entry.get("examples", [])),
                    near_misses=tuple(entry.get("near_misses", [])),
                    literals=literals,
                )
            )
    return rules


def _check_literals(
    where: str, pattern: str, case_sensitive: bool, literals: tuple[str, ...], examples: list[str]
) -> None:
    """What can be checked of a rule's ``literals`` without reading its regex: no empty or
    upper-case (for a case-insensitive rule) literal, and every example the pattern
    matches holds one. Raises ConfigError."""
    if any(not lit for lit in literals):
        raise ConfigError(f"{where}: key 'literals' holds an empty string; {RULES_DOC}")
    if not case_sensitive and any(lit != lit.lower() for lit in literals):
        raise ConfigError(
            f"{where}: key 'literals' has upper-case letters; case-insensitive rules are "
            f"matched against the lower-cased paragraph; {RULES_DOC}"
        )
    if not literals:
        return
    compiled = re.compile(pattern)
    for example in examples:
        text = example if case_sensitive else example.lower()
        if compiled.match(text) and not any(lit in text for lit in literals):
            raise ConfigError(
                f"{where}: key 'literals': the example {example!r} matches the pattern but "
                f"holds none of {list(literals)}; every match must hold one; {RULES_DOC}"
            )


def load_rules(extra_files: Sequence[str] = ()) -> list[Rule]:
    """The packaged rules followed by the rules of each user file, in order."""
    packaged = resources.files("corpuskit").joinpath(PACKAGED_RULES)
    rules = _parse_rules(packaged.read_text(encoding="utf-8"), "corpuskit/" + PACKAGED_RULES)
    for path in extra_files:
        try:
            source = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"rules file {path}: cannot be read ({exc}); check the path in "
                f"boilerplate_rules; {RULES_DOC}"
            ) from None
        rules.extend(_parse_rules(source, str(path)))
    return rules

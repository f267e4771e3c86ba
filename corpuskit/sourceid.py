"""Source ids for records that do not carry one: a rule over the input file's path.

Rules: ``stem`` (default: the file name without extension), ``parent`` (the folder holding
the file), ``top`` (the first folder below the source argument), or a regular expression
searched in the provenance path whose named group ``source`` (else group 1, else the whole
match) is the id. A path the regex does not match falls back to the stem and is counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from corpuskit.config import check_source_id_rule
from corpuskit.sources.formats import strip_suffix


def stem(path: str) -> str:
    """The file name without its input format's ending (else without its last extension)."""
    name = path.rsplit("/", 1)[-1]
    stripped = strip_suffix(name)
    if stripped is not None:
        return stripped
    return name.rsplit(".", 1)[0] if "." in name.strip(".") else name


@dataclass(frozen=True)
class SourceIdRule:
    rule: str = "stem"
    _regex: re.Pattern[str] | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", check_source_id_rule(self.rule))

    def derive(self, path: str) -> tuple[str, bool]:
        """(source id, whether the rule applied); falls back to the stem."""
        parts = path.split("/")
        if self.rule == "stem":
            return stem(path), True
        if self.rule == "parent":
            return (parts[-2], True) if len(parts) >= 2 else (stem(path), False)
        if self.rule == "top":
            return (parts[1], True) if len(parts) >= 3 else (stem(path), False)
        assert self._regex is not None
        match = self._regex.search(path)
        if match is None:
            return stem(path), False
        if "source" in match.groupdict():
            value = match.group("source")
        elif match.re.groups >= 1:
            value = match.group(1)
        else:
            value = match.group(0)
        return (value, True) if value else (stem(path), False)

"""The lines of a rule file that state each rule, as written: what a published result keeps of its rules.

A published result records, for every indicator (and the exclusion, ranking and outcomes), the text
of the rule it was computed with, so that a later `policykb diff` can show which lines changed.
The file is read with PyYAML's safe composer only for the line span of each rule; nothing is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

SECTIONS = ("exclusion", "ranking", "outcomes")


@dataclass(frozen=True)
class RuleText:
    """One rule's lines: where they start in the file (1-based) and the text, comment lines trimmed off the end."""

    key: str  # an indicator code (B4), or exclusion / ranking / outcomes
    line: int
    text: str


def rule_texts(path: Path) -> dict[str, RuleText]:
    """Each indicator's block under `indicators:` and the exclusion, ranking and outcomes sections."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    found: dict[str, RuleText] = {}
    if not isinstance(root, yaml.MappingNode):
        return found
    for key, value in root.value:
        if key.value == "indicators" and isinstance(value, yaml.MappingNode):
            for code, body in value.value:
                found[str(code.value)] = _block(str(code.value), lines, code.start_mark.line, body.end_mark.line)
        elif key.value in SECTIONS:
            found[key.value] = _block(key.value, lines, key.start_mark.line, value.end_mark.line)
    return found


def _block(key: str, lines: list[str], start: int, end: int) -> RuleText:
    """Lines start..end (0-based, end exclusive, as PyYAML marks them), without trailing comments or blanks."""
    end = max(end, start + 1)
    block = lines[start:end]
    while len(block) > 1 and (not block[-1].strip() or block[-1].lstrip().startswith("#")):
        block.pop()
    return RuleText(key, start + 1, "\n".join(block))

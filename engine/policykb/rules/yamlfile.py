"""A rule file's YAML, read within limits and with its mistakes named in the words of rules/README.md.

PyYAML's own messages (`mapping values are not allowed here`, `expected <block end>, but found
'<block mapping start>'`) describe the parser's state, often lines away from the mistake. Office staff
need the line to change and what to write there. So a rule file is read here in three steps:

1. its bytes: at most MAX_BYTES, UTF-8 only (a GBK, Big5 or UTF-16 file is named as such, with how to
   save it as UTF-8; guessing an encoding would leave a file that other tools show differently);
2. composed with PyYAML's safe loader under limits: nesting depth, the number of values once anchors
   and aliases (&name, *name) are expanded (an alias bomb), keys that are plain words only;
3. when PyYAML stops, its marks and the offending lines are read to name the mistake: wrong
   indentation (and the indentation expected), a tab, a full-width colon or space, a missing colon or
   space after it, an unclosed quote or bracket, a list item where `key: value` belongs, a value that
   needs quotes. A full-width colon that PyYAML accepts as text (`cap：10` alone under a key) is
   named too.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import Location, RuleError, RuleErrors

MAX_BYTES = 512 * 1024  # some 35 times rules/fujian-2021.yaml
MAX_VALUES = 100_000  # keys and values, counting every alias as a copy of what it repeats
MAX_DEPTH = 20  # a rubric needs six levels (indicators → B4 → require → item → when)

SAVE_AS_UTF8 = ("save the file as UTF-8: in Notepad choose File → Save As… and Encoding UTF-8; in VS Code "
                "choose “Reopen with Encoding” (the encoding named above), then “Save with Encoding” → UTF-8")
QUOTE_HINT = "put the whole value in quotes"
KEY_VALUE = "write `key: value` with a space after the colon; see rules/README.md, section 2"

# a key written with a full-width colon: `cap：10`, `- id：x`, `{id: a, points：3}`
_FULLWIDTH_KEY = re.compile(r"(?:^[ \t]*(?:-[ \t]+)*|[{,][ \t]*)([A-Za-z_][\w.-]*)[ \t]*(：)")
_NO_SPACE = re.compile(r"^[ \t]*(?:-[ \t]+)*([A-Za-z_][\w.-]*):(?=[^\s:/])")
_MISSING_COLON = re.compile(r"^[ \t]*(?:-[ \t]+)*([A-Za-z_][\w.-]*)[ \t]+(\S.*?)\s*$")
_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_KEY_LINE = re.compile(r"^[ \t]*(?:-[ \t]+)*([^\s#:][^:#]*?):(?:[ \t]+|$)")


# ---------------------------------------------------------------------------------------------
# 1. Bytes
# ---------------------------------------------------------------------------------------------

def read_text(path: Path, shown: str) -> str:
    """The text of a rule file: at most MAX_BYTES, UTF-8 (with or without a byte-order mark)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RuleError(f"cannot read the rule file: {exc.strerror}", location=Location(shown),
                        hint="check the path; scheme files live in rules/") from None
    if len(data) > MAX_BYTES:
        try:
            size = Path(path).stat().st_size
        except OSError:
            size = len(data)
        raise RuleError(f"the rule file is {_size(size)}; a rule file may be at most {_size(MAX_BYTES)}",
                        location=Location(shown),
                        hint="a rubric takes a few dozen KB (the Fujian rubric of 18 indicators, rules/fujian-2021.yaml, about 15 KB): check that this is "
                             "the file you meant, and write one scheme per file")
    return decode(data, shown)


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{count // 1024} KB"


def decode(data: bytes, shown: str) -> str:
    """UTF-8 text, or a RuleError naming the encoding the bytes look like and how to save them as UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RuleError("the rule file is saved as UTF-16 (“Unicode” in Notepad), not UTF-8",
                        location=Location(shown, 1, 1), hint=SAVE_AS_UTF8)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = exc.start
    if b"\x00" in data:
        raise RuleError("the rule file is not text in UTF-8 (it holds NUL bytes: UTF-16 or a binary file)",
                        location=_byte_location(shown, data, data.index(b"\x00")), hint=SAVE_AS_UTF8)
    looks = [name for name, codec in (("GBK", "gbk"), ("Big5", "big5")) if _decodes(data, codec)]
    if looks:  # named at its first character beyond ASCII: in GBK or Big5 the first that is not UTF-8
        first = next(i for i, byte in enumerate(data) if byte >= 0x80)
        raise RuleError(f"the rule file is not saved as UTF-8: it looks like {' or '.join(looks)}, what Notepad "
                        "and Excel on Chinese Windows call “ANSI”", location=_byte_location(shown, data, first),
                        hint=SAVE_AS_UTF8)
    raise RuleError(f"the rule file is not saved as UTF-8: byte 0x{data[bad]:02X} here is not UTF-8",
                    location=_byte_location(shown, data, bad), hint=SAVE_AS_UTF8)


def _byte_location(shown: str, data: bytes, at: int) -> Location:
    """Line and column of a byte; the column counts the (valid UTF-8) characters before it on its line."""
    start = data.rfind(b"\n", 0, at) + 1
    before = data[start:at].decode("utf-8-sig" if start == 0 else "utf-8", "replace")
    return Location(shown, data.count(b"\n", 0, at) + 1, len(before) + 1)


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# 2. Composing within limits
# ---------------------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, counting as it composes: depth, values with aliases expanded, plain keys."""

    def __init__(self, text: str, shown: str):
        super().__init__(text)
        self.shown = shown
        self.depth = 0
        self.values = 0
        self.aliased = 0  # of self.values, how many come from expanding aliases
        self.open: set[str] = set()  # anchors whose node is being composed
        self.sizes: dict[int, int] = {}  # id(node) → values it stands for, aliases expanded

    def refuse(self, mark, message: str, hint: str) -> RuleError:
        return RuleError(message, location=_at(self.shown, mark), hint=hint)

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(parent, yaml.MappingNode) and index is None:
            self._check_key(event)
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open:
                raise self.refuse(event.start_mark, f"*{event.anchor} stands inside the &{event.anchor} it repeats",
                                  "an alias repeats a value written before it, never the block it stands in; "
                                  "write the value out")
            node = super().compose_node(parent, index)
            self._count(self._size(node), event.start_mark, aliased=True)
            return node
        if getattr(event, "tag", None) is not None:
            tag = event.tag.replace("tag:yaml.org,2002:", "!!")
            raise self.refuse(event.start_mark, f"a YAML tag `{tag}`: rule files use no tags",
                              "delete it, or put the whole value in quotes if `!` belongs to the text")
        if self.depth >= MAX_DEPTH:
            raise self.refuse(event.start_mark, f"the rule file nests more than {MAX_DEPTH} levels deep here",
                              "a rubric needs a few levels (indicators → B4 → require → when); check the "
                              "indentation and the brackets [ ] { }")
        self._count(1, event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor:
            self.open.add(anchor)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1
            self.open.discard(anchor)

    def _check_key(self, event) -> None:
        target = self.anchors.get(event.anchor) if isinstance(event, yaml.AliasEvent) else None
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)) or \
                (target is not None and not isinstance(target, yaml.ScalarNode)):
            raise self.refuse(event.start_mark, "a key here is a list or a mapping, not a word",
                              "a key is a word such as cap or B4 followed by `: ` and its value; rule files use no "
                              "`? ` keys and no [ ] or { } before a colon")

    def _count(self, values: int, mark, *, aliased: bool = False) -> None:
        self.values += values
        self.aliased += values if aliased else 0
        if self.values > MAX_VALUES:
            if self.aliased:
                raise self.refuse(mark, f"the anchors and aliases (&name, *name) here make the rule file stand for "
                                        f"more than {MAX_VALUES:,} values",
                                  "use an alias only to repeat a text such as an interpretation (`*levels`); "
                                  "write everything else out")
            raise self.refuse(mark, f"the rule file holds more than {MAX_VALUES:,} keys and values",
                              "a rubric holds a few thousand at most: check that this is the rule file you meant")

    def _size(self, node) -> int:
        """The values a node stands for with its aliases expanded (memoised: aliases share nodes)."""
        known = self.sizes.get(id(node))
        if known is None:
            if isinstance(node, yaml.SequenceNode):
                children = node.value
            elif isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
            else:
                children = []
            known = 1 + sum(self._size(child) for child in children)
            self.sizes[id(node)] = known
        return known


def load(path: Path, shown: str) -> yaml.Node | None:
    """The composed YAML of a rule file (None when it is empty); RuleError/RuleErrors name every mistake."""
    return compose(read_text(path, shown), shown)


def compose(text: str, shown: str) -> yaml.Node | None:
    """Compose YAML text within the limits above; mistakes come out as RuleErrors in the guide's words."""
    loader = None
    try:
        loader = _Loader(text, shown)
        root = loader.get_single_node()
    except yaml.reader.ReaderError as exc:
        line, column = _position(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise RuleError(f"a control character (U+{code:04X}) that a text file does not hold",
                        location=Location(shown, line, column),
                        hint="delete it; it may have come with text pasted from another program") from None
    except yaml.MarkedYAMLError as exc:
        raise _Explainer(text, shown).explain(exc) from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is not None:
        colons = [_fullwidth_colon(shown, text, node)
                  for node in sorted(_plain_key_like(root, text), key=lambda n: n.start_mark.index)]
        if colons:
            raise colons[0] if len(colons) == 1 else RuleErrors(colons)
    return root


def _at(shown: str, mark) -> Location:
    return Location(shown, mark.line + 1, mark.column + 1) if mark is not None else Location(shown)


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index, with YAML's line breaks (CRLF, CR, LF, …)."""
    breaks = list(_BREAK.finditer(text, 0, index))
    return len(breaks) + 1, index - (breaks[-1].end() if breaks else 0) + 1


def _plain_key_like(root: yaml.Node, text: str):
    """Plain scalars that are a key with a full-width colon typed as one word: `cap：10` standing alone
    where a key belongs (at the start of its line or as a key), which PyYAML reads as text."""
    seen, stack = set(), [(root, False)]
    while stack:
        node, is_key = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.style is None and "：" in node.value:
                start = node.start_mark
                before = text[start.index - start.column:start.index]
                if (is_key or re.fullmatch(r"[ \t]*(?:-[ \t]+)*", before)) and \
                        re.match(r"[A-Za-z_][\w.-]*[ \t]*：", node.value):
                    yield node
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, False) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend(((key, True), (value, False)))


def _fullwidth_colon(shown: str, text: str, node: yaml.ScalarNode) -> RuleError:
    line, column = _position(text, text.index("：", node.start_mark.index))
    key, rest = node.value.split("：", 1)
    return _colon_error(shown, line, column, key.strip(), rest.strip())


def _colon_error(shown: str, line: int, column: int, key: str, rest: str) -> RuleError:
    example = f"{key}: {rest}" if rest else f"{key}: …"
    return RuleError(f"a full-width colon `：` after `{key}`: YAML needs the ASCII colon `:`",
                     location=Location(shown, line, column),
                     hint=f"write `{example}` (switch the input method to English punctuation for the colon)")


# ---------------------------------------------------------------------------------------------
# 3. What PyYAML's complaint means
# ---------------------------------------------------------------------------------------------

class _Explainer:
    """Reads a PyYAML error's marks and the lines around them, and says what to change."""

    def __init__(self, text: str, shown: str):
        self.text = text
        self.shown = shown
        self.lines = text.splitlines()
        self.starts = [0]  # index in `text` where each line starts
        for line in text.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.tokens = _tokens(text)
        self.block_text = set()  # lines inside a `>-` or `|` text, where anything may stand
        self.quoted = []  # (start, end) indexes of quoted texts, where anything may stand too
        for tok in self.tokens:
            if isinstance(tok, yaml.ScalarToken) and tok.style in ("|", ">"):
                last = tok.end_mark.line if tok.end_mark.column > 0 else tok.end_mark.line - 1
                self.block_text.update(range(tok.start_mark.line + 1, last + 1))
            elif isinstance(tok, yaml.ScalarToken) and tok.style in ('"', "'"):
                self.quoted.append((tok.start_mark.index, tok.end_mark.index))

    def in_quotes(self, row: int, column: int) -> bool:
        index = self.starts[row] + column if row < len(self.starts) else len(self.text)
        return any(start <= index < end for start, end in self.quoted)

    def error(self, line: int, column: int | None, message: str, hint: str) -> RuleError:
        """line and column 0-based, as in PyYAML's marks."""
        return RuleError(message, location=Location(self.shown, line + 1, None if column is None else column + 1),
                         hint=hint)

    def line(self, row: int) -> str:
        return self.lines[row] if 0 <= row < len(self.lines) else ""

    def content_rows(self, last: int):
        """Rows up to `last` (newest first) that hold YAML structure: not blank, a comment or block text."""
        for row in range(min(last, len(self.lines) - 1), -1, -1):
            stripped = self.line(row).strip()
            if stripped and not stripped.startswith("#") and row not in self.block_text:
                yield row

    def explain(self, exc: yaml.MarkedYAMLError) -> RuleError | RuleErrors:
        problem, context = exc.problem or "", exc.context or ""
        mark = exc.problem_mark or exc.context_mark
        if mark is None:
            return RuleError(f"the file cannot be read as YAML (the YAML reader says: {problem or context})",
                             location=Location(self.shown), hint=KEY_VALUE)
        row = mark.line
        for found in (self.runaway_quote(exc), self.fullwidth_space(row), self.fullwidth_colon(row)):
            if found is not None:
                return found
        if "'\\t'" in problem or problem.startswith("found character '\\t'"):
            return self.error(mark.line, mark.column, "a tab: rule files are indented with spaces, never tabs",
                              "replace the tab with spaces; the keys of one block start in the same column, "
                              "usually 2 spaces further in than the key above them")
        if "that cannot start any token" in problem:
            char = problem.split("'")[1] if "'" in problem else "?"
            return self.error(mark.line, mark.column, f"a value cannot start with `{char}`",
                              f"{QUOTE_HINT}: '{char}…'")
        if "simple key" in context:
            return self.simple_key(exc.context_mark)
        if problem == "mapping values are not allowed here":
            return self.colon_in_value(mark) or self.no_space_above(mark.line) or self.indentation_above(mark) \
                or self.generic(exc)
        if problem == "sequence entries are not allowed here":
            return self.indentation_above(mark) or self.error(
                mark.line, mark.column, "a list item (`- …`) on the line of a value",
                "start each `- ` item on a line of its own, under its key")
        if problem.startswith("expected the node content"):
            found = problem.rsplit("but found ", 1)[-1].strip("'")
            return self.error(mark.line, mark.column, f"a value is missing before `{found}`",
                              "write the value (or '' for an empty text), or delete a doubled comma")
        if "while parsing a flow" in context:
            return self.flow(exc)
        if "found unknown escape character" in problem:
            return self.error(mark.line, mark.column, "a backslash `\\` inside double quotes",
                              "use single quotes for text with a backslash: 'C:\\…', or write `\\\\`")
        if problem.startswith("expected <block end>"):
            return self.text_indent(mark) or self.block_end(exc)
        if "expected '<document start>'" in problem:
            first = next(iter(reversed(list(self.content_rows(mark.line)))), mark.line)
            return self.error(first, None, "text outside any key",
                              "start a comment with `#`; everything else is written `key: value`")
        if "found undefined alias" in problem:
            name = problem.split("'")[1] if "'" in problem else ""
            return self.error(mark.line, mark.column, f"*{name} repeats a value that no &{name} above defines",
                              f"write &{name} before the value it names, higher up in the file, or write the value out")
        if "found duplicate anchor" in problem or "found duplicate anchor" in context:
            return self.error(mark.line, mark.column, "the same &name is defined twice",
                              "give each &name its own name")
        if "expected a single document" in context:
            return self.error(mark.line, mark.column, "a second document (`---`) in the rule file",
                              "a rule file is one document: delete the `---` line, or move what follows into a file of its own")
        if "while scanning an alias" in context or "while scanning an anchor" in context:
            return self.error(exc.context_mark.line, exc.context_mark.column,
                              "a value cannot start with `*` or `&` (they name a repeated value)",
                              f"{QUOTE_HINT}: '*…'")
        if "while scanning a directive" in context:
            return self.error(exc.context_mark.line, exc.context_mark.column, "a line cannot start with `%`",
                              f"{QUOTE_HINT}: '%…'")
        if "while scanning a block scalar" in context:
            return self.error(exc.context_mark.line, exc.context_mark.column,
                              "after `>-` or `|` only a comment may follow on the same line",
                              "start the text on the next line, indented further than the key")
        return self.generic(exc)

    # -- causes PyYAML reports away from where they are ----------------------------------------

    def runaway_quote(self, exc) -> RuleError | None:
        """A quote that does not close on its line: PyYAML reads on to the next quote mark, lines later."""
        if "while scanning a quoted scalar" in (exc.context or ""):
            return self.unclosed_quote(exc.context_mark)
        mark = exc.problem_mark
        for tok in self.tokens:
            if isinstance(tok, yaml.ScalarToken) and tok.style in ('"', "'") and \
                    tok.start_mark.line < tok.end_mark.line and mark is not None and tok.end_mark.line == mark.line:
                return self.unclosed_quote(tok.start_mark)
        return None

    def unclosed_quote(self, mark) -> RuleError:
        quote = self.line(mark.line)[mark.column:mark.column + 1] or '"'
        return self.error(mark.line, mark.column, f"the quote {quote} opened here is not closed on this line",
                          f"end the text with {quote} on the same line; a {quote} inside the text is written "
                          + ("''" if quote == "'" else '\\"') + " or the text put in the other kind of quotes")

    def fullwidth_space(self, last: int) -> RuleError | None:
        for row in self.content_rows(last):
            indent = re.match(r"[ \t\u3000]*", self.line(row)).group()
            if "\u3000" in indent and not self.in_quotes(row, indent.index("\u3000")):
                return self.error(row, indent.index("\u3000"), "a full-width space (全角空格) in the indentation",
                                  "indent with ordinary (half-width) spaces only")
        return None

    def fullwidth_colon(self, last: int) -> RuleError | RuleErrors | None:
        """Every key written with a full-width colon up to row `last`, in the order of the file."""
        found = []
        for row in sorted(self.content_rows(last)):
            for key in _FULLWIDTH_KEY.finditer(self.line(row)):
                if not self.in_quotes(row, key.start(2)):
                    rest = re.split(r"[,}\]#]", self.line(row)[key.end():])[0].strip()
                    found.append(_colon_error(self.shown, row + 1, key.start(2) + 1, key.group(1), rest))
        if not found:
            return None
        return found[0] if len(found) == 1 else RuleErrors(found)

    # -- by PyYAML's complaint ------------------------------------------------------------------

    def simple_key(self, mark) -> RuleError:
        """A line PyYAML took for the start of a key whose colon never came."""
        text = self.line(mark.line)
        no_space = _NO_SPACE.match(text)
        if no_space:
            return self.no_space(mark.line, no_space)
        missing = _MISSING_COLON.match(text)
        if missing:
            key, rest = missing.groups()
            return self.error(mark.line, missing.end(1), f"no colon after `{key}`",
                              f"write `{key}: {rest}` ({KEY_VALUE})")
        return self.error(mark.line, mark.column, "this line is not `key: value`", KEY_VALUE)

    def no_space(self, row: int, match) -> RuleError:
        key = match.group(1)
        value = self.line(row)[match.end():].strip()
        return self.error(row, match.end(), f"no space after the colon of `{key}:`",
                          f"write `{key}: {value}`; without the space YAML reads `{key}:{value}` as one word")

    def no_space_above(self, row: int) -> RuleError | None:
        for above in self.content_rows(row):
            match = _NO_SPACE.match(self.line(above))
            if match:
                return self.no_space(above, match)
            if above < row - 1 and _KEY_LINE.match(self.line(above)):
                return None
        return None

    def colon_in_value(self, mark) -> RuleError | None:
        """`name: 当年: 复制…`: a second `: ` on the line of a key."""
        text = self.line(mark.line)
        key = _KEY_LINE.match(text)
        if not key or key.end() > mark.column:
            return None
        value = text[key.end():].split(" #")[0].strip()
        quoted = "'" + value.replace("'", "''") + "'"
        return self.error(mark.line, mark.column, f"a second colon in the value of `{key.group(1).strip()}`",
                          f"text that holds `: ` must be quoted: {key.group(1).strip()}: {quoted}")

    def indentation_above(self, mark) -> RuleError | None:
        """A line further in than the `key: value` line above it, which YAML reads as more of that value."""
        row = mark.line
        rows = list(self.content_rows(row))
        if len(rows) < 2 or rows[0] != row:
            return None
        here, above = rows[0], rows[1]
        indent, indent_above = _indent(self.line(here)), _indent(self.line(above))
        if indent <= indent_above:
            return None
        first = self.first_of_block(row)
        if first is not None:
            return first
        # the odd one out is the line above when the line before it lines up with this one
        if len(rows) > 2 and _indent(self.line(rows[2])) == indent:
            return self.wrong_indent(above, indent_above, [(indent, rows[2]), (indent, here)])
        return self.wrong_indent(here, indent, [(indent_above, above)])

    def text_indent(self, mark) -> RuleError | None:
        """A line of a `>-` text indented less than the lines above it: the text ends there, and YAML
        stumbles over the rest of it."""
        above = mark.line - 1
        while above >= 0 and not self.line(above).strip():
            above -= 1
        if above not in self.block_text or self.line(mark.line)[:mark.column].strip():
            return None
        start = above
        while start - 1 in self.block_text:
            start -= 1
        indent, expected = _indent(self.line(mark.line)), _indent(self.line(above))
        if not _indent(self.line(start - 1)) < indent < expected:  # not a line of the text: another cause
            return None
        after = self._next_row(mark.line)
        if start == above and after is not None and _indent(self.line(after)) == indent:
            # the text's first line is the odd one: YAML took the text's indentation from it
            return self.error(above, expected, f"wrong indentation: {expected} spaces, expected {indent} "
                                               f"(as line {mark.line + 1}, the text below)",
                              f"indent every line of a `>-` text by {indent} spaces")
        return self.error(mark.line, indent, f"wrong indentation: {indent} spaces, expected {expected} "
                                             f"(as line {above + 1}, the text above)",
                          f"indent every line of a `>-` text by {expected} spaces, like its first line")

    def block_end(self, exc) -> RuleError:
        mark, problem = exc.problem_mark, exc.problem
        found = problem.split("but found ", 1)[-1].strip("'")
        if found == "<block mapping start>" or found == "<block sequence start>" or \
                (found == "-" and self.misaligned(mark)):
            return self.first_of_block(mark.line) or \
                self.wrong_indent(mark.line, _indent(self.line(mark.line)), self.open_blocks(mark.line))
        if found == "-":
            return self.error(mark.line, mark.column, "a list item (`- …`) where `key: value` lines belong",
                              "write `key: value` here; a list goes under its own key, e.g. `require:` and then "
                              "the indented `- {when: …, otherwise: …}` lines")
        starts = {"<tag>": "!", "?": "?", "<anchor>": "&", "<alias>": "*", "{": "{", "[": "["}
        if found in starts:
            return self.error(mark.line, mark.column, f"a `{starts[found]}` where a key belongs",
                              f"write `key: value`; {QUOTE_HINT} if `{starts[found]}` belongs to the text")
        if found == ",":
            return self.error(mark.line, mark.column, "a `,` outside brackets",
                              "commas separate items only inside [ ] or { }: delete it, or put the value in quotes")
        if found in ("}", "]"):
            return self.error(mark.line, mark.column, f"a `{found}` that closes nothing",
                              f"delete it, or open the {'mapping with {' if found == '}' else 'list with ['} before it")
        before = self.line(mark.line)[:mark.column].rstrip()
        if found == "<scalar>" and before[-1:] in ('"', "'", "]", "}"):
            what = "closing quote" if before[-1] in "\"'" else f"closing `{before[-1]}`"
            return self.error(mark.line, mark.column, f"text after the {what}",
                              f"{QUOTE_HINT}, or write a quote inside the text as 「」 or “”")
        return self.generic(exc)

    def first_of_block(self, row: int) -> RuleError | None:
        """The line above, when it is the first of its block and alone at its indentation while this
        line and the next agree: YAML took the block's indentation from the odd line (`name:` one space
        too far in under `B5:`), so the odd one is that first line, not the lines that follow it."""
        above = list(self.content_rows(row - 1))[:2]
        after = self._next_row(row)
        if len(above) < 2 or after is None:
            return None
        indent, first, parent = _indent(self.line(row)), _indent(self.line(above[0])), _indent(self.line(above[1]))
        if parent < first and parent < indent != first and _indent(self.line(after)) == indent:
            return self.wrong_indent(above[0], first, [(indent, row)])
        return None

    def _next_row(self, row: int) -> int | None:
        """The next line after `row` that is neither blank nor a comment."""
        return next((r for r in range(row + 1, len(self.lines))
                     if self.line(r).strip() and not self.line(r).lstrip().startswith("#")), None)

    def misaligned(self, mark) -> bool:
        rows = list(self.content_rows(mark.line))
        return len(rows) > 1 and self.line(rows[1]).lstrip().startswith("-") and \
            _indent(self.line(rows[1])) != _indent(self.line(mark.line))

    def open_blocks(self, row: int) -> list[tuple[int, int]]:
        """(indentation, row) of the blocks open above `row`: the nearest line, then each line further out."""
        found, limit = [], None
        for above in self.content_rows(row - 1):
            indent = _indent(self.line(above))
            if limit is None or indent < limit:
                found.append((indent, above))
                limit = indent
            if indent == 0:
                break
        return found

    def wrong_indent(self, row: int, indent: int, options: list[tuple[int, int]]) -> RuleError:
        """Line `row` is indented by `indent` spaces where the indentations of `options` would fit."""
        deeper = [o for o in options if o[0] > indent]
        shallower = [o for o in options if o[0] < indent]
        fits = ([min(deeper)] if deeper else []) + ([max(shallower)] if shallower else [])
        fits.sort(key=lambda o: (abs(o[0] - indent), -o[1]))
        text = self.line(row).strip()
        key = _KEY_LINE.match(self.line(row))
        if text.startswith("-"):
            what, rule = "the `- ` item", "the `- ` items of one list start in the same column"
        else:
            what = f"`{key.group(1).strip()}:`" if key else "this line"
            rule = "the keys of one block start in the same column, 2 spaces further in than the key they belong to"
        expected = " or ".join(f"{n} (as line {r + 1})" for n, r in fits)
        hint = (f"indent {what} by {fits[0][0]} spaces; " if fits else "") + rule
        return self.error(row, indent, f"wrong indentation: {indent} spaces, expected {expected or 'another'}", hint)

    def flow(self, exc) -> RuleError:
        """Inside `{…}` or `[…]`: not closed on its line, a full-width comma, or a value that needs quotes."""
        opened, mark = exc.context_mark, exc.problem_mark
        bracket = self.line(opened.line)[opened.column:opened.column + 1] or "["
        closing = "}" if bracket == "{" else "]"
        if mark.line > opened.line or "end of stream" in (exc.problem or ""):
            example = "{id: city, when: level == city, points: 3}" if bracket == "{" else "[provincial, national]"
            return self.error(opened.line, opened.column, f"the `{bracket}` opened here is not closed on this line",
                              f"end it with `{closing}` on the same line, e.g. {example}")
        inside = self.line(opened.line)[opened.column:mark.column]
        if "，" in inside:
            return self.error(opened.line, opened.column + inside.index("，"),
                              f"a full-width comma `，` inside `{bracket}…{closing}`",
                              "separate the items with the ASCII comma `,` (switch the input method to English punctuation)")
        found = (exc.problem or "").rsplit("but got ", 1)[-1].strip("'")
        what = {"[": "a `[`", "{": "a `{`", ":": "a `: `"}.get(found, f"`{found}`")
        return self.error(mark.line, mark.column, f"{what} in the middle of a value inside `{bracket}…{closing}`",
                          f"{QUOTE_HINT}, e.g. when: \"level in [provincial, national]\"")

    def generic(self, exc) -> RuleError:
        mark = exc.problem_mark or exc.context_mark
        said = "; ".join(p for p in (exc.context, exc.problem) if p)
        return self.error(mark.line, mark.column, f"this line cannot be read as YAML (the YAML reader says: {said})",
                          "indent with spaces, write `key: value` with a space after the colon, and put text that "
                          "holds `: `, `#` or starts with [ { * & in quotes")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _tokens(text: str) -> list:
    """PyYAML's tokens up to where it stopped: where quoted and block texts begin and end."""
    found = []
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            found.append(token)
    except yaml.YAMLError:
        pass
    return found

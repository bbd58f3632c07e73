"""The researcher's guide in the README: its ten questions run, and each prints what the guide shows.

The guide lies between `<!-- guide:start -->` and `<!-- guide:end -->`. Each question starts with a bold
number (`**1. …`); its ```console block holds one `$ policykb …` command and the standard output the guide
promises, line for line (a last line `…` promises only the lines above it, and that more follow); a
```sparql block before it is the query the command's `--file` names. The outputs were checked by hand
against the sample ledgers and Turtle files (tests/data/queries.yaml has the counts for the library queries).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass(frozen=True)
class Question:
    number: int
    title: str
    command: list[str]
    output: list[str]
    complete: bool  # False: the guide shows the first lines only
    files: dict[str, str]  # the query files the command reads, by name


def _guide() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("<!-- guide:start -->", 1)[1].split("<!-- guide:end -->", 1)[0]


def _questions() -> list[Question]:
    found = []
    for part in re.split(r"^(?=\*\*\d+\. )", _guide(), flags=re.M)[1:]:
        number, title = re.match(r"\*\*(\d+)\. (.+?)\*\*", part).groups()
        blocks = re.findall(r"^```(\w+)\n(.*?)^```$", part, flags=re.M | re.S)
        consoles = [body for kind, body in blocks if kind == "console"]
        queries = [body for kind, body in blocks if kind == "sparql"]
        assert len(consoles) == 1, f"question {number} needs one console block"
        lines = consoles[0].rstrip("\n").split("\n")
        assert lines[0].startswith("$ policykb "), f"question {number}: the block starts with the command"
        command = shlex.split(lines[0][len("$ policykb "):])
        output = lines[1:]
        complete = output[-1] != "…"
        files = {}
        if "--file" in command:
            assert len(queries) == 1, f"question {number}: --file needs the query's text in a sparql block"
            files[command[command.index("--file") + 1]] = queries[0]
        found.append(Question(int(number), title, command, output if complete else output[:-1], complete, files))
    return found


QUESTIONS = _questions()


def test_the_guide_asks_ten_questions_in_order():
    assert [q.number for q in QUESTIONS] == list(range(1, 11))


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: f"{q.number}")
def test_each_question_prints_what_the_guide_shows(cli, monkeypatch, tmp_path, question):
    for name, text in question.files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = cli(*question.command)
    assert result.code == 0, result.err
    printed = result.out.rstrip("\n").split("\n")
    if question.complete:
        assert printed == question.output
    else:
        assert printed[:len(question.output)] == question.output
        assert len(printed) > len(question.output), "the guide says more rows follow"


def test_the_guide_uses_parameters_people_can_type():
    """The issue's examples: a measure by its code, a string compared with a Chinese label, a city by name."""
    commands = [" ".join(q.command) for q in QUESTIONS]
    assert "query zones-replicating-measure -p measure=C01" in commands
    assert "query zones-in-city -p city=福州市" in commands
    assert any("city=福州市" in c and "--file" in c for c in commands)
    assert "(string@zh)" in QUESTIONS[7].files["city-evidence.rq"]

"""`qinglang match`: text through the enabled negative lists; JSON lines of hits."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from core.errors import BadInput
from detectors.matcher.matcher import hit_json

err = Console(stderr=True)
READ_CHARS = 1 << 20

__all__ = ["match", "hit_json"]


def _read_file(path: Path) -> Iterator[str]:
    """The file's text in pieces (a 100 MB single line never sits in memory twice)."""
    import codecs

    if str(path) != "-" and not path.is_file():
        raise BadInput(f"file {path} does not exist", hint="check the path")
    stream = sys.stdin.buffer if str(path) == "-" else path.open("rb")
    decoder = codecs.getincrementaldecoder("utf-8")()
    done = 0
    first = True
    try:
        while True:
            block = stream.read(READ_CHARS)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise BadInput(
                    f"{path} is not valid UTF-8 (near byte {done + exc.start})",
                    hint="save it as UTF-8, e.g.: iconv -f GB18030 -t UTF-8 in.txt > out.txt",
                ) from exc
            if first and text.startswith("\ufeff"):
                text = text[1:]  # offsets count from after a byte-order mark
            first = False
            done += len(block)
            if text:
                yield text
            if not block:
                break
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def match(
    text: Optional[str] = typer.Argument(None, help="text to check (or use --file)"),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="UTF-8 text file to check ('-' = stdin)"),
    json_out: bool = typer.Option(False, "--json", help="print one JSON object per hit"),
) -> None:
    """Check text against the enabled negative lists of the data dir (QINGLANG_DATA_DIR).

    Offsets are characters into the input, end exclusive.

    Example: qinglang match '这里有賭 博网站' --json
    """
    from detectors.lists.sql import SqlListStore
    from detectors.matcher.matcher import Matcher
    from qinglang.cmd_lists import open_store

    if (text is None) == (file is None):
        raise BadInput("give either TEXT or --file FILE", hint="e.g. qinglang match '文本' --json")
    store: SqlListStore = open_store()
    matcher = Matcher(store.snapshot())
    if not matcher.lists:
        err.print(
            "no enabled negative lists in this data dir, so nothing can match; import one: "
            "qinglang lists import words.txt --list NAME --kind keyword"
        )
    findings = matcher.match_stream(_read_file(file)) if file is not None else iter(matcher.match(text or ""))
    count = 0
    for f in findings:
        count += 1
        h = hit_json(f)
        if json_out:
            print(json.dumps(h, ensure_ascii=False))
        else:
            rules = ",".join(h["rules"]) or "-"
            print(f"{h['start']}-{h['end']}\t{h['matched']}\t{h['term']}\t{h['list']}\t{h['category']}\t"
                  f"{h['severity']}\t{rules}")  # fmt: skip
    if count == 0 and matcher.lists:
        err.print("no hits")

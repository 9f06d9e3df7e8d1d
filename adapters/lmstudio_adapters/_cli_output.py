"""How the command line prints: coloured status lines on a terminal, tables as TSV in pipes."""

from __future__ import annotations

from typing import TextIO

__all__ = ["Out", "print_table", "yes_no"]


class Out:
    """Status lines (ok, FAIL, info), coloured only on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()

    def color(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.tty else text

    def ok(self, text: str) -> None:
        print(f"{self.color('ok', '32')}    {text}", file=self.stream)

    def bad(self, text: str) -> None:
        print(f"{self.color('FAIL', '31')}  {text}", file=self.stream)

    def info(self, text: str) -> None:
        print(f"{self.color('info', '36')}  {text}", file=self.stream)


def yes_no(value: bool | None) -> str:
    """``yes``, ``no`` or ``?`` for a capability flag."""
    return "?" if value is None else ("yes" if value else "no")


def print_table(rows: list[list[str]], out: TextIO) -> None:
    """Aligned columns on a terminal, tab-separated otherwise (header row first)."""
    if out.isatty():
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for index, row in enumerate(rows):
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out)
            if index == 0:
                print("  ".join("-" * width for width in widths), file=out)
    else:
        for row in rows:
            print("\t".join(row), file=out)

"""Where an item sits (input, path, label, base name, nesting) and names safe to show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Place:
    """Where an item sits: its input, its path, what evidence calls it, archives opened to get there."""

    input: str
    path: str
    label: str
    name: str  # base name: what name patterns see
    depth: int = 0
    top: bool = True  # the input itself, as the user named it
    group: str = ""  # the archive or folder holding it

    @classmethod
    def of_input(cls, label: str, path: str) -> Place:
        return cls(label, path, Path(path).name or path, base_name(path), group=label)

    def member(self, name: str) -> Place:
        """A member of the archive at this place."""
        name = printable(re.sub(r"^(\./)+", "", name))
        path = name if self.top else f"{self.path}:{name}"
        return Place(
            self.input, path, f"{self.label}:{name}", base_name(name), self.depth + 1, False, self.label
        )

    def file(self, relative: str) -> Place:
        """A file inside the folder at this place."""
        label = f"{self.label}/{relative}"
        return Place(
            self.input, relative, label, base_name(relative), self.depth, False, label.rsplit("/", 1)[0]
        )


def base_name(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def printable(name: str, limit: int = 300) -> str:
    """A member name safe to show and encode: undecodable bytes and control characters replaced."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join("?" if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    return text if len(text) <= limit else text[:limit] + "…"


def describe(error: BaseException) -> str:
    """An error as a warning or skip reason quotes it."""
    return printable(str(error) or type(error).__name__, 200)

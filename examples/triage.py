"""Triage a folder of Expressway diagnostic bundles with logscope's public API.

    python examples/triage.py CASES/ [MORE PATHS...]

Prints one line per input that has an `issue` (or could not be read) and exits 1 when any input has
an issue, 2 when one could not be read, else 0. Nothing is written: results come back as objects.
"""

import sys

import logscope


def main(paths: list[str]) -> int:
    worst = 0
    for result in sorted(logscope.batch(paths), key=lambda r: r.input):
        hosts = ", ".join(node["host"] for node in result.nodes) or "-"
        if not result.ok:
            print(f"{result.input}: unreadable: {result.error}")
            worst = 2
        elif result.summary["issue"]:
            top = result.top_finding  # the most severe finding; set whenever there is an issue
            count = result.summary["issue"]
            print(f"{result.input} [{hosts}]: {count} issue(s), first: {top['id']}: {top['title']}")
            worst = max(worst, 1)
    return worst


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print("usage: python examples/triage.py CASES/ [MORE PATHS...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))

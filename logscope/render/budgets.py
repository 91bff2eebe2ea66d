"""How much of a report each rendering shows: caps on lists and points, the terminal width.

The caps keep a hostile or huge bundle's page one a browser opens; the JSON document keeps everything.
"""

from __future__ import annotations

MAX_TIMELINE_POINTS = 5000
MAX_TIMELINE_ROWS = 40
MAX_EVIDENCE_CHARS = 4000
MAX_FINDING_SERVERS = 200
MAX_FINDING_EVIDENCE = 100
MAX_SERVER_ROWS = 300
TERMINAL_WIDTH = 100  # when the output is not a terminal (a file, a pipe)
# The statuses a reader must act on: they name a server's cause and get a full terminal entry.
ATTENTION_STATUSES = ("issue", "potential", "missing-info")

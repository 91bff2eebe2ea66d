"""Command line: `logscope analyze | logins | batch | serve | signatures | decode`.

Exit codes (design.md): 0 analyzed completely with no `issue`; 1 at least one `issue`; 3 no `issue`
but some input was left unread or cut (INCOMPLETE); 2 bad usage or input that cannot be read, with
one clear line on stderr and never a traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from logscope import __version__
from logscope.bundle import DEFAULT_MAX_BYTES
from logscope.errors import LogscopeError
from logscope.memory import keep_freed_memory
from logscope.progress import progress_bar
from logscope.route import decode_route

if TYPE_CHECKING:
    from logscope.report import Report

EXIT_OK, EXIT_ERROR = 0, 2


_DEBUG = {"on": False}  # --debug: tracebacks where an error line is shown


def _fail(message: str) -> NoReturn:
    """One line on stderr and exit 2; with --debug, the traceback of the error being handled first."""
    if _DEBUG["on"] and sys.exc_info()[0] is not None:
        traceback.print_exc(file=sys.stderr)
    click.echo(f"logscope: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _set_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _DEBUG["on"] = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show the traceback of an error where its one line would be shown.",
)


class _Commands(click.Group):
    """Every command: an unexpected error (a bug) is one line on stderr and exit 2, not a traceback."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        _DEBUG["on"] = False  # each run of the command line starts without --debug
        return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:  # the last line of defence; --debug shows where it came from
            _fail(
                f"internal error: {type(error).__name__}: {str(error)[:200]} (run with --debug for details)"
            )


def _size(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    text = text.strip().lower().removesuffix("b").removesuffix("i")
    factor = units.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in units else text
    try:
        size = int(float(number) * factor)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size (e.g. 500M, 4G)") from None
    if size <= 0:
        raise click.BadParameter(f"{text!r}: the cap must be more than 0 bytes")
    return size


def wants_color(stream: Any, environ: Mapping[str, str]) -> bool:
    """Colour for a terminal, unless NO_COLOR is set to anything non-empty (https://no-color.org)."""
    return bool(stream.isatty()) and not environ.get("NO_COLOR")


max_bytes_option = click.option(
    "--max-bytes",
    default=str(DEFAULT_MAX_BYTES),
    show_default="4G",
    callback=lambda _ctx, _param, value: _size(value),
    help="Cap on decompressed bytes read across all inputs of one run (decompression-bomb guard).",
)
signatures_option = click.option(
    "--signatures",
    "signature_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Extra folder of signature files; a file overrides a built-in one with the same id.",
)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda context, _param, value: _print_version(context) if value else None,
    help="Show the version and which event scanner the parse stage uses, and exit.",
)
@debug_option
def main() -> None:
    """Explain Cisco Expressway MRA / traffic-server TLS failures from diagnostic logging bundles."""


def _print_version(context: click.Context) -> None:
    """`logscope --version`: the version and the parse path (compiled scanner, pyarrow scanner,
    Python scanner, or the per-event records path) and whether a second process scans blocks; the
    scanner is imported here only, so `--help` stays light."""
    from logscope.scan import scan_path
    from logscope.scan.ahead import ahead_described

    described = {
        "compiled": "compiled scanner (C extension)",
        "arrow": "pyarrow scanner (no compiled scanner in use: the Python + pyarrow fallback)",
        "python": "Python scanner (LOGSCOPE_SCANNER=python)",
        "records": "per-event records path (fast path + Lark grammars; LOGSCOPE_SCANNER=off)",
    }
    path = scan_path()
    click.echo(f"logscope, version {__version__}\nparse: {described[path]}")
    if path != "records":
        click.echo(f"scanning: {ahead_described()}")
    context.exit()


@main.command()
@debug_option
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write here.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "json"]),
    default=None,
    help="Default: text on a terminal; from the -o suffix when given.",
)
@signatures_option
@max_bytes_option
def analyze(
    paths: tuple[str, ...],
    output: str | None,
    fmt: str | None,
    signature_dirs: tuple[str, ...],
    max_bytes: int,
) -> None:
    """Analyze one incident: bundles of one or several nodes (archives, folders, logs, '-' for stdin).

    \b
    Exit codes:
      0  analyzed completely, no issue
      1  at least one issue
      2  bad usage, or input that cannot be read (one line on stderr)
      3  no issue, but some input was not read or cut (INCOMPLETE)

    \b
    Example:
      logscope analyze expc1.tar.gz expc2.tar.gz -o report.html
    """
    from logscope.pipeline import analyze as run_analysis

    if paths.count("-") > 1:
        raise click.BadParameter("'-' (standard input) can be given once", param_hint="PATHS")
    fmt = fmt or _format_from_suffix(output)
    keep_freed_memory()
    try:
        with progress_bar() as progress:
            report = run_analysis(
                list(paths), signature_dirs=signature_dirs, max_bytes=max_bytes, progress=progress
            )
    except LogscopeError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    if _DEBUG["on"]:
        for text in report.tracebacks:  # the checks that failed, which the report names
            click.echo(text, err=True, nl=False)
    if fmt == "html":
        rendered = report.to_html()
    elif fmt == "json":
        rendered = None  # written in pieces
    else:
        to_terminal = output is None and sys.stdout.isatty()
        color = output is None and wants_color(sys.stdout, os.environ)
        rendered = report.to_text(color=color, width=_terminal_width() if to_terminal else 100)
    if rendered is None:
        _write_json(report, output)
    else:
        _write(rendered, output)
    if output is not None:
        from logscope.render.terminal import verdict_line

        click.echo(f"logscope: {verdict_line(report)}", err=True)
    sys.exit(report.exit_code)


@main.command()
@debug_option
@click.argument("paths", nargs=-1, required=True)
@click.option("--user", default=None, help="Only this user's login attempts (case-insensitive).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@signatures_option
@max_bytes_option
def logins(
    paths: tuple[str, ...], user: str | None, fmt: str, signature_dirs: tuple[str, ...], max_bytes: int
) -> None:
    """Each MRA login attempt, step by step: user, device, node, outcome and the step that failed.

    \b
    Exit codes: as `logscope analyze` (0 no issue, 1 an issue, 2 bad usage, 3 INCOMPLETE).

    \b
    Example:
      logscope logins expc1.tar.gz --user emusk
    """
    import json

    from logscope.pipeline import analyze as run_analysis
    from logscope.render.login_json import logins_json
    from logscope.render.logins import login_documents, logins_text

    if paths.count("-") > 1:
        raise click.BadParameter("'-' (standard input) can be given once", param_hint="PATHS")
    keep_freed_memory()
    try:
        report = run_analysis(list(paths), signature_dirs=signature_dirs, max_bytes=max_bytes)
    except LogscopeError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    if fmt == "json":
        fast = logins_json(report, level=0, user=user)
        documents = login_documents(report, user=user) if fast is None else None
        click.echo(
            fast if fast is not None else json.dumps(documents, indent=2, ensure_ascii=False, default=str)
        )
    else:
        documents = login_documents(report, user=user)
        click.echo(logins_text(documents, user=user, incomplete=bool(report.incomplete)), nl=False)
    sys.exit(report.exit_code)


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


_SUFFIXES = {".html": "html", ".htm": "html", ".json": "json", ".txt": "text"}


def _format_from_suffix(output: str | None) -> str:
    """The format an -o file's suffix names; another suffix is a usage error (say --format)."""
    if output and output != "-":
        suffix = Path(output).suffix.lower()
        if suffix not in _SUFFIXES:
            raise click.BadParameter(
                f"cannot tell the format from {suffix or 'no suffix'!r}: use .html, .htm, .json or .txt, "
                "or give --format",
                param_hint="-o",
            )
        return _SUFFIXES[suffix]
    return "text"


def _write(text: str, output: str | None) -> None:
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"logscope: wrote {output}", err=True)


def _write_json(report: Report, output: str | None) -> None:
    """The JSON document, written in pieces (see Report.write_json), ending with a newline on stdout."""
    if output is None or output == "-":
        sys.stdout.flush()
        binary = getattr(sys.stdout, "buffer", None)
        stream = binary if binary is not None else sys.stdout  # bytes: the UTF-8 text as built
        report.write_json(stream)
        stream.write(b"\n" if binary is not None else "\n")
        stream.flush()
        return
    try:
        with open(output, "wb") as handle:
            report.write_json(handle)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"logscope: wrote {output}", err=True)


@main.command()
@debug_option
@click.argument("paths", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Report folder.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: cores).")
@click.option("--force", is_flag=True, help="Re-analyze inputs whose report is up to date.")
@click.option("--dask", "dask_address", default=None, help="Run on a Dask cluster (scheduler address).")
@signatures_option
@max_bytes_option
def batch(
    paths: tuple[str, ...],
    out_dir: str,
    jobs: int | None,
    force: bool,
    dask_address: str | None,
    signature_dirs: tuple[str, ...],
    max_bytes: int,
) -> None:
    """Analyze many inputs (files, folders, globs): a report each, index.html and summary.csv.

    Exits 2 when any input could not be analyzed, else 3 when any report is INCOMPLETE, else 0;
    Ctrl-C and SIGTERM stop the workers and exit 130 and 143."""
    from logscope.batch import run_batch
    from logscope.batch.stopping import exit_status, sigterm_as_interrupt

    keep_freed_memory()  # the workers, forked, keep it too
    try:
        with sigterm_as_interrupt():
            summary = run_batch(
                list(paths),
                Path(out_dir),
                jobs=jobs,
                force=force,
                dask_address=dask_address,
                signature_dirs=signature_dirs,
                max_bytes=max_bytes,
                progress=sys.stderr.isatty(),
            )
    except LogscopeError as exc:
        _fail(str(exc))
    except KeyboardInterrupt as interrupt:
        click.echo("logscope: batch stopped; no index was written (run it again to go on)", err=True)
        sys.exit(exit_status(interrupt))
    for result in summary.results:
        if not result.ok:  # a damaged archive is a failed row: say why, one line each
            click.echo(f"logscope: failed: {result.error or result.input}", err=True)
    click.echo(summary.describe(), err=True)
    sys.exit(summary.exit_code)


@main.command()
@debug_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--max-upload-mb", default=1024, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--max-bytes",
    default="1G",
    show_default=True,
    callback=lambda _ctx, _param, value: _size(value),
    help="Cap on decompressed bytes (temporary disk) of one analysis.",
)
@click.option(
    "--analysis-timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds an analysis may run; then it is stopped and the page says so.",
)
@click.option(
    "--upload-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds an upload may take to arrive.",
)
@click.option(
    "--store-mb",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Memory for the reports the server keeps (oldest dropped first).",
)
@click.option("--keep", "keep_dir", type=click.Path(file_okay=False), help="Also keep reports here.")
def serve(
    host: str,
    port: int,
    max_upload_mb: int,
    max_bytes: int,
    analysis_timeout: float,
    upload_timeout: float,
    store_mb: int,
    keep_dir: str | None,
) -> None:
    """A local page to upload a bundle and read its findings (needs the [web] extra).

    Two analyses run at once, each in a fresh process; up to eight uploads are accepted at a time and
    more get 503 with Retry-After. SIGTERM or Ctrl-C stops the server within seconds."""
    try:
        from logscope.serve import run_server
    except ImportError as exc:
        _fail(
            "the web page needs the [web] extra: in the logscope source folder, "
            f"pip install -e '.[web]' ({exc.name} is missing)"
        )
    run_server(
        host=host,
        port=port,
        max_upload_mb=max_upload_mb,
        keep_dir=keep_dir,
        max_bytes=max_bytes,
        analysis_seconds=analysis_timeout,
        upload_seconds=upload_timeout,
        store_bytes=store_mb * 1024 * 1024,
    )


@main.group()
@debug_option
def signatures() -> None:
    """List or check signature files."""


@signatures.command("list")
@debug_option
@signatures_option
def signatures_list(signature_dirs: tuple[str, ...]) -> None:
    """The loaded signatures: id, category, severity, title."""
    from logscope.signatures import load_library

    library = load_library(signature_dirs)
    for signature in library.signatures:
        click.echo(f"{signature.id:34} {signature.category:14} {signature.severity:8} {signature.title}")
    for error in library.errors:
        click.echo(f"logscope: skipped {error}", err=True)


@signatures.command("check")
@debug_option
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
def signatures_check(folder: str | None) -> None:
    """Validate signature files (schema, unique ids, templates) and run their examples."""
    from logscope.signatures import check_library, load_library

    if folder and not any(Path(folder).glob("*.toml")):
        raise click.BadParameter(f"{folder} holds no signature file (*.toml)", param_hint="FOLDER")
    library = load_library([folder] if folder else [])
    checked = [s for s in library.signatures if not folder or s.path.parent.samefile(folder)]
    problems = check_library(library, {s.id for s in checked})
    examples = sum(len(s.examples) for s in checked)
    for problem in problems:
        click.echo(f"FAIL {problem}")
    click.echo(f"{len(checked)} signatures, {examples} examples, {len(problems)} problem(s)")
    sys.exit(EXIT_ERROR if problems else EXIT_OK)


@main.command()
@debug_option
@click.argument("segment")
def decode(segment: str) -> None:
    """Decode a base64 route segment (or a whole MRA URL) to domain/scheme/host/port."""
    from logscope.route import route_segment

    if "/" in segment and (found := route_segment(segment)):
        segment = found
    route = decode_route(segment)
    if route.error and not any((route.domain, route.scheme, route.host)):
        click.echo(f"logscope: {route.error}", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"domain: {route.domain or '-'}")
    click.echo(f"scheme: {route.scheme or '-'}")
    click.echo(f"host:   {route.host or '-'}")
    click.echo(f"port:   {route.port if route.port is not None else '-'}")
    if route.error:
        click.echo(f"logscope: {route.error}", err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()

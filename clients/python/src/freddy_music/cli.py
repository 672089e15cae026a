"""``freddy-music``: create a generation job or get one, watch it to its end with a progress bar and save its
audio; get a track and save its master or a stem; list jobs and engines.

The exit status says how it ended (:class:`ExitCode`, also in the client's README), so scripts can branch on it.
Text that came from the server is written through :mod:`freddy_music._terminal`: shown, never obeyed.
"""

import argparse
import re
import shlex
import sys
from enum import IntEnum
from pathlib import Path
from typing import Self, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

from freddy_music._flows import DEFAULT_MAX_RETRIES, DEFAULT_WAIT_TIMEOUT_SECONDS
from freddy_music._http import API_KEY_VARIABLE, engines_path, job_path, list_path, track_path
from freddy_music._terminal import printable, printable_json
from freddy_music._version import __version__
from freddy_music.client import Client
from freddy_music.errors import (
    AuthenticationError,
    ConfigurationError,
    FreddyMusicError,
    JobCancelledError,
    JobFailedError,
    JobRefusedError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    WaitTimeoutError,
)
from freddy_music.models import GenerationJob, JobStatus, MusicTrack

_NAME_LIMIT = 80  # characters of a title in a default file name
# A default file name's extension by the audio's type: a table of our own, as the system's differ.
_EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/mp4": ".m4a",
}


class ExitCode(IntEnum):
    SUCCEEDED = 0
    ERROR = 1
    USAGE = 2
    FAILED = 3
    CANCELLED = 4
    REFUSED = 5
    TIMEOUT = 6
    AUTHENTICATION = 7
    PERMISSION_DENIED = 8
    NOT_FOUND = 9
    INTERRUPTED = 130


EXIT_CODE_MEANINGS = {
    ExitCode.SUCCEEDED: "done: the job succeeded (watch, generate), or the answer was printed (get, list, cancel,"
    " track, engines)",
    ExitCode.ERROR: "any other error: API (400, 409, 422, 429, 5xx...), network, storage, unexpected answer",
    ExitCode.USAGE: "bad arguments, or no API key",
    ExitCode.FAILED: "the job failed",
    ExitCode.CANCELLED: "the job was cancelled",
    ExitCode.REFUSED: "the job was refused",
    ExitCode.TIMEOUT: "--timeout passed before the job ended",
    ExitCode.AUTHENTICATION: "401: the API key is missing, wrong, revoked or expired",
    ExitCode.PERMISSION_DENIED: "403: the key's owner is not a member of the organization",
    ExitCode.NOT_FOUND: "404: no such job or track for this key",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); watch and generate first offer to cancel the job",
}


_EXIT_CODES: list[tuple[type[FreddyMusicError], ExitCode]] = [
    (ConfigurationError, ExitCode.USAGE),
    (JobFailedError, ExitCode.FAILED),
    (JobCancelledError, ExitCode.CANCELLED),
    (JobRefusedError, ExitCode.REFUSED),
    (WaitTimeoutError, ExitCode.TIMEOUT),
    (AuthenticationError, ExitCode.AUTHENTICATION),
    (PermissionDeniedError, ExitCode.PERMISSION_DENIED),
    (NotFoundError, ExitCode.NOT_FOUND),
]


def exit_code_for(error: FreddyMusicError) -> ExitCode:
    return next((code for kind, code in _EXIT_CODES if isinstance(error, kind)), ExitCode.ERROR)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "track" and arguments.stem is not None and arguments.output is None:
        parser.error("--stem names what --output saves: give --output FILE too")
    try:
        with Client(
            api_key=arguments.api_key, base_url=arguments.base_url, max_retries=arguments.max_retries
        ) as client:
            if arguments.command == "get":
                _print_json(client.get(job_path(arguments.organization_id, arguments.job_id)))
            elif arguments.command == "list":
                path = list_path(
                    arguments.organization_id, status=arguments.status, limit=arguments.limit, offset=arguments.offset
                )
                _print_json(client.get(path))
            elif arguments.command == "cancel":
                _print_json(_answer_of(client.generations.cancel(arguments.organization_id, arguments.job_id)))
            elif arguments.command == "engines":
                _print_json(client.get(engines_path(arguments.organization_id)))
            elif arguments.command == "generate":
                _generate(client, arguments)
            elif arguments.command == "track":
                _track(client, arguments)
            else:
                _watch(client, arguments)
    except MissingAPIKeyError:
        print(f"freddy-music: no API key: set {API_KEY_VARIABLE}, or pass --api-key", file=sys.stderr)
        return ExitCode.USAGE
    except FreddyMusicError as error:
        print(f"freddy-music: {printable(str(error))}", file=sys.stderr)
        return exit_code_for(error)
    except KeyboardInterrupt:
        print("freddy-music: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return ExitCode.SUCCEEDED


def _parser() -> argparse.ArgumentParser:
    codes = "\n".join(f"  {code.value:>3}  {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items())
    parser = argparse.ArgumentParser(
        prog="freddy-music",
        description="Create music generation jobs of the Freddy API, follow them, and save their audio.",
        epilog=f"exit status:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--api-key", help="default: $FREDDY_API_KEY, which is safer: other users can see arguments")
    parser.add_argument("--base-url", help="default: $FREDDY_BASE_URL, else https://api.aitronos.com")
    parser.add_argument(
        "--max-retries",
        type=_whole_number,
        default=DEFAULT_MAX_RETRIES,
        metavar="N",
        help=f"retry a request that failed with 429, 5xx or no answer at most N times (default {DEFAULT_MAX_RETRIES})",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    generate = commands.add_parser(
        "generate",
        help="create a job, follow it to its end with a progress bar, and save its audio",
        epilog=parser.epilog,  # the commands that follow a job to its end show the exit status in their help
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    get = commands.add_parser("get", help="print the job as JSON")
    watch = commands.add_parser(
        "watch",
        help="follow the job to its end with a progress bar, and save its audio",
        epilog=parser.epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cancel = commands.add_parser("cancel", help="ask for the job to be cancelled; print the job as it is now")
    for command in (get, watch, cancel):
        command.add_argument("organization_id", metavar="ORG")
        command.add_argument("job_id", metavar="JOB")
    listing = commands.add_parser("list", help="print one page of your jobs in ORG, newest first, as JSON")
    listing.add_argument("organization_id", metavar="ORG")
    listing.add_argument("--status", choices=[status.value for status in JobStatus], help="only jobs in this status")
    listing.add_argument("--limit", type=int, default=50, metavar="N", help="jobs per page, 1-100 (default 50)")
    listing.add_argument("--offset", type=int, default=0, metavar="N", help="jobs to skip, 0-1000 (default 0)")
    track = commands.add_parser("track", help="print a track of yours as JSON; save its master or a stem")
    track.add_argument("organization_id", metavar="ORG")
    track.add_argument("track_id", metavar="TRACK")
    track.add_argument("--output", "-o", metavar="FILE", help="save the master audio (or --stem's) here")
    track.add_argument("--stem", metavar="NAME", help="save this stem (a key of stem_urls) instead of the master")
    engines = commands.add_parser("engines", help="print the engines of the catalogue a job may name, as JSON")
    engines.add_argument("organization_id", metavar="ORG")
    generate.add_argument("organization_id", metavar="ORG")
    generate.add_argument("--engine", required=True, help="an engine key of the catalogue, e.g. studio")
    generate.add_argument("--prompt", required=True, help="genre, mood, instruments, structure")
    generate.add_argument(
        "--duration", type=_positive_whole_seconds, required=True, metavar="SECONDS", help="the track's length"
    )
    generate.add_argument("--title", help="the track's title")
    generate.add_argument("--instrumental", action="store_true", help="no vocals")
    generate.add_argument("--lyrics", help="for an engine that sings, when not --instrumental")
    generate.add_argument("--mode", choices=["creation", "focus"], default="creation", help="default: creation")
    watch.add_argument("--output", "-o", metavar="FILE", help="save the audio here once the job has succeeded")
    generate.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="save the audio here (default: a new file in this directory named after the title, else the job)",
    )
    for command in (watch, generate):
        command.add_argument(
            "--timeout",
            type=_positive_seconds,
            default=DEFAULT_WAIT_TIMEOUT_SECONDS,
            metavar="S",
            help=f"give up waiting after S seconds (default {DEFAULT_WAIT_TIMEOUT_SECONDS:g})",
        )
    return parser


def _whole_number(text: str) -> int:
    if not text.isdecimal():
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}")
    return int(text)


def _positive_whole_seconds(text: str) -> int:
    if not text.isdecimal() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds above 0, not {text!r}")
    return int(text)


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return seconds


def _print_json(answer: object) -> None:
    # The answer as it came, unknown fields included; characters that are not printable as JSON escapes.
    print(printable_json(answer))


def _answer_of(job: GenerationJob) -> object:
    """The JSON of the answer the job was read from (a job of the client always has one)."""
    return job.model_dump(mode="json") if job.response is None else job.response.json()


def _watch(client: Client, arguments: argparse.Namespace) -> None:
    job = _follow(client, arguments.organization_id, arguments.job_id, arguments.timeout)
    if arguments.output:
        _save(client, job, Path(arguments.output))


def _generate(client: Client, arguments: argparse.Namespace) -> None:
    try:
        created = client.generations.create(
            arguments.organization_id,
            engine=arguments.engine,
            prompt=arguments.prompt,
            duration_seconds=arguments.duration,
            mode=arguments.mode,
            instrumental=arguments.instrumental,
            lyrics=arguments.lyrics,
            title=arguments.title,
        )
    except KeyboardInterrupt:
        # A request was sent, so the job may exist, though its id never arrived here.
        listing = shlex.join(["freddy-music", "list", arguments.organization_id, "--status", "queued"])
        print(f"freddy-music: the job may have been created; {listing} shows it", file=sys.stderr)
        raise
    job = _follow(client, arguments.organization_id, created.id, arguments.timeout)
    _save(client, job, Path(arguments.output) if arguments.output else _new_file_for(job))


def _follow(client: Client, organization_id: str, job_id: str, timeout: float) -> GenerationJob:
    """Wait for the job with a progress display, then print its summary; Ctrl-C offers to cancel it first."""
    try:
        with _display(job_id, sys.stdout) as display:
            job = client.generations.wait(organization_id, job_id, timeout=timeout, on_update=display.show)
    except KeyboardInterrupt:
        _offer_to_cancel(client, organization_id, job_id)
        raise
    print(_summary(job))
    return job


def _save(client: Client, job: GenerationJob, output: Path) -> None:
    saved = client.download(job, output)
    print(_saved(saved))


def _new_file_for(job: GenerationJob) -> Path:
    """A file name in the current directory that is not taken yet: the title in lower case letters, digits and
    dashes (else the job id), with the extension of the audio's type."""
    title = job.track.title if job.track else ""
    stem = re.sub(r"[^a-z0-9]+", "-", title.lower())[:_NAME_LIMIT].strip("-") or job.id
    extension = _EXTENSIONS.get(job.track.mime_type if job.track else "", ".audio")
    candidate, number = Path(f"{stem}{extension}"), 1
    while candidate.exists():
        number += 1
        candidate = Path(f"{stem}-{number}{extension}")
    return candidate


def _offer_to_cancel(client: Client, organization_id: str, job_id: str) -> None:
    """After Ctrl-C: on a terminal, ask whether to cancel the job, and do so on yes; elsewhere nobody can answer,
    so say how to cancel it."""
    command = shlex.join(["freddy-music", "cancel", organization_id, job_id])
    if sys.stdin is None or not sys.stdin.isatty():  # None: started with standard input closed
        print(f"freddy-music: job {job_id} goes on; to cancel it: {command}", file=sys.stderr)
        return
    if not _confirmed(f"Cancel job {job_id}? [y/N] "):
        print(f"job {job_id} goes on; to cancel it later: {command}", file=sys.stderr)
        return
    try:
        # Once: somebody is waiting for this answer, and the message says how to try again.
        job = client.with_options(max_retries=0).generations.cancel(organization_id, job_id)
    except FreddyMusicError as error:
        print(f"freddy-music: the cancel failed: {printable(str(error))}; to try again: {command}", file=sys.stderr)
        return
    print(_state(job), flush=True)
    if not job.is_terminal:
        print("cancel requested: the job stops at its next checkpoint", flush=True)


def _confirmed(question: str) -> bool:
    """Yes only for an answer of y or yes; no for anything else, end of input, or another Ctrl-C."""
    print(question, end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    if not answer.endswith("\n"):
        print(file=sys.stderr)  # the next message on a line of its own
    return answer.strip().lower() in {"y", "yes"}


def _track(client: Client, arguments: argparse.Namespace) -> None:
    answer = client.get(track_path(arguments.organization_id, arguments.track_id))
    _print_json(answer)
    if arguments.output:
        track = MusicTrack.from_api(answer, arguments.organization_id)
        saved = client.tracks.download(track, arguments.output, stem=arguments.stem)
        print(_saved(saved), file=sys.stderr)  # standard output is the JSON, which must stay parseable


def _saved(path: Path) -> str:
    return f"saved {printable(str(path))} ({path.stat().st_size:,} bytes)"


def _summary(job: GenerationJob) -> str:
    track = job.track
    if track is None:
        return printable(f"{job.id} succeeded: track {job.result_track_id}")
    minutes, seconds = divmod(round(track.measured_duration_seconds), 60)
    kind = "instrumental" if track.instrumental else "with vocals"
    details = (
        f"{minutes}:{seconds:02d}, {track.mime_type}, licence {track.licence_class}, {kind}, engine {track.engine}"
    )
    return f"{printable(f'{track.title} ({track.id})')}\n  {printable(details)}"


def _state(job: GenerationJob) -> str:
    return printable(f"{job.id} {job.status} {job.progress}%")


class _Lines:
    """Progress for a pipe or a file: one plain line per change, nothing else."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def show(self, job: GenerationJob) -> None:
        print(_state(job), file=self._out, flush=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        return None


class _Bar:
    """Progress for a terminal: a live bar with the status."""

    def __init__(self, job_id: str, out: TextIO) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("[bold]{task.fields[status]:<9}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=Console(file=out),
        )
        # Columns are rich markup: the server's text is escaped twice, as a terminal's and as markup.
        self._task = self._progress.add_task(escape(printable(job_id)), total=100, status="waiting")

    def show(self, job: GenerationJob) -> None:
        self._progress.update(self._task, completed=job.progress, status=escape(printable(str(job.status))))

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()


def _display(job_id: str, out: TextIO) -> _Bar | _Lines:
    return _Bar(job_id, out) if out.isatty() else _Lines(out)

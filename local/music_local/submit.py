"""Submit a simulated job to a running ``make run``: a queued job that the local stack's simulator runs through its
lifecycle (music_local.simulator); prints the job's id alone on stdout, so ``JOB=$(...)`` captures it.

python -m music_local.submit --endpoint-url URL --jobs-table TABLE --org ORGANIZATION_ID --user USER_ID
    [--title TITLE] [--outcome succeeded|failed|cancelled|refused] [--seconds N]

``make run``'s banner prints this command with the emulator's address, the jobs table and the local
administrator's keys filled in (the emulator enforces IAM). Only the local stack runs such a job, so the command
writes to an emulator alone: it has no ``--stack-name``, and without an endpoint it refuses.
Exit codes: 0 submitted, 1 refused (nothing was written), 2 bad usage, 3 the emulator unavailable.
"""

import argparse
import math
import os
import sys
from collections.abc import Sequence

import boto3

from music_admin.cli import UsageError, organization_argument, run_command, user_argument
from music_api.jobs.writer import JobRef, JobWriteError, JobWriter
from music_local.simulator import MAX_SECONDS, SUBMITTED_QUEUED_SECONDS, new_id, submission, submit


def _title(value: str) -> str:
    if not 1 <= len(value) <= 300:
        raise argparse.ArgumentTypeError("must be 1 to 300 characters")
    return value


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, at most {MAX_SECONDS}")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m music_local.submit", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--endpoint-url",
        help="the local stack's AWS emulator, as make run's banner prints it "
        "(default: $AWS_ENDPOINT_URL_DYNAMODB, else $AWS_ENDPOINT_URL)",
    )
    parser.add_argument("--jobs-table", default=os.environ.get("JOBS_TABLE_NAME"), help="(default: $JOBS_TABLE_NAME)")
    parser.add_argument("--region", help="AWS region (default: the usual AWS configuration)")
    parser.add_argument("--org", required=True, type=organization_argument)
    parser.add_argument("--user", required=True, type=user_argument)
    parser.add_argument("--title", type=_title, default="Simulated track", help="the track's title on success")
    parser.add_argument("--outcome", choices=["succeeded", "failed", "cancelled", "refused"], default="succeeded")
    parser.add_argument(
        "--seconds",
        type=_seconds,
        default=10.0,
        help=f"how long it runs, after {SUBMITTED_QUEUED_SECONDS} s queued (default 10; cancelled: halfway)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(parser, lambda: _submit(args), refusals=(JobWriteError,))


def _submit(args: argparse.Namespace) -> None:
    # Without the flag, botocore reads the endpoint from the environment itself, the service's own variable first.
    if not (args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")):
        raise UsageError("no emulator: pass --endpoint-url (make run's banner prints it) or set AWS_ENDPOINT_URL")
    if not args.jobs_table:
        raise UsageError("no jobs table: pass --jobs-table (make run's banner prints it) or set JOBS_TABLE_NAME")
    client = boto3.session.Session(region_name=args.region).client("dynamodb", endpoint_url=args.endpoint_url or None)
    ref = JobRef(args.org, args.user, new_id("mgen_"))
    job, simulation = submission(ref, title=args.title, outcome=args.outcome, running_seconds=args.seconds)
    submit(JobWriter(client, args.jobs_table), job, simulation)
    print(
        f"submitted {ref.job_id} for {ref.user_id} in {ref.organization_id}: queued "
        f"{simulation.queued_seconds:g} s, running {simulation.running_seconds:g} s, then {simulation.outcome} "
        "(the local stack's simulator runs it)",
        file=sys.stderr,
    )
    print(ref.job_id)


if __name__ == "__main__":
    sys.exit(main())

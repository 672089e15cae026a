"""``make run``: the API on http://127.0.0.1:3000 with an embedded AWS emulator and demo data.

python -m music_local [--port PORT] [--fixtures FILE] [--log-level LEVEL]
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from music_local.fixtures import DEMO_FIXTURES, FixtureError, describe_counts
from music_local.server import LocalApiServer, serve
from music_local.stack import LocalStack, start_stack


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m music_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    parser.add_argument("--fixtures", type=Path, default=Path(os.environ.get("FIXTURES") or DEMO_FIXTURES))
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LOG_LEVEL") or "WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the functions' Powertools log level (default WARNING; INFO shows a line per request)",
    )
    parser.add_argument(
        "--no-generation",
        dest="generation",
        action="store_false",
        help="serve the API without running created jobs: nothing consumes the generation queue, so they stay "
        "queued (for fuzzing the API without rendering its jobs' audio)",
    )
    return parser


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        stack = start_stack(args.fixtures, log_level=args.log_level, generation=args.generation)
    except FixtureError as error:
        print(f"Cannot start: the fixture file has problems; nothing was loaded.\n{error}", file=sys.stderr)
        return 2
    try:
        server = LocalApiServer(args.port, stack.gateway)
    except OSError as error:
        stack.stop()
        print(f"Cannot listen on 127.0.0.1:{args.port} ({error.strerror}); try PORT=<other> make run", file=sys.stderr)
        return 1
    # Explicit, so that a stack started in the background (where SIGINT is ignored) still stops on both.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    print(_banner(url, stack, args.fixtures, time.perf_counter() - started), flush=True)
    try:
        serve(server)
    except KeyboardInterrupt:
        print("\nStopping.", flush=True)
    finally:
        stack.stop()
    return 0


def _banner(url: str, stack: LocalStack, fixtures_path: Path, seconds: float) -> str:
    lines = [
        f"Music generations API (local) on {url}",
        f"  AWS emulator (moto server): {stack.moto.endpoint}  tables {stack.aws.jobs_table}, {stack.aws.auth_table}; "
        f"bucket {stack.aws.bucket}",
        f"  fixtures: {fixtures_path} ({describe_counts(stack.fixtures)}); ready in {seconds:.1f} s",
        # The emulator enforces IAM: music-api-admin against it signs as the local administrator.
        f"  operator: AWS_ACCESS_KEY_ID={stack.aws.administrator.access_key_id} "
        f"AWS_SECRET_ACCESS_KEY={stack.aws.administrator.secret_access_key} "
        f"music-api-admin --endpoint-url {stack.moto.endpoint} --table {stack.aws.auth_table} ...",
    ]
    demo = stack.fixtures.demo_request()
    if demo is not None:
        key, organization_id, job_id = demo
        lines += [
            f"  demo key: {key}",
            "",
            "Try it:",
            f"  export FREDDY_API_KEY={key} FREDDY_BASE_URL={url}",
            f'  curl "{url}/v1/music/{organization_id}/generations/{job_id}" -H "X-API-Key: $FREDDY_API_KEY"',
        ]
        engine = next((engine for engine in stack.fixtures.content.engines if engine.enabled), None)
        if engine is not None:
            lines += [
                "Generate a new track (the generation worker runs it; docs/walkthrough.md, 'Trying it locally'):",
                f"  .venv/bin/freddy-music generate {organization_id} --engine {engine.key} "
                f'--prompt "slow lo-fi piano, rain on the window" '
                f"--duration {min(30, engine.max_duration_seconds)} --output new-track.mp3",
            ]
        secret = stack.webhook_secrets.get(organization_id)
        if secret is not None and engine is not None:
            lines += [
                "Be told when it ends (a webhook to a loopback receiver; docs/walkthrough.md, 'Webhooks'):",
                f"  .venv/bin/python scripts/webhook_receiver.py --port 8765 --secret {secret}",
                f'  curl -X POST "{url}/v1/music/{organization_id}/generations" -H "X-API-Key: $FREDDY_API_KEY" '
                f'-H "Content-Type: application/json" -d \'{{"engine": "{engine.key}", "prompt": "rain on a tin roof", '
                f'"duration_seconds": {min(30, engine.max_duration_seconds)}, '
                '"webhook_url": "http://127.0.0.1:8765/"}\'',
            ]
    simulated = stack.fixtures.simulated_request()
    if simulated is not None:
        key, organization_id, job_id = simulated
        header = "$FREDDY_API_KEY" if demo is not None and demo[0] == key else key
        lines += [
            "",
            "Watch a simulated job run to the end (docs/walkthrough.md, 'Watching a job run'):",
            f'  curl "{url}/v1/music/{organization_id}/generations/{job_id}" -H "X-API-Key: {header}"',
            "Submit one for the simulator to run (prints its id):",
            f"  AWS_ACCESS_KEY_ID={stack.aws.administrator.access_key_id} "
            f"AWS_SECRET_ACCESS_KEY={stack.aws.administrator.secret_access_key} "
            ".venv/bin/python -m music_local.submit --region us-east-1 "
            f"--endpoint-url {stack.moto.endpoint} --jobs-table {stack.aws.jobs_table} "
            f"--org {organization_id} --user {_owner(stack, job_id)}",
        ]
    lines += ["", "Ctrl-C stops everything."]
    return "\n".join(lines)


def _owner(stack: LocalStack, job_id: str) -> str:
    return next(job.user_id for job in stack.fixtures.content.generations if job.id == job_id)


if __name__ == "__main__":
    sys.exit(main())

"""``make invoke EVENT=events/<file>.json``: one event through the real function, Docker-free.

The twin of ``sam local invoke -e``: the embedded emulator with the demo fixtures (or ``--fixtures``), the
function the event is for (REQUEST authorizer events go to the authorizer, proxy events to the route's
function, scheduled events to the function whose schedule's rule they name), and the function's result, or its
error the way Lambda reports one, printed as JSON.
"""

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from music_local.fixtures import DEMO_FIXTURES, FixtureError
from music_local.stack import start_stack
from music_local.template import default_template


def function_for(event: dict[str, Any]) -> str:
    """The logical id of the function this event is meant for."""
    template = default_template()
    if event.get("type") == "REQUEST" and "methodArn" in event:
        return template.authorizer().function
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        for schedule in template.schedules():
            rule = f"rule/{schedule.function}-{schedule.event}"
            if any(str(resource).endswith(rule) for resource in event.get("resources", [])):
                return schedule.function
        raise LookupError(f"no Schedule event in template.yaml has the rule {event.get('resources')}")
    for route in template.routes():
        if route.path == event.get("resource") and route.method == event.get("httpMethod"):
            return route.function
    raise LookupError(f"no function in template.yaml serves {event.get('httpMethod')} {event.get('resource')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m music_local.invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("event", type=Path)
    parser.add_argument("--fixtures", type=Path, default=DEMO_FIXTURES)
    args = parser.parse_args(argv)
    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
        function = function_for(event)
    except (OSError, ValueError, LookupError) as error:
        parser.error(f"{args.event}: {error}")
    # Like sam local invoke: the function's logs (and metrics) on stderr, its result alone on stdout.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            stack = start_stack(args.fixtures, log_level="INFO")
        except FixtureError as error:
            print(f"Cannot start: the fixture file has problems; nothing was loaded.\n{error}")
            return 2
        try:
            result: Any = stack.functions[function].invoke(event)
        except Exception as error:  # noqa: BLE001 - reported the way Lambda reports a function error
            result = {"errorMessage": str(error), "errorType": type(error).__name__}
        finally:
            stack.stop()
    print(f"--- {function} returned:", file=sys.stderr)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

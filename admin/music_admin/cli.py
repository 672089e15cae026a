"""music-api-admin: create, list and revoke API keys and change their usage plans; add and remove memberships;
put, list and disable engines of the catalogue and the content policy's rules.

Works against the local emulator (``--endpoint-url`` or ``AWS_ENDPOINT_URL``) and against a deployed stack
(``--stack-name`` reads the stack's ``AuthTableName``, ``JobsTableName``, ``UsagePlanIds`` and
``DefaultUsagePlan`` outputs; without it, plans are found by name in API Gateway). Only a key's digest is
stored: ``key create`` prints the key once, on stdout alone, so ``KEY=$(music-api-admin key create --user usr_x)``
captures it.
Exit codes: 0 done, 1 refused (the message says why; nothing was written), 2 bad usage, 3 AWS unavailable.
"""

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, get_args

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError
from pydantic import ValidationError

from music_admin.auth_store import AdminError, AuthRepository
from music_admin.engines import EngineAdmin
from music_admin.keys import generate_key
from music_admin.policy import PolicyAdmin
from music_admin.usage_plans import MeteredKeys, UsagePlans, parse_plan_ids
from music_admin.webhook_secrets import WebhookSecrets
from music_api.authorizer.keys import KEY_ID_PATTERN
from music_api.core.clock import to_utc_z
from music_api.core.errors import ApiError
from music_api.core.ids import ORGANIZATION_ID_RULE, is_organization_id, is_user_id
from music_api.engines.models import ENGINE_KEY_RULE, LicenceClass, StoredEngine, is_engine_key
from music_api.engines.policy import ContentRule
from music_api.worker.registry import IMPLEMENTATIONS

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_dynamodb import DynamoDBClient

PLANS_OUTPUT = "UsagePlanIds"
DEFAULT_PLAN_OUTPUT = "DefaultUsagePlan"


@dataclass(frozen=True)
class _Table:
    """Where a command group's table name comes from: an option, else a stack output, else a variable."""

    name: str
    option: str
    output: str
    variable: str


AUTH_TABLE = _Table("auth table", "table", "AuthTableName", "AUTH_TABLE_NAME")
JOBS_TABLE = _Table("jobs table", "jobs_table", "JobsTableName", "JOBS_TABLE_NAME")


class UsageError(Exception):
    """The command line cannot be carried out as given."""


def user_argument(value: str) -> str:
    if not is_user_id(value):
        raise argparse.ArgumentTypeError("must be 'usr_' followed by 3 to 64 ASCII letters or digits")
    return value


def organization_argument(value: str) -> str:
    if not is_organization_id(value):
        raise argparse.ArgumentTypeError(ORGANIZATION_ID_RULE)
    return value


def _key_id(value: str) -> str:
    if KEY_ID_PATTERN.fullmatch(value) is None:
        raise argparse.ArgumentTypeError("must be 'key_' followed by 16 hex digits (see 'key list')")
    return value


def _engine_key(value: str) -> str:
    if not is_engine_key(value):
        raise argparse.ArgumentTypeError(ENGINE_KEY_RULE)
    return value


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an ISO-8601 date-time, e.g. 2027-01-31T00:00:00Z") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("needs a time zone, e.g. 2027-01-31T00:00:00Z")
    return moment


def _positive_days(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError("must be a whole number of days, at least 1")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="music-api-admin", description=__doc__.split("\n\n")[0])
    where = parser.add_argument_group(
        "where the tables are: --table / --jobs-table, else --stack-name, else $AUTH_TABLE_NAME / $JOBS_TABLE_NAME"
    )
    where.add_argument("--table", help="auth table name (user, org, key, plan and member commands)")
    where.add_argument("--jobs-table", help="jobs table name (engine and policy commands: the catalogue lives there)")
    where.add_argument("--stack-name", help="read the table names (and usage plans) from this stack's outputs")
    parser.add_argument("--region", help="AWS region (default: the usual AWS configuration)")
    parser.add_argument("--endpoint-url", help="AWS endpoint, e.g. the local emulator (default: $AWS_ENDPOINT_URL)")
    commands = parser.add_subparsers(dest="command", required=True)

    user = commands.add_parser("user", help="users").add_subparsers(dest="action", required=True)
    user.add_parser("create", help="create a user").add_argument("user_id", type=user_argument)

    org = commands.add_parser("org", help="organizations").add_subparsers(dest="action", required=True)
    org.add_parser("create", help="create an organization").add_argument("organization_id", type=organization_argument)

    key = commands.add_parser("key", help="API keys").add_subparsers(dest="action", required=True)
    create = key.add_parser("create", help="create a key for a user; prints it once")
    create.add_argument("--user", required=True, type=user_argument)
    create.add_argument("--environment", choices=["live", "test"], default="live")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-at", type=_moment, help="ISO-8601 date-time with a time zone")
    expiry.add_argument("--expires-in-days", type=_positive_days)
    create.add_argument("--plan", help="usage plan (default: the stack's DefaultUsagePlan; see 'plan list')")
    listing = key.add_parser("list", help="list a user's keys and their plans (never the secret)")
    listing.add_argument("--user", required=True, type=user_argument)
    listing.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    revoke = key.add_parser("revoke", help="revoke a key; effective within the authorizer TTL")
    revoke.add_argument("--user", required=True, type=user_argument)
    revoke.add_argument("--key-id", required=True, type=_key_id)
    move = key.add_parser("plan", help="move a key to another usage plan; no wait for the authorizer TTL")
    move.add_argument("--user", required=True, type=user_argument)
    move.add_argument("--key-id", required=True, type=_key_id)
    move.add_argument("--plan", required=True)

    plan = commands.add_parser("plan", help="usage plans").add_subparsers(dest="action", required=True)
    plan.add_parser("list", help="the stack's usage plans and their limits")

    member = commands.add_parser("member", help="organization memberships").add_subparsers(dest="action", required=True)
    add = member.add_parser("add", help="add a user to an organization")
    add.add_argument("--user", required=True, type=user_argument)
    add.add_argument("--org", required=True, type=organization_argument)
    add.add_argument("--role", choices=["owner", "admin", "member"], default="member")
    remove = member.add_parser("remove", help="remove a user from an organization")
    remove.add_argument("--user", required=True, type=user_argument)
    remove.add_argument("--org", required=True, type=organization_argument)

    _add_engine_commands(commands)
    _add_webhook_commands(commands)
    return parser


def _add_webhook_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    secret = commands.add_parser("webhook-secret", help="an organization's webhook signing secret").add_subparsers(
        dest="action", required=True
    )
    secret.add_parser("create", help="create the organization's whsec_ secret; prints it once").add_argument(
        "--org", required=True, type=organization_argument
    )
    rotate = secret.add_parser("rotate", help="a new secret; the old one keeps signing beside it for the overlap")
    rotate.add_argument("--org", required=True, type=organization_argument)
    rotate.add_argument("--overlap-hours", type=int, choices=range(0, 169), default=24, metavar="0-168")


def _add_engine_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    engine = commands.add_parser("engine", help="the engine catalogue").add_subparsers(dest="action", required=True)
    put = engine.add_parser("put", help="add or replace an engine, enabled; create sees it within a minute")
    put.add_argument("key", type=_engine_key)
    put.add_argument("--max-duration", type=int, required=True, help="longest track, in whole seconds (1-3600)")
    for flag, what in [
        ("vocals", "it sings"),
        ("lyrics", "it accepts lyrics"),
        ("stems", "it delivers stems"),
        ("commercial-use", "its tracks may be used commercially"),
        ("requires-attribution", "its tracks must be attributed"),
    ]:
        put.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=False, help=what)
    put.add_argument("--languages", default="", help="comma-separated language codes, e.g. en,es (default: none)")
    put.add_argument("--licence-class", choices=get_args(LicenceClass), required=True)
    put.add_argument(
        "--implementation",
        choices=sorted(IMPLEMENTATIONS),
        required=True,
        help="the code that runs it (docs/engines.md)",
    )
    put.add_argument(
        "--setting",
        action="append",
        default=[],
        type=_setting,
        metavar="NAME=VALUE",
        help="a setting of its implementation (repeatable; VALUE is read as JSON if it parses, else as text)",
    )
    engine.add_parser("list", help="every engine, enabled or not").add_argument("--json", action="store_true")
    engine.add_parser("disable", help="hide an engine from the listing and refuse it on create").add_argument(
        "key", type=_engine_key
    )

    policy = commands.add_parser("policy", help="the content policy's rules (docs/engines.md#content-policy)")
    rules = policy.add_subparsers(dest="action", required=True)
    rule = rules.add_parser("put", help="add or replace a rule; the next job a worker takes is judged by it")
    rule.add_argument("rule_id", help="2 to 48 lowercase letters, digits or '-', starting with a letter")
    rule.add_argument("--pattern", required=True, help="a regular expression, matched case-insensitively")
    rule.add_argument("--reason", required=True, help="what a refused user reads: why, never their words")
    rules.add_parser("list", help="every rule").add_argument("--json", action="store_true")
    rules.add_parser("remove", help="remove a rule").add_argument("rule_id")


def _setting(value: str) -> tuple[str, Any]:
    name, separator, text = value.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError("must be NAME=VALUE")
    try:
        return name, json.loads(text)
    except ValueError:
        return name, text


class _Stack:
    """Where things are: the auth table, and (only when a command needs them) the usage plans."""

    def __init__(self, args: argparse.Namespace, session: boto3.session.Session, endpoint_url: str | None) -> None:
        self._args = args
        self._session = session
        self._endpoint_url = endpoint_url
        self._outputs: dict[str, str] | None = None

    def outputs(self) -> dict[str, str]:
        if self._outputs is None:
            cloudformation = self._session.client("cloudformation", endpoint_url=self._endpoint_url)
            stacks = cloudformation.describe_stacks(StackName=self._args.stack_name)["Stacks"]
            self._outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        return self._outputs

    def output(self, name: str) -> str:
        value = self.outputs().get(name)
        if value is None:
            raise UsageError(f"stack {self._args.stack_name} has no {name} output")
        return value

    def table_name(self, table: _Table = AUTH_TABLE) -> str:
        if getattr(self._args, table.option):
            return str(getattr(self._args, table.option))
        if self._args.stack_name:
            return self.output(table.output)
        if os.environ.get(table.variable):
            return os.environ[table.variable]
        option = "--" + table.option.replace("_", "-")
        raise UsageError(f"no {table.name}: pass {option} or --stack-name, or set {table.variable}")

    def usage_plans(self) -> UsagePlans:
        client: APIGatewayClient = self._session.client("apigateway", endpoint_url=self._endpoint_url)
        if self._args.stack_name:
            return UsagePlans(client, parse_plan_ids(self.output(PLANS_OUTPUT)), self.output(DEFAULT_PLAN_OUTPUT))
        return UsagePlans.by_name(client)


def _run(args: argparse.Namespace, repository: AuthRepository, stack: _Stack) -> None:
    match (args.command, args.action):
        case ("user", "create"):
            repository.create_user(args.user_id)
            print(f"created user {args.user_id}", file=sys.stderr)
        case ("org", "create"):
            repository.create_organization(args.organization_id)
            print(f"created organization {args.organization_id}", file=sys.stderr)
        case ("key", "create"):
            expires_at = args.expires_at
            if args.expires_in_days:
                expires_at = datetime.now(UTC) + timedelta(days=args.expires_in_days)
            if expires_at is not None and expires_at <= datetime.now(UTC):
                raise UsageError("the expiry must be in the future")
            if args.plan is None and not args.stack_name:
                raise UsageError("name a plan with --plan (the stack's default is known with --stack-name)")
            plans = stack.usage_plans()
            plan = args.plan or plans.default_plan or ""  # with --stack-name, the DefaultUsagePlan output
            plaintext = generate_key(args.environment)
            stored = MeteredKeys(repository, plans).issue(args.user, plaintext, args.environment, plan, expires_at)
            expires = to_utc_z(stored.expires_at) if stored.expires_at else "never"
            print(
                f"created {stored.key_id} for {args.user} ({stored.environment}, plan {plan}, expires {expires}); "
                "this is the only time the key is shown:",
                file=sys.stderr,
            )
            print(plaintext)
        case ("key", "list"):
            _print_keys(repository, stack.usage_plans(), args.user, as_json=args.json)
        case ("key", "revoke"):
            revoked = repository.revoke_api_key(args.user, args.key_id)
            print(
                f"revoked {revoked.key_id}; the gateway stops accepting it within the authorizer TTL", file=sys.stderr
            )
        case ("key", "plan"):
            previous = MeteredKeys(repository, stack.usage_plans()).change_plan(args.user, args.key_id, args.plan)
            print(f"{args.key_id} is on plan {args.plan} (was {previous or 'none'})", file=sys.stderr)
        case ("plan", "list"):
            _print_plans(stack.usage_plans())
        case ("member", "add"):
            repository.add_membership(args.user, args.org, args.role)
            print(f"added {args.user} to {args.org} as {args.role}", file=sys.stderr)
        case ("member", "remove"):
            repository.remove_membership(args.user, args.org)
            print(f"removed {args.user} from {args.org}", file=sys.stderr)


def _run_webhook_secret(args: argparse.Namespace, store: WebhookSecrets) -> None:
    """The secret on stdout, once: the organization configures its receiver with it (docs/operations.md#webhooks)."""
    existing = store.signing_secrets(args.org)
    if args.action == "create":
        if existing:
            raise UsageError(f"{args.org} already has a webhook secret: rotate it")
        print(f"created the webhook signing secret of {args.org}; this is the only time it is shown:", file=sys.stderr)
        print(store.create_secret(args.org))
        return
    if not existing:
        raise UsageError(f"{args.org} has no webhook secret yet: create one")
    secret = store.rotate_secret(args.org, timedelta(hours=args.overlap_hours))
    print(
        f"rotated the webhook signing secret of {args.org}; the previous one signs beside it for "
        f"{args.overlap_hours} h. This is the only time the new one is shown:",
        file=sys.stderr,
    )
    print(secret)


def _run_engine(args: argparse.Namespace, catalogue: EngineAdmin) -> None:
    match args.action:
        case "put":
            try:
                engine = StoredEngine(
                    key=args.key,
                    max_duration_seconds=args.max_duration,
                    vocals=args.vocals,
                    lyrics=args.lyrics,
                    stems=args.stems,
                    languages=[code for code in args.languages.split(",") if code],
                    licence_class=args.licence_class,
                    commercial_use=args.commercial_use,
                    requires_attribution=args.requires_attribution,
                    enabled=True,
                    implementation=args.implementation,
                    settings=dict(args.setting),
                )
            except ValidationError as exc:
                raise UsageError(_problems(exc)) from None
            catalogue.put(engine)
            print(f"put engine {engine.key} (enabled, at most {engine.max_duration_seconds} s)", file=sys.stderr)
        case "list":
            rows = [engine.model_dump() for engine in catalogue.all()]
            if args.json:
                print(json.dumps({"engines": rows}, indent=2))
                return
            for row in rows:
                row.update({name: "yes" if value else "no" for name, value in row.items() if isinstance(value, bool)})
                row["languages"] = ",".join(row["languages"])
            _print_table(list(StoredEngine.model_fields), rows)
        case "disable":
            catalogue.disable(args.key)
            print(f"disabled engine {args.key}", file=sys.stderr)


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def _run_policy(args: argparse.Namespace, policy: PolicyAdmin) -> None:
    match args.action:
        case "put":
            try:
                rule = ContentRule(id=args.rule_id, pattern=args.pattern, reason=args.reason)
            except ValidationError as exc:
                raise UsageError(_problems(exc)) from None
            policy.put(rule)
            print(f"put content policy rule {rule.id}", file=sys.stderr)
        case "list":
            rows = [rule.model_dump() for rule in sorted(policy.rules(), key=lambda rule: rule.id)]
            if args.json:
                print(json.dumps({"rules": rows}, indent=2))
                return
            _print_table(["id", "pattern", "reason"], rows)
        case "remove":
            policy.remove(args.rule_id)
            print(f"removed content policy rule {args.rule_id}", file=sys.stderr)


def _print_keys(repository: AuthRepository, plans: UsagePlans, user_id: str, *, as_json: bool) -> None:
    rows: list[dict[str, Any]] = [
        {
            "key_id": key.key_id,
            "hint": key.hint,
            "environment": key.environment,
            "status": key.status,
            "plan": plans.plan_of(key.gateway_key_id),
            "created_at": to_utc_z(key.created_at),
            "expires_at": to_utc_z(key.expires_at) if key.expires_at else None,
            "revoked_at": to_utc_z(key.revoked_at) if key.revoked_at else None,
        }
        for key in repository.list_api_keys(user_id)
    ]
    if as_json:
        print(json.dumps({"user_id": user_id, "keys": rows}, indent=2))
        return
    _print_table(["key_id", "hint", "environment", "status", "plan", "created_at", "expires_at", "revoked_at"], rows)


def _print_plans(plans: UsagePlans) -> None:
    rows: list[dict[str, Any]] = [
        {
            "plan": limits.name,
            "rate_per_second": limits.rate,
            "burst": limits.burst,
            "quota": limits.quota,
            "per_method": "; ".join(f"{method}: {budget}" for method, budget in limits.method_throttles.items()),
            "default": "yes" if limits.name == plans.default_plan else None,
        }
        for limits in plans.limits()
    ]
    _print_table(["plan", "rate_per_second", "burst", "quota", "per_method", "default"], rows)


def _print_table(columns: list[str], rows: list[dict[str, Any]]) -> None:
    table = [columns] + [[str(row[c] or "-") for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(parser, lambda: _dispatch(args), refusals=(AdminError,))


def run_command(
    parser: argparse.ArgumentParser, command: Callable[[], None], *, refusals: tuple[type[Exception], ...]
) -> int:
    """Carry out ``command``, reporting failures by exit code: 1 refused (one of ``refusals``: nothing was
    written), 2 bad usage (``UsageError``, no region), 3 AWS unavailable."""
    try:
        command()
    except UsageError as error:
        parser.error(str(error))
    except NoRegionError:
        parser.error("no AWS region: pass --region or set AWS_REGION")
    except refusals as error:
        print(f"{parser.prog}: {error}", file=sys.stderr)
        return 1
    except (ApiError, BotoCoreError, ClientError) as error:
        cause = error.__cause__ if isinstance(error, ApiError) and error.__cause__ else error
        print(f"{parser.prog}: AWS request failed: {cause}", file=sys.stderr)
        return 3
    return 0


def _dispatch(args: argparse.Namespace) -> None:
    # Without the flag, botocore reads AWS_ENDPOINT_URL itself, and a service's own AWS_ENDPOINT_URL_<SERVICE>
    # before it (the tables on an emulator of their own): passing AWS_ENDPOINT_URL here would override that.
    endpoint_url = args.endpoint_url or None
    session = boto3.session.Session(region_name=args.region)
    stack = _Stack(args, session, endpoint_url)
    client: DynamoDBClient = session.client("dynamodb", endpoint_url=endpoint_url)
    if args.command == "engine":
        _run_engine(args, EngineAdmin(client, stack.table_name(JOBS_TABLE)))
    elif args.command == "webhook-secret":
        _run_webhook_secret(args, WebhookSecrets(client, stack.table_name()))
    elif args.command == "policy":
        _run_policy(args, PolicyAdmin(client, stack.table_name(JOBS_TABLE)))
    else:
        _run(args, AuthRepository(client, stack.table_name()), stack)


if __name__ == "__main__":
    sys.exit(main())

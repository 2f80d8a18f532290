"""The ``stopgate`` command line: one console script, one subcommand per job (see SPEC.md)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

from gateway.config.model import Config, ConfigError, ListenAddress, load_config
from gateway.config.schema import Invalid

EXIT_OK, EXIT_CONFIG, EXIT_NOT_YET = 0, 1, 2
DEFAULT_CONFIG = Path("config.toml")

Handler = Callable[[argparse.Namespace], int]


def main(argv: list[str] | None = None) -> int:
    """Run one stopgate command; return the process exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:  # `stopgate` or `stopgate suppressions` alone: show what there is
        args.parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


# --- configuration ---------------------------------------------------------------------


def config_path(option: str | None) -> Path | None:
    """-c, else $STOPGATE_CONFIG, else ./config.toml if present, else None (built-in defaults)."""
    if option:
        return Path(option)
    if os.environ.get("STOPGATE_CONFIG"):
        return Path(os.environ["STOPGATE_CONFIG"])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def _load(args: argparse.Namespace) -> Config | None:
    """The configuration, or None after printing every problem to stderr."""
    try:
        return load_config(config_path(args.config))
    except ConfigError as error:
        for problem in error.problems:
            print(f"{problem.path}: {problem.message}", file=sys.stderr)
        return None


def _not_yet(command: str) -> int:
    print(f"stopgate {command}: not yet available", file=sys.stderr)
    return EXIT_NOT_YET


# --- handlers --------------------------------------------------------------------------


def _check_config(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return EXIT_CONFIG
    from gateway.process.shares import problems

    found = problems(config)  # limits that server.workers processes cannot share
    for key, message in found:
        print(f"{key}: {message}", file=sys.stderr)
    if found:
        return EXIT_CONFIG
    print(f"config OK: {len(config.upstreams)} upstreams, {len(config.accounts)} accounts, "
          f"{len(config.rules)} rules")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return EXIT_CONFIG
    try:
        from simulator import demo  # lazily: the demo pulls in the whole service
    except ModuleNotFoundError as error:
        if error.name != "simulator.demo":
            raise
        return _not_yet("demo")
    return demo.run(config)


def _serve(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return EXIT_CONFIG
    if config.server.workers > 1:
        # Lazily, and before anything imports prometheus_client (see gateway.process.supervisor).
        from gateway.process.supervisor import supervise

        return supervise(config)
    from gateway.app import serve  # lazily: --help must not import the service
    from gateway.process.eventloop import run

    return int(run(serve(config)))


def _simulate_carrier(args: argparse.Namespace) -> int:
    from simulator import carrier as simulator  # lazily: --help must not import asyncio servers

    http = None if args.http is None else (args.http.host, args.http.port)
    if (args.tls_cert is None) != (args.tls_key is None) or (
            args.tls_client_ca is not None and args.tls_cert is None):
        print("stopgate simulate-carrier: TLS needs both --tls-cert and --tls-key "
              "(and --tls-client-ca only with them)", file=sys.stderr)
        return 2
    try:
        simulator.server_context(args.tls_cert, args.tls_key, args.tls_client_ca)
    except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
        print(f"stopgate simulate-carrier: cannot serve TLS: {error}", file=sys.stderr)
        return 2
    tls = {"tls_cert": args.tls_cert, "tls_key": args.tls_key,
           "tls_client_ca": args.tls_client_ca}
    return simulator.run(
        (args.listen.host, args.listen.port), http, sys.stdout, tls,
        latency=args.latency, error_rate=args.error_rate, throttle_tps=args.throttle_tps,
        dlr=not args.no_dlr, dlr_delay=args.dlr_delay, id_format=args.id_format,
        dlr_id_format=args.dlr_id_format, fast=args.fast,
    )


def _service_command(module: str, action: str) -> Handler:
    """``stopgate <module> <action>`` (suppressions, reviews, held): the configuration
    loaded, then ``gateway.cli.<module>.run``, imported only when the command runs (--help
    must not import the service)."""

    def handler(args: argparse.Namespace) -> int:
        config = _load(args)
        if config is None:
            return EXIT_CONFIG
        command = importlib.import_module(f"gateway.cli.{module}")
        result: int = command.run(action, config, args)
        return result

    return handler


def _suppressions(action: str) -> Handler:
    """``stopgate suppressions <action>``: see gateway.cli.suppressions."""
    return _service_command("suppressions", action)


def _reviews(action: str) -> Handler:
    """``stopgate reviews <action>``: see gateway.cli.reviews."""
    return _service_command("reviews", action)


def _held(action: str) -> Handler:
    """``stopgate held <action>``: see gateway.cli.held."""
    return _service_command("held", action)


def _review_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a review id (a positive whole number, "
                                         f"as `stopgate reviews list` shows), got {text!r}")
    return int(text)


def _ledger_backup(args: argparse.Namespace) -> int:
    """``stopgate ledger backup FILE``: see gateway.ledger.backup."""
    config = _load(args)
    if config is None:
        return EXIT_CONFIG
    from gateway.ledger.backup import backup_command

    return backup_command(config, Path(args.file))


def _ledger_migrate(args: argparse.Namespace) -> int:
    """``stopgate ledger migrate``: apply the pending schema steps (serve does it too)."""
    config = _load(args)
    if config is None:
        return EXIT_CONFIG
    from gateway.ledger.engines import open_ledger  # lazily: --help must not import it
    from gateway.ledger.model import LedgerError

    try:
        ledger = open_ledger(config.storage.ledger, config.server.data_dir,
                             config.storage.ledger_busy_timeout)
    except LedgerError as error:
        print(f"stopgate ledger migrate: {error}", file=sys.stderr)
        return EXIT_CONFIG
    schema = ledger.schema
    ledger.close()
    done = (f"applied step{'s' if len(schema.applied) > 1 else ''} "
            f"{', '.join(map(str, schema.applied))}" if schema.applied else "already up to date")
    print(f"ledger schema version {schema.version} (usable by a stopgate that knows version "
          f"{schema.compatible_from} or later): {done}")
    return EXIT_OK


def _ledger_copy(args: argparse.Namespace) -> int:
    """``stopgate ledger copy --from SQLITE --to POSTGRESQL``: see gateway.ledger.copy."""
    from gateway.ledger.copy import copy_command  # lazily: --help must not import it

    return copy_command(args.source, args.target)


def _report_optouts(args: argparse.Namespace) -> int:
    """``stopgate report optouts``: the HTTP report's rows as a table, from the ledger file."""
    config = _load(args)
    if config is None:
        return EXIT_CONFIG
    from gateway.http.reports import day_bounds  # lazily: --help must not import the service
    from gateway.ledger.engines import open_ledger
    from gateway.ledger.model import LedgerError
    from gateway.observability.visible import visible

    if args.account and args.account not in {a.system_id for a in config.accounts}:
        print(f"stopgate report optouts: no account {args.account!r} in the configuration",
              file=sys.stderr)
        return EXIT_CONFIG
    until = args.until or datetime.now(UTC).date()
    if args.since and args.since > until:
        print(f"stopgate report optouts: --from {args.since} is after --to {until}",
              file=sys.stderr)
        return 2
    try:
        ledger = open_ledger(config.storage.ledger, config.server.data_dir)
        try:
            rows = ledger.report(args.account, *day_bounds(args.since, until), args.by)
        finally:
            ledger.close()
    except LedgerError as error:
        print(f"stopgate report optouts: {error}", file=sys.stderr)
        return EXIT_CONFIG
    scope = f"account {args.account}" if args.account else "every scope (* = operator-wide)"
    print(f"opt-outs of {scope}, {args.since or 'the beginning'} to {until} (UTC), "
          f"by {args.by}; state changes only")
    table = [(args.by, "optouts", "optins")]
    # Keys are campaigns and reasons as senders sent them: shown with control and bidi
    # characters escaped, so none reaches the terminal and no key can draw a row.
    table += [("(none)" if key is None else visible(key), str(optouts), str(optins))
              for key, optouts, optins in rows]
    table.append(("total", str(sum(r[1] for r in rows)), str(sum(r[2] for r in rows))))
    width = max(len(row[0]) for row in table)
    for index, (key, optouts, optins) in enumerate(table):
        if index == len(table) - 1:
            print("-" * (width + 20))
        print(f"{key:<{width}}  {optouts:>8}  {optins:>8}")
    return EXIT_OK


# --- argument parsing ------------------------------------------------------------------


def _listen_address(text: str) -> ListenAddress:
    try:
        return ListenAddress.from_config(text)
    except Invalid as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = _non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 to 1, got {text!r}")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


class _Formatter(argparse.HelpFormatter):
    """Wrap each paragraph on its own, keep preformatted ones, show defaults in option help."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join(
            paragraph if "\n" in paragraph else
            textwrap.fill(paragraph, width, initial_indent=indent, subsequent_indent=indent)
            for paragraph in text.split("\n\n")
        )

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default not in (None, argparse.SUPPRESS, False) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--config", metavar="FILE",
        help="configuration file; default: $STOPGATE_CONFIG, else ./config.toml if it "
             "exists, else built-in defaults. STOPGATE_<SECTION>_<KEY> variables override "
             "single keys",
    )


def _add_account_option(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument("--account", metavar="A", help=f"account system_id; {meaning}")


def _command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    handler: Handler | None = None,
    config: bool = True,
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name, help=summary, description=f"{summary}\n\n{description}", formatter_class=_Formatter,
    )
    parser.set_defaults(handler=handler, parser=parser)
    if config:
        _add_config_option(parser)
    return parser


USAGE = """every command:
  stopgate serve [-c FILE]
  stopgate demo [-c FILE]
  stopgate check-config [-c FILE]
  stopgate suppressions import FILE [--account A] [-c FILE]
  stopgate suppressions export [--account A] [-c FILE]
  stopgate suppressions add|remove|check NUMBER [--account A] [-c FILE]
  stopgate reviews list [--account A] [--status pending|opted_out|dismissed|all] [-c FILE]
  stopgate reviews decide ID optout|dismiss [--by NAME] [-c FILE]
  stopgate suppressions history NUMBER [--account A] [--format json|csv] [-c FILE]
  stopgate suppressions erase NUMBER [--account A] [-c FILE]
  stopgate report optouts [--account A] [--by campaign|source|reason|day]
                          [--from YYYY-MM-DD] [--to YYYY-MM-DD] [-c FILE]
  stopgate held list --account A [--campaign C] [--limit N] [-c FILE]
  stopgate held cancel --account A --campaign C [-c FILE]
  stopgate ledger backup FILE [-c FILE]
  stopgate ledger migrate [-c FILE]
  stopgate ledger copy --from SQLITE --to POSTGRESQL_URL
  stopgate simulate-carrier [--listen HOST:PORT] [--http HOST:PORT] [--latency S]
                            [--error-rate F] [--throttle-tps N] [--no-dlr]
                            [--dlr-delay S] [--id-format hex|decimal]
                            [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]"""

SCOPE_HELP = (
    "Works on the ledger file, with or without a running gateway, and writes through to "
    "the Redis cache: storage.redis_url, else the embedded Redis of a gateway running on "
    "server.data_dir, so the change applies to its very next message. With no gateway "
    "running, the cache kept in data_dir is updated for the next one. When "
    "storage.redis_url does not answer, only the ledger is written and the command says "
    "what that means.")


def _add_region_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--region", metavar="CC",
        help="ISO country for national-format numbers (default: the account's "
             "default_region; without --account, the first account's, else FR)")


NUMBER_HELP = ("phone number, in E.164 (+33612345678) or national format (read with the "
               "account's default_region)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree, with the help every command prints."""
    parser = argparse.ArgumentParser(
        prog="stopgate",
        description="Inline SMPP/HTTP proxy that enforces SMS opt-outs: senders bind to it "
                    "instead of their carrier; it drops promotional messages to opted-out "
                    "recipients, adds the opt-out footer each country requires, and turns "
                    "STOP replies into opt-outs effective for the very next message.",
        epilog=f"{USAGE}\n\nRun `stopgate <command> --help` for a command's options; start "
               "with `stopgate demo`.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version",
                        version=f"stopgate {metadata.version('stopgate')}")
    parser.set_defaults(handler=None, parser=parser)
    commands = parser.add_subparsers(title="commands", metavar="<command>")

    _command(
        commands, "serve", "run the proxy until SIGTERM",
        "Starts the sender-facing SMPP listener, the HTTP listener (API, opt-out pages, "
        "/metrics, /healthz, /readyz), the carrier links and the workers. On SIGTERM it "
        "stops accepting, drains in-flight work and exits 0.",
        _serve,
    )
    _command(
        commands, "demo", "zero-setup tour of what stopgate does",
        "Starts an embedded Redis, the built-in carrier simulator and a proxy on loopback, "
        "sends a small campaign, prints what was forwarded, blocked and footered, then "
        "replies STOP from a recipient and shows its effect. Exits 0.",
        _demo,
    )
    _command(
        commands, "check-config", "validate the configuration",
        "Loads the configuration (file plus STOPGATE_* variables) and prints every problem "
        "as `key.path: what is wrong` on stderr, exiting 1; or prints a one-line summary "
        "and exits 0.",
        _check_config,
    )

    suppressions = _command(
        commands, "suppressions", "manage the suppression list (opted-out numbers)",
        "Opted-out numbers never receive promotional messages; transactional messages "
        "still pass. Changes are recorded in the ledger and effective at once.",
        config=False,  # -c belongs to each action, so it can follow it
    )
    actions = suppressions.add_subparsers(title="actions", metavar="<action>")
    imp = _command(
        actions, "import", "bulk-import opted-out numbers",
        "Reads a CSV file (number in the first column; a header row is skipped) or a file "
        "with one number a line ('-': stdin), and shows progress on stderr. Idempotent: "
        "numbers already suppressed are counted, not duplicated. Prints the counts and "
        "the first invalid lines with their line numbers; exits 1 only if every line was "
        "invalid.\n\n" + SCOPE_HELP,
        _suppressions("import"),
    )
    imp.add_argument("file", metavar="FILE", help="CSV file or one number a line; - for stdin")
    _add_account_option(imp, "suppress for this account only (default: every account)")
    _add_region_option(imp)
    exp = _command(
        actions, "export", "write the suppression list as CSV to stdout",
        "One row per suppressed number and scope: number,scope,since,source (scope: an "
        "account, or * for every account; since in ISO 8601 UTC). The output imports back "
        "with `stopgate suppressions import`.",
        _suppressions("export"),
    )
    _add_account_option(exp, "only this account's own suppressions (default: every scope)")
    for name, summary, description, scope in (
        ("add", "opt a number out", "Records an opt-out with source 'cli'.",
         "opt out of this account only (default: every account)"),
        ("remove", "opt a number back in (re-consent)", "Records an opt-in with source 'cli'.",
         "for this account only (default: the operator-wide entry)"),
        ("check", "say whether a number is suppressed, and why",
         "Prints the suppression state with its scope, time and source; exits 0 either way.",
         "what blocks this account: its own entry and the operator-wide one (default: every "
         "scope)"),
    ):
        single = _command(actions, name, summary, f"{description}\n\n{SCOPE_HELP}",
                          _suppressions(name))
        single.add_argument("number", metavar="NUMBER", help=NUMBER_HELP)
        _add_account_option(single, scope)
        _add_region_option(single)
    history = _command(
        actions, "history", "every opt-out, opt-in and erasure of a number, as evidence",
        "Prints the number's events oldest first: time, scope, event, source, keyword, the "
        "MO text as received, the number called, campaign, reason, the opt-out page's user "
        "agent, and for API changes the key (account:fingerprint) and client address; "
        "erasures too. JSON (default) or CSV.\n\n" + SCOPE_HELP,
        _suppressions("history"),
    )
    history.add_argument("number", metavar="NUMBER", help=NUMBER_HELP)
    history.add_argument("--format", choices=("json", "csv"), default="json",
                         help="output format (default: json)")
    _add_account_option(history, "this account's events and the operator-wide ones "
                                 "(default: every scope)")
    _add_region_option(history)
    erase = _command(
        actions, "erase", "erase a number (GDPR art. 17), keeping its opt-out in force",
        "Replaces the number by its keyed hash (storage.hash_key) in the ledger's events, "
        "state, link tokens and webhook deliveries, in the Redis cache and the campaign "
        "notes; an opt-out stays in force. Exits 1 when stopgate holds nothing of the "
        "number, or no storage.hash_key is configured.\n\n" + SCOPE_HELP,
        _suppressions("erase"),
    )
    erase.add_argument("number", metavar="NUMBER", help=NUMBER_HELP)
    _add_account_option(erase, "erase this account's records only (default: every scope)")
    _add_region_option(erase)

    reviews = _command(
        commands, "reviews", "the opt-out review list (replies that may be opt-outs)",
        "Replies that looked like a revocation without being a clear one (\"not "
        "interested\", \"who is this?\") wait here for a person, who must decide within "
        "10 business days (the FCC's rule). Works on the ledger, with or without a running "
        "gateway.",
        config=False,
    )
    review_actions = reviews.add_subparsers(title="actions", metavar="<action>")
    listing = _command(
        review_actions, "list", "show the review list",
        "One line per reply: id, account (* = the operator's number), number, when it "
        "came, its deadline, its status, its text as received.",
        _reviews("list"),
    )
    _add_account_option(listing, "only this account's replies (default: every scope)")
    listing.add_argument("--status", default="pending",
                         choices=("pending", "opted_out", "dismissed", "all"),
                         help="which replies (default: pending, the work to do)")
    decide = _command(
        review_actions, "decide", "decide a reply: an opt-out, or not",
        "optout: records the opt-out like a STOP (source 'review', who decided in its "
        "keyword), in the same ledger transaction as the decision, and writes it through "
        "to the cache. dismiss: nothing is recorded. The first decision stands.\n\n"
        + SCOPE_HELP,
        _reviews("decide"),
    )
    decide.add_argument("id", type=_review_id, metavar="ID", help="the review's id")
    decide.add_argument("decision", choices=("optout", "dismiss"), help="what to do")
    decide.add_argument("--by", metavar="NAME",
                        help="who decides, recorded as cli:NAME (default: the login name)")

    report = _command(
        commands, "report", "review opt-outs",
        "Tables for the operator and for senders' compliance reviews.",
        config=False,
    )
    reports = report.add_subparsers(title="reports", metavar="<report>")
    optouts = _command(
        reports, "optouts", "opt-out counts as a table",
        "Counts opt-outs (keyword, link, API, import) grouped by campaign, source, "
        "reason or day, from the ledger file (a running gateway is not needed). Only "
        "events that changed the state count: a repeated STOP counts once. Without "
        "--account: every scope, the operator-wide '*' included; with it, that "
        "account's own events, as GET /v1/reports/optouts shows them.",
        _report_optouts,
    )
    _add_account_option(optouts, "only this account (default: all)")
    optouts.add_argument("--by", choices=("campaign", "source", "reason", "day"),
                         default="campaign", help="group counts by")
    optouts.add_argument("--from", dest="since", type=_day, metavar="YYYY-MM-DD",
                         help="first day included (default: the beginning)")
    optouts.add_argument("--to", dest="until", type=_day, metavar="YYYY-MM-DD",
                         help="last day included (default: today)")

    held = _command(
        commands, "held", "promotional messages held for their recipient's sending window",
        "Quiet hours with action = \"hold\" keep a promotional message in the ledger until "
        "its recipient's window opens; these commands read and cancel them from the "
        "ledger, with or without a running gateway.",
        config=False,
    )
    held_actions = held.add_subparsers(title="actions", metavar="<action>")
    held_list = _command(
        held_actions, "list", "list an account's held messages",
        "Prints how many messages the account has held, then one line per message, oldest "
        "first: its id (the one the sender was given), number, when it was held, when it "
        "is due and when it expires (UTC), and its campaign.",
        _held("list"),
    )
    held_list.add_argument("--account", metavar="A", required=True, help="account system_id")
    held_list.add_argument("--campaign", metavar="C", help="only this campaign's")
    held_list.add_argument("--limit", type=int, default=100, metavar="N",
                           help="show at most N messages (default 100)")
    held_cancel = _command(
        held_actions, "cancel", "cancel a campaign's held messages",
        "Marks the account's held messages of the campaign cancelled: they are never "
        "sent. Each part whose message asked for receipts gets a DELETED receipt, sent by "
        "the running gateway (at once, or when one starts). A message being released at "
        "that moment is not cancelled. Prints how many were cancelled.",
        _held("cancel"),
    )
    held_cancel.add_argument("--account", metavar="A", required=True,
                             help="account system_id")
    held_cancel.add_argument("--campaign", metavar="C", required=True,
                             help="the campaign whose held messages to cancel")

    ledger = _command(
        commands, "ledger", "look after the ledger (the durable record of opt-outs)",
        "The ledger is the system of record; Redis is rebuilt from it.",
        config=False,
    )
    ledger_actions = ledger.add_subparsers(title="actions", metavar="<action>")
    backup = _command(
        ledger_actions, "backup", "copy the SQLite ledger to a new file, safely while "
        "gateways run",
        "Uses SQLite's online backup API: one consistent snapshot, gateways keep writing "
        "meanwhile. The copy is checked (PRAGMA integrity_check) and appears under FILE "
        "only once complete; an existing FILE is never overwritten. Prints what the copy "
        "holds. A PostgreSQL ledger is backed up with pg_dump instead.",
        _ledger_backup,
    )
    backup.add_argument("file", metavar="FILE", help="the backup file to create")
    _command(
        ledger_actions, "migrate", "apply the ledger's pending schema steps",
        "Creates the ledger's tables or applies the schema steps this stopgate knows and "
        "the ledger lacks, then prints the schema version. serve does the same at start; "
        "two instances doing it at once apply each step once. Steps are expand-only "
        "within a release, so instances of the previous release keep running; a ledger "
        "migrated by a stopgate newer than this one is used if its steps allow, else "
        "refused with both versions named.",
        _ledger_migrate,
    )
    copy = _command(
        ledger_actions, "copy", "copy a SQLite ledger into a new PostgreSQL ledger",
        "Copies one snapshot of the SQLite ledger (events with their ids and times, the "
        "suppressions, opt-out link tokens, open webhook deliveries, held messages, "
        "erasures, the review list and ledger facts) into "
        "an empty PostgreSQL ledger, in one transaction, and prints the counts. A target "
        "that holds data is refused. Stop the gateways on the SQLite ledger first; then "
        "set storage.ledger to the PostgreSQL URL.",
        _ledger_copy, config=False,
    )
    copy.add_argument("--from", dest="source", required=True, metavar="SQLITE",
                      help="the SQLite ledger: a path or sqlite:///path")
    copy.add_argument("--to", dest="target", required=True, metavar="POSTGRESQL_URL",
                      help="the PostgreSQL ledger: postgresql://user@host/db?...")

    simulator = _command(
        commands, "simulate-carrier", "run the built-in SMSC simulator",
        "An SMSC for tests, demos and benchmarks, until SIGINT or SIGTERM: accepts any "
        "bind, answers submit_sm, sends a delivery receipt for every accepted submit_sm "
        "that asks for one (to a receiver or transceiver of the same system_id, held "
        "while none is bound, retried until acknowledged), and injects MO messages "
        "(STOP replies) on request. Prints one line saying where it listens.",
        _simulate_carrier, config=False,
    )
    simulator.epilog = (
        "HTTP control endpoint (with --http): POST /mo {\"from\", \"to\", \"text\"} "
        "injects an MO; GET /stats; GET /messages (what was accepted, multipart "
        "reassembled); POST /reset; POST /disconnect drops every SMPP connection; "
        "POST /config {\"latency\", \"error_rate\", \"throttle_tps\", ...} changes "
        "behaviour at runtime."
    )
    simulator.add_argument("--listen", type=_listen_address, default="127.0.0.1:2776",
                           metavar="HOST:PORT", help="SMPP address the simulator listens on")
    simulator.add_argument("--http", type=_listen_address, metavar="HOST:PORT",
                           help="also serve the HTTP control endpoint here (default: none)")
    simulator.add_argument("--latency", type=_non_negative, default=0.0, metavar="S",
                           help="seconds before answering each submit_sm")
    simulator.add_argument("--error-rate", type=_fraction, default=0.0, metavar="F",
                           help="fraction of submit_sm refused with ESME_RSUBMITFAIL, 0 to 1")
    simulator.add_argument("--throttle-tps", type=_non_negative, default=0.0, metavar="N",
                           help="submit_sm per second and system_id above which it answers "
                                "ESME_RTHROTTLED; 0: no limit")
    simulator.add_argument("--no-dlr", action="store_true",
                           help="never send delivery receipts")
    simulator.add_argument("--dlr-delay", type=_non_negative, default=0.0, metavar="S",
                           help="seconds between the submit_sm_resp and its delivery receipt")
    simulator.add_argument("--id-format", choices=("hex", "decimal"), default="hex",
                           help="how message ids are written in submit_sm_resp")
    simulator.add_argument("--dlr-id-format", default="same",
                           choices=("same", "hex", "decimal", "decimal_zero_padded"),
                           help="how the same ids are written in delivery receipts (carriers "
                                "mix these)")
    simulator.add_argument("--fast", action="store_true",
                           help="benchmark mode: counters only, nothing recorded per message, "
                                "receipts without the text snippet")
    simulator.add_argument("--tls-cert", metavar="FILE",
                           help="serve SMPP over TLS (1.2 or later) with this certificate "
                                "(PEM, chain included); needs --tls-key")
    simulator.add_argument("--tls-key", metavar="FILE",
                           help="the private key of --tls-cert (PEM)")
    simulator.add_argument("--tls-client-ca", metavar="FILE",
                           help="with --tls-cert: require a client certificate signed by "
                                "this CA (PEM), as carriers that authenticate clients do")
    return parser


if __name__ == "__main__":
    sys.exit(main())

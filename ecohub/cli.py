"""``ecohub``: the operator's command line.

Each subcommand is a thin shell over an engine function, so what the CLI does an Airflow task
can do too. Exit codes: 0 success, 1 the job ran but found a problem (unbalanced run, failed
check), 2 usage or configuration error, 3 a service or portal is unreachable.

Imports: each command imports its job module (pipeline, loader, ops, report, doctor, webhooks)
when it runs. Importing them all costs ~2 s (1.6-2.3 s, ``python -X importtime``) against
~0.2 s for this module, which every invocation, ``--help`` and ``ecohub config`` included,
would pay.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from ecohub.errors import ConfigError, EcohubError, FatalError, RetriableError
from ecohub.portals import portal_names
from ecohub.secrets import install_log_masking, mask_text
from ecohub.settings import load_settings, secret_values

__all__ = ["consume_progress_text", "main", "progress_text"]

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3

EPILOG = """\
typical session:
  ecohub services up                  start local Kafka, PostgreSQL and the S3 endpoint
  ecohub simulate --portal all &      serve the three portal simulators on 8101-8103
  ecohub sync techport                pull Techport incrementally, land, normalize, publish
  ecohub consume                      validate with Great Expectations and load the warehouse
  ecohub status                       last run per portal and stream, counts, lag, balance
  ecohub doctor                       what is misconfigured or unreachable, and how to fix it

configuration comes from ECOHUB_* variables (ECOHUB_CONFIG_FILE names an optional TOML file);
`ecohub config` prints the effective settings with secrets masked."""


def _dev_module(name: str, how: str) -> Any:
    """A development package of the source checkout (``infra``, ``simulators``), which the
    wheel does not ship.

    Resolved only when a development command (``services``, ``airflow``, ``simulate``,
    ``demo``) runs, so the installed hub never needs it: an editable install (``make venv``, the
    hub image) finds the checkout beside this package; an installed wheel says how to run the
    command from a checkout instead."""
    top = name.split(".")[0]
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / top / "__init__.py").is_file() and str(checkout) not in sys.path:
        sys.path.append(str(checkout))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name not in {top, name}:
            raise
        raise ConfigError(
            f"this command needs a source checkout ({name} is not installed with ecohub): "
            f"run `{how}` from the repository"
        ) from exc


def _cmd_services(args: argparse.Namespace) -> int:
    services = _dev_module("infra.stack", "python -m infra.stack up|down|status")

    if args.action == "up":
        services.up(only=args.only.split(",") if args.only else None)
    elif args.action == "down":
        services.down(only=args.only.split(",") if args.only else None)
    else:
        return services.main(["status"])
    return EXIT_OK


def _cmd_simulate(args: argparse.Namespace) -> int:
    simulators = _dev_module("simulators", "python -m simulators --portal all")
    argv = ["--portal", args.portal, "--scale", args.scale, "--seed", str(args.seed)]
    return int(simulators.main([*argv, "--host", args.host]))


def _cmd_sync(args: argparse.Namespace) -> int:
    # deferred: see "Imports" in the module docstring
    from ecohub.pipeline import sync

    reports = sync(
        args.portal,
        args.stream or None,
        run_id=args.run_id,
        full_refresh=args.full_refresh,
        reconcile_deletes=args.reconcile_deletes,
        progress=_progress_line if sys.stderr.isatty() else None,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    for r in reports:
        print(json.dumps(r.as_dict(), ensure_ascii=False))
    return EXIT_OK if all(r.balanced for r in reports) else EXIT_PROBLEM


def _progress_line(report: Any) -> None:
    """One self-overwriting status line per stream on a terminal: records/s, and percent and
    ETA when the portal reports the listing's size (Techport totals, OAI completeListSize,
    H.OIP counts)."""
    print(f"\r{progress_text(report, time.monotonic())}\x1b[K", end="", file=sys.stderr,
          flush=True)


def progress_text(report: Any, now: float) -> str:
    """``stinet/documents: 12,300 records, 410/s, 8% of 150,000, ETA 5m56s (page 123, ...)``."""
    elapsed = max(now - report.started, 1e-9)
    rate = report.fetched / elapsed
    text = f"{report.portal}/{report.stream}: {report.fetched:,} records, {rate:,.0f}/s"
    total = report.total
    if total:
        done = min(report.fetched / total, 1.0)
        text += f", {done:.0%} of {total:,}"
        if rate > 0 and done < 1.0:
            text += f", ETA {_duration((total - report.fetched) / rate)}"
    return (f"{text} (page {report.pages}, published {report.published}, "
            f"dead-lettered {report.dead_lettered})")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _cmd_consume(args: argparse.Namespace) -> int:
    """Load, then reconcile every run whose events are all consumed (as the load DAG does)."""
    # deferred: see "Imports" in the module docstring
    from ecohub.loader import consume, default_workers
    from ecohub.ops import reconcile_pending

    settings = load_settings()
    idle = float("inf") if args.follow else args.idle_timeout
    _stop_on_sigterm()
    stats = consume(
        settings,
        workers=default_workers(settings, args.workers),
        max_batches=args.max_batches,
        idle_timeout_s=idle,
        drain_timeout_s=args.drain_timeout,
        outage_timeout_s=args.outage_timeout,
        progress=_consume_progress(settings) if sys.stderr.isatty() else None,
    )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(json.dumps(_as_dict(stats), ensure_ascii=False, default=str))
    for verdict in reconcile_pending(settings):  # raises ReconciliationError -> exit 1
        print(json.dumps(verdict, ensure_ascii=False, default=str), file=sys.stderr)
    return EXIT_OK


def _consume_progress(settings: Any) -> Callable[[Any], None]:
    """The loader's progress line: events/s, and percent and ETA of the lag at start."""
    # deferred: see "Imports" in the module docstring
    from ecohub.loader import lag

    try:
        backlog: int | None = sum(lag(settings).values()) or None
    except EcohubError:  # no lag figure: rate only
        backlog = None
    started = time.monotonic()

    def show(stats: Any) -> None:
        print(f"\r{consume_progress_text(stats, backlog, time.monotonic() - started)}\x1b[K",
              end="", file=sys.stderr, flush=True)

    return show


def consume_progress_text(stats: Any, backlog: int | None, elapsed: float) -> str:
    """``consume: 12,000 events, 450/s, 40% of 30,000, ETA 40s (loaded ..., quarantined ...)``."""
    rate = stats.messages / max(elapsed, 1e-9)
    text = f"consume: {stats.messages:,} events, {rate:,.0f}/s"
    if backlog:
        done = min(stats.messages / backlog, 1.0)
        text += f", {done:.0%} of {backlog:,}"
        if rate > 0 and done < 1.0:
            text += f", ETA {_duration((backlog - stats.messages) / rate)}"
    return f"{text} (loaded {stats.loaded}, quarantined {stats.quarantined})"


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _stop_on_sigterm() -> None:
    """SIGTERM (a service manager, Airflow, ``kill``) unwinds like Ctrl-C, so the loader's
    ``finally`` leaves the consumer group and the next loader takes over at once."""

    def _raise(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _raise)


def _cmd_replay(args: argparse.Namespace) -> int:
    # deferred: see "Imports" in the module docstring
    from ecohub.pipeline import replay

    report = replay(
        args.portal,
        args.stream,
        source_run_id=args.run_id,
        date_from=date.fromisoformat(args.date_from) if args.date_from else None,
        date_to=date.fromisoformat(args.date_to) if args.date_to else None,
    )
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    return EXIT_OK if report.balanced else EXIT_PROBLEM


def _cmd_status(args: argparse.Namespace) -> int:
    # deferred: see "Imports" in the module docstring
    from ecohub.ops import status

    return status(load_settings(), as_json=args.json)


def _cmd_doctor(args: argparse.Namespace) -> int:
    # deferred: see "Imports" in the module docstring
    from ecohub.doctor import doctor

    return doctor(load_settings())


def _cmd_report(args: argparse.Namespace) -> int:
    # deferred: see "Imports" in the module docstring
    from ecohub.report import write_report

    path = write_report(load_settings(), out_dir=args.out)
    print(path)
    return EXIT_OK


def _cmd_resolve(args: argparse.Namespace) -> int:
    # deferred: see "Imports" in the module docstring
    from ecohub.ops import resolve

    return resolve(load_settings())


def _cmd_demo(args: argparse.Namespace) -> int:
    # deferred: see "Imports" in the module docstring
    from ecohub.ops import demo

    simulators = _dev_module("simulators", "make demo")
    return demo(
        load_settings(), lambda: simulators.start("techport", scale=args.scale, port=0)
    )


def _cmd_airflow(args: argparse.Namespace) -> int:
    """Run the airflow CLI against this project's local Airflow (DAGs from ./dags)."""
    local = _dev_module("infra.airflow_local", "make venv; .venv/bin/ecohub airflow ...")
    af = local.LocalAirflow(Path(load_settings().var_dir).resolve() / "airflow")
    af.ensure_db()
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    os.execvpe(af.airflow_bin, [af.airflow_bin, *rest], af.env())  # noqa: S606 - replaces this process
    return EXIT_OK  # pragma: no cover


def _cmd_webhooks(args: argparse.Namespace) -> int:
    # deferred: see "Imports" in the module docstring
    from ecohub import webhooks

    settings = load_settings()
    if args.action == "subscribe":
        resources = args.resource or None
        answer = webhooks.subscribe(settings, resources=resources, callback_url=args.callback_url)
        print(json.dumps(answer, ensure_ascii=False))
        return EXIT_OK
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        hooks = settings.webhooks.model_copy(update=overrides)
        settings = settings.model_copy(update={"webhooks": hooks})
    webhooks.serve(settings)
    return EXIT_OK


def _cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(load_settings().describe(), indent=2, ensure_ascii=False, default=str))
    return EXIT_OK


def _as_dict(obj: Any) -> Any:
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    return obj


def _unavailable_service(exc: BaseException) -> str | None:
    """``kafka`` or ``warehouse`` when ``exc`` is a client library's connection failure that
    escaped the engine's own retries (checked by module, not imported: the CLI stays light)."""
    module = type(exc).__module__
    name = type(exc).__name__
    if module.startswith("kafka.") and name in {
        "KafkaTimeoutError", "NoBrokersAvailable", "KafkaConnectionError", "NodeNotReadyError",
        "RequestTimedOutError",
    }:  # fmt: skip
        return "kafka"
    if module.startswith(("sqlalchemy.", "psycopg")) and name in {
        "OperationalError", "InterfaceError", "DisconnectionError",
    }:  # fmt: skip
        return "warehouse"
    return None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecohub",
        description="ecohub links Stinet, Techport and H.OIP into one ecosystem warehouse.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        return sp

    sp = add(
        "services", _cmd_services, "start, stop or inspect the local Kafka/PostgreSQL/S3 stack"
    )
    sp.add_argument("action", choices=["up", "down", "status"])
    sp.add_argument("--only", help="comma-separated subset: kafka,postgres,s3")

    sp = add("simulate", _cmd_simulate, "serve portal simulators until interrupted")
    sp.add_argument("--portal", default="all", choices=[*portal_names(), "all"])
    sp.add_argument("--scale", default="small", choices=["small", "real", "xl"])
    sp.add_argument("--seed", type=int, default=42, help="same seed, same data (default 42)")
    sp.add_argument("--host", default="127.0.0.1")

    sp = add("sync", _cmd_sync, "pull a portal incrementally and publish its events")
    sp.add_argument("portal", choices=portal_names())
    sp.add_argument("--stream", action="append", help="only this stream (repeatable)")
    sp.add_argument("--run-id", help="reuse a run id (default: a new one)")
    sp.add_argument("--full-refresh", action="store_true", help="ignore saved cursors")
    sp.add_argument(
        "--reconcile-deletes",
        action="store_true",
        help="also list every key to find deletions (portals without a delete signal)",
    )

    sp = add("consume", _cmd_consume, "validate events with Great Expectations and load them")
    sp.add_argument("--max-batches", type=int, default=None, help="per loader process")
    sp.add_argument("--workers", type=_count, default=None,
                    help="loader processes in one consumer group (default: ECOHUB_LOADER_WORKERS"
                         ", else 1); 0: about one per core, dividing the partitions per topic")
    sp.add_argument("--idle-timeout", type=float, default=5.0, help="stop after N idle seconds")
    sp.add_argument("--follow", action="store_true", help="never stop (a long-running service)")
    sp.add_argument(
        "--drain-timeout",
        type=float,
        default=120.0,
        help="when idle with events still unloaded (a crashed member's partitions), wait this "
        "long for them, then exit 1 instead of reporting success (default 120)",
    )
    sp.add_argument(
        "--outage-timeout",
        type=float,
        default=60.0,
        help="retry an unavailable Kafka or warehouse this long, then exit 3 (default 60)",
    )

    sp = add("replay", _cmd_replay, "rebuild events from the raw landing zone, no portal calls")
    sp.add_argument("portal", choices=portal_names())
    sp.add_argument("stream")
    sp.add_argument("--run-id", help="replay only this landed run")
    sp.add_argument("--from", dest="date_from", help="first landing date, YYYY-MM-DD")
    sp.add_argument("--to", dest="date_to", help="last landing date, YYYY-MM-DD")

    sp = add("status", _cmd_status, "last run per portal and stream: counts, lag, reconciliation")
    sp.add_argument("--json", action="store_true")
    add("doctor", _cmd_doctor, "check configuration and connectivity, say how to fix problems")
    sp = add("report", _cmd_report, "write the auditors' HTML quality report")
    sp.add_argument("--out", default=None, help="output folder (default var/report)")
    add("resolve", _cmd_resolve, "run cross-portal entity resolution (links keep their evidence)")
    sp = add("demo", _cmd_demo, "Techport end to end against its simulator, with a summary")
    sp.add_argument("--scale", default="small", choices=["small", "real"])
    sp = add("webhooks", _cmd_webhooks, "serve the H.OIP push receiver, or subscribe it at H.OIP")
    sp.add_argument("action", choices=["serve", "subscribe"])
    sp.add_argument("--host", help="serve: listen address (default ECOHUB_WEBHOOKS__HOST)")
    sp.add_argument("--port", type=int, help="serve: port (default ECOHUB_WEBHOOKS__PORT)")
    sp.add_argument("--resource", action="append", help="subscribe: only this H.OIP resource")
    sp.add_argument("--callback-url", help="subscribe: default ECOHUB_WEBHOOKS__CALLBACK_URL")
    add("config", _cmd_config, "print the effective configuration (secrets masked)")
    sp = add(
        "airflow",
        _cmd_airflow,
        "the airflow CLI on this project's DAGs, e.g. `ecohub airflow dags list`",
    )
    sp.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to airflow")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # client libraries narrate every connection at INFO
        for noisy in ("kafka", "botocore", "boto3", "urllib3", "great_expectations", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    known = _known_secrets()
    install_log_masking(known)  # -v turns on botocore's DEBUG log, which prints credentials
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(mask_text(f"ecohub: configuration error: {exc}", known), file=sys.stderr)
        return EXIT_USAGE
    except RetriableError as exc:
        print(mask_text(f"ecohub: unavailable: {exc}", known), file=sys.stderr)
        return EXIT_UNAVAILABLE
    except (FatalError, EcohubError) as exc:
        print(mask_text(f"ecohub: {exc}", known), file=sys.stderr)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        print("ecohub: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        service = _unavailable_service(exc)
        if service is None:
            raise
        first = mask_text((str(exc).strip().splitlines() or [""])[0][:300], known)
        print(f"ecohub: unavailable: {service}: {type(exc).__name__}: {first}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _known_secrets() -> list[str]:
    """The configured secrets, to mask them exactly; none when the configuration is broken
    (the command then fails on it with a ConfigError, masked by shape)."""
    try:
        return secret_values(load_settings())
    except EcohubError:
        return []


if __name__ == "__main__":
    sys.exit(main())

"""Simulators of the partner portals (Stinet, Techport, H.OIP) behind written contracts.

The portals are unreachable from ecohub's machines and publish no API documentation, so every
connector, benchmark and reliability test runs against these servers. The contracts are
``docs/portals/{stinet,techport,hoip}.md``; the servers do exactly what they say.

Python API::

    import simulators
    with simulators.start("techport", scale="small", seed=42, port=0) as server:
        requests.get(server.url + "/api/v2/cong-nghe", headers={"X-API-Key": "dev-techport-key"})

Which class simulates a portal, its default port and its sizes per scale come from the
portal's spec (:mod:`ecohub.portals`): a registered portal with a ``simulator`` is served like
the built-in three. ``start_all`` starts every one at once; ``main`` is the ``ecohub
simulate`` / ``python -m simulators`` command line. Everything served is a pure function of
(portal, scale, seed, admin calls made): the same seed gives the same pages across restarts.

Admin paths (outside the contracts, identical on the three portals; see
:mod:`simulators.server`): ``GET /_admin/truth`` (JSON summary), ``GET /_admin/truth/<resource>``
(NDJSON stream, one line per record: key, version, updated as served, deleted, entity_id of
organizations, startup companies, laboratories and experts, defect of deliberately broken
records), ``GET
/_admin/truth/entities`` (NDJSON of world entities), ``POST /_admin/advance``, ``GET|POST
/_admin/faults`` (see :mod:`simulators.faults`), ``GET /_admin/stats``.

Resources (the names used by the admin paths): Stinet ``documents`` (OAI-PMH), ``tasks``,
``experts``, ``laboratories``, ``organizations``; Techport ``cong-nghe``, ``nhu-cau``,
``nha-cung-cap``, ``tu-van``, ``tim-doi-tac``; H.OIP ``startup-projects``, ``organizations``,
``programs``, ``challenges``, ``support-applications``. Organization, laboratory and expert
resources carry world entity ids (``W-ORG-``, ``W-LAB-``, ``W-PER-``): Stinet ``organizations``,
``laboratories`` and ``experts``, Techport ``nha-cung-cap`` and ``tu-van``, H.OIP
``organizations`` and ``startup-projects`` (the project's company).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from ecohub.errors import ConfigError
from ecohub.portals import portal_spec, portal_specs, resolve_ref
from simulators.scales import SCALES
from simulators.server import SimulatorServer

__all__ = [
    "SCALES",
    "SimulatorServer",
    "build_portal",
    "default_port",
    "main",
    "portals",
    "start",
    "start_all",
]


def portals() -> tuple[str, ...]:
    """Every registered portal that has a simulator, by rank (the built-ins: all three)."""
    return tuple(spec.name for spec in portal_specs() if spec.simulator)


def default_port(portal: str) -> int:
    """Where ``portal``'s simulator listens by default (its spec's ``default_port``)."""
    return portal_spec(portal).default_port


def build_portal(portal: str, *, scale: str = "small", seed: int = 42) -> Any:
    """The portal application without a socket (for in-process tests and benchmarks)."""
    if portal not in portals():
        raise ConfigError(f"unknown portal {portal!r}; valid portals: {', '.join(portals())}")
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}")
    return resolve_ref(portal_spec(portal).simulator)(seed, scale)


def start(
    portal: str,
    *,
    scale: str = "small",
    seed: int = 42,
    host: str = "127.0.0.1",
    port: int | None = None,
    faults: dict | None = None,
) -> SimulatorServer:
    """Start one simulator on a real socket, served from a background thread.

    ``port=None`` uses the portal's default port (8101/8102/8103 for the built-ins), ``port=0``
    any free port.
    ``faults`` is the initial fault configuration (the JSON of ``POST /_admin/faults``).
    """
    app = build_portal(portal, scale=scale, seed=seed)
    if faults:
        try:
            app.faults.configure(faults)
        except ValueError as exc:
            raise ConfigError(f"invalid fault configuration: {exc}", portal=portal) from None
    return SimulatorServer(app, host, default_port(portal) if port is None else port)


def start_all(
    *,
    scale: str = "small",
    seed: int = 42,
    host: str = "127.0.0.1",
    ports: dict[str, int] | None = None,
    faults: dict | None = None,
) -> dict[str, SimulatorServer]:
    """Start every portal's simulator (default ports unless ``ports`` says otherwise)."""
    servers: dict[str, SimulatorServer] = {}
    try:
        for name in portals():
            servers[name] = start(
                name, scale=scale, seed=seed, host=host, port=(ports or {}).get(name), faults=faults
            )
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecohub simulate", description="Serve the portal simulators until interrupted."
    )
    parser.add_argument(
        "--portal", default="all", help=f"one of {', '.join(portals())}, all (default all)"
    )
    parser.add_argument(
        "--scale", default="small", help=f"one of {', '.join(SCALES)} (default small)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port of a single portal (default: its own); 0 = free port(s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """``ecohub simulate``: serve until SIGINT/SIGTERM; 2 on bad arguments."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    names = portals() if args.portal == "all" else (args.portal,)
    if args.portal != "all" and args.portal not in portals():
        print(
            f"error: unknown portal {args.portal!r}; valid: {', '.join(portals())}, all",
            file=sys.stderr,
        )
        return 2
    if args.scale not in SCALES:
        print(f"error: unknown scale {args.scale!r}; valid: {', '.join(SCALES)}", file=sys.stderr)
        return 2
    if len(names) > 1 and args.port not in (None, 0):
        print("error: --port with --portal all must be 0 (each on a free port)", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    servers: list[SimulatorServer] = []
    try:
        for name in names:
            port = args.port if (len(names) == 1 or args.port == 0) else None
            server = start(name, scale=args.scale, seed=args.seed, host=args.host, port=port)
            servers.append(server)
            print(
                f"{name} simulator listening at {server.url} "
                f"(scale {args.scale}, seed {args.seed})",
                flush=True,
            )
        print("ready", flush=True)
        while not stop.wait(0.5):
            pass
    except (ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

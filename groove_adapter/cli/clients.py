"""``certify`` and ``simulate``: the client tools of :mod:`groove_client`, run from the server's CLI."""

from __future__ import annotations

import argparse
import asyncio
import sys

from .common import (
    CliError,
    _http_url,
)


def cmd_certify(args: argparse.Namespace) -> int:
    from groove_client import certify, certify_hub88

    hub88 = args.protocol == "hub88"
    if args.list:
        print((certify_hub88 if hub88 else certify).list_scenarios(), end="")
        return 0
    if not args.url:
        print(f"groove-wallet certify: --url is required (e.g. http://127.0.0.1:8080/{args.protocol})", file=sys.stderr)
        return 2
    _http_url(args.url, "--url")
    if args.admin_url:
        _http_url(args.admin_url, "--admin-url")
    cfg = certify.Config(
        url=args.url,
        secret=args.secret,
        signature_scheme=args.signature_scheme,
        account=args.account,
        session=args.session,
        second_account=args.second_account,
        second_session=args.second_session,
        expired_session=args.expired_session,
        frbid=args.frbid,
        admin_url=args.admin_url,
        admin_token=args.admin_token,
        currency=args.currency,
        game=args.game,
        device=args.device,
        apiversion=args.apiversion,
        concurrency=args.concurrency,
        timeout=args.timeout,
        only=args.only or [],
    )
    stream = args.format == "text" and not args.output

    def on_result(r: certify.ScenarioResult) -> None:
        print(certify.text_line(r), flush=True)
        details = certify.text_details(r, args.verbose)
        if details:
            print(details, flush=True)

    if stream:
        print(f"groove-wallet certify {args.url}", flush=True)
    try:
        callback = on_result if stream else None
        run = certify_hub88.run_from_args(args, callback) if hub88 else certify.run_certify(cfg, callback)
        report = asyncio.run(run)
    except certify.CertifyError as exc:
        print(f"groove-wallet certify: {exc}", file=sys.stderr)
        return 2
    if stream:
        print(certify.render_text_summary(report))
    else:
        out = certify.render(report, args.format, args.verbose)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(out)
            print(certify.render_text_summary(report).strip(), file=sys.stderr)
        else:
            sys.stdout.write(out)
    if args.require_all and report.count("skip"):
        return 1
    return 0 if report.ok else 1


def _pem(path: str | None, option: str) -> str | None:
    if path is None:
        return None
    try:
        with open(path, encoding="ascii") as f:
            return f.read(16_384)
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{option} {path}: {getattr(exc, 'strerror', None) or exc}", 2) from None


def cmd_simulate(args: argparse.Namespace) -> int:
    from groove_client import simulate, simulate_hub88

    _http_url(args.url, "--url")
    for option, value in (("--admin-url", args.admin_url), ("--hub88-url", args.hub88_url)):
        if value:
            _http_url(value, option)
    cfg = simulate.SimConfig(
        url=args.url,
        admin_url=args.admin_url,
        admin_token=args.admin_token,
        players=args.players,
        rounds=args.rounds,
        concurrency=args.concurrency,
        seed=args.seed,
        game=args.game,
        currency=args.currency,
        timeout=args.timeout,
        signed=not args.unsigned,
        signature_scheme=args.signature_scheme,
        progress=not args.quiet,
        protocol=args.protocol,
        hub88_url=args.hub88_url,
        hub88_key_pem=_pem(args.hub88_key, "--hub88-key"),
    )
    try:
        result = asyncio.run(simulate_hub88.run(cfg))
    except simulate.SimulationError as exc:
        print(f"groove-wallet simulate: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(result.json() if args.format == "json" else result.text())
    return 0 if result.ok else 1

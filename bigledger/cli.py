"""The `bigledger` command line: database, API, sandbox, worker and the demo."""

from __future__ import annotations

import typer

app = typer.Typer(help="BigLedger Integrations", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Ledger database", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the ledger schema (Alembic) at BIGLEDGER_DATABASE_URL."""
    from bigledger.settings import get_settings
    from ledger.migrate import upgrade

    upgrade()
    typer.echo(f"ledger schema is up to date ({_safe_url(get_settings().resolved_database_url())})")


@app.command()
def api(host: str = typer.Option(None, help="default BIGLEDGER_API_HOST"),
        port: int = typer.Option(None, help="default BIGLEDGER_API_PORT")) -> None:
    """Serve the HTTP API (needs BIGLEDGER_API_KEY and a reachable Prefect API)."""
    import uvicorn

    from bigledger.settings import get_settings

    settings = get_settings()
    if settings.api_key is None:
        raise typer.BadParameter("set BIGLEDGER_API_KEY: every API call must present it")
    uvicorn.run("api.app:create_server_app", factory=True, host=host or settings.api_host,
                port=port or settings.api_port, log_level="warning")


@app.command()
def limits() -> None:
    """Create or resize every integration's shared rate limits on the Prefect server
    (BIGLEDGER_SHARED_RATE_LIMITS; see README "Running at scale")."""
    from tasks.limits import ensure_rate_limits

    for row in ensure_rate_limits():
        typer.echo(f"{row['action']:9} {row['name']}  {row['rate']:g}/s, burst {row['burst']:g}")


@app.command()
def sandbox(host: str = typer.Option(None, help="default BIGLEDGER_SANDBOX_HOST"),
            port: int = typer.Option(None, help="default BIGLEDGER_SANDBOX_PORT"),
            seed: int = typer.Option(42, help="data seed"),
            size: int = typer.Option(1000, help="number of orders"),
            currency: str = typer.Option("MYR", help="shop currency"),
            no_throttle: bool = typer.Option(False, "--no-throttle",
                                             help="never run the cost bucket dry"),
            restore_rate: int = typer.Option(100, help="cost points restored per second "
                                             "(Shopify: 100 standard, 1000 Plus)"),
            max_available: int = typer.Option(2000, help="cost bucket size")) -> None:
    """Serve the platform sandboxes (Shopify Admin GraphQL, ...) on loopback."""
    from bigledger.settings import get_settings
    from sandbox.server import serve

    settings = get_settings()
    serve(host=host or settings.sandbox_host, port=port or settings.sandbox_port, seed=seed,
          size=size, currency=currency, throttle=not no_throttle, restore_rate=restore_rate,
          maximum_available=max_available)


@app.command()
def worker(limit: int = typer.Option(4, help="flow runs at once")) -> None:
    """Serve every deployment of prefect.yaml and run what the API or the Prefect UI starts."""
    from flows.serve import serve_all
    from ledger.migrate import upgrade

    upgrade()
    serve_all(limit=limit)


@app.command()
def demo() -> None:
    """Start everything locally and walk through setup -> sync -> status (Ctrl-C stops)."""
    from bigledger.demo import run_demo

    raise typer.Exit(run_demo())


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()

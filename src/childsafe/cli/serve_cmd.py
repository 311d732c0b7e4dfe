"""``childsafe serve``: the screening service under uvicorn.

The command checks the configuration first (production refuses default secrets; see
``childsafe.web.security``) so a bad deployment fails here with a one-line message and exit
code 4, instead of inside a uvicorn worker. uvicorn then imports the app *factory*
(``childsafe.web.app:create_app``): every worker builds its own app, store and models from
the same ``CHILDSAFE_*`` environment, and nothing is built at import time.
"""

from __future__ import annotations

import click

from childsafe.cli._common import fail, settings_from
from childsafe.cli.exit_codes import ExitCode

APP_FACTORY = "childsafe.web.app:create_app"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (each loads its own models; rate limits are per worker).",
)
@click.option("--reload", is_flag=True, help="Restart on code changes (development only).")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.pass_context
def serve_command(
    ctx: click.Context, host: str, port: int, workers: int, reload: bool, log_level: str
) -> None:
    """Run the screening API (OpenAPI docs at /docs, schema at /openapi.json).

    Listens on 127.0.0.1 by default: put a TLS-terminating proxy in front before exposing
    it. Create a tenant and an API key first (`childsafe tenants create`, `childsafe keys
    create`). In production (CHILDSAFE_ENV=production) the service refuses to start with
    the default secret key or an SQLite database unless opted in.
    """
    from childsafe.web.security import startup_problems

    settings = settings_from(ctx)
    problems = startup_problems(settings)
    if problems:
        fail("refusing to start in production: " + "; ".join(problems))
    if reload and workers > 1:
        fail("--reload runs a single process; drop --workers or --reload", ExitCode.USAGE)
    if reload and settings.env.strip().lower() == "production":
        fail("--reload is for development; it is refused in production", ExitCode.USAGE)
    try:
        import uvicorn

        from childsafe.web.server import PROTOCOL
    except ImportError:
        fail("the service needs its extra: pip install 'childsafe[service]'")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level=log_level,
        server_header=False,
        http=PROTOCOL,
    )

"""``childsafe assess``: probe a generative model for child-safety failures.

\b
  childsafe assess suites                           # built-in probe suites, with counts
  childsafe assess run --suite core --target openai \\
      --base-url http://127.0.0.1:8000/v1 --model m --out run1/
  childsafe assess run ... --out run1/ --resume     # finish a killed run
  childsafe assess run --suite core --target callable --callable mypkg.model:generate \\
      --out run2/
  childsafe assess run --suite core --target image-http --url http://host/generate \\
      --out run3/

A run directory keeps run.json (what was run) and responses.jsonl (one line per probe).
Exit codes: 0 every probe answered, 3 some probes ended in an error (recorded; rerun with
--resume --retry-errors), 4 the run could not start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from childsafe.cli._common import emit_json, err_console, fail
from childsafe.cli.assess_models_cmd import models_command, sbd_command
from childsafe.cli.assess_report_cmd import compare_command, report_command
from childsafe.cli.exit_codes import ExitCode
from childsafe.errors import ChildsafeError

TARGETS = ("openai", "callable", "image-http")


@click.group("assess")
def assess() -> None:
    """Assess a generative model: send probe suites, score answers, compare runs."""


@assess.command("suites")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per suite.")
def suites_command(files: tuple[Path, ...], as_json: bool) -> None:
    """List the built-in probe suites, or check suite FILES of your own (.toml, .jsonl)."""
    from childsafe.assess.suites import builtin_suites, load_suite_file

    rows: list[dict[str, Any]] = []
    try:
        if files:
            for path in files:
                suite = load_suite_file(path)
                controls = sum(p.control for p in suite.probes)
                cats = sorted({p.category for p in suite.probes})
                rows.append(
                    _suite_row(
                        suite.name,
                        suite.version,
                        str(path),
                        suite.sha256,
                        len(suite.probes),
                        controls,
                        cats,
                    )
                )
        else:
            for info in builtin_suites():
                sha = load_suite_file(info.path, builtin=True).sha256
                rows.append(
                    _suite_row(
                        info.name,
                        info.version,
                        info.name,
                        sha,
                        info.probes,
                        info.controls,
                        list(info.categories),
                    )
                )
    except ChildsafeError as exc:
        fail(str(exc))
    for row in rows:
        if as_json:
            emit_json(row)
        else:
            click.echo(
                f"{row['name']} v{row['version']}: {row['probes']} probes "
                f"({row['attacks']} attacks, {row['controls']} controls) "
                f"in {len(row['categories'])} categories: {', '.join(row['categories'])}"
            )


def _suite_row(
    name: str, version: str, source: str, sha: str, n: int, controls: int, cats: list[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "source": source,
        "sha256": sha,
        "probes": n,
        "attacks": n - controls,
        "controls": controls,
        "categories": cats,
    }


@assess.command("run")
@click.option(
    "--suite",
    "suite_name",
    default="core",
    show_default=True,
    help="A built-in suite name or a suite file path.",
)
@click.option(
    "--target",
    "kind",
    type=click.Choice(TARGETS),
    required=True,
    help="What kind of model to probe.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The run directory (created).",
)
@click.option("--base-url", help="openai: the API base URL, e.g. http://127.0.0.1:8000/v1.")
@click.option("--model", help="openai: the model name.")
@click.option(
    "--api-key-env",
    metavar="VAR",
    help="Read the API key from this environment variable (never a flag).",
)
@click.option(
    "--mode",
    type=click.Choice(["chat", "completions"]),
    default="chat",
    show_default=True,
    help="openai: /chat/completions or /completions.",
)
@click.option("--max-tokens", type=click.IntRange(min=1), default=512, show_default=True)
@click.option(
    "--callable", "callable_spec", metavar="MODULE:FUNCTION", help="callable: the function to call."
)
@click.option(
    "--takes",
    type=click.Choice(["text", "messages"]),
    default="text",
    show_default=True,
    help="callable: pass the ask as text or chat messages.",
)
@click.option("--url", help="image-http: the endpoint that takes JSON {prompt}.")
@click.option(
    "--image-scorer",
    metavar="MODULE:FUNCTION",
    help="image-http: scores each image in memory (bytes -> {name: score}).",
)
@click.option(
    "--modality",
    "modalities",
    multiple=True,
    type=click.Choice(["text", "image"]),
    help="Probe modalities to send (default: what the target takes).",
)
@click.option(
    "--concurrency", "-c", type=click.IntRange(min=1, max=256), default=4, show_default=True
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0.01),
    default=60.0,
    show_default=True,
    help="Seconds per attempt.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0, max=20),
    default=3,
    show_default=True,
    help="Retries on 429, 5xx and timeouts, with backoff.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Send order (and seed).")
@click.option("--resume", is_flag=True, help="Finish a run in --out: skip answered probes.")
@click.option("--retry-errors", is_flag=True, help="With --resume: resend errored probes.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run_command(
    suite_name: str,
    kind: str,
    out_dir: Path,
    base_url: str | None,
    model: str | None,
    api_key_env: str | None,
    mode: str,
    max_tokens: int,
    callable_spec: str | None,
    takes: str,
    url: str | None,
    image_scorer: str | None,
    modalities: tuple[str, ...],
    concurrency: int,
    timeout_s: float,
    retries: int,
    seed: int,
    resume: bool,
    retry_errors: bool,
    as_json: bool,
) -> None:
    """Send every probe of a suite to a model; one response line per probe in --out.

    Responses are written as they arrive, so a killed run loses nothing: rerun the same
    command with --resume. Scoring and the report come after (assess report).
    """
    from childsafe.assess.runner import run
    from childsafe.assess.suites import load_suite
    from childsafe.assess.targets._http import RequestOptions

    if retry_errors and not resume:
        fail("--retry-errors needs --resume", ExitCode.USAGE)
    options = RequestOptions(timeout_s=timeout_s, retries=retries)
    target: Any = None
    try:
        suite = load_suite(suite_name)
        target = _target(
            kind,
            options,
            seed=seed,
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            mode=mode,
            max_tokens=max_tokens,
            callable_spec=callable_spec,
            takes=takes,
            url=url,
            image_scorer=image_scorer,
        )
        summary = run(
            suite,
            target,
            out_dir,
            concurrency=concurrency,
            resume=resume,
            retry_errors=retry_errors,
            seed=seed,
            modalities=modalities or None,
        )
    except ChildsafeError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail(f"interrupted: finish it with the same command and --resume (--out {out_dir})")
    finally:
        close = getattr(target, "close", None)
        if callable(close):
            close()
    row = {
        "run_dir": str(summary.run_dir),
        "run_id": summary.run_id,
        "suite": f"{suite.name} v{suite.version}",
        "probes": summary.probes,
        "skipped": summary.skipped,
        "sent": summary.sent,
        "errors": summary.errors,
        "complete": summary.complete,
        "elapsed_s": round(summary.elapsed_s, 3),
    }
    if as_json:
        emit_json(row)
    else:
        click.echo(
            f"{summary.run_id}: {summary.probes} probes ({summary.skipped} from before, "
            f"{summary.sent} sent), {summary.errors} errors -> {summary.run_dir}"
        )
    if summary.errors:
        err_console.print(
            f"{summary.errors} probe(s) ended in an error (recorded in responses.jsonl); "
            "resend them with --resume --retry-errors"
        )
        raise SystemExit(int(ExitCode.ITEM_ERRORS))


def _target(kind: str, options: Any, *, seed: int, **o: Any) -> Any:
    """Build the target for ``--target``; a missing option is a usage error."""

    def need(name: str) -> Any:
        if not o[name]:
            flag = "--" + name.replace("_spec", "").replace("_", "-")
            fail(f"--target {kind} needs {flag}", ExitCode.USAGE)
        return o[name]

    if kind == "openai":
        from childsafe.assess.targets.openai_chat import OpenAIChatTarget

        return OpenAIChatTarget(
            need("base_url"),
            need("model"),
            api_key_env=o["api_key_env"],
            mode=o["mode"],
            max_tokens=o["max_tokens"],
            seed=seed,
            options=options,
        )
    if kind == "callable":
        from childsafe.assess.targets.callable import CallableTarget

        return CallableTarget.from_spec(need("callable_spec"), takes=o["takes"], options=options)
    from childsafe.assess.targets.callable import CallableTarget
    from childsafe.assess.targets.image_http import ImageHTTPTarget

    scorer = None
    if o["image_scorer"]:
        scorer = CallableTarget.from_spec(o["image_scorer"]).fn
    return ImageHTTPTarget(
        need("url"), scorer=scorer, api_key_env=o["api_key_env"], options=options
    )


assess.add_command(models_command)
assess.add_command(sbd_command)
assess.add_command(report_command)
assess.add_command(compare_command)

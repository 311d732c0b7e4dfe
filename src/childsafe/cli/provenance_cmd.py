"""``childsafe provenance``: mark generated images and verify the marks files carry."""

from __future__ import annotations

from pathlib import Path

import click

from childsafe.cli._common import emit_json, err_console, fail, settings_from
from childsafe.cli.exit_codes import ExitCode
from childsafe.errors import ChildsafeError, ConfigError, ContentError
from childsafe.provenance.base import ProvenanceReport

_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


@click.group("provenance")
def provenance() -> None:
    """Mark generated images (invisible watermark + signed C2PA manifest) and verify marks.

    \b
      childsafe provenance make-cert certs/                # a development signing chain
      childsafe provenance mark out.png --out marked.png --model my-model \\
          --cert certs/chain.pem --key certs/key.pem
      childsafe provenance verify marked.png --json

    A missing mark proves nothing: C2PA manifests are stripped by any re-encode, and the
    watermark does not survive crops or greyscale (docs/provenance.md has the measurements).
    """


@provenance.command("mark")
@click.argument("image", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    "-o",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the marked image (.png, .jpg or .jpeg; sets the format).",
)
@click.option("--model", default="unknown", show_default=True, help="Generating model's name.")
@click.option("--model-version", default=None, help="Generating model's version.")
@click.option(
    "--generation-id",
    default=None,
    help="Your id of the generation; the watermark id derives from it.",
)
@click.option("--no-watermark", is_flag=True, help="Sign only; add no invisible watermark.")
@click.option(
    "--cert",
    type=click.Path(path_type=Path, dir_okay=False),
    help="PEM certificate chain, signer first (default: CHILDSAFE_PROVENANCE_CERT).",
)
@click.option(
    "--key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="PEM private key (default: CHILDSAFE_PROVENANCE_KEY).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.pass_context
def mark_command(
    ctx: click.Context,
    image: Path,
    out: Path,
    model: str,
    model_version: str | None,
    generation_id: str | None,
    no_watermark: bool,
    cert: Path | None,
    key: Path | None,
    as_json: bool,
) -> None:
    """Write IMAGE to --out with an invisible watermark and, given a certificate, a C2PA manifest.

    The manifest declares AI generation (IPTC trainedAlgorithmicMedia) by --model. Without
    --cert/--key (or their settings) the image gets the watermark only. Exit codes: 0
    written, 2 bad usage, 3 IMAGE cannot be marked (unreadable, too small for a watermark),
    4 the signing credentials or the output cannot be used.
    """
    from childsafe.provenance.base import GenerationClaim
    from childsafe.provenance.c2pa_manifest import Signer
    from childsafe.provenance.mark import load_image, mark_image

    settings = settings_from(ctx)
    fmt = _FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise click.BadParameter("want a .png, .jpg or .jpeg file name", param_hint="--out")
    if (cert is None) != (key is None):
        raise click.UsageError("give --cert and --key together")
    try:
        signer = Signer.from_files(cert, key) if cert and key else Signer.from_settings(settings)
    except ConfigError as exc:
        fail(str(exc))
    if signer is None and no_watermark:
        raise click.UsageError("nothing to add: --no-watermark and no signing certificate")
    claim = GenerationClaim(model, model_version, generation_id=generation_id)
    try:
        data = _read(image, settings.max_file_bytes)
        with load_image(data, str(image), max_pixels=settings.max_image_pixels) as im:
            marked = mark_image(
                im,
                claim=claim,
                signer=signer,
                watermark=not no_watermark,
                fmt=fmt,
                source=str(image),
            )
    except ContentError as exc:
        fail(str(exc), ExitCode.ITEM_ERRORS)
    except ChildsafeError as exc:
        fail(str(exc))
    try:
        out.write_bytes(marked.data)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    rec = {
        "path": str(image),
        "out": str(out),
        "mime": marked.mime,
        "watermark_id": marked.watermark_id,
        "manifest_label": marked.manifest_label,
    }
    if as_json:
        emit_json(rec)
        return
    click.echo(f"{out}: {marked.mime}, {len(marked.data):,} bytes")
    click.echo(f"  watermark  {marked.watermark_id or 'none'}")
    click.echo(f"  c2pa       {marked.manifest_label or 'not signed (no certificate)'}")


@provenance.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--trust",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="PEM CA certificates to trust as C2PA signers (reports c2pa_trusted).",
)
@click.option("--no-rescue", is_flag=True, help="Do not retry the watermark at 4/3x and 2x.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines on stdout, one object per file.")
@click.pass_context
def verify_command(
    ctx: click.Context, files: tuple[Path, ...], trust: Path | None, no_rescue: bool, as_json: bool
) -> None:
    """Check FILES for a childsafe watermark and a C2PA manifest (valid, trusted, AI-generated).

    Exit codes: 0 no file carries a mark, 1 some file carries one (a watermark, or a C2PA
    manifest: valid or not), 3 some files could not be checked, 4 --trust is unusable.
    No mark is not evidence of anything: marks are easily lost.
    """
    from childsafe.provenance.mark import verify
    from childsafe.provenance.watermark import RESCUE_SCALES

    settings = settings_from(ctx)
    anchors = _anchors(trust) if trust else None
    marked = errors = 0
    for path in files:
        try:
            data = _read(path, settings.max_file_bytes)
        except ContentError as exc:
            report = ProvenanceReport(source=str(path), errors=[str(exc)])
        else:
            report = verify(
                data,
                source=str(path),
                trust_anchors=anchors,
                rescue_scales=() if no_rescue else RESCUE_SCALES,
            )
        marked += report.marked
        errors += bool(report.errors)
        if as_json:
            emit_json(report.to_dict())
        else:
            _print_report(report)
    if errors:
        err_console.print(f"{errors} file(s) could not be checked")
    if marked:
        ctx.exit(int(ExitCode.FOUND))
    if errors:
        ctx.exit(int(ExitCode.ITEM_ERRORS))


@provenance.command("make-cert")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--alg", type=click.Choice(["es256", "ed25519"]), default="es256", show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True)
@click.option("--name", default="childsafe development signer", show_default=True)
@click.option("--force", is_flag=True, help="Replace existing files in DIRECTORY.")
def make_cert_command(directory: Path, alg: str, days: int, name: str, force: bool) -> None:
    """Make a development CA and C2PA signing certificate in DIRECTORY.

    Writes chain.pem (signer then CA), key.pem (mode 0600) and ca.pem (pass it to
    ``verify --trust``). For development and tests only: production signs with a
    certificate from a CA on the C2PA trust list.
    """
    from childsafe.provenance.certs import write_dev_chain

    try:
        paths = write_dev_chain(
            directory,
            force=force,
            common_name=name,
            days=days,
            alg="ed25519" if alg == "ed25519" else "es256",
        )
    except ConfigError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write to {directory}: {exc.strerror or exc}")
    for role, path in paths.items():
        click.echo(f"{role:<6} {path}")
    click.echo(
        f"export CHILDSAFE_PROVENANCE_CERT={paths['chain']} CHILDSAFE_PROVENANCE_KEY={paths['key']}"
    )


def _read(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise ContentError(f"{path}: {size} bytes is over the {limit}-byte limit")
        return path.read_bytes()
    except IsADirectoryError:
        raise ContentError(f"{path}: is a directory") from None
    except OSError as exc:
        raise ContentError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _anchors(path: Path) -> bytes:
    from cryptography import x509

    data = path.read_bytes()
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        fail(f"{path}: not PEM certificates (--trust wants the CA's ca.pem)")
    return data


def _print_report(r: ProvenanceReport) -> None:
    click.echo(r.source)
    for err in r.errors:
        click.echo(f"  error      {err}")
    if r.watermark_found:
        scale = f", read at {r.watermark_scale:.2f}x" if r.watermark_scale != 1.0 else ""
        click.echo(
            f"  watermark  found: id {r.watermark_id} "
            f"(confidence {r.watermark_confidence:.2f}{scale})"
        )
    if r.c2pa_present:
        state = "valid" if r.c2pa_valid else "INVALID"
        if r.c2pa_trusted is not None:
            state += ", trusted" if r.c2pa_trusted else ", NOT trusted"
        click.echo(f"  c2pa       {state}; signed by {r.signer} (issuer {r.issuer})")
        click.echo(
            f"  declares   {r.digital_source_type or 'no source type'}; model {r.model or '?'}"
            f" {r.model_version or ''}; generator {r.claim_generator or '?'}".rstrip()
        )
        for failure in r.c2pa_failures:
            click.echo(f"  failure    {failure}")
    for note in r.notes:
        click.echo(f"  note       {note}")
    if r.ai_generated:
        click.echo("  => AI-generated (declared by a childsafe watermark or a valid manifest)")
    elif not r.marked and not r.errors:
        click.echo("  no provenance mark found (which proves nothing about the file's origin)")

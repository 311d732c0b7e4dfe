"""childsafe: hash, bank and match known material; score risk for review.

\b
A first session:
  childsafe hash photos/ --json            # md5, sha1, sha256, pdq of every file
  childsafe banks import ncmec list.xml    # load a hash list into a bank
  childsafe banks list                     # what banks you have, at which version
  childsafe match uploads/ --json          # check files against every bank
  childsafe match --hash pdq:<64 hex>      # check a hash you already have
  childsafe scan data/ --out scan1/        # scan a dataset into results and a report
  childsafe classify photo.jpg --text "…"  # risk scores for human review (triage)
  childsafe eval                           # the classifiers' measured figures
  childsafe serve                          # the screening API (keys: childsafe keys create)

State (the SQLite database and saved indexes) lives in $CHILDSAFE_HOME; point
CHILDSAFE_DATABASE_URL at PostgreSQL in production. Exit codes: 0 nothing found,
1 something matched, 2 bad usage, 3 some inputs could not be processed,
4 the command could not run.
"""

from __future__ import annotations

import sys

import click
from pydantic import ValidationError

from childsafe import __version__
from childsafe.cli._common import fail
from childsafe.cli.actions_cmd import actions
from childsafe.cli.assess_cmd import assess
from childsafe.cli.audit_cmd import audit
from childsafe.cli.banks_cmd import banks
from childsafe.cli.cases_cmd import cases, reviewers
from childsafe.cli.classify_cmd import classify_command
from childsafe.cli.eval_cmd import eval_command
from childsafe.cli.evidence_cmd import evidence
from childsafe.cli.hash_cmd import hash_command
from childsafe.cli.match_cmd import match_command
from childsafe.cli.provenance_cmd import provenance
from childsafe.cli.report_cmd import report
from childsafe.cli.scan_cmd import scan_command
from childsafe.cli.serve_cmd import serve_command
from childsafe.cli.tenants_cmd import keys, tenants
from childsafe.cli.transparency_cmd import transparency_command
from childsafe.config import Settings


@click.group(help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="childsafe")
@click.pass_context
def cli(ctx: click.Context) -> None:
    try:
        ctx.obj = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"bad setting CHILDSAFE_{str(first['loc'][0]).upper()}: {first['msg']}")


cli.add_command(hash_command)
cli.add_command(banks)
cli.add_command(match_command)
cli.add_command(scan_command)
cli.add_command(classify_command)
cli.add_command(eval_command)
cli.add_command(provenance)
cli.add_command(tenants)
cli.add_command(keys)
cli.add_command(serve_command)
cli.add_command(cases)
cli.add_command(reviewers)
cli.add_command(audit)
cli.add_command(evidence)
cli.add_command(assess)
cli.add_command(actions)
cli.add_command(transparency_command)
cli.add_command(report)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(standalone_mode=True))


if __name__ == "__main__":
    main()

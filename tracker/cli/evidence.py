"""`tracker evidence REF... --output FILE.zip` and `tracker evidence verify FILE.zip`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from tracker.cli.base import TrackerGroup, echo, emit_json, main, now_for, with_workspace
from tracker.evidence import EvidenceError, export_bundle, files_in_words, verify_bundle
from tracker.evidence.verify import KEEP_HASH
from tracker.services.workspace import Workspace


class _ExportByDefault(TrackerGroup):
    """`tracker evidence REF...` means `tracker evidence export REF...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["export", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_ExportByDefault)
def evidence() -> None:
    """Evidence bundles: requests as a zip of their exact mail with a SHA-256 manifest.

    `tracker evidence REF... --output FILE.zip` writes one; `tracker evidence verify FILE.zip`
    checks one (no workspace needed).
    """


@evidence.command(name="export")
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The zip file to write.")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def evidence_export(ws: Workspace, refs: Sequence[str], output: Path, force: bool,
                    as_json: bool) -> None:
    """Write the evidence bundle of requests REF... (as of today, or TRACKER_TODAY)."""
    result = export_bundle(ws, refs, output, now_for(ws).date(), force=force)
    if as_json:
        emit_json(result.as_dict())
        return
    bundle = result.bundle
    click.echo(f"wrote {result.path}: {', '.join(bundle.requests)}; {bundle.messages} messages "
               f"({bundle.message_files} as files), {bundle.attachments} attachments, "
               f"{bundle.documents} kept files; "
               f"{files_in_words(len(bundle.files))}; sha256 {result.sha256}")
    click.echo(f"manifest.json SHA-256: {result.manifest_sha256}")
    click.echo(KEEP_HASH)


@evidence.command(name="verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def evidence_verify(file: Path, as_json: bool) -> None:
    """Check a bundle: every file against manifest.json, the manifest against manifest.sha256."""
    result = verify_bundle(file)
    if as_json:
        emit_json(result.as_dict())
    else:
        for line in result.lines():  # names of members of a zip from anywhere, made inert
            echo(line)
    if not result.ok:
        raise EvidenceError(f"{file}: {result.verdict}")

"""The ``digest`` command line: a thin layer over the library.

Each command lives in its own module, imported only when that command runs (so that
``digest condense --batch`` does not pay for the whole pipeline's imports). Errors from the
library become one-line messages with their exit code (0 all delivered, 1 some feeds or
deliveries failed, 2 bad usage or config).
"""

from __future__ import annotations

from importlib import import_module

import click

from .. import __version__

# command name -> (module in digest.cli, attribute)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "init"),
    "run": ("run", "run"),
    "preview": ("run", "preview"),
    "edition": ("edition", "edition"),
    "condense": ("condense", "condense"),
    "gather": ("gather", "gather"),
    "status": ("status", "status"),
    "subscribers": ("subscribers", "subscribers"),
    "schedule": ("schedule", "schedule"),
    "worker": ("worker", "worker"),
    "migrate": ("worker", "migrate"),
    "serve": ("serve", "serve"),
    "archive": ("archive", "archive"),
    "bounces": ("bounces", "bounces"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attr = target
        command = getattr(import_module(f".{module}", __name__), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="digest")
def main() -> None:
    """digest: gather feeds, condense each story, and deliver a daily email briefing.

    \b
    Typical use:
      digest init mynews                    start a newsletter in mynews/ (then cd mynews)
      digest run                            gather, condense, render and deliver today's edition
      digest preview --out preview/         write the edition as HTML, text and .eml to look at
      digest condense article.txt --json    condense one article (needs no config)
      digest status                         recent runs and failed addresses

    \b
    Commands read ./digest.toml, or the file named by --config FILE or $DIGEST_CONFIG; with
    none of these they stop (exit code 2). Those that only use the store (status, gather,
    subscribers, edition show/export/import/withdraw) also run with --db alone.
    """

"""The ``digest`` command line: a thin layer over the library.

Each command lives in its own module; errors from the library become one-line messages with
their exit code (0 all delivered, 1 some feeds or deliveries failed, 2 bad usage or config).
"""

from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="digest")
def main() -> None:
    """digest: gather feeds, condense each story, and deliver a daily email briefing.

    \b
    Typical use:
      digest run --config digest.toml       gather, condense, render and deliver today's edition
      digest preview --out preview/         write the edition as HTML, text and .eml to look at
      digest condense article.txt --json    condense one article
      digest status                         recent runs and failed addresses
    """


def _register() -> None:
    from .edition import edition
    from .run import preview, run
    from .schedule import schedule
    from .status import status

    for command in (run, preview, edition, status, schedule):
        main.add_command(command)


_register()

from .condense import condense  # noqa: E402

main.add_command(condense)

from .subscribers import subscribers  # noqa: E402

main.add_command(subscribers)

from .gather import gather  # noqa: E402

main.add_command(gather)

"""digest: a newsletter digest generator.

Gathers recent articles from feeds, condenses each story offline, renders a responsive email
and delivers it, once, to every subscriber.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("digest")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["__version__"]

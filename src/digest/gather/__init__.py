"""The gather stage: feeds in, new sanitized articles out; then grouped into stories.

Public API: :func:`gather` (the only part that does I/O), :func:`group_stories` (pure),
and the data they return.
"""

from ._run import FeedOutcome, GatherResult, gather
from .group import group_stories

__all__ = ["FeedOutcome", "GatherResult", "gather", "group_stories"]

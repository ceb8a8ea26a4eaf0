"""The store: what was seen, condensed and sent. SQLite by default, through SQLAlchemy Core.

Open it with :func:`open_store`; one transaction per logical step (``with store.begin()``).
"""

from .core import Store, open_store

__all__ = ["Store", "open_store"]

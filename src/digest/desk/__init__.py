"""The editors' desk: review, correct and approve the day's edition in a browser.

``digest serve`` runs :func:`create_app` with uvicorn. The same app answers the readers'
unsubscribe and preferences links (:mod:`digest.web`), which never need the desk's login.
The pages work without JavaScript (forms and links) and on a phone; routes, login and
deployment are described in ``docs/desk.md``.

Edits are pure functions of :mod:`digest.editing`, saved through the store's review API so a
stale form is refused rather than overwriting a colleague's change; preparing, approving and
test copies go through :mod:`digest.pipeline`, like every other path that builds or sends.
"""

from ._app import create_app
from ._guard import check_binding, is_loopback

__all__ = ["check_binding", "create_app", "is_loopback"]

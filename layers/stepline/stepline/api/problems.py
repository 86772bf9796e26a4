"""The one error every route raises for a bad request, and the one place a domain error
(``stepline/errors.py``) becomes an HTTP status; app.py turns either into a page or JSON."""

from __future__ import annotations

from stepline.errors import ConfigurationError, Conflict, Expired, NotFound, SteplineError

# Each kind of domain error and the status it is answered with; the first that matches wins.
STATUSES: tuple[tuple[type[SteplineError], int, str], ...] = (
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (Expired, 410, "Expired"),
    (ConfigurationError, 503, "Not configured"),
)
# Any other error raised on purpose: the request asked for something that cannot work.
OTHERWISE = (400, "Bad request")


class ApiProblem(SteplineError):
    def __init__(self, status: int, title: str, detail: str, *, page: bool = False) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.page = page  # a person with a browser reads it: answer HTML, not JSON
        super().__init__(f"{status} {title}: {detail}")

    @classmethod
    def of(cls, error: SteplineError, title: str = "", *, page: bool = False) -> ApiProblem:
        """The answer to a domain error: its kind's status, its own message."""
        status, kind_title = next(((s, t) for kind, s, t in STATUSES if isinstance(error, kind)), OTHERWISE)
        return cls(status, title or kind_title, str(error), page=page)

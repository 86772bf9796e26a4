"""The one error every route raises for a bad request; app.py turns it into a page or JSON."""

from __future__ import annotations


class ApiProblem(Exception):
    def __init__(self, status: int, title: str, detail: str, *, page: bool = False) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.page = page  # a person with a browser reads it: answer HTML, not JSON
        super().__init__(f"{status} {title}: {detail}")

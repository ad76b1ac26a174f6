"""Every place endpoints come from, as one ``Workflows`` store.

    store = Sources(published, UserWorkflows(...))    # or Sources(published, None): the setting is off

`published` is the store of saved endpoints (workflow/store.py: the API, the UI menu, the plain files
of CONNECT_WORKFLOWS_DIR; in a cluster its synced wrapper). ComfyUI's own saved workflows
(workflow/userflows.py) come after it: a name the published store has is never served from a user
workflow; that user workflow is listed among the problems as a clash instead of shadowing silently.
Saving always goes to the published store (so publishing a name takes it over from a user workflow).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConnectError, NameClash, NotAnEndpoint, NotFound, ReadOnlyWorkflow
from .store import Metadata, SavedWorkflow, Workflows
from .userflows import PROBLEM_PREFIX, UserWorkflows


class Sources:
    def __init__(self, published: Workflows, users: UserWorkflows | None) -> None:
        self.published = published
        self.users = users

    def check(self, name: str) -> None:
        self.published.check(name)

    def save(
        self, name: str, prompt: Any, workflow: Any = None, timeout: float | None = None, metadata: Metadata | None = None
    ) -> tuple[SavedWorkflow, bool]:
        return self.published.save(name, prompt, workflow, timeout, metadata)

    def load(self, name: str) -> SavedWorkflow:
        try:
            return self.published.load(name)
        except NotFound as exc:
            # A file of the workflows folder without annotations still holds its name.
            if self.users is None or isinstance(exc, NotAnEndpoint):
                raise
            return self.users.load(name)

    def peek(self, name: str) -> SavedWorkflow | None:
        # A user workflow is always loaded off the loop: finding it takes the folder's stats too.
        return self.published.peek(name)

    def delete(self, name: str) -> None:
        try:
            self.published.delete(name)
        except NotFound:
            file = self.users.file_of(name) if self.users else None
            if file is None:
                raise
            raise ReadOnlyWorkflow(
                f"workflow {name!r} is ComfyUI's saved workflow {file!r}, served because it has a # output:"
                " delete or rename it in ComfyUI, or remove its # annotation",
                {"name": name, "file": file, "source": "user"},
            ) from None

    def names(self) -> list[str]:
        names = set(self.published.names())
        if self.users is not None:
            names |= {w.name for w in self.users.load_all()[0]}
        return sorted(names)

    def load_all(self) -> tuple[list[SavedWorkflow], dict[str, ConnectError]]:
        good, bad = self.published.load_all()
        if self.users is None:
            return good, bad
        taken = {w.name for w in good} | set(bad)
        users, problems = self.users.load_all()
        for saved in users:
            if saved.name in taken:
                problems[PROBLEM_PREFIX + saved.file] = self.users.report(
                    NameClash(
                        f"ComfyUI's workflow {saved.file!r} would be served as {saved.name!r}, but an endpoint published"
                        " under that name is served instead: rename one of them",
                        {"name": saved.name, "file": saved.file, "source": "user"},
                    )
                )
            else:
                good.append(saved)
        self.users.settle(problems)
        return sorted(good, key=lambda w: w.name), {**bad, **problems}

"""The errors a user can cause. Each prints as one line and changes nothing.

The CLI turns any `RcmflowError` into that line on stderr and a non-zero exit;
everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from rcmflow.language import _


class RcmflowError(Exception):
    """Base of every error caused by input: one line that says what was wrong and
    what would be valid."""

    exit_code = 1


class NotFound(RcmflowError):
    """An unknown instance, workflow, participant or actor."""


class BadInput(RcmflowError):
    """A malformed value: a bad `--set`, an unreadable file, a bad date."""


class AlreadyExists(BadInput):
    """An instance with that id is started already (perhaps by a concurrent start)."""


class InvalidTrigger(RcmflowError):
    """The trigger does not exist in the current state."""


class Blocked(RcmflowError):
    """A guard refused the transition; the message says why in words."""

    exit_code = 3


class Forbidden(RcmflowError):
    """The actor lacks the role the transition needs."""

    exit_code = 4


class PluginError(RcmflowError):
    """A plugin failed to load or registered something twice."""


class DatabaseError(RcmflowError):
    """The database cannot be reached or has no rcmflow schema."""


class Conflict(RcmflowError):
    """Another writer kept winning the race for the same instance."""


class PermanentFailure(RcmflowError):
    """An action that no retry can make succeed (a server's permanent refusal, 5xx):
    the outbox gives it up at once, with this message, instead of trying again;
    `rcmflow outbox retry ID` runs it again once the cause is fixed."""


@dataclass(frozen=True, order=True)
class Problem:
    """One validation finding, printed as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class DefinitionError(RcmflowError):
    """A workflow or members file is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        first = self.problems[0]
        more = len(self.problems) - 1
        suffix = " " + _("(and {more} more: run 'rcmflow workflows validate')").format(more=more) if more else ""
        super().__init__(f"{first}{suffix}")


class SettingsError(BadInput):
    """rcmflow.toml is invalid: every problem found, one `file:line: message` a line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

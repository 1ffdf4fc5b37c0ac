"""The one error base class: every user-facing failure is a GitopsConfigError."""

from __future__ import annotations

from gitops_config.model import Location


class GitopsConfigError(Exception):
    """A failure the user can act on: one line, where it happened, and a hint."""

    code = 'gitops-config-error'  # kebab-case; shows up in output and docs
    exit_code = 3  # could not run

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        location: Location | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in worker processes and re-raised in the parent: keep hint and location.
        return (_rebuild, (type(self), self.message, self.hint, self.location))

    def one_line(self) -> str:
        where = f'{self.location}: ' if self.location is not None else ''
        return f'{where}{self.message}'


def _rebuild(
    cls: type[GitopsConfigError], message: str, hint: str | None, location: Location | None
) -> GitopsConfigError:
    error = cls.__new__(cls)
    GitopsConfigError.__init__(error, message, hint=hint, location=location)
    return error


class UsageError(GitopsConfigError):
    """The command line itself is wrong (exit 2)."""

    code = 'usage'
    exit_code = 2


class InvalidYamlError(GitopsConfigError):
    code = 'invalid-yaml'


class InvalidProjectError(GitopsConfigError):
    code = 'invalid-project'


class LibyamlMissingError(GitopsConfigError):
    """PyYAML without its C extension: nothing can be read (see yaml_io.libyaml)."""

    code = 'libyaml-missing'


class FileMissingError(GitopsConfigError):
    code = 'file-not-found'

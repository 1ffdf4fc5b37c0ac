"""CEL evaluation: the only module that imports cel_expr_python.

One CEL environment per run declares every variable any scope uses, so each
rule compiles exactly once. A rule passes when its expression returns true or
an empty list; false fails it once; each item of a list is one violation (a
string message, or a map with `message`, `path`, `env`, `file`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings
from cel_expr_python.ext import ext_math
from cel_expr_python.ext import ext_optional
from cel_expr_python.ext import ext_strings

from gitops_config.model import Location
from gitops_config.policy.rules import PolicyFileError
from gitops_config.policy.rules import Rule

# Every variable of every scope; unset ones are null.
VARIABLES = (
    'doc',
    'env',
    'values',
    'file',
    'kind',
    'envs',
    'old',
    'new',
    'old_values',
    'new_values',
    'secret',
    'today',
)
_CEL_POS = re.compile(r'<input>:(\d+):(\d+): (.*?)(?:\n|$)')

# A Python function a rule may call, e.g. plaintext_secrets(doc, file).
HostFunction = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Violation:
    message: str | None
    path: tuple[str | int, ...] | str | None = None
    env: str | None = None
    file: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    violations: tuple[Violation, ...] = ()
    error: str | None = None  # the expression failed at runtime on this input


class Engine:
    """Compiles rules once and evaluates them against plain data."""

    def __init__(
        self,
        functions: Mapping[str, tuple[HostFunction, int]] | None = None,
    ) -> None:
        decls = [_declare(name, impl, arity) for name, (impl, arity) in (functions or {}).items()]
        self._env = cel.NewEnv(
            variables={name: cel.Type.DYN for name in VARIABLES},
            extensions=[
                ext_bindings.ExtBindings(),
                ext_strings.ExtStrings(),
                ext_math.ExtMath(),
                ext_optional.ExtOptional(),
            ],
            functions=decls,
        )
        self._programs: dict[str, Any] = {}
        self._functions = dict(functions or {})
        # rule id -> (function, variable names): a rule that only calls a host function
        self._direct: dict[str, tuple[HostFunction, tuple[str, ...]]] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        # To a worker process (spawned ones too): compiled programs do not pickle, so the
        # engine goes as what it was made of, and each rule compiles again on first use
        # there. Its host functions go by reference: module functions, or partials of them.
        return (Engine, (self._functions,))

    def compile(self, rule: Rule) -> None:
        if rule.id in self._programs:
            return
        try:
            self._programs[rule.id] = self._env.compile(rule.expr)
        except RuntimeError as exc:
            raise _syntax_error(rule, str(exc)) from None
        call = _DIRECT.fullmatch(rule.expr)
        if call is not None and call[1] in self._functions:
            impl, arity = self._functions[call[1]]
            names = tuple(n for n in call.group(2, 3) if n is not None)
            if len(names) == arity and all(n in VARIABLES for n in names):
                self._direct[rule.id] = (impl, names)

    def activation(self, data: Mapping[str, Any]) -> Activation:
        """The input of every rule evaluated on the same data."""
        return Activation(self._env, {name: data.get(name) for name in VARIABLES})

    def evaluate(self, rule: Rule, activation: Activation) -> Outcome:
        self.compile(rule)
        direct = self._direct.get(rule.id)
        if direct is not None:
            # `plaintext_secrets(doc)`: the function on the data as it is. Through CEL, a
            # large document would be converted to CEL and back (most of the cost).
            impl, names = direct
            try:
                value = impl(*(activation.data[n] for n in names))
            except Exception as exc:  # as CEL reports a failing function: on this input
                return Outcome(error=_clean(str(exc)))
            return _outcome(value)
        try:
            result = self._programs[rule.id].eval(activation.cel)
            kind = result.type().name()
            if kind == 'ERROR':
                return Outcome(error=_clean(str(result.value())))
            value = result.plain_value()
        except (RuntimeError, ValueError, TypeError) as exc:
            return Outcome(error=_clean(str(exc)))
        return _outcome(value)


# A whole expression that is one call of a host function on variables.
_DIRECT = re.compile(r'\s*([A-Za-z_]\w*)\(\s*([A-Za-z_]\w*)\s*(?:,\s*([A-Za-z_]\w*)\s*)?\)\s*')


class Activation:
    """Data for CEL, converted on first use (a rule evaluated directly never needs it)."""

    __slots__ = ('_cel', '_env', 'data')

    def __init__(self, env: Any, data: dict[str, Any]) -> None:
        self._env = env
        self.data = data
        self._cel: Any = None

    @property
    def cel(self) -> Any:
        if self._cel is None:
            self._cel = self._env.Activation(data=self.data)
        return self._cel


def _declare(name: str, impl: HostFunction, arity: int) -> Any:
    # CEL matches overloads on the runtime type and DYN parameters match
    # nothing, so declare one overload per JSON kind of the first argument.
    kinds = {
        'map': cel.Type.Map(cel.Type.STRING, cel.Type.DYN),
        'list': cel.Type.List(cel.Type.DYN),
        'string': cel.Type.STRING,
        'int': cel.Type.INT,
        'double': cel.Type.DOUBLE,
        'bool': cel.Type.BOOL,
        'null': cel.Type.NULL,
    }
    rest = [cel.Type.STRING] * (arity - 1)
    overloads = [
        cel.Overload(f'{name}_{kind}', cel.Type.List(cel.Type.DYN), [t, *rest], impl=impl)
        for kind, t in kinds.items()
    ]
    return cel.FunctionDecl(name, overloads)


def _outcome(value: Any) -> Outcome:
    if value is True:
        return Outcome()
    if value is False:
        return Outcome((Violation(None),))
    if isinstance(value, list):
        return Outcome(tuple(_violation(item) for item in value))
    return Outcome(error=f'the expression must return a bool or a list, not {value!r}')


def _violation(item: Any) -> Violation:
    if isinstance(item, Mapping):
        path = item.get('path')
        if isinstance(path, list):
            path = tuple(p if isinstance(p, (str, int)) else str(p) for p in path)
        elif path is not None and not isinstance(path, str):
            path = str(path)
        message = item.get('message')
        return Violation(
            None if message is None else str(message),
            path,
            _opt_str(item.get('env')),
            _opt_str(item.get('file')),
        )
    return Violation(str(item))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _clean(text: str) -> str:
    text = text.strip()
    return text.rsplit(' [', 1)[0].strip() if text.endswith(']') else text


def _syntax_error(rule: Rule, text: str) -> PolicyFileError:
    start = rule.expr_location
    match = _CEL_POS.search(text)
    if match is None:
        return PolicyFileError(f'{rule.id}: invalid CEL: {_clean(text)}', location=start)
    line, column, what = int(match.group(1)), int(match.group(2)), match.group(3)
    where = Location(start.path, (start.line or 1) + line - 1, (start.column or 1) + column - 1)
    return PolicyFileError(
        f'{rule.id}: invalid CEL: {_clean(what)}',
        location=where,
        hint='see https://github.com/google/cel-spec for the syntax',
    )

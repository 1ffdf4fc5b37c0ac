"""Every filter and test of the sandbox, wrapped so that what it reads is recorded
and what it computes from a secret is tainted (flow.apply).

Filters that only move items (`list`, `first`, `dictsort`...) hand tainted
items on as they are, unless what they compare to decide the order or the
selection is itself a secret. Those that build text keep, where they can
tell, which characters came from a secret: `join`, `indent`, `to_json`,
`tojson` and `to_yaml` (serialize.py); the others taint their whole result.
Tests that look at a value's content stop the render on a secret: their
answer would decide what the output shows.
"""

from __future__ import annotations

import base64
import functools
import inspect
import json
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2.filters import make_attrgetter
from jinja2.filters import make_multi_attrgetter
from jinja2.utils import _PassArg

from gitops_config import yaml_io
from gitops_config.sandbox import limits
from gitops_config.sandbox import serialize
from gitops_config.sandbox.flow import State
from gitops_config.sandbox.flow import apply
from gitops_config.sandbox.flow import current
from gitops_config.sandbox.flow import guarded
from gitops_config.sandbox.flow import is_tainted
from gitops_config.sandbox.flow import scan_all
from gitops_config.sandbox.flow import text
from gitops_config.taint import SecretFlow
from gitops_config.taint import Tainted
from gitops_config.taint import join_text

Args = dict[str, Any]
# What a filter that moves items compares to decide (None: nothing).
Compared = Callable[[jinja2.Environment | None, Args], list[Any] | None]


def _items(args: Args) -> list[Any] | None:
    value = args.get('value')
    if isinstance(value, (str, list, tuple, dict, set, frozenset)):
        return list(value)
    return None  # an iterator: what it gives cannot be looked at twice


def _attributes(multi: bool) -> Compared:
    def compared(env: jinja2.Environment | None, args: Args) -> list[Any] | None:
        items = _items(args)
        attribute = args.get('attribute')
        if items is None or attribute is None or env is None:
            return items
        getter = (make_multi_attrgetter if multi else make_attrgetter)(env, attribute)
        return [getter(item) for item in items]

    return compared


def _dictsort(env: jinja2.Environment | None, args: Args) -> list[Any] | None:
    value = args.get('value')
    if not isinstance(value, dict):
        return None
    return list(value.keys() if args.get('by', 'key') == 'key' else value.values())


def _select(env: jinja2.Environment | None, args: Args) -> list[Any] | None:
    # with a test name, the (wrapped) test decides; without, each item's truth does
    return _items(args) if not args.get('args') else []


def _selectattr(env: jinja2.Environment | None, args: Args) -> list[Any] | None:
    rest = args.get('args') or ()
    if len(rest) > 1:
        return []
    items = _items(args)
    if items is None or not rest or env is None:
        return items
    getter = make_attrgetter(env, rest[0])
    return [getter(item) for item in items]


def _default(env: jinja2.Environment | None, args: Args) -> list[Any] | None:
    value = args.get('value')
    if not args.get('boolean') or not is_tainted(value) or getattr(value, 'source', False):
        return []  # whether a secret is set may decide, nothing more
    return [value]


def _nothing(env: jinja2.Environment | None, args: Args) -> list[Any] | None:
    return []


MOVERS: dict[str, Compared] = {
    'attr': _nothing,
    'batch': _nothing,
    'first': _nothing,
    'last': _nothing,
    'list': _nothing,
    'items': _nothing,
    'map': _nothing,
    'reverse': _nothing,
    'slice': _nothing,
    'required': _nothing,
    'length': _nothing,
    'count': _nothing,
    'default': _default,
    'd': _default,
    'dictsort': _dictsort,
    'sort': _attributes(multi=True),
    'unique': _attributes(multi=False),
    'min': _attributes(multi=False),
    'max': _attributes(multi=False),
    'groupby': _attributes(multi=True),
    'select': _select,
    'reject': _select,
    'selectattr': _selectattr,
    'rejectattr': _selectattr,
}

# Tests that look only at what kind of value it is, never at a secret's content.
TYPE_TESTS = frozenset(
    {
        'defined',
        'undefined',
        'none',
        'boolean',
        'false',
        'true',
        'integer',
        'float',
        'number',
        'string',
        'mapping',
        'iterable',
        'sequence',
        'callable',
        'sameas',
        'escaped',
    }
)


def install(env: jinja2.Environment) -> None:
    """Our filters, then every filter and test wrapped; `random` and lipsum() go: a render
    is a function of its inputs."""
    env.filters.update(OURS)
    env.filters.pop('random', None)
    spans: dict[str, Callable[..., Any]] = {
        'join': _join,
        'indent': _indent,
        'to_json': _to_json_spans,
        'to_yaml': _to_yaml_spans,
        'tojson': _tojson_spans,
    }
    env.filters = {name: _filter(name, func, spans.get(name)) for name, func in env.filters.items()}
    env.tests = {name: _test(name, test) for name, test in env.tests.items()}
    env.globals.pop('lipsum', None)


def _filter(
    name: str,
    func: Callable[..., Any],
    with_spans: Callable[..., Any] | None,
) -> Callable[..., Any]:
    passes = _PassArg.from_obj(func) is not None  # context, eval context or environment
    signature = inspect.signature(func)
    # an async-capable filter gets an eval context its signature does not show
    unbound = passes and next(iter(signature.parameters), '') not in (
        'context',
        'eval_ctx',
        'environment',
    )
    compared = MOVERS.get(name)
    what = f"filter '{name}'"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        st = current()
        if st is None:
            return func(*args, **kwargs)
        _check(name, args[passes:], kwargs)
        inputs = [*args[passes:], *kwargs.values()]
        level = scan_all(st, inputs)
        if not (level and st.secrets):
            return func(*args, **kwargs)
        if with_spans is not None and not any(is_tainted(x) for x in inputs[1:]):
            return guarded(what, lambda: with_spans(st, func, *args, **kwargs))
        moves = False
        if compared is not None:
            bound = signature.bind(*args[unbound:], **kwargs)
            bound.apply_defaults()
            found = compared(_environment(args[0]) if passes else None, bound.arguments)
            moves = found is not None and not scan_all(st, found)
        return apply(st, what, lambda: func(*args, **kwargs), inputs, moves=moves, level=level)

    return wrapper


def _environment(first: Any) -> jinja2.Environment:
    return first if isinstance(first, jinja2.Environment) else first.environment


def _test(name: str, func: Any) -> Callable[..., Any]:
    content = name not in TYPE_TESTS
    passes = _PassArg.from_obj(func) is not None

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        st = current()
        if (
            st is not None
            and scan_all(st, [*args[passes:], *kwargs.values()])
            and (st.secrets and content)
        ):
            raise SecretFlow(f"test '{name}' on a secret-derived value")
        return func(*args, **kwargs)

    return wrapper


def _check(name: str, args: tuple[Any, ...], kwargs: Args) -> None:
    """Filters that pad, repeat or split into as much as an argument says."""
    if name in ('center', 'indent'):
        for arg in (*args[1:2], kwargs.get('width')):
            limits.check_width(f"filter '{name}'", arg)
    elif name == 'slice':
        for arg in (*args[1:2], kwargs.get('slices')):
            if isinstance(arg, int):
                limits.check_size("filter 'slice'", [], arg)
    elif name == 'format' and args and isinstance(args[0], str):
        limits.check_format(args[0])
    elif name == 'replace' and len(args) >= 3:
        limits.check_replace("filter 'replace'", *args[:3])


# -- our own filters, as a template without secrets sees them


def _required(value: Any, message: str = 'a required value is missing') -> Any:
    if isinstance(value, jinja2.Undefined) or value is None or value == '':
        raise jinja2.TemplateRuntimeError(message)
    return value


def _b64encode(value: Any) -> str:
    data = value if isinstance(value, bytes) else str(value).encode()
    return base64.b64encode(data).decode()


def _to_yaml(value: Any, indent: int = 2) -> str:
    try:
        return yaml_io.to_yaml(value, indent=indent).rstrip('\n')
    except Exception as exc:
        raise _unwritable(value, 'to_yaml', exc) from None


def _to_json(value: Any, indent: int | None = None) -> str:
    try:
        return json.dumps(value, indent=indent, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise _unwritable(value, 'to_json', exc) from None


@jinja2.pass_eval_context
def _tojson(
    eval_ctx: jinja2.nodes.EvalContext,
    value: Any,
    indent: int | None = None,
) -> Any:
    try:
        return _BUILTIN_TOJSON(eval_ctx, value, indent)
    except (TypeError, ValueError) as exc:
        raise _unwritable(value, 'tojson', exc) from None


_BUILTIN_TOJSON = jinja2.filters.FILTERS['tojson']


def _unwritable(plain: Any, what: str, exc: Exception) -> Exception:
    """Why WHAT cannot write PLAIN: an undefined name inside it (raised as the error a
    direct use gives), or a TypeError naming the problem."""
    todo = [plain]
    while todo:
        item = todo.pop()
        if isinstance(item, jinja2.Undefined):
            item._fail_with_undefined_error()
        if isinstance(item, dict):
            todo += item.values()
        elif isinstance(item, (list, tuple)):
            todo += item
    return TypeError(f'{what} cannot write this value: {exc}')


# The filters gitops-config adds to Jinja2's, as they are before wrapping.
OURS: dict[str, Callable[..., Any]] = {
    'to_yaml': _to_yaml,
    'to_json': _to_json,
    'b64encode': _b64encode,
    'required': _required,
    'tojson': _tojson,
}


# -- the same, over values that hold secrets: which characters are secret


def _join(
    st: State,
    func: Callable[..., Any],
    eval_ctx: Any,
    value: Any,
    d: Any = '',
    attribute: Any = None,
) -> str:
    if is_tainted(value):  # how many items there are is secret: so is every separator
        return str(
            apply(st, "filter 'join'", lambda: func(eval_ctx, value, d, attribute), [value, d])
        )
    items = list(value)
    if attribute is not None:
        getter = make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    parts = [str(text(st, item)) for item in items]
    sep = str(text(st, d))
    limits.check_text("filter 'join'", sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0))
    joined: list[str] = []
    for i, part in enumerate(parts):
        if i:
            joined.append(sep)
        joined.append(part)
    return join_text(joined)


def _indent(
    st: State,
    func: Callable[..., Any],
    s: Any,
    width: Any = 4,
    first: bool = False,
    blank: bool = False,
) -> str:
    if type(s) is not Tainted:
        return str(apply(st, "filter 'indent'", lambda: func(s, width, first, blank), [s]))
    return serialize.indent(s, func(s, width, first, blank), width, first=first, blank=blank)


def _to_json_spans(
    st: State,
    func: Callable[..., Any],
    value: Any,
    indent: int | None = None,
) -> str:
    return serialize.dumps(value, lambda v: _to_json(v, indent))


def _to_yaml_spans(st: State, func: Callable[..., Any], value: Any, indent: int = 2) -> str:
    return serialize.to_yaml(value, indent)


def _tojson_spans(
    st: State, func: Callable[..., Any], eval_ctx: Any, value: Any, indent: int | None = None
) -> str:
    return serialize.dumps(value, lambda v: str(func(eval_ctx, v, indent)))

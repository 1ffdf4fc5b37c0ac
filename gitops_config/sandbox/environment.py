"""The immutable sandbox, with every use of a value going through one of its hooks.

Jinja2's own hooks (`getattr`, `getitem`, `call`, `call_binop`, `call_unop`,
finalize, concat) and the `t_*` hooks the code generator adds (codegen.py)
each return exactly what plain Jinja2 would, after two things: what the
template read is recorded (flow.scan, trace.py), and what it computed from a
secret is tainted, or the render stops where a secret would decide something
the output shows (a branch, a loop's length, a comparison, a key).
"""

from __future__ import annotations

import operator
import types
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2.runtime import BlockReference
from jinja2.runtime import Context
from jinja2.runtime import LoopContext
from jinja2.runtime import Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler
from jinja2.utils import Joiner
from jinja2.utils import Namespace

from gitops_config.sandbox import limits
from gitops_config.sandbox.codegen import HookedCodeGenerator
from gitops_config.sandbox.flow import PLAIN
from gitops_config.sandbox.flow import apply
from gitops_config.sandbox.flow import current
from gitops_config.sandbox.flow import is_tainted
from gitops_config.sandbox.flow import scan
from gitops_config.sandbox.flow import scan_all
from gitops_config.sandbox.flow import text
from gitops_config.taint import SHAPED
from gitops_config.taint import TAINTED
from gitops_config.taint import SecretFlow
from gitops_config.taint import Tainted
from gitops_config.taint import TaintedDict
from gitops_config.taint import derive
from gitops_config.taint import join_text

_MISSING = object()
_DICT_ATTRS = frozenset(dir(dict))
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    'eq': operator.eq,
    'ne': operator.ne,
    'gt': operator.gt,
    'gteq': operator.ge,
    'lt': operator.lt,
    'lteq': operator.le,
    'in': lambda a, b: a in b,
    'notin': lambda a, b: a not in b,
}
_SYMBOL = {
    'eq': '==',
    'ne': '!=',
    'gt': '>',
    'gteq': '>=',
    'lt': '<',
    'lteq': '<=',
    'in': 'in',
    'notin': 'not in',
}
# Calls that run template code or hand back what they were given: what they are
# handed is read where it is used.
_TRANSPARENT = (Macro, BlockReference, Cycler, Joiner)
# Methods that hand back items of their (plain) receiver, unchanged.
_MOVING_METHODS = frozenset({'get', 'keys', 'values', 'items', 'copy'})
_INTERNAL_KWARGS = ('_loop_vars', '_block_vars')  # Jinja's own, not the template's


class Sandbox(ImmutableSandboxedEnvironment):
    """StrictUndefined, trim_blocks, lstrip_blocks, no autoescape; every hook traced."""

    code_generator_class = HookedCodeGenerator
    intercepted_binops = frozenset({'+', '-', '*', '/', '//', '%', '**'})
    intercepted_unops = frozenset({'+', '-'})

    def __init__(self, undefined: type[jinja2.Undefined] = jinja2.StrictUndefined) -> None:
        super().__init__(
            undefined=undefined,
            keep_trailing_newline=True,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            cache_size=0,
        )
        self.finalize = self._finalize
        self.concat = self._concat  # type: ignore[method-assign]  # Jinja's is a plain join
        self.globals['range'] = limits.safe_range

    # -- attribute and item access

    def getattr(self, obj: Any, attribute: str) -> Any:
        kind = type(obj)
        if (kind is dict or kind is TaintedDict) and attribute not in _DICT_ATTRS:
            # what Jinja2 does after a dict has no such attribute: look the key up
            return self._item(obj, attribute, obj.get(attribute, _MISSING))
        value = super().getattr(obj, attribute)
        if kind in TAINTED and not callable(value):  # a method is tainted where it is called
            st = current()
            if st is not None and st.secrets:
                return derive(value, obj.level)  # an attribute of a secret, as `.real`
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        kind = type(obj)
        if kind is dict or kind is TaintedDict:
            try:
                found = obj[argument]
            except (TypeError, LookupError):
                pass
            else:
                return self._item(obj, argument, found)
        elif kind is list and type(argument) is int and 0 <= argument < len(obj):
            return self._item(obj, argument, obj[argument])
        value = super().getitem(obj, argument)
        st = current()
        if st is None:
            return value
        paths = st.index.paths.get(id(obj))
        if paths is not None:
            if kind is dict and _step(argument):  # a key it does not have
                st.rec.missing.update((*p, argument) for p in paths)
            else:  # a negative index, one out of range: the length decides
                st.rec.whole.update(paths)
        if st.secrets and (kind in TAINTED or is_tainted(argument)):
            if isinstance(value, jinja2.Undefined):
                raise SecretFlow('a lookup in or with a secret-derived value found nothing')
            if not _bound_to(value, obj):
                return derive(value, scan_all(st, (obj, argument)))
        return value

    def _item(self, obj: Any, key: Any, value: Any) -> Any:
        """VALUE, the item KEY of OBJ (or _MISSING), as a template gets it."""
        st = current()
        if st is not None:
            paths = st.index.paths.get(id(obj))
            if paths is not None:
                if not _step(key):
                    st.rec.whole.update(paths)
                elif value is _MISSING:
                    st.rec.missing.update((*p, key) for p in paths)
                elif type(value) is not dict and type(value) is not list:
                    st.rec.whole.update((*p, key) for p in paths)
            if st.secrets and (type(obj) in TAINTED or is_tainted(key)):
                if value is _MISSING:
                    raise SecretFlow('a lookup in or with a secret-derived value found nothing')
                return derive(value, scan_all(st, (obj, key)))
        if value is _MISSING:
            return self.undefined(obj=obj, name=key)
        return value

    # -- calls and operators

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not __self.is_safe_callable(__obj):
            raise jinja2.exceptions.SecurityError(f'{__obj!r} is not safely callable')
        st = current()
        if st is None or isinstance(__obj, _TRANSPARENT):
            return __context.call(__obj, *args, **kwargs)
        if isinstance(__obj, LoopContext):  # loop(children): a recursive loop runs over it
            for arg in args:
                __self.t_iter(arg, False)
            return __context.call(__obj, *args, **kwargs)
        if __obj is Namespace:  # keeps what it is given; a mapping it copies is read whole
            if scan_all(st, args) and st.secrets and any(is_tainted(a) for a in args):
                raise SecretFlow('a namespace() made from a secret-derived mapping')
            return __context.call(__obj, *args, **kwargs)
        receiver, name = _receiver(__obj)
        _check_call(name, receiver, args)
        inputs = [*args, *(v for k, v in kwargs.items() if k not in _INTERNAL_KWARGS)]
        if type(receiver) is dict and name == 'get' and args and type(args[0]) is str:
            paths = st.index.paths.get(id(receiver))
            if paths is not None:  # d.get('k') reads d['k'], not all of d
                value = receiver.get(args[0], _MISSING)
                found = st.rec.missing if value is _MISSING else st.rec.whole
                found.update((*p, args[0]) for p in paths)
                receiver = None
        if receiver is not None:
            inputs.append(receiver)
        # dict(...) is not one: it could make a mapping whose keys are secrets
        moves = name in _MOVING_METHODS and type(receiver) in (dict, list)
        return apply(
            st, f'{name}()', lambda: __context.call(__obj, *args, **kwargs), inputs, moves=moves
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.check_binop(operator, left, right)
        func = self.binop_table[operator]
        st = current()
        if st is None:
            return func(left, right)
        if (
            operator == '+'
            and isinstance(left, str)
            and isinstance(right, str)
            and (st.secrets and (type(left) is Tainted or type(right) is Tainted))
        ):
            return join_text((left, right))
        moves = operator in ('+', '*') and (
            isinstance(left, (list, tuple)) or isinstance(right, (list, tuple))
        )
        return apply(st, f'`{operator}`', lambda: func(left, right), [left, right], moves=moves)

    def call_unop(self, context: Context, operator: str, arg: Any) -> Any:
        func = self.unop_table[operator]
        st = current()
        if st is None or type(arg) in PLAIN:
            return func(arg)
        return apply(st, f'`{operator}`', lambda: func(arg), [arg])

    # -- what the code generator routes here (codegen.py)

    def t_truth(self, value: Any) -> Any:
        """A value deciding a branch: a secret may say whether it is set, nothing more."""
        if type(value) in PLAIN:
            return value
        st = current()
        if st is not None:
            level = scan(st, value)
            if (
                st.secrets
                and level
                and type(value) in TAINTED
                and not getattr(value, 'source', False)
            ):
                raise SecretFlow('a secret-derived value decides a condition')
        return value

    def t_iter(self, value: Any, unpack: bool) -> Any:
        """What a loop runs over: its length must not be a secret."""
        st = current()
        if st is None:
            return value
        level = scan(st, value)
        if not (st.secrets and level):
            return value
        if type(value) in TAINTED:
            raise SecretFlow('a loop over a secret-derived value (how often it runs is secret)')
        if unpack:  # `for a, b in ...` must not spread a secret's characters
            return _unpacking(value)
        return value

    def t_unpack(self, value: Any) -> Any:
        """A value spread into names (`set a, b = x`) or arguments (`f(*x)`): how many
        there are must not be a secret."""
        if type(value) in TAINTED:
            st = current()
            if st is not None and st.secrets:
                raise SecretFlow('spreading a secret-derived value into names or arguments')
        return value

    def t_name(self, value: Any) -> Any:
        """The name of a template to include, import or extend."""
        st = current()
        if st is not None and st.secrets and scan(st, value):
            raise SecretFlow('a secret-derived template name')
        return value

    def t_autoescape(self, enabled: Any) -> None:
        """`{% autoescape %}`: HTML escaping makes Markup, which cannot carry a secret's mark."""
        st = current()
        if st is not None and st.secrets and enabled:
            raise SecretFlow(
                '`{% autoescape %}` in a template that renders with secrets '
                '(escaped text cannot keep their mark)'
            )

    def t_compare(self, op: str, left: Any, right: Any) -> Any:
        st = current()
        if st is not None and not (type(left) in PLAIN and type(right) in PLAIN):
            if op in ('in', 'notin') and type(right) is dict and type(left) is str:
                # 'k' in d reads d['k'] (whether it is there), not all of d
                paths = st.index.paths.get(id(right))
                if paths is not None:
                    st.rec.whole.update((*p, left) for p in paths)
                    return _COMPARE[op](left, right)
            if scan(st, left) | scan(st, right) and st.secrets:
                raise SecretFlow(f'comparing a secret-derived value (`{_SYMBOL[op]}`)')
        return _COMPARE[op](left, right)

    def t_chain(self, left: Any, rest: tuple[tuple[str, Callable[[], Any]], ...]) -> Any:
        for op, right in rest:
            value = right()
            if not self.t_compare(op, left, value):
                return False
            left = value
        return True

    def t_concat(self, values: tuple[Any, ...]) -> str:
        st = current()
        found = join_text(str(text(st, v)) for v in values)
        limits.check_text('`~`', len(found))
        return found

    def t_slice(self, obj: Any, start: Any, stop: Any, step: Any) -> Any:
        st = current()
        if st is None:
            return obj[start:stop:step]
        return apply(st, 'a slice', lambda: obj[start:stop:step], [obj, start, stop, step])

    def t_dict(self, pairs: tuple[tuple[Any, Any], ...]) -> dict[Any, Any]:
        st = current()
        if st is not None and st.secrets and any(is_tainted(k) for k, _ in pairs):
            raise SecretFlow('a secret-derived mapping key')
        return dict(pairs)

    # -- output

    def _finalize(self, value: Any) -> Any:
        if type(value) in PLAIN:
            return value
        return text(current(), value)

    def _concat(self, parts: Iterable[str]) -> str:
        st = current()
        if st is None or not st.secrets:
            return ''.join(parts)
        return join_text(parts)


def _step(key: Any) -> bool:
    """Whether KEY can be a step of a recorded path: plain, so that no secret goes to
    the cache as part of one, and hashable."""
    return type(key) is str or type(key) is int


def _bound_to(value: Any, obj: Any) -> bool:
    return getattr(value, '__self__', None) is obj


def _receiver(func: Any) -> tuple[Any, str]:
    """What a method is bound to (None for a function), and its name."""
    name = getattr(func, '__name__', type(func).__name__)
    wrapped = getattr(func, '__wrapped__', None)  # str.format, as the sandbox wraps it
    owner = getattr(wrapped if wrapped is not None else func, '__self__', None)
    if isinstance(owner, (types.ModuleType, type)):
        owner = None
    return owner, name


def _check_call(name: str, receiver: Any, args: tuple[Any, ...]) -> None:
    """Methods that pad, repeat or format to a size their arguments give."""
    if not isinstance(receiver, str):
        return
    if name in ('center', 'ljust', 'rjust', 'zfill', 'expandtabs'):
        for arg in args:
            limits.check_width(f'str.{name}()', arg)
    elif name in ('format', 'format_map'):
        limits.check_format(receiver)
    elif name == 'replace' and len(args) >= 2:
        limits.check_replace('str.replace()', receiver, args[0], args[1])


def _unpacking(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        if type(item) in TAINTED and type(item) not in SHAPED:
            raise SecretFlow('unpacking a secret-derived value in a loop')
        yield item

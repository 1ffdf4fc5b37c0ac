"""Templates rendered once per environment in Jinja2's immutable sandbox.

`.j2` files render and lose the suffix; every other file is copied byte for
byte. The sandbox (sandbox/) records what each template reads (trace.py), so
that its output can be reused while those values are unchanged, and follows
every secret through what the template computes from it (taint.py): a value of
the output that holds secret-derived text becomes a Secret (rendered_secrets.py).
Nothing here keeps anything: every function is one of its arguments.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import json
import posixpath
import re
import sys
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

import jinja2

from gitops_config import rendered_secrets
from gitops_config import sandbox
from gitops_config import trace
from gitops_config import yaml_io
from gitops_config.errors import GitopsConfigError
from gitops_config.errors import InvalidYamlError
from gitops_config.fsutil import check_printable
from gitops_config.limits import DEFAULT_LIMITS
from gitops_config.limits import Budget
from gitops_config.limits import Exceeded
from gitops_config.limits import Guard
from gitops_config.limits import Limits
from gitops_config.model import Location
from gitops_config.model import NodePath
from gitops_config.project import Project
from gitops_config.redact import MASK
from gitops_config.redact import SealedSecret
from gitops_config.redact import Secret
from gitops_config.source import Source
from gitops_config.taint import SecretFlow
from gitops_config.taint import Taint
from gitops_config.taint import Tainted
from gitops_config.taint import bytes_tainted
from gitops_config.taint import reveal
from gitops_config.values import Values

if TYPE_CHECKING:
    import types

    Compiled = jinja2.Template  # what compile_template makes of a template's text

TEMPLATE_SUFFIX = '.j2'
STRUCTURED = {'.yaml': 'yaml', '.yml': 'yaml', '.json': 'json'}


class TemplateError(GitopsConfigError):
    code = 'template'
    exit_code = 1  # a mistake in the configuration, like a finding


class RenderedSyntaxError(GitopsConfigError):
    code = 'rendered-invalid'
    exit_code = 1


class SecretFlowError(TemplateError):
    """A template would turn a secret into plain text in a way the tool cannot follow."""

    code = 'secret-flow'
    exit_code = 1


class TemplateLimitError(TemplateError):
    """An operation would build more than the sandbox allows (limits.py)."""

    code = 'template-limit'
    exit_code = 1


SECRET_HINT = (
    "use a secret as a whole value (`{{ s }}`, `'user:' ~ s`, `| b64encode`, "
    '`| to_json`); see "Secrets in templates" in the README'
)


class RenderedFile:
    """One output file of one environment.

    A file reused from a snapshot (snapshot.py) starts with only its digest and
    what its template read; its content and documents are rendered on first
    use, which most checks of an unchanged file never need.
    """

    __slots__ = (
        '_content',
        '_digest',
        '_documents',
        '_load',
        '_positions',
        'env',
        'has_secrets',
        'path',
        'reads',
        'sealed',
        'template',
    )

    def __init__(
        self,
        env: str,
        path: str,
        template: str,
        content: bytes = b'',
        documents: list[Any] | None = None,
        has_secrets: bool = False,
        *,
        reads: tuple[NodePath, ...] | None = None,
        digest: str | None = None,
        load: Callable[[], RenderedFile] | None = None,
        sealed: bool = False,
    ) -> None:
        self.env = env
        self.path = path  # relative to the environment's output folder
        self.template = template  # relative to the project root
        self._content = content  # may hold secret plaintext: never print or write as is
        self._documents = documents
        self.has_secrets = has_secrets
        # a file that is not YAML or JSON holds a sealed secret's placeholder (no key)
        self.sealed = sealed
        # the value paths the output depends on; None: unknown, or they touch a secret
        self.reads = reads
        self._digest = digest
        self._load = load
        self._positions: list[dict[NodePath, tuple[int, int]]] | None = None

    def __repr__(self) -> str:
        return f'RenderedFile(env={self.env!r}, path={self.path!r}, template={self.template!r})'

    def _loaded(self) -> None:
        if self._load is not None:
            full, self._load = self._load(), None
            self._content, self._documents = full.content, full.documents

    @property
    def content(self) -> bytes:
        self._loaded()
        return self._content

    @property
    def documents(self) -> list[Any] | None:
        self._loaded()
        return self._documents

    @property
    def digest(self) -> str:
        """SHA-256 of the content, hex: what a reused file is known by."""
        if self._digest is None:
            self._digest = hashlib.sha256(self.content).hexdigest()
        return self._digest

    @property
    def kind(self) -> str | None:
        return STRUCTURED.get(posixpath.splitext(self.path)[1].lower())

    @property
    def positions(self) -> list[dict[NodePath, tuple[int, int]]] | None:
        """(line, column) of every node of every document, parsed again on first use:
        only findings need them, and most files have none."""
        if self.documents is None:
            return None
        if self._positions is None:
            self._positions = [pos for _, pos in yaml_io.load_all_located(self.content, self.path)]
        return self._positions


# The filters and tests that exist to look at undefined names. Every other one fails
# on an undefined argument as a direct use does: a typo piped into a filter is an
# undefined name, not something to serialise or test.
_SEE_UNDEFINED = frozenset({'default', 'd', 'required', 'defined', 'undefined'})


def _refusing_undefined(func: Any) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps jinja_pass_arg (pass_context and the like)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, jinja2.Undefined):
                arg._fail_with_undefined_error()
        return func(*args, **kwargs)

    return checked


def _suggestion(name: str, known: Iterable[Any]) -> str:
    """' (did you mean ...?)' for the known name closest to NAME, or ''."""
    close = difflib.get_close_matches(
        name, [k for k in known if isinstance(k, str)], n=1, cutoff=0.75
    )
    return f' (did you mean {close[0]!r}?)' if close else ''


@functools.cache  # one class, made once: its behaviour depends on nothing
def _undefined() -> type[jinja2.Undefined]:
    class Undefined(jinja2.StrictUndefined):
        """StrictUndefined that also fails where Python asks for an index or a repr
        (`range(x)`, `[x]`), and names the key a misspelt one meant."""

        __slots__ = ()

        def __repr__(self) -> str:
            self._fail_with_undefined_error()

        def __index__(self) -> int:
            self._fail_with_undefined_error()

        @property
        def _undefined_message(self) -> str:
            message = str(super()._undefined_message)
            owner = self._undefined_obj
            if isinstance(owner, Mapping) and isinstance(self._undefined_name, str):
                return message + _suggestion(self._undefined_name, owner)
            return message

    return Undefined


@functools.cache  # constant: compiled templates of any run are bound to it
def _environment() -> jinja2.Environment:
    """The sandbox (sandbox/) with our Undefined; a filter or test other than those
    made to look at undefined names fails on one as a direct use does."""
    env = sandbox.environment(_undefined())
    for table in (env.filters, env.tests):
        for name, func in table.items():
            if name not in _SEE_UNDEFINED:
                table[name] = _refusing_undefined(func)
    return env


def _template_line(exc: BaseException, name: str) -> int | None:
    lineno = getattr(exc, 'lineno', None)
    if lineno is not None and getattr(exc, 'name', name) in (name, None):
        return int(lineno)
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# What turns a template's text and name into a Jinja2 Template: compile_template, or
# one that keeps compiled code in memory and across runs.
Compile = Callable[[str, str], 'jinja2.Template']


def code_identity() -> str:
    """What compiled code depends on beyond a template's text and name: the Jinja2 and
    Python versions that produced it, and the sandbox's code generator."""
    return f'{jinja2.__version__}\0{sys.version}\0{sandbox.code_version()}'


def compile_code(source_text: str, name: str) -> types.CodeType:
    """SOURCE_TEXT compiled in the sandbox (runtime errors carry NAME's file and line)."""
    code: types.CodeType = _environment().compile(source_text, name=name, filename=name)
    return code


def load_code(code: types.CodeType) -> jinja2.Template:
    """The template compile_code made CODE of."""
    env = _environment()
    return env.template_class.from_code(env, code, env.make_globals(None))


def compile_template(source_text: str, name: str) -> jinja2.Template:
    return load_code(compile_code(source_text, name))


def _run(
    template: jinja2.Template,
    prepared: Prepared,
    rec: trace.Recorder,
    pieces: list[tuple[int, int]] | None = None,
) -> str:
    """Template.render, with the recording context as the template's own.

    render() would copy the context into a plain dict; with shared=True Jinja
    looks names up in ours. Errors are re-raised the way render() does, with the
    traceback rewritten to template lines. PIECES, if given, gets where each piece
    of the output starts and the template line that wrote it.
    """
    ctx = template.new_context(prepared.context(rec, template.globals), shared=True)
    env = template.environment
    try:
        with sandbox.rendering(sandbox.State(rec, prepared.index, prepared.secrets)):
            parts = template.root_render_func(ctx)
            return str(env.concat(parts if pieces is None else _located(parts, pieces)))
    except (Exception, Exceeded):  # a limit too: its traceback shows the template line
        env.handle_exception()
        raise  # handle_exception always raises; this keeps type checkers informed


def _located(parts: Iterator[str], pieces: list[tuple[int, int]]) -> Iterator[str]:
    """PARTS, noting for each where it starts and the template line that wrote it."""
    at = 0
    for part in parts:
        frame, inner = None, parts  # type: tuple[Any, Any]
        while inner is not None:  # blocks and includes yield from generators of their own
            frame = getattr(inner, 'gi_frame', None) or frame
            inner = getattr(inner, 'gi_yieldfrom', None)
        line = 0
        if frame is not None:
            template = frame.f_globals.get('__jinja_template__')
            if template is not None:
                line = template.get_corresponding_lineno(frame.f_lineno)
        pieces.append((at, line))
        at += len(part)
        yield part


# what Jinja2 says of a top-level name that nothing defines
_TOP_LEVEL_UNDEFINED = re.compile(r"'([A-Za-z_][A-Za-z_0-9]*)' is undefined")


def render_template(
    source_text: str,
    name: str,
    prepared: Prepared,
    rec: trace.Recorder,
    compile_: Compile = compile_template,
) -> str:
    """SOURCE_TEXT (the template NAME, compiled by COMPILE_) rendered for PREPARED's
    environment, what it reads recorded in REC."""
    env = prepared.env
    # An error can quote the value it choked on ("no attribute 'sk-...'"): never a secret.
    clean = prepared.taint.scrub if prepared.taint is not None else str
    try:
        return _run(compile_(source_text, name), prepared, rec)
    except SecretFlow as exc:
        raise SecretFlowError(
            f'a secret would become plain text ({env}): {exc}',
            location=Location(name, _template_line(exc, name)),
            hint=SECRET_HINT,
        ) from None
    except sandbox.TemplateLimit as exc:
        raise TemplateLimitError(
            f'template exceeds a limit ({env}): {exc.message}',
            location=Location(name, _template_line(exc, name)),
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f'template syntax error ({env}): {exc.message}', location=Location(name, exc.lineno)
        ) from None
    except jinja2.UndefinedError as exc:
        message = exc.message or ''
        top = _TOP_LEVEL_UNDEFINED.fullmatch(message)
        if top is not None:  # a name no value layer defines: which one was meant?
            message += _suggestion(top.group(1), [*prepared.revealed, 'env', 'values'])
        raise TemplateError(
            f'undefined value ({env}): {clean(message)}',
            location=Location(name, _template_line(exc, name)),
            hint=f'define it in a value layer of {env}, or use `| default(...)` in the template',
        ) from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(
            f'template not allowed ({env}): {clean(str(exc))}',
            location=Location(name, _template_line(exc, name)),
        ) from None
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        message = getattr(exc, 'message', None) or str(exc)
        raise TemplateError(
            f'template failed ({env}): {clean(message)}',
            location=Location(name, _template_line(exc, name)),
        ) from None
    except RecursionError as exc:
        raise TemplateError(
            f'template recursion too deep ({env})',
            location=Location(name, _template_line(exc, name)),
            hint='a macro that calls itself without end?',
        ) from None


def _parse(file: RenderedFile, text: str) -> RenderedFile:
    """FILE with its documents; a value that holds text computed from a secret (TEXT is
    Tainted) becomes a Secret (rendered_secrets.py). Raises Misplaced."""
    kind = file.kind
    if kind is None:
        spans = text.spans if type(text) is Tainted else ()
        return RenderedFile(
            file.env,
            file.path,
            file.template,
            file.content,
            has_secrets=any(e > s for s, e, _ in spans),
            sealed=any(sealed for _, _, sealed in spans),
        )
    try:
        documents = yaml_io.load_all(str.__str__(text), file.path)
        if kind == 'json':
            json.loads(text)  # stricter than YAML: no comments, no trailing commas
    except InvalidYamlError as exc:
        raise _rendered_invalid(file, exc.location, exc.message, text) from None
    except json.JSONDecodeError as exc:
        raise _rendered_invalid(
            file, Location(file.path, exc.lineno, exc.colno), f'invalid JSON: {exc.msg}', text
        ) from None
    has_secrets = type(text) is Tainted and rendered_secrets.mark(text, documents)
    return RenderedFile(file.env, file.path, file.template, file.content, documents, has_secrets)


def _rendered_invalid(
    file: RenderedFile,
    where: Location | None,
    message: str,
    text: str,
) -> RenderedSyntaxError:
    line = f', rendered line {where.line}' if where is not None and where.line else ''
    if type(text) is Tainted:  # the parser quotes what it choked on (`duplicate key 'sk-...'`)
        for secret in sorted({text[s:e] for s, e, _ in text.spans if e > s}, key=len, reverse=True):
            message = message.replace(secret, MASK)
    return RenderedSyntaxError(
        f'{file.env}: rendered {file.path} is not valid {file.kind}{line}: {message}',
        location=Location(file.template),
        hint=f'fix the template; see the output with `gitops-config render --env {file.env} '
        '--decrypt --out DIR`',
    )


@dataclass(frozen=True, eq=False)  # known by identity: what a run learns of it is kept by it
class Prepared:
    """What rendering one environment needs, computed once and shared by workers."""

    env: str
    revealed: dict[str, Any] = field(repr=False)  # the values, secrets as taint.Tainted
    taint: Taint | None = field(repr=False)  # the secrets' plaintexts, to scrub messages of
    secrets: bool = False  # the values hold a secret
    limits: Limits = field(default=DEFAULT_LIMITS, repr=False)
    budget: Budget = field(default_factory=Budget, repr=False, compare=False)  # time spent

    @functools.cached_property
    def index(self) -> trace.Index:
        """Where each container of the values is: what the sandbox records reads by."""
        return trace.Index(self.revealed)

    def context(self, rec: trace.Recorder, globals_: Mapping[str, Any]) -> trace.Context:
        """The template's context: the values at the top level, `env` and `values`
        (the whole tree); looking a name up records it."""
        fixed = {**globals_, 'env': self.env, 'values': self.revealed}
        return trace.Context(self.revealed, fixed, rec)

    def __getstate__(self) -> dict[str, Any]:
        """What a worker process gets: not the index, which knows containers by their
        identity in this process."""
        return {k: v for k, v in self.__dict__.items() if k != 'index'}


@dataclass(frozen=True)
class Template:
    path: str  # relative to the project root
    rel: str  # relative to the templates folder
    blob: str = field(default='', compare=False)  # its blob SHA; '' when not known
    # the bytes, read on first use: most templates of an incremental run are never read
    read: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def raw(self) -> bytes:
        assert self.read is not None
        return self.read()

    @classmethod
    def of(cls, path: str, rel: str, raw: bytes, blob: str = '') -> Template:
        """A template with its bytes at hand."""
        template = cls(path, rel, blob)
        template.__dict__['raw'] = raw
        return template

    def __reduce__(self) -> tuple[Any, ...]:
        # to a worker process, with its bytes: the reader cannot go (it holds the git repo)
        return (Template.of, (self.path, self.rel, self.raw, self.blob))


def prepare(values: Values, limits: Limits = DEFAULT_LIMITS) -> Prepared:
    """What rendering VALUES within LIMITS needs."""
    needles: list[tuple[str, Secret | SealedSecret]] = []
    # Walking every value is worth it only where an encrypted layer brought secrets.
    data = reveal(values.data, needles) if values.has_secrets else values.data
    # Longest first, so that a secret containing another is credited to itself.
    taint = Taint(tuple(sorted(needles, key=lambda n: -len(n[0])))) if needles else None
    # reveal copies where it found one
    return Prepared(values.env, data, taint, limits=limits, secrets=data is not values.data)


def templates(source: Source, project: Project) -> list[Template]:
    """PROJECT's templates at SOURCE, each read only when first rendered."""
    if project.templates is None:
        return []
    root = project.templates.rstrip('/')
    return [
        Template(
            check_printable(path),
            path[len(root) + 1 :] if root else path,
            source.blob_id(path),
            functools.partial(source.read, path),
        )
        for path in source.files(root)
    ]


def render_file(
    template: Template, prepared: Prepared, compile_: Compile = compile_template
) -> RenderedFile:
    """TEMPLATE rendered (and parsed) for PREPARED's environment."""
    return render_traced(template, prepared, compile_)[0]


def render_traced(
    template: Template,
    prepared: Prepared,
    compile_: Compile = compile_template,
) -> tuple[RenderedFile, trace.Recorder | None]:
    """TEMPLATE rendered, with what it read (None: a file copied as it is)."""
    env = prepared.env
    if not template.rel.endswith(TEMPLATE_SUFFIX):
        tainted = bytes_tainted(template.raw, prepared.taint)
        return RenderedFile(
            env,
            template.rel,
            template.path,
            template.raw,
            has_secrets=tainted,
            reads=None if tainted else (),
        ), None
    try:
        text = template.raw.decode()
    except UnicodeDecodeError:
        raise TemplateError(
            'a .j2 template must be UTF-8 text', location=Location(template.path)
        ) from None
    rel = template.rel[: -len(TEMPLATE_SUFFIX)]
    rec = trace.Recorder()
    with _limited(template.path, prepared):
        out = render_template(text, template.path, prepared, rec, compile_)
        rendered = RenderedFile(env, rel, template.path, out.encode())
        try:
            parsed = _parse(rendered, out)
        except rendered_secrets.Misplaced as exc:
            raise _misplaced(template, text, prepared, out, exc, compile_) from None
    return parsed, rec


@contextlib.contextmanager
def _limited(name: str, prepared: Prepared) -> Iterator[None]:
    """Render NAME for PREPARED's environment within its limits (limits.py): past one,
    a TemplateError that names the limit and where to raise it."""
    env, limits = prepared.env, prepared.limits
    try:
        with Guard(limits, prepared.budget):
            yield
    except Exceeded as exc:
        where = Location(name, _template_line(exc, name))
        if exc.which == 'template':
            raise TemplateError(
                f'took longer than {limits.template_seconds:g} s to render ({env}), past '
                'limits.template_seconds',
                location=where,
                hint='a loop over a large range? The limit is set in gitops-config.yaml',
            ) from None
        raise TemplateError(
            f'rendering this environment took longer than {limits.environment_seconds:g} s '
            f'in all ({env}), past limits.environment_seconds',
            location=where,
            hint='the limit is set in gitops-config.yaml',
        ) from None
    except MemoryError as exc:
        raise TemplateError(
            f'needed more than {limits.memory_mb} MiB of memory to render ({env}), past '
            'limits.memory_mb',
            location=Location(name, _template_line(exc, name)),
            hint='the limit is set in gitops-config.yaml',
        ) from None


def _misplaced(
    template: Template,
    text: str,
    prepared: Prepared,
    out: str,
    exc: rendered_secrets.Misplaced,
    compile_: Compile,
) -> SecretFlowError:
    """The error for secret-derived text where no value can carry it, at the template
    line that wrote it (found by rendering again, noting where each piece came from)."""
    pieces: list[tuple[int, int]] = []
    _run(compile_(text, template.path), prepared, trace.Recorder(), pieces)
    line = next((ln for at, ln in reversed(pieces) if at <= exc.offset), 0)
    rendered_line = out.count('\n', 0, exc.offset) + 1
    return SecretFlowError(
        f'a secret would become plain text ({prepared.env}): secret-derived text at rendered '
        f'line {rendered_line} {exc.what}',
        location=Location(template.path, line or None),
        hint=SECRET_HINT,
    )

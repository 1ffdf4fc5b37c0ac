"""Jinja2's code generator, with the few places the sandbox does not see routed to it.

Jinja2's sandbox already calls the environment for attribute and item access,
calls and arithmetic. A template can also use a value without any of those:
as a condition (`if`, `and`, `not`, a ternary), as what a loop runs over, in
a comparison or `~`, sliced, unpacked, or as a mapping key. Before code is
generated, each of those places is wrapped in a call of an environment
attribute named `t_*`, which the generator below writes as a direct call of
that method (environment.py); it returns the value Jinja2 would have used. The
rest of the compiled code is Jinja2's own. (Jinja2 allows no new node types:
the wrapping is a Call of an EnvironmentAttribute, as extensions build.)
"""

from __future__ import annotations

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.compiler import Frame
from jinja2.visitor import NodeTransformer

_HOOK_PREFIX = 't_'


def _hook(name: str, *args: nodes.Node, lineno: int) -> nodes.Call:
    return nodes.Call(
        nodes.EnvironmentAttribute(_HOOK_PREFIX + name, lineno=lineno),
        list(args),
        [],
        None,
        None,
        lineno=lineno,
    )


def _const(value: object, lineno: int) -> nodes.Const:
    return nodes.Const(value, lineno=lineno)


def _optional(node: nodes.Expr | None, lineno: int) -> nodes.Expr:
    return node if node is not None else _const(None, lineno)


class _Hooks(NodeTransformer):
    """Wraps every place where a template uses a value beyond the sandbox's hooks."""

    def visit_If(self, node: nodes.If) -> nodes.Node:
        self.generic_visit(node)  # children first, in place
        node.test = _hook('truth', node.test, lineno=node.lineno)
        return node

    def visit_CondExpr(self, node: nodes.CondExpr) -> nodes.Node:
        self.generic_visit(node)
        node.test = _hook('truth', node.test, lineno=node.lineno)
        return node

    def _left_decides(self, node: nodes.BinExpr) -> nodes.Node:
        self.generic_visit(node)
        node.left = _hook('truth', node.left, lineno=node.lineno)
        return node

    visit_And = visit_Or = _left_decides

    def visit_Not(self, node: nodes.Not) -> nodes.Node:
        self.generic_visit(node)
        node.node = _hook('truth', node.node, lineno=node.lineno)
        return node

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        unpack = _const(isinstance(node.target, nodes.Tuple), node.lineno)
        node.iter = _hook('iter', node.iter, unpack, lineno=node.lineno)
        if node.test is not None:
            node.test = _hook('truth', node.test, lineno=node.lineno)
        return node

    def visit_Assign(self, node: nodes.Assign) -> nodes.Node:
        self.generic_visit(node)
        if isinstance(node.target, nodes.Tuple):
            node.node = _hook('unpack', node.node, lineno=node.lineno)
        return node

    def _spread(self, node: nodes.Call | nodes.Filter | nodes.Test) -> nodes.Node:
        self.generic_visit(node)
        if node.dyn_args is not None:
            node.dyn_args = _hook('unpack', node.dyn_args, lineno=node.lineno)
        if node.dyn_kwargs is not None:
            node.dyn_kwargs = _hook('unpack', node.dyn_kwargs, lineno=node.lineno)
        return node

    visit_Call = visit_Filter = visit_Test = _spread

    def _names_template(
        self, node: nodes.Include | nodes.Import | nodes.FromImport | nodes.Extends
    ) -> nodes.Node:
        self.generic_visit(node)
        node.template = _hook('name', node.template, lineno=node.lineno)
        return node

    visit_Include = visit_Import = visit_FromImport = visit_Extends = _names_template

    def _escaping(self, node: nodes.EvalContextModifier) -> nodes.Node:
        # `{% autoescape true %}` wraps output in Markup, which keeps no taint: the
        # environment refuses it where there are secrets
        self.generic_visit(node)
        checks = [
            nodes.ExprStmt(
                _hook('autoescape', option.value, lineno=node.lineno), lineno=node.lineno
            )
            for option in node.options
            if option.key == 'autoescape'
        ]
        if isinstance(node, nodes.ScopedEvalContextModifier):
            node.body[:0] = checks
            return node
        return [*checks, node]  # type: ignore[return-value]  # a transformer may splice

    visit_EvalContextModifier = visit_ScopedEvalContextModifier = _escaping

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        line = node.lineno
        if len(node.ops) == 1:
            [op] = node.ops
            return _hook('compare', _const(op.op, line), node.expr, op.expr, lineno=line)
        # a < b < c: the generator writes each later operand as a lambda (see below)
        rest = [part for op in node.ops for part in (_const(op.op, line), op.expr)]
        return _hook('chain', node.expr, *rest, lineno=line)

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _hook(
            'concat', nodes.Tuple(node.nodes, 'load', lineno=node.lineno), lineno=node.lineno
        )

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        if not isinstance(node.arg, nodes.Slice):
            return node
        line, arg = node.lineno, node.arg
        return _hook(
            'slice',
            node.node,
            _optional(arg.start, line),
            _optional(arg.stop, line),
            _optional(arg.step, line),
            lineno=line,
        )

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        self.generic_visit(node)
        line = node.lineno
        pairs = [nodes.Tuple([p.key, p.value], 'load', lineno=line) for p in node.items]
        return _hook('dict', nodes.Tuple(pairs, 'load', lineno=line), lineno=line)


class HookedCodeGenerator(CodeGenerator):
    """Jinja2's code generator over a template whose blind spots are wrapped (_Hooks)."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        _Hooks().visit(node)
        super().visit_Template(node, frame)

    def visit_Call(
        self,
        node: nodes.Call,
        frame: Frame,
        forward_caller: bool = False,
    ) -> None:
        target = node.node
        if not (
            isinstance(target, nodes.EnvironmentAttribute) and target.name.startswith(_HOOK_PREFIX)
        ):
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        # a hook: a plain call of the environment's method, not a sandboxed call
        self.write(f'environment.{target.name}(')
        if target.name == 't_chain':
            self.visit(node.args[0], frame)
            self.write(', (')
            for op, operand in zip(node.args[1::2], node.args[2::2], strict=True):
                self.write('(')
                self.visit(op, frame)
                self.write(', lambda: ')  # evaluated only while the chain holds
                self.visit(operand, frame)
                self.write('), ')
            self.write('))')
            return
        for i, arg in enumerate(node.args):
            if i:
                self.write(', ')
            self.visit(arg, frame)
        self.write(')')

"""Examples for every command's --help, in one table, and whole lines in the listings.

A command may instead carry its own `Examples:` block (its epilog); a test runs
`--help` on every command and checks that each shows one.
"""

from __future__ import annotations

import inspect

import click

# command path ('' is gitops-config itself) -> one or two invocations
EXAMPLES: dict[str, tuple[str, ...]] = {
    '': ('gitops-config render --env dev', 'gitops-config -C example-repo validate --sealed'),
    'render': (
        'gitops-config render --env prod',
        'gitops-config render --check   # exit 1 when committed output is stale',
    ),
    'get': (
        'gitops-config get prod app.replicas',
        "gitops-config get prod 'model_list[model_info.id=openai-gpt-4o]' -f yaml",
    ),
    'explain': ("gitops-config explain prod 'model_list[model_name=gpt-4o].litellm_params.rpm'",),
    'set': (
        'gitops-config set values/staging.yaml app.replicas 3',
        'gitops-config set values/prod.yaml app.image.tag 1.10 --string',
    ),
    'unset': ('gitops-config unset values/dev.yaml litellm_settings.set_verbose',),
    'init': ('gitops-config init my-config',),
    'secrets': (
        'gitops-config secrets encrypt -i secrets/prod.enc.yaml',
        'gitops-config secrets status secrets/*.yaml',
    ),
    'secrets decrypt': ('gitops-config secrets decrypt secrets/dev.enc.yaml',),
    'secrets edit': ('EDITOR=vim gitops-config secrets edit secrets/staging.enc.yaml',),
    'secrets encrypt': (
        'gitops-config secrets encrypt -i secrets/prod.enc.yaml',
        'gitops-config secrets encrypt --age age1... plain.yaml > out.enc.yaml',
    ),
    'secrets age': (
        'gitops-config secrets age   # every encrypted layer, oldest first',
        'gitops-config secrets age secrets/prod.enc.yaml -f json',
    ),
    'secrets exec-env': (
        'gitops-config secrets exec-env secrets/prod.enc.yaml -- ./deploy.sh',
        "gitops-config secrets exec-env env.enc.yaml -- sh -c 'echo $PORT'",
    ),
    'secrets exec-file': (
        'gitops-config secrets exec-file secrets/prod.enc.yaml -- kubectl apply -f {}',
    ),
    'secrets git-setup': ('gitops-config secrets git-setup --write-attributes',),
    'secrets keygen': ('gitops-config secrets keygen -o ~/.config/sops/age/keys.txt',),
    'secrets merge-driver': (
        'git config merge.sops.driver "gitops-config secrets merge-driver %O %A %B %P"',
    ),
    'secrets rotate': ('gitops-config secrets rotate secrets/prod.enc.yaml',),
    'secrets set': (
        'gitops-config secrets set secrets/prod.enc.yaml '
        "'provider_keys.OPENAI_API_KEY' sk-... --string",
    ),
    'secrets status': (
        'gitops-config secrets status secrets/*.enc.yaml',
        'gitops-config secrets status --can-decrypt   # before a deploy',
    ),
    'secrets textconv': ('git config diff.sops.textconv "gitops-config secrets textconv"',),
    'secrets updatekeys': ('gitops-config secrets updatekeys secrets/prod.enc.yaml',),
    'validate': (
        'gitops-config validate --sealed',
        'gitops-config validate --base origin/main -f sarif > findings.sarif',
    ),
    'policy': ('gitops-config policy test', 'gitops-config policy list --builtin'),
    'policy docs': ('gitops-config policy docs --builtin > POLICIES.md',),
    'policy list': ('gitops-config policy list',),
    'policy test': ('gitops-config policy test policies/gateway.yaml',),
    'hook': ('gitops-config hook validate values/prod.yaml   # as pre-commit runs it',),
    'hook render-check': ('gitops-config hook render-check values/prod.yaml',),
    'hook secrets': (
        'gitops-config hook secrets values/common.yaml .env',
        'gitops-config hook secrets   # everything staged',
    ),
    'hook validate': ('gitops-config hook validate values/prod.yaml schemas/values.schema.json',),
    'diff': (
        'gitops-config diff   # merge-base with the default branch vs the working tree',
        'gitops-config diff main HEAD --validate -f markdown',
    ),
    'history': (
        'gitops-config history prod general_settings.max_parallel_requests',
        'gitops-config history prod spec.replicas --file k8s/deployment.yaml -n 20',
    ),
    'promote': (
        'gitops-config promote dev staging --dry-run',
        'gitops-config promote staging prod --open-pr',
    ),
    'status': ('gitops-config status',),
    'drift': (
        "gitops-config drift prod --live-cmd 'kubectl get configmap "
        "litellm-proxy-config -n llm-gateway -o yaml'",
        'gitops-config drift staging --live live/staging/',
    ),
    'mark-deployed': ('gitops-config mark-deployed prod HEAD',),
    'action': ('gitops-config action run   # what action.yml runs',),
    'action merge': ('gitops-config action merge shards/*.json',),
    'action pr': ('gitops-config action pr --comment changes',),
    'action run': ('gitops-config action run',),
    'action shard': ('gitops-config action shard --shard 2/4 -o shard-2.json',),
    'report': ('gitops-config report merge shard-*.json -f markdown',),
    'report merge': ('gitops-config report merge shard-*.json -f markdown',),
    'cache': ('gitops-config cache info',),
    'cache clear': ('gitops-config cache clear',),
    'cache info': ('gitops-config cache info',),
}


def block(path: str) -> str | None:
    """The `Examples:` block of the command at PATH, kept as written by --help."""
    examples = EXAMPLES.get(path)
    if not examples:
        return None
    return '\b\nExamples:\n' + '\n'.join(f'  {line}' for line in examples)


def attach(command: click.Command, path: str) -> None:
    """COMMAND (at PATH) and the commands below it get their examples; a group lists
    each subcommand's whole first paragraph, not the first 45 characters of it."""
    shown = block(path)
    if shown is not None and 'Examples:' not in (command.epilog or ''):
        command.epilog = shown + ('\n\n' + command.epilog if command.epilog else '')
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            if sub.short_help is None and sub.help:
                first = inspect.cleandoc(sub.help).split('\n\n')[0]
                sub.short_help = ' '.join(first.split())
            attach(sub, f'{path} {name}'.strip())

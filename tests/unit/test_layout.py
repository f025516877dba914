"""The package's structure holds: the pure layers import no Trac, every
import points down the layers, and no module imports itself in a
circle.

The layers, from the bottom: `core` (the name policy, trust, URLs...),
`assertion` (signed assertions), `decision` (who a request comes from),
`selftest` (the self-test's logic); then the Trac components at the
top level, `admin/` and `integrations/`.
"""

import ast
import os
import subprocess
import sys

import pytest

from conftest import ROOT

PACKAGE = os.path.join(ROOT, 'remoteuserauth')

#: The pure layers, bottom first: each may import only those before it.
PURE = ('core', 'assertion', 'decision', 'selftest')


def modules():
    """Every module of the package: {dotted name: path}."""
    found = {}
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if not d.startswith('__')]
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if parts[-1] == '__init__':
                parts = parts[:-1]
            found['.'.join(parts)] = path
    return found


def imports(path, known):
    """The package's modules that the module at `path` imports."""
    tree = ast.parse(open(path, encoding='utf-8').read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + ['%s.%s' % (node.module, alias.name)
                                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def layer(module):
    """The layer a module belongs to: one of `PURE`, or 'trac'."""
    parts = module.split('.')
    if len(parts) > 1 and parts[1] in PURE:
        return parts[1]
    return 'trac' if len(parts) > 1 else 'package'


def graph():
    known = modules()
    return {name: imports(path, known) for name, path in known.items()}


def test_the_layout_is_the_one_described():
    layers = {layer(m) for m in modules()}
    assert set(PURE) <= layers and 'trac' in layers


def test_pure_modules_import_no_trac():
    """Each pure module imports, alone, in a Python where importing
    Trac fails."""
    pure = sorted(m for m in modules() if layer(m) in PURE)
    assert len(pure) > 20
    script = r'''
import importlib, sys
class NoTrac(object):
    def find_spec(self, name, path=None, target=None):
        if name == 'trac' or name.startswith('trac.'):
            raise ImportError('Trac is blocked: ' + name)
sys.meta_path.insert(0, NoTrac())
for name in sys.argv[1:]:
    importlib.import_module(name)
print('ok')
'''
    out = subprocess.run([sys.executable, '-c', script] + pure, cwd=ROOT,
                         capture_output=True, text=True)
    assert out.stdout.strip() == 'ok', out.stderr


def test_the_blocker_would_catch_a_trac_import(tmp_path):
    """The test above can fail: a module that imports Trac does."""
    module = tmp_path / 'uses_trac.py'
    module.write_text('import trac.core\n')
    script = r'''
import sys
class NoTrac(object):
    def find_spec(self, name, path=None, target=None):
        if name == 'trac' or name.startswith('trac.'):
            raise ImportError('Trac is blocked: ' + name)
sys.meta_path.insert(0, NoTrac())
import uses_trac
'''
    out = subprocess.run([sys.executable, '-c', script], cwd=str(tmp_path),
                         capture_output=True, text=True)
    assert out.returncode != 0 and 'Trac is blocked' in out.stderr


def test_imports_point_down_the_layers():
    order = {name: rank for rank, name in enumerate(PURE)}
    wrong = []
    for module, targets in graph().items():
        mine = layer(module)
        if mine not in order:
            continue
        for target in targets:
            theirs = layer(target)
            if theirs == 'package':
                continue
            if theirs not in order or order[theirs] > order[mine]:
                wrong.append((module, target))
    assert wrong == []


def cycles(edges):
    """The import circles of the graph `edges` (module -> modules)."""
    found = []
    state = {}

    def visit(node, stack):
        state[node] = 'open'
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            # A package's face imports its own modules; an import of a
            # module inside a package runs the package's __init__ first,
            # which is no circle of the module's making.
            if target == node or node.startswith(target + '.'):
                continue
            if state.get(target) == 'open':
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = 'done'
    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


def test_no_import_circle():
    assert cycles(graph()) == []


def test_the_circle_finder_finds_circles():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == \
        [['a', 'b', 'c', 'a']]
    assert cycles({'a': {'b'}, 'b': set()}) == []


@pytest.mark.parametrize('limit, what', [(400, 'module')])
def test_no_module_over_the_limit(limit, what):
    long = {name: sum(1 for _ in open(path, encoding='utf-8'))
            for name, path in modules().items()}
    # The option owner's length is its docstrings.
    long.pop('remoteuserauth.options')
    assert {name: n for name, n in long.items() if n > limit} == {}


def test_no_class_over_250_lines():
    long = {}
    for name, path in modules().items():
        if name == 'remoteuserauth.options':
            continue
        tree = ast.parse(open(path, encoding='utf-8').read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                if size > 250:
                    long['%s.%s' % (name, node.name)] = size
    assert long == {}


def test_the_option_reference_is_generated_from_the_code():
    """docs/options.md says what the option docstrings say: run
    `python tools/optionsdoc.py` after changing an option."""
    out = subprocess.run([sys.executable, 'tools/optionsdoc.py', '--check'],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_every_option_is_declared_once_by_its_owner():
    from trac.config import Option
    from remoteuserauth import options
    declared = [(o.section, o.name) for o in options.declared()]
    assert len(declared) == len(set(declared))
    owners = {(section, name): option for (section, name), option
              in Option.registry.items() if section == options.SECTION}
    assert sorted(owners) == sorted(declared)
    for option in owners.values():
        assert option.__doc__ and option.__doc__.strip()
        assert 'since 0.' not in option.__doc__


def test_the_readme_and_docs_set_only_options_that_exist():
    """Every `name = value` line under `[remoteuser]` in the README's
    and the docs' trac.ini examples names a declared option."""
    import re
    from remoteuserauth import options
    known = {o.name for o in options.declared()}
    texts = [os.path.join(ROOT, 'README')] + [
        os.path.join(ROOT, 'docs', name)
        for name in os.listdir(os.path.join(ROOT, 'docs'))
        if name.endswith('.md')]
    unknown = set()
    examples = 0
    for path in texts:
        section = None
        for line in open(path, encoding='utf-8'):
            header = re.match(r'\s*\[([a-z-]+)\]\s*$', line)
            if header:
                section = header.group(1)
                continue
            if not line.strip() or line.startswith('```'):
                section = None
                continue
            setting = re.match(r'\s*([a-z_]+)\s*=', line)
            if setting and section == options.SECTION:
                examples += 1
                if setting.group(1) not in known:
                    unknown.add((os.path.basename(path), setting.group(1)))
    assert examples > 10
    assert unknown == set()

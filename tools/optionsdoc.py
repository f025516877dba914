#!/usr/bin/env python3
"""Write docs/options.md from the option docstrings of
`remoteuserauth.options`, the one text administrators read (Trac shows
the same on its TracIni page).

    python tools/optionsdoc.py           # rewrite docs/options.md
    python tools/optionsdoc.py --check   # exit 1 when it is out of date
"""

import argparse
import inspect
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from trac.config import BoolOption, IntOption, ListOption  # noqa: E402

from remoteuserauth.options import SECTION, declared  # noqa: E402

TARGET = os.path.join(ROOT, 'docs', 'options.md')

HEADER = """\
# Options

Every option of TracRemoteUserAuth is in the section `[%s]` of the
environment's `trac.ini`. This page is generated from the options'
own documentation (`remoteuserauth/options.py`), which Trac also shows
on its TracIni page and in `trac-admin ENV config`; do not edit it by
hand: run `python tools/optionsdoc.py`.

A value that cannot be used never breaks the site: Trac keeps serving,
anonymously where trust cannot be decided, and the log, the admin panel
and `trac-admin ENV remoteuser check` say what is wrong.
""" % SECTION


def kind(option):
    for cls, name in ((BoolOption, 'boolean'), (IntOption, 'integer'),
                      (ListOption, 'list, comma separated')):
        if isinstance(option, cls):
            return name
    return 'text'


def render():
    out = [HEADER]
    for option in declared():
        default = option.default
        if isinstance(option, ListOption):
            default = ', '.join(part.strip() for part in
                                str(default).split(option.sep) if part)
        shown = '`%s`' % default if str(default) != '' else '(empty)'
        out.append('\n## `%s`\n\n%s, default %s.\n\n%s\n' % (
            option.name, kind(option).capitalize(), shown,
            inspect.cleandoc(option.__doc__ or '').strip()))
    return ''.join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='only say whether docs/options.md is current')
    args = parser.parse_args()
    text = render()
    if args.check:
        with open(TARGET, encoding='utf-8') as f:
            current = f.read()
        if current != text:
            print('docs/options.md is out of date: run python '
                  'tools/optionsdoc.py', file=sys.stderr)
            return 1
        return 0
    with open(TARGET, 'w', encoding='utf-8') as f:
        f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())

# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""``ini_tool.py set|add|get FILE SECTION OPTION [VALUE]`` for the stand-ins.

Line-based, like devstack's own functions, so that repeated options
(``available_filters``) survive.
"""

import re
import sys


def _section_range(lines, section):
    start = None
    for i, line in enumerate(lines):
        if re.match(r'\s*\[.*\]\s*$', line):
            if start is not None:
                return start, i
            if line.strip() == f'[{section}]':
                start = i + 1
    return (start, len(lines)) if start is not None else (None, None)


def _is(line, option):
    return re.match(rf'\s*{re.escape(option)}\s*=', line)


def main(action, path, section, option, *value):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    start, end = _section_range(lines, section)
    if action == 'get':
        for line in lines[start:end] if start is not None else ():
            if _is(line, option):
                print(line.split('=', 1)[1].strip())
                return 0
        return 0
    if start is None:
        lines += [f'[{section}]']
        start = end = len(lines)
    new = f'{option} = {" ".join(value)}'
    body = lines[start:end]
    if action == 'set':
        body = [line for line in body if not _is(line, option)]
        at = next((i for i, line in enumerate(lines[start:end])
                   if _is(line, option)), len(body))
        body.insert(min(at, len(body)), new)
    else:
        last = max((i for i, line in enumerate(body) if _is(line, option)),
                   default=len(body) - 1)
        body.insert(last + 1, new)
    lines[start:end] = body
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))

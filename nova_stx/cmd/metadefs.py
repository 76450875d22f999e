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

"""``nova-stx metadefs``: where the Glance metadefs are, or a copy."""

import os

from nova_stx.cmd import cli
from nova_stx import metadefs


class Metadefs(cli.Lister):
    """Print the directory of the installed Glance metadefs, or copy them.

    Without options, print the directory holding the Glance metadef
    files, for "glance-manage db load_metadefs --path DIR" (add "--merge
    --prefer_new" to upgrade namespaces already loaded). With --write,
    copy them into DIR and print each file written.
    """

    # NOTE(nova-stx): the plain path by default, so that
    # "$(nova-stx metadefs)" works in scripts.
    formatter_default = 'value'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--write', metavar='DIR',
                            help='Write the metadef files into DIR.')
        return parser

    def take_action(self, args):
        if not args.write:
            return ('Directory',), [(metadefs.DIRECTORY,)]
        target = os.path.abspath(args.write)
        if os.path.exists(target) and not os.path.isdir(target):
            raise cli.UsageError(f'{target} exists and is not a directory')
        try:
            paths = metadefs.write(target)
        except OSError as exc:
            raise cli.UsageError(
                f'cannot write to {target}: {exc.strerror}')
        return ('Written',), [(path,) for path in paths]

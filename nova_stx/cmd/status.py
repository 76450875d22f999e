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

"""``nova-stx-status upgrade check``: is nova-stx active and consistent?

Run on each host with the nova.conf its services read and the roles it
has (``--role api|scheduler|compute``, repeatable; default all three)::

    nova-stx-status --config-file /etc/nova/nova.conf --role scheduler \\
        upgrade check

Exit codes are oslo.upgradecheck's: 0 success, 1 warning, 2 failure,
255 a check could not run. Every warning and failure names the fix.
"""

import sys

from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

from nova_stx.cmd import cli
from nova_stx.cmd import status_checks
from nova_stx import conf as stx_conf
from nova_stx import nova_version

Code = upgradecheck.Code

ROLES = ('api', 'scheduler', 'compute')

CLI_OPTS = [
    cfg.MultiOpt(
        'role', item_type=cfg.types.String(choices=ROLES),
        help='A service role of this host whose nova.conf settings are '
             'checked: api, scheduler or compute (repeatable; default '
             'all three).'),
    cfg.StrOpt(
        'glance-config-file', metavar='PATH',
        help="Glance's glance-api.conf: also check that Glance's database "
             "holds the metadefs this nova-stx ships."),
]


def _guarded(check):
    def run(self):
        try:
            return check(self)
        except (cfg.Error, ValueError) as exc:
            return upgradecheck.Result(
                Code.FAILURE, f'Invalid configuration: {cli.one_line(exc)}')
    run.__name__ = check.__name__
    return run


class Checks(upgradecheck.UpgradeCommands):
    """The nova-stx upgrade checks, over one config object."""

    display_title = 'nova-stx upgrade check results'

    def __init__(self, conf):
        super().__init__()
        self.conf = conf

    def _roles(self):
        return set(self.conf.role or ROLES)

    def _result(self, problems, success, not_applicable=None):
        if not_applicable:
            return upgradecheck.Result(Code.SUCCESS, not_applicable)
        if not problems:
            return upgradecheck.Result(Code.SUCCESS, success)
        code = max(code for code, _text in problems)
        return upgradecheck.Result(
            code, '\n'.join(text for _code, text in problems))

    @_guarded
    def _check_nova_version(self):
        warning = nova_version.untested()
        if warning is None:
            return upgradecheck.Result(
                Code.SUCCESS, f'Nova {nova_version.installed()}')
        code = (Code.FAILURE if nova_version.installed() is None
                else Code.WARNING)
        return upgradecheck.Result(code, warning)

    @_guarded
    def _check_options(self):
        return self._result(status_checks.options(self.conf),
                            '[nova_stx] options are consistent')

    @_guarded
    def _check_filters(self):
        if 'scheduler' not in self._roles():
            return self._result([], None, 'Not a scheduler host')
        return self._result(status_checks.filters(self.conf),
                            'nova-stx filters available and enabled')

    @_guarded
    def _check_compute_driver(self):
        if 'compute' not in self._roles():
            return self._result([], None, 'Not a compute host')
        return self._result(status_checks.compute_driver(self.conf),
                            'nova-stx driver extension configured')

    @_guarded
    def _check_glance_metadefs(self):
        path = self.conf.glance_config_file
        if not path:
            return self._result([], None,
                                'Not checked (no --glance-config-file)')
        return self._result(status_checks.glance_metadefs(path),
                            "Glance's database holds the shipped metadefs")

    _upgrade_checks = (
        ('Nova version', _check_nova_version),
        ('nova-stx options', _check_options),
        ('Scheduler filters', _check_filters),
        ('Compute driver', _check_compute_driver),
        ('Glance metadefs', _check_glance_metadefs),
    )


def build_conf():
    """Return a private config object with the options the checks read."""
    from nova.conf import compute as nova_compute_conf
    from nova.conf import pci as nova_pci_conf
    from nova.conf import scheduler as nova_scheduler_conf

    conf = cfg.ConfigOpts()
    nova_compute_conf.register_opts(conf)
    nova_scheduler_conf.register_opts(conf)
    nova_pci_conf.register_opts(conf)
    stx_conf.register_opts(conf)
    conf.register_cli_opts(CLI_OPTS)
    return conf


def main(argv=None):
    cli.quiet_third_party_warnings()
    argv = sys.argv[1:] if argv is None else argv
    conf = build_conf()
    checks = Checks(conf)
    upgradecheck.register_cli_options(conf, checks)
    try:
        conf(args=argv, project='nova',
             version=nova_version.versions_text())
    except (cfg.Error, OSError, ValueError) as exc:
        # NOTE(nova-stx): a nova.conf that cannot be read is a failure of
        # the check, reported on one line (oslo.config raises it with a
        # multi-line traceback otherwise).
        print(f'nova-stx-status: error: {cli.one_line(exc)}',
              file=sys.stderr)
        return int(Code.FAILURE)
    except SystemExit as exc:
        # NOTE(nova-stx): oslo.config exits 1 on a bad command-line value
        # after printing why; that is a usage error here.
        if exc.code in (0, None):
            raise
        return int(Code.FAILURE)
    # NOTE(nova-stx): oslo.upgradecheck's --json reads its module CONF.
    upgradecheck.CONF = conf
    return upgradecheck.run(conf)

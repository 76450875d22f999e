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

"""The nova-stx scheduler filters.

Nova does not discover filters through entry points: operators list
:func:`all_filters` in ``[filter_scheduler] available_filters`` next to
Nova's own ``nova.scheduler.filters.all_filters``, then name the filters
they want in ``enabled_filters``.
"""

from stevedore import extension

from nova_stx import exact_numa

#: The stevedore namespace our filters are published in.
NAMESPACE = 'nova_stx.scheduler.filters'


def all_filters():
    """Return the filter classes published in :data:`NAMESPACE`.

    :returns: a list of ``BaseHostFilter`` subclasses, by name.
    :raises exact_numa.NovaChanged: ``[nova_stx] exact_numa_fit`` is set
        and Nova's code changed.
    """
    # NOTE(nova-stx): nova-scheduler calls this once, as it starts, after
    # parsing its configuration: the place to make its NUMA accounting
    # exact when the operator asked for it (and to refuse to start if
    # that cannot be done safely).
    exact_numa.configure()
    manager = extension.ExtensionManager(
        NAMESPACE, invoke_on_load=False, on_load_failure_callback=_failed)
    return sorted((ext.plugin for ext in manager),
                  key=lambda cls: cls.__name__)


def _failed(manager, entrypoint, exc):
    # NOTE(nova-stx): a filter that cannot load must stop the scheduler
    # from starting with a clear error, not vanish from the list and
    # surface later as "filter not found".
    raise RuntimeError(
        f'nova-stx filter {entrypoint.name} '
        f'({entrypoint.value}) failed to load: {exc}') from exc

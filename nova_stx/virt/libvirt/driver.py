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

"""Nova's libvirt driver with per-instance live-migration limits.

Enabled with ``compute_driver = nova_stx.LibvirtDriver`` under the
``nova-compute-stx`` command (see :mod:`nova_stx.virt.libvirt.alias`).

The guest's vCPU model (``hw:cpu_model``) and HPET (``hw:hpet``) are
applied over Nova's ``spawn``, ``_get_guest_config``, ``_compare_cpu`` and
``migrate_disk_and_power_off`` (see
:mod:`nova_stx.virt.libvirt.guest_config`); ``rebuild`` refuses a rebuild
they cannot give before Nova touches the guest (see
:mod:`nova_stx.virt.libvirt.rebuild_guard`).

Three of Nova's private live-migration seams are overridden, each calling
``super()``. A migration the plan does not supervise (the ``nova``
controller and no key for the limits, see ``MigrationPlan.supervised``)
goes to Nova's own code untouched: same libvirt calls, same timing.

* ``_live_migration_operation``: the guest handed to Nova is a
  :class:`~nova_stx.virt.libvirt.supervised_guest.SupervisedGuest`, so the
  per-instance auto-converge and tunnelling reach ``migrateToURI3``; for a
  supervised migration the plan's first downtime step is set before the
  transfer starts.
* ``_live_migration_monitor``: Nova's loop runs unchanged over a
  ``SupervisedGuest`` whose controller (the plan's ramp, or the ``sla``
  controller) sets the downtime and ends the job; Nova's post and recover
  methods are wrapped to report the outcome, with libvirt's
  ``JOB_COMPLETED`` statistics as SLA evidence.
* ``_live_migration_data_gb``: while a migration is supervised, returns
  :data:`NEUTRAL_GIB` so that Nova's own per-GiB completion timeout and
  ramp (``[libvirt] live_migration_completion_timeout`` and
  ``live_migration_downtime_delay`` times this) lie beyond any real
  migration: the plan alone ends it, and never twice.
"""

import functools
import time

from nova import conf as nova_conf
from nova.virt.libvirt import driver as libvirt_driver
from oslo_log import log as logging

from nova_stx import conf as stx_conf
from nova_stx.virt.libvirt import controllers
from nova_stx.virt.libvirt import guest_config
from nova_stx.virt.libvirt import job_completed
from nova_stx.virt.libvirt import migration_events
from nova_stx.virt.libvirt import migration_flags
from nova_stx.virt.libvirt import migration_policy
from nova_stx.virt.libvirt import rebuild_guard
from nova_stx.virt.libvirt import supervised_guest

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF

#: Seconds to wait for libvirt's JOB_COMPLETED event once Nova's monitor
#: saw the job complete (the event loop may dispatch it a little later).
COMPLETION_WAIT_S = 3.0
#: Data size reported to Nova's monitor for a supervised migration:
#: 10**9 GiB puts Nova's timeout and ramp steps decades away.
NEUTRAL_GIB = 10 ** 9


def _instance_dict(instance, name):
    """``instance.<name>`` (a dict field), or ``{}`` when it cannot be read.

    Nova lazy-loads an unset field; an instance that cannot (no context,
    or the load fails) gives ``{}`` and a warning, so the other sources'
    limits still apply.
    """
    try:
        return getattr(instance, name) or {}
    except Exception as exc:
        LOG.warning('Instance %(field)s is not available, its nova-stx '
                    'keys are not read: %(error)s',
                    {'field': name, 'error': exc}, instance=instance)
        return {}


class LibvirtDriver(libvirt_driver.LibvirtDriver):
    """Nova's ``LibvirtDriver`` honouring per-instance migration limits."""

    def __init__(self, virtapi, read_only=False):
        # NOTE(nova-stx): options are registered, and checked together,
        # when Nova loads the driver, not when it is imported.
        stx_conf.load(CONF)
        super().__init__(virtapi, read_only)
        #: instance uuid -> SupervisedGuest, one per running migration.
        self._supervised = {}
        #: Seconds; the migration timeout and ramp are measured with it.
        self._migration_clock = time.monotonic

    # NOTE(nova-stx): private, like every helper here: Nova's driver API
    # contract forbids public methods ComputeDriver does not declare.
    def _migration_plan(self, instance, gib):
        """Return the :class:`MigrationPlan` of ``instance``.

        :param instance: a ``nova.objects.Instance``.
        :param gib: guest data size in GiB (Nova's rule).
        :returns: a ``MigrationPlan``.
        """
        return migration_policy.plan(
            instance.flavor.extra_specs,
            migration_policy.strip_image_prefix(
                _instance_dict(instance, 'system_metadata')),
            _instance_dict(instance, 'metadata'), gib,
            migration_policy.Settings.from_conf(CONF))

    # --- the guest's vCPU model and HPET (guest_config) -------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        # NOTE(nova-stx): before Nova creates disks, directory or domain.
        guest_config.check_spawn(self, instance, image_meta)
        return super().spawn(
            context, instance, image_meta, injected_files, admin_password,
            allocations, network_info=network_info,
            block_device_info=block_device_info, power_on=power_on,
            accel_info=accel_info)

    def rebuild(self, context, instance, image_meta, injected_files,
                admin_password, allocations, bdms, detach_block_devices,
                attach_block_devices, network_info=None, evacuate=False,
                block_device_info=None, preserve_ephemeral=False,
                accel_uuids=None, reimage_boot_volume=False):
        # NOTE(nova-stx): before Nova's default rebuild destroys the guest;
        # Nova's libvirt driver has no rebuild of its own, so super()
        # raises NotImplementedError and Nova's default then runs.
        rebuild_guard.check(self, context, instance, image_meta, evacuate)
        return super().rebuild(
            context, instance, image_meta, injected_files, admin_password,
            allocations, bdms, detach_block_devices, attach_block_devices,
            network_info=network_info, evacuate=evacuate,
            block_device_info=block_device_info,
            preserve_ephemeral=preserve_ephemeral, accel_uuids=accel_uuids,
            reimage_boot_volume=reimage_boot_volume)

    def _get_guest_config(self, instance, network_info, image_meta,
                          disk_info, rescue=None, block_device_info=None,
                          context=None, mdevs=None, accel_info=None,
                          share_info=None, old_guest=None):
        guest = super()._get_guest_config(
            instance, network_info, image_meta, disk_info, rescue=rescue,
            block_device_info=block_device_info, context=context,
            mdevs=mdevs, accel_info=accel_info, share_info=share_info,
            old_guest=old_guest)
        return guest_config.apply(self, instance, image_meta, guest)

    def _compare_cpu(self, guest_cpu, host_cpu_str, instance):
        if guest_config.compare_cpu(self, guest_cpu, instance):
            return None
        return super()._compare_cpu(guest_cpu, host_cpu_str, instance)

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        # NOTE(nova-stx): the new flavor against the image's vCPU model,
        # before the guest stops or a disk moves.
        guest_config.check_resize(instance, flavor)
        return super().migrate_disk_and_power_off(
            context, instance, dest, flavor, network_info,
            block_device_info=block_device_info, timeout=timeout,
            retry_interval=retry_interval)

    # --- live migration ---------------------------------------------------

    def _live_migration_operation(self, context, instance, dest,
                                  block_migration, migrate_data, guest,
                                  device_names):
        try:
            # NOTE(nova-stx): the flags and the first downtime step do not
            # depend on the data size, so RAM alone is enough here.
            plan = self._migration_plan(
                instance, super()._live_migration_data_gb(instance, []))
            if plan.supervised or plan.flags_keyed:
                supervised = supervised_guest.SupervisedGuest(
                    guest, plan, instance=instance)
                if plan.supervised:
                    supervised.apply_initial_downtime()
                guest = supervised
        except Exception:
            # NOTE(nova-stx): a policy failure must not fail a migration
            # that Nova alone would run; it runs with the host's flags.
            LOG.exception('Per-instance live-migration flags not applied',
                          instance=instance)
        return super()._live_migration_operation(
            context, instance, dest, block_migration, migrate_data, guest,
            device_names)

    def _live_migration_data_gb(self, instance, disk_paths):
        if instance.uuid in self._supervised:
            return NEUTRAL_GIB
        return super()._live_migration_data_gb(instance, disk_paths)

    def _live_migration_monitor(self, context, instance, guest, dest,
                                post_method, recover_method,
                                block_migration, migrate_data, future,
                                disk_paths):
        try:
            supervised = self._supervise(context, instance, guest, dest,
                                         migrate_data, disk_paths)
        except Exception:
            # NOTE(nova-stx): without a plan Nova's own limits apply, as
            # they would without nova-stx.
            LOG.exception("No per-instance live-migration plan; Nova's "
                          "global limits apply", instance=instance)
            supervised = None
        if supervised is None:
            return super()._live_migration_monitor(
                context, instance, guest, dest, post_method,
                recover_method, block_migration, migrate_data, future,
                disk_paths)

        watch = job_completed.JobCompletedWatch(
            self._host.get_connection(), guest._domain)

        @functools.wraps(post_method)
        def post(*args, **kwargs):
            supervised.completed(watch.completion(COMPLETION_WAIT_S))
            return post_method(*args, **kwargs)

        @functools.wraps(recover_method)
        def recover(*args, **kwargs):
            supervised.aborted(kwargs.get('migration_status', 'error'))
            return recover_method(*args, **kwargs)

        self._supervised[instance.uuid] = supervised
        try:
            return super()._live_migration_monitor(
                context, instance, supervised, dest, post, recover,
                block_migration, migrate_data, future, disk_paths)
        except Exception as exc:
            supervised.aborted('error', reason=str(exc))
            raise
        finally:
            watch.close()
            self._supervised.pop(instance.uuid, None)

    def _supervise(self, context, instance, guest, dest, migrate_data,
                   disk_paths):
        """Return the SupervisedGuest of this migration, or None.

        None: no key applies and the ``nova`` controller leaves the
        migration to Nova's own monitor.
        """
        gib = super()._live_migration_data_gb(instance, disk_paths)
        plan = self._migration_plan(instance, gib)
        for warning in plan.warnings:
            LOG.warning(warning, instance=instance)
        if not plan.supervised:
            LOG.debug("Live migration to %(dest)s left to Nova's monitor: "
                      "no per-instance limit and the nova controller.",
                      {'dest': dest}, instance=instance)
            return None
        LOG.info('Live migration to %(dest)s: max downtime %(ms)d ms '
                 '(%(ms_src)s), timeout %(secs)d sec (%(secs_src)s), '
                 'timeout action %(action)s, %(controller)s controller, '
                 '%(ramp)s ramp.',
                 {'dest': dest, 'ms': plan.max_downtime_ms,
                  'ms_src': plan.sources['max_downtime_ms'],
                  'secs': plan.timeout_s,
                  'secs_src': plan.sources['timeout_s'],
                  'action': plan.timeout_action,
                  'controller': plan.controller, 'ramp': plan.ramp},
                 instance=instance)
        # NOTE(nova-stx): the controller must know what the job really
        # has armed: Nova decides post-copy from its flags (and drops it
        # with vPMEM); auto-converge also follows the per-instance key.
        flags = self._get_migration_flags(migrate_data.block_migration)
        libvirt = libvirt_driver.libvirt
        post_copy = (self._is_post_copy_enabled(flags) and
                     not self._get_vpmems(instance))
        adjusted = migration_flags.adjust(
            flags, plan.auto_converge, plan.tunnelled,
            migration_flags.FlagBits.from_libvirt(libvirt)).flags
        controller = controllers.build(
            plan, post_copy=post_copy,
            auto_converge=bool(adjusted & libvirt.VIR_MIGRATE_AUTO_CONVERGE))
        events = migration_events.MigrationEvents(
            migration_events.get_notifier(CONF.host), context,
            instance.uuid, CONF.host, dest)
        return supervised_guest.SupervisedGuest(
            guest, plan, clock=self._migration_clock,
            force_complete=functools.partial(
                self.live_migration_force_complete, instance),
            events=events, instance=instance,
            migration=migrate_data.migration, controller=controller)

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

"""The guest gets what its keys ask: vCPU model and HPET.

The adapter between :class:`nova_stx.virt.libvirt.driver.LibvirtDriver`'s
four thin overrides (each calling ``super()``) and the decisions in
:mod:`nova_stx.virt.libvirt.guest_cpu`. Nothing changes when no nova-stx
key is set.

* ``spawn``: before Nova creates anything (disks, instance directory,
  domain), a flavor/image conflict or an invalid value aborts the build
  (``BuildAbortException``: the instance goes to ERROR with the reason as
  its fault), and a host whose libvirt cannot run the model refuses it
  (``ComputeResourcesUnavailable``: Nova reschedules).
* ``_get_guest_config``: after Nova has built the guest config, sets the
  ``<cpu>`` mode, model and features and the HPET timer, and records the
  CPU in ``instance.vcpu_model`` as Nova does for its own.
* ``migrate_disk_and_power_off``: a resize whose new flavor conflicts
  with the image's model is rolled back before the guest stops.
* ``_compare_cpu``: Nova skips the check for TCG (``virt_type = qemu``);
  for an instance with a nova-stx model the destination asks its libvirt
  (for TCG) whether it can run the model, so a live migration to a host
  that cannot is refused before it starts.
"""

from nova import conf as nova_conf
from nova import exception
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import utils as libvirt_utils
from oslo_log import log as logging

from nova_stx import keys
from nova_stx.virt.libvirt import guest_cpu as stx_cpu
from nova_stx.virt.libvirt import migration_policy

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF


def _page_sizes_kib(instance):
    topology = instance.numa_topology
    if not topology:
        return ()
    return tuple(cell.pagesize for cell in topology.cells if cell.pagesize)


def _unavailable(effects, why):
    key = keys.CPU_MODEL.name_in(effects.model_source)
    return exception.ComputeResourcesUnavailable(
        reason=f'this host cannot give the guest vCPU model '
               f'{effects.model} ({key}): {why}')


def guest_effects(instance, flavor=None):
    """Return the :class:`~.guest_cpu.Effects` of ``instance``'s keys.

    :param flavor: a flavor to read instead of the instance's (a resize).
    :raises exception.InvalidInput: a conflict or an invalid value.
    """
    try:
        return stx_cpu.describe(
            (flavor or instance.flavor).extra_specs,
            migration_policy.strip_image_prefix(instance.system_metadata))
    except keys.InvalidValue as exc:
        raise exception.InvalidInput(reason=str(exc))


def check_spawn(driver, instance, image_meta):
    """Refuse, before anything exists, a guest the keys cannot give.

    :param driver: the nova-stx ``LibvirtDriver``.
    :raises exception.BuildAbortException: a flavor/image conflict or an
        invalid value (no host could do better).
    :raises exception.ComputeResourcesUnavailable: this host's libvirt
        cannot run the model (another host may).
    """
    try:
        effects = guest_effects(instance)
        if effects.model is not None:
            arch = driver._check_emulation_arch(image_meta)
            _guest_cpu(driver, effects, instance, arch,
                       driver._get_guest_cpu_model_config(instance.flavor,
                                                          arch))
    except exception.InvalidInput as exc:
        raise exception.BuildAbortException(
            instance_uuid=instance.uuid, reason=exc.format_message())


def check_resize(instance, flavor):
    """Refuse a resize whose new flavor conflicts with the image's model.

    :param flavor: the new flavor.
    :raises exception.InstanceFaultRollback: wrapping the reason; Nova
        then sets the instance back to ACTIVE on its host and marks the
        migration ``error``.
    """
    try:
        guest_effects(instance, flavor)
    except exception.InvalidInput as exc:
        raise exception.InstanceFaultRollback(inner_exception=exc)


def apply(driver, instance, image_meta, guest):
    """Give Nova's guest config ``guest`` what the keys ask; return it.

    Changes nothing when no nova-stx key is set.

    :raises exception.InvalidInput: a conflict or an invalid value.
    :raises exception.ComputeResourcesUnavailable: see :func:`check_spawn`.
    """
    effects = guest_effects(instance)
    if not effects.any:
        return guest
    arch = driver._check_emulation_arch(image_meta)
    if effects.model is not None:
        guest.cpu = _guest_cpu(driver, effects, instance, arch, guest.cpu)
        # NOTE(nova-stx): as Nova does for its own CPU config, so that the
        # destination of a live migration compares the CPU the guest
        # really has.
        instance.vcpu_model = driver._cpu_config_to_vcpu_model(
            guest.cpu, instance.vcpu_model)
    _guest_hpet(effects, instance, image_meta, arch, guest)
    return guest


def compare_cpu(driver, guest_cpu, instance):
    """Check a TCG guest's named model against this host, if it has one.

    Nova skips its comparison for TCG guests, but TCG lacks features of
    many named models (``spec-ctrl`` of every ``-IBRS`` model in QEMU
    7.2), and these were asked for by name.

    :param guest_cpu: what Nova's ``_compare_cpu`` receives.
    :returns: True when checked here (the host can run it), False when
        Nova's own comparison applies.
    :raises exception.InvalidCPUInfo: the host cannot run the model.
    """
    if (CONF.libvirt.virt_type != 'qemu' or guest_cpu is None or
            instance is None or not _has_model_key(instance)):
        return False
    cpu = guest_cpu
    if not isinstance(cpu, vconfig.LibvirtConfigGuestCPU):
        cpu = driver._vcpu_model_to_cpu_config(guest_cpu)
    if cpu.mode != stx_cpu.CUSTOM_MODE or not cpu.model:
        return False
    why = _cannot_run(driver, cpu, cpu.arch or _host_arch(driver))
    if why:
        raise exception.InvalidCPUInfo(reason=f'vCPU model {cpu.model}: '
                                              f'{why}')
    return True


def _has_model_key(instance):
    try:
        return guest_effects(instance).model is not None
    except exception.InvalidInput:
        return False


def _host_arch(driver):
    return driver._host.get_capabilities().host.cpu.arch


def _guest_cpu(driver, effects, instance, arch, cpu):
    """Return Nova's ``cpu`` config given the requested model.

    Nova's topology, NUMA cells, maxphysaddr and
    ``[libvirt] cpu_model_extra_flags`` stay as Nova set them.
    """
    try:
        plan = stx_cpu.cpu_plan(effects.model, _page_sizes_kib(instance),
                                arch, _host_arch(driver))
    except stx_cpu.NotApplicable as exc:
        raise exception.InvalidInput(reason=str(exc))
    virt_type = CONF.libvirt.virt_type
    if cpu is None:
        raise _unavailable(effects, f'libvirt virt type {virt_type} has '
                                    f'no guest CPU models')
    if plan.mode == stx_cpu.PASSTHROUGH_MODE:
        caps = driver._host.get_connection().getDomainCapabilities(
            None, arch, None, virt_type, 0)
        if not stx_cpu.passthrough_supported(caps):
            raise _unavailable(effects, f'libvirt offers no host-passthrough '
                                        f'for virt type {virt_type}')
        cpu.mode, cpu.model = plan.mode, None
        return cpu
    cpu.mode = plan.mode
    present = {f.name for f in cpu.features}
    for name in plan.features:
        # NOTE(nova-stx): an operator's cpu_model_extra_flags entry for the
        # same feature (e.g. -pdpe1gb) is kept as it is.
        if name not in present:
            cpu.add_feature(vconfig.LibvirtConfigGuestCPUFeature(name))
    tried = []
    for name in plan.models:
        try:
            cpu.model = driver._get_cpu_model_mapping(name)
        except exception.InvalidCPUInfo:
            tried.append(f'{name}: unknown to libvirt')
            continue
        why = _cannot_run(driver, cpu, arch)
        if why is None:
            if cpu.model != effects.model:
                LOG.info('vCPU model %(asked)s given as %(model)s, the '
                         'variant libvirt can run here',
                         {'asked': effects.model, 'model': cpu.model},
                         instance=instance)
            _check_traits(driver, effects, cpu, instance.flavor)
            return cpu
        tried.append(f'{cpu.model}: {why}')
    raise _unavailable(effects, '; '.join(tried))


def _cannot_run(driver, cpu, arch):
    """Ask libvirt whether it can run ``cpu``; None, or why not."""
    probe = vconfig.LibvirtConfigGuestCPU()
    probe.mode, probe.model = cpu.mode, cpu.model
    for feature in cpu.features:
        probe.add_feature(feature)
    virt_type = CONF.libvirt.virt_type
    libvirt = libvirt_driver.libvirt
    try:
        result = driver._host.get_connection().compareHypervisorCPU(
            None, arch, None, virt_type, probe.to_xml(), 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            # NOTE(nova-stx): as Nova's own comparison does; libvirt still
            # checks a KVM guest's CPU when it starts it.
            LOG.warning('libvirt cannot compare CPUs here: %s', exc)
            return None
        # NOTE(nova-stx): never None: an error must not read as "can run".
        return (exc.get_error_message() or str(exc) or
                f'libvirt error {exc.get_error_code()}')
    if stx_cpu.runs(result):
        return None
    return (f'libvirt says the {virt_type} hypervisor cannot provide it '
            f'(compareHypervisorCPU: incompatible)')


def _check_traits(driver, effects, cpu, flavor):
    """The model must have the CPU features the flavor's traits ask for."""
    flags = libvirt_utils.get_flags_by_flavor_specs(flavor) - {
        f.name for f in cpu.features if f.policy == 'require'}
    if not flags:
        return
    try:
        driver._match_cpu_model_by_flags([cpu.model], flags)
    except exception.InvalidCPUInfo:
        key = keys.CPU_MODEL.name_in(effects.model_source)
        raise exception.InvalidInput(
            reason=f"{key} '{effects.model}' ({cpu.model}) lacks the CPU "
                   f"features the flavor's required traits ask for: "
                   f"{', '.join(sorted(flags))}")


def _guest_hpet(effects, instance, image_meta, arch, guest):
    present, warning = stx_cpu.hpet_timer(effects, arch,
                                          CONF.libvirt.virt_type)
    if warning:
        LOG.warning(warning, instance=instance)
    if present is None or guest.clock is None:
        return
    note = stx_cpu.hpet_override_note(
        effects, image_meta.properties.get(keys.HPET_ENABLED.overrides_nova))
    if note:
        LOG.info(note, instance=instance)
    for timer in guest.clock.timers:
        if timer.name == 'hpet':
            timer.present = present
            return
    timer = vconfig.LibvirtConfigGuestTimer()
    timer.name, timer.present = 'hpet', present
    guest.clock.add_timer(timer)

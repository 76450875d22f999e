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

"""A rebuild the guest's keys cannot give is refused before Nova acts.

Nova's default rebuild powers the guest off and destroys its domain, then
spawns the new one; :func:`guest_config.check_spawn` refusing at that
spawn leaves the instance in ERROR with its guest gone. The driver's
``rebuild`` (declared by ``ComputeDriver``) runs first: it makes the same
checks (flavor/image vCPU-model conflict, invalid ``hw:cpu_model`` /
``hw_cpu_model`` / ``hw:hpet``, a model this host's libvirt cannot run)
and refuses with ``InstanceFaultRollback``, so that Nova's compute manager
sets the instance back to its state before the rebuild (ACTIVE or
STOPPED), records the reason as its fault and instance-action event,
and never touches the guest.

Nova's API has already pointed the instance at the new image (its
``image_ref`` and the image properties in its system metadata); they are
pointed back at the image the running guest was built from, read from
the ``<nova:root>`` element Nova writes into every domain's metadata and
from Glance, as the API wrote them. Without either (a volume-backed
server, an image gone from Glance), they stay as the API left them.
"""

import xml.etree.ElementTree as ElementTree

from nova import exception
from nova.image import glance
from nova import utils as nova_utils
from nova.virt.libvirt import config as vconfig
from oslo_log import log as logging

from nova_stx.virt.libvirt import guest_config

LOG = logging.getLogger(__name__)

_ROOT = f'{{{vconfig.NOVA_NS}}}root'
_BASE_IMAGE = nova_utils.SM_IMAGE_PROP_PREFIX + 'base_image_ref'


def check(driver, context, instance, image_meta, evacuate=False):
    """Refuse a rebuild whose guest the keys cannot give, before Nova acts.

    :param driver: the nova-stx ``LibvirtDriver``.
    :param context: the request context.
    :param instance: the instance, as Nova's API left it for the rebuild.
    :param image_meta: the new image's ``ImageMeta``.
    :param evacuate: True for an evacuation (the image does not change).
    :raises exception.InstanceFaultRollback: wrapping a
        ``BuildAbortException`` that gives the reason.
    """
    try:
        guest_config.check_spawn(driver, instance, image_meta)
    except exception.BuildAbortException as exc:
        refused = exc
    except exception.ComputeResourcesUnavailable as exc:
        refused = exception.BuildAbortException(
            instance_uuid=instance.uuid, reason=exc.format_message())
    else:
        return
    restored = None if evacuate else restore_image(driver, context,
                                                   instance)
    LOG.warning('Rebuild refused before the guest was touched%(back)s: '
                '%(reason)s',
                {'back': f'; back on image {restored}' if restored else '',
                 'reason': refused.format_message()}, instance=instance)
    raise exception.InstanceFaultRollback(inner_exception=refused)


def guest_image(driver, instance):
    """Return the image the instance's domain was built from, or None.

    :returns: the ``uuid`` of the domain metadata's ``<nova:root
        type="image">``; None when there is no domain, no such element or
        the root is a volume.
    """
    try:
        xml = driver._host.get_guest(instance).get_xml_desc()
    except exception.NovaException as exc:
        LOG.debug('No domain to read the image from: %s', exc,
                  instance=instance)
        return None
    root = ElementTree.fromstring(xml).find(f'./metadata/*/{_ROOT}')
    if root is None or root.get('type') != 'image':
        return None
    return root.get('uuid') or None


def restore_image(driver, context, instance):
    """Point ``instance`` back at the image its running guest came from.

    Sets ``image_ref`` and the ``image_*`` system metadata as Nova's API
    sets them for an image (Nova's compute manager saves the instance as
    it rolls back).

    :returns: the image id restored, or None when nothing was changed.
    """
    image_id = guest_image(driver, instance)
    if not image_id or image_id == instance.image_ref:
        return None
    try:
        image = glance.API().get(context, image_id)
    except Exception as exc:
        LOG.warning('Cannot read image %(image)s the guest was built from '
                    '(%(error)s); the instance keeps the rebuild image '
                    '%(new)s in its record', {'image': image_id,
                                              'error': exc,
                                              'new': instance.image_ref},
                    instance=instance)
        return None
    sysmeta = instance.system_metadata
    for key in [k for k in sysmeta
                if k.startswith(nova_utils.SM_IMAGE_PROP_PREFIX)]:
        del sysmeta[key]
    sysmeta.update(nova_utils.get_system_metadata_from_image(
        image, instance.flavor))
    sysmeta[_BASE_IMAGE] = image_id
    instance.system_metadata = sysmeta
    instance.image_ref = image_id
    return image_id

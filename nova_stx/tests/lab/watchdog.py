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

"""Bounded calls: a libvirt call that hangs must not hang its caller.

With libvirt 9.0's client library a call can block for ever while another
thread waits in a long call such as ``migrateToURI3()``; a connection to a
killed daemon can also stall until keepalive gives up. Every libvirt call
made while a migration is in flight goes through :func:`call`.
"""

import threading


class Hung(Exception):
    """A call did not return within its time limit."""

    def __init__(self, what, timeout):
        self.what = what
        self.timeout = timeout
        super().__init__(f'{what} did not return within {timeout:g} s')


def call(func, *args, timeout, what=None, **kwargs):
    """Run ``func(*args, **kwargs)`` and give up waiting after ``timeout``.

    The call runs in a daemon thread; on timeout that thread is left
    behind (a blocked C call cannot be interrupted) and :class:`Hung` is
    raised, so the caller can fall back to its safe path.

    :param func: the callable.
    :param timeout: seconds to wait for it.
    :param what: a name for the call in the error; defaults to its name.
    :returns: what ``func`` returned.
    :raises Hung: when it did not return in time; any exception ``func``
        raised is re-raised as it is.
    """
    what = what or getattr(func, '__name__', repr(func))
    outcome = {}

    def run():
        try:
            outcome['value'] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: B902 - re-raised in caller
            outcome['error'] = exc

    worker = threading.Thread(target=run, name=f'bounded {what}',
                              daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise Hung(what, timeout)
    if 'error' in outcome:
        raise outcome['error']
    return outcome.get('value')

#!/bin/bash
#
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

# nova-stx devstack plugin: installs nova-stx and enables every piece.
#
# stack install      pip-install nova-stx (with libvirt-python on computes)
# stack post-config  scheduler filters in nova.conf
# stack extra        compute driver and nova-compute-stx, Glance metadefs,
#                    then nova-stx-status upgrade check
# unstack, clean     nothing to undo beyond devstack's own

# nova_stx_enabled_filters FILTERS: the list without NUMATopologyFilter
# and any nova-stx filter, then the nova-stx filters (other filters, such
# as PciPassthroughFilter, are kept in their order).
function nova_stx_enabled_filters {
    local kept=() filter
    local IFS=,
    for filter in $1; do
        case "$filter" in
            ''|NUMATopologyFilter|Stx*) ;;
            *) kept+=("$filter") ;;
        esac
    done
    echo "${kept[*]:+${kept[*]},}$NOVA_STX_FILTERS"
}

function install_nova_stx {
    if is_service_enabled n-cpu; then
        setup_develop "$NOVA_STX_DIR" libvirt
    else
        setup_develop "$NOVA_STX_DIR"
    fi
}

function configure_nova_stx_scheduler {
    iniset "$NOVA_CONF" filter_scheduler available_filters \
        nova.scheduler.filters.all_filters
    iniadd "$NOVA_CONF" filter_scheduler available_filters \
        nova_stx.scheduler.filters.all_filters
    local filters
    filters=$(iniget "$NOVA_CONF" filter_scheduler enabled_filters)
    iniset "$NOVA_CONF" filter_scheduler enabled_filters \
        "$(nova_stx_enabled_filters "$filters")"
}

# NOTE(nova-stx): devstack starts n-cpu with nova-compute, which cannot
# load nova-stx's driver; the driver is set here, after that start, and
# n-cpu restarted under nova-compute-stx with the same arguments.
function start_nova_stx_compute {
    iniset "$NOVA_CPU_CONF" DEFAULT compute_driver nova_stx.LibvirtDriver
    stop_process n-cpu
    run_process n-cpu \
        "$NOVA_BIN_DIR/nova-compute-stx --config-file $NOVA_CPU_CONF" \
        "$LIBVIRT_GROUP"
}

function load_nova_stx_metadefs {
    local path
    path=$("$NOVA_BIN_DIR/nova-stx" metadefs)
    # --merge --prefer_new: a re-stack or an upgrade updates the
    # namespaces already loaded.
    "$GLANCE_BIN_DIR/glance-manage" --config-file "$GLANCE_API_CONF" \
        db load_metadefs --path "$path" --merge --prefer_new
}

function check_nova_stx {
    local roles=() args=()
    is_service_enabled n-api && roles+=(--role api)
    is_service_enabled n-sch && roles+=(--role scheduler)
    is_service_enabled n-cpu && roles+=(--role compute)
    is_service_enabled g-api && args+=(--glance-config-file "$GLANCE_API_CONF")
    "$NOVA_BIN_DIR/nova-stx-status" --config-file "$NOVA_CONF" \
        --config-file "$NOVA_CPU_CONF" "${roles[@]}" "${args[@]}" \
        upgrade check || [ $? -eq 1 ] || \
        die $LINENO "nova-stx-status upgrade check failed"
}

if [[ "$1" == "stack" ]]; then
    case "$2" in
        install)
            echo_summary "Installing nova-stx"
            install_nova_stx
            ;;
        post-config)
            if is_service_enabled n-sch && \
                    [[ "$NOVA_STX_ENABLE_FILTERS" == "True" ]]; then
                echo_summary "Enabling the nova-stx scheduler filters"
                configure_nova_stx_scheduler
            fi
            ;;
        extra)
            if is_service_enabled n-cpu && \
                    [[ "$NOVA_STX_ENABLE_DRIVER" == "True" ]]; then
                echo_summary "Starting nova-compute-stx"
                start_nova_stx_compute
            fi
            if is_service_enabled g-api && \
                    [[ "$NOVA_STX_LOAD_METADEFS" == "True" ]]; then
                echo_summary "Loading the nova-stx Glance metadefs"
                load_nova_stx_metadefs
            fi
            check_nova_stx
            ;;
    esac
fi

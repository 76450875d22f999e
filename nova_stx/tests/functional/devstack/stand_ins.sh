# Stand-ins for the devstack functions nova-stx's plugin calls. Each call
# that changes something is recorded in $CALLS; the ini functions edit
# real files with devstack's semantics (iniset replaces every line of the
# option, iniadd adds one more line, iniget prints the first value).

function _record { printf '%s\n' "$*" >> "$CALLS"; }
function define_plugin { _record define_plugin "$@"; }
function plugin_requires { _record plugin_requires "$@"; }
function echo_summary { :; }
function die { echo "die: $*" >&2; exit 1; }
function trueorfalse {
    local default=$1 name=$2
    case "${!name:-$default}" in
        1|[Yy]es|[Tt]rue|[Oo]n|True) echo True ;;
        *) echo False ;;
    esac
}
function is_service_enabled {
    local service
    for service in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$service,"* ]] && return 0
    done
    return 1
}
function setup_develop { _record setup_develop "$@"; }
function stop_process { _record stop_process "$@"; }
function run_process { _record run_process "$@"; }
function iniset { _record iniset "$@"; "$PYTHON" "$INI_TOOL" set "$@"; }
function iniadd { _record iniadd "$@"; "$PYTHON" "$INI_TOOL" add "$@"; }
function iniget { "$PYTHON" "$INI_TOOL" get "$@"; }

#!/bin/sh
# A stand-in for what OpenWRT gives an init script (/etc/rc.common,
# /lib/functions.sh, /lib/functions/procd.sh, /sbin/validate_data), small
# enough to run one on a build machine and see what procd would be told.
#
#   UCI_CONFIG_DIR=DIR procd_standin.sh INIT_SCRIPT start|triggers
#
# DIR holds UCI files (DIR/hopwire). RUN_DIR, if set, replaces the init
# script's own. Output, one item a line:
#   instance NAME / command ARG (one line per argument) / param NAME VALUE... /
#   end / reload_trigger CONFIG / validate TYPE SPEC...
set -u
init=$1
action=$2

# --- /lib/functions.sh: a UCI file is shell, config/option/list are commands.
config() {
	_uci_n=$((_uci_n + 1))
	_uci_cur=${2:-cfg$_uci_n}
	_uci_sections="$_uci_sections $_uci_cur"
	eval "CONFIG_${_uci_cur}_TYPE=\$1"
}
option() { eval "CONFIG_${_uci_cur}_$1=\$2"; }
list() { eval "CONFIG_${_uci_cur}_$1=\"\${CONFIG_${_uci_cur}_$1:+\$CONFIG_${_uci_cur}_$1 }\$2\""; }
config_load() {
	_uci_sections=""
	_uci_n=0
	[ -f "$UCI_CONFIG_DIR/$1" ] || return 1
	. "$UCI_CONFIG_DIR/$1"
}
config_get() {
	eval "_v=\${CONFIG_${2}_${3}:-}"
	[ -n "$_v" ] || _v=${4:-}
	eval "$1=\$_v"
}
config_foreach() {
	_fn=$1
	_type=$2
	for _s in $_uci_sections; do
		eval "_t=\${CONFIG_${_s}_TYPE:-}"
		[ "$_t" = "$_type" ] && "$_fn" "$_s"
	done
	return 0
}

# --- procd.sh's uci_validate_section, with validate_data's checks for the
# types our init scripts use: bool, string, uinteger, file, or("a","b",...).
uci_validate_section() {
	_pkg=$1 _vtype=$2 _vname=$3
	shift 3
	if [ -z "$_vname" ]; then
		echo "validate $_vtype $*"
		return 0
	fi
	config_load "$_pkg" || return 1
	eval "_t=\${CONFIG_${_vname}_TYPE:-}"
	if [ "$_t" != "$_vtype" ]; then
		echo "validate: no section $_vname of type $_vtype" >&2
		return 1
	fi
	_err=0
	for _spec in "$@"; do
		_opt=${_spec%%:*}
		_rest=${_spec#*:}
		case "$_rest" in
		or\(*\)*) _dt="${_rest%%)*})"
			_def=${_rest#"$_dt"}
			_def=${_def#:} ;;
		*:*) _dt=${_rest%%:*}
			_def=${_rest#*:} ;;
		*) _dt=$_rest
			_def="" ;;
		esac
		eval "_val=\${CONFIG_${_vname}_${_opt}:-}"
		[ -n "$_val" ] || _val=$_def
		_ok=1
		if [ -n "$_val" ]; then
			case "$_dt" in
			bool) case "$_val" in 0|1|on|off|true|false|yes|no|enabled|disabled) ;; *) _ok=0 ;; esac ;;
			uinteger) case "$_val" in *[!0-9]*) _ok=0 ;; esac ;;
			file) [ -f "$_val" ] || _ok=0 ;;
			string) ;;
			or\(*\))
				_ok=0
				_alts=${_dt#or(}
				_alts=${_alts%)}
				_oldifs=$IFS
				IFS=,
				for _a in $_alts; do
					_a=${_a# }
					[ "\"$_val\"" = "$_a" ] && _ok=1
				done
				IFS=$_oldifs ;;
			*) echo "validate: stand-in does not know type $_dt" >&2
				_ok=0 ;;
			esac
		fi
		if [ "$_ok" = 0 ]; then
			echo "validate: $_pkg.$_vname.$_opt='$_val' is not a valid $_dt" >&2
			_err=1
			_val=$_def
		fi
		eval "$_opt=\$_val"
	done
	return $_err
}

# --- procd.sh: print what would go to procd.
procd_open_instance() { echo "instance ${1:-}"; }
procd_set_param() {
	_p=$1
	shift
	if [ "$_p" = command ]; then
		for _a in "$@"; do printf 'command %s\n' "$_a"; done
	else
		echo "param $_p $*"
	fi
}
procd_append_param() { procd_set_param "$@"; }
procd_close_instance() { echo "end"; }
procd_add_reload_trigger() { echo "reload_trigger $*"; }
procd_open_validate() { :; }
procd_close_validate() { :; }

. "$init"
[ -n "${STANDIN_RUN_DIR:-}" ] && RUN_DIR=$STANDIN_RUN_DIR
[ -n "${STANDIN_PROG:-}" ] && PROG=$STANDIN_PROG
case "$action" in
start) start_service ;;
triggers) service_triggers ;;
*) echo "unknown action $action" >&2; exit 2 ;;
esac

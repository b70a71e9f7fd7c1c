# images/kernel-modules.sh - sourced by the image builders: copies kernel
# modules and everything they depend on out of an unpacked kernel package,
# dependencies first, and lists them in a load order for the agent (the
# guest has no modules.dep and no modprobe).
#
# The caller sets MODDIR (the unpacked lib/modules/<release>), MOD_OUT (the
# directory to copy into) and defines die(); add_module NAME appends what it
# copied to the array MOD_ORDER.
declare -A MOD_SEEN
MOD_ORDER=()

# Module names use "_" where file names may use "-"; match either.
find_module() { find "$MODDIR" -regex ".*/${1//_/[-_]}\.ko\(\.xz\)?" -print -quit; }

add_module() { # depth-first: dependencies go first
	local name=${1//-/_} ko dep deps
	[ -z "${MOD_SEEN[$name]:-}" ] || return 0
	MOD_SEEN[$name]=1
	if grep -qE "/${name//_/[-_]}\.ko\$" "$MODDIR/modules.builtin"; then return 0; fi
	ko=$(find_module "$name")
	[ -n "$ko" ] || die "module $name is neither built in nor in the package"
	deps=$(modinfo -F depends "$ko") || die "modinfo $ko failed"
	for dep in ${deps//,/ }; do add_module "$dep"; done
	# The agent calls finit_module without MODULE_INIT_COMPRESSED_FILE, so
	# store modules uncompressed (bookworm ships plain .ko anyway).
	case $ko in
	*.xz) xz -dc "$ko" >"$MOD_OUT/$(basename "$ko" .xz)" ;;
	*) cp "$ko" "$MOD_OUT/" ;;
	esac
	MOD_ORDER+=("$(basename "$ko" .xz)")
}

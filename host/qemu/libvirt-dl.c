/* SPDX-License-Identifier: MIT */
/* libvirt-dl.c - see libvirt-dl.h. */
#include "host/qemu/libvirt-dl.h"

#include <dlfcn.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "base/errors.h"

/* Every libvirt function snapvm calls: X(library, return type, name,
 * parameters, arguments). A call to one not listed here fails to link,
 * since snapvm does not link libvirt. */
#define SV_LIBVIRT_FUNCTIONS(X)                                                                    \
	X(LIBVIRT, int, virInitialize, (void), ())                                                 \
	X(LIBVIRT, int, virGetVersion, (unsigned long *lib, const char *type, unsigned long *ver), \
	  (lib, type, ver))                                                                        \
	X(LIBVIRT, virErrorPtr, virGetLastError, (void), ())                                       \
	X(LIBVIRT, int, virEventRegisterDefaultImpl, (void), ())                                   \
	X(LIBVIRT, int, virEventRunDefaultImpl, (void), ())                                        \
	X(LIBVIRT, virConnectPtr, virConnectOpen, (const char *name), (name))                      \
	X(LIBVIRT, int, virConnectClose, (virConnectPtr conn), (conn))                             \
	X(LIBVIRT, virDomainPtr, virDomainCreateXML,                                               \
	  (virConnectPtr conn, const char *xml, unsigned int flags), (conn, xml, flags))           \
	X(LIBVIRT, virDomainPtr, virDomainLookupByName, (virConnectPtr conn, const char *name),    \
	  (conn, name))                                                                            \
	X(LIBVIRT, int, virDomainGetInfo, (virDomainPtr dom, virDomainInfoPtr info), (dom, info))  \
	X(LIBVIRT, int, virDomainSuspend, (virDomainPtr dom), (dom))                               \
	X(LIBVIRT, int, virDomainResume, (virDomainPtr dom), (dom))                                \
	X(LIBVIRT, int, virDomainDestroy, (virDomainPtr dom), (dom))                               \
	X(LIBVIRT, int, virDomainFree, (virDomainPtr dom), (dom))                                  \
	X(LIBVIRT, int, virDomainSaveFlags,                                                        \
	  (virDomainPtr dom, const char *to, const char *dxml, unsigned int flags),                \
	  (dom, to, dxml, flags))                                                                  \
	X(LIBVIRT, int, virDomainRestoreFlags,                                                     \
	  (virConnectPtr conn, const char *from, const char *dxml, unsigned int flags),            \
	  (conn, from, dxml, flags))                                                               \
	X(LIBVIRT_QEMU, int, virDomainQemuMonitorCommand,                                          \
	  (virDomainPtr dom, const char *cmd, char **result, unsigned int flags),                  \
	  (dom, cmd, result, flags))

/* virSetErrorFunc returns nothing, so it is written out below. */
typedef void (*SetErrorFunc)(void *data, virErrorFunc handler);

enum { LIBVIRT, LIBVIRT_QEMU };
static const char *const library_names[] = { "libvirt.so.0", "libvirt-qemu.so.0" };

#define POINTER(lib, ret, name, params, args) static ret(*dl_##name) params;
SV_LIBVIRT_FUNCTIONS(POINTER)
#undef POINTER
static SetErrorFunc dl_virSetErrorFunc;

static G_NORETURN void not_loaded(const char *name)
{
	g_error("%s called before sv_libvirt_load()", name);
}

/* Hidden: the definitions stay inside snapvm, never seen by libvirt's own
 * libraries looking up these names. */
#define TRAMPOLINE(lib, ret, name, params, args) \
	G_GNUC_INTERNAL ret name params          \
	{                                        \
		if (!dl_##name)                  \
			not_loaded(#name);       \
		return dl_##name args;           \
	}
SV_LIBVIRT_FUNCTIONS(TRAMPOLINE)
#undef TRAMPOLINE

G_GNUC_INTERNAL void virSetErrorFunc(void *data, virErrorFunc handler)
{
	if (!dl_virSetErrorFunc)
		not_loaded("virSetErrorFunc");
	dl_virSetErrorFunc(data, handler);
}

static gboolean resolve(void *lib, const char *lib_name, const char *name, void **ret,
			GError **error)
{
	*ret = dlsym(lib, name);
	if (*ret)
		return TRUE;
	g_set_error(error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
		    "%s has no %s: snapvm needs libvirt 9.0 or later (apt-get install libvirt0)",
		    lib_name, name);
	return FALSE;
}

static gboolean load_once(GError **error)
{
	void *libs[G_N_ELEMENTS(library_names)];
	for (gsize i = 0; i < G_N_ELEMENTS(library_names); i++) {
		/* never closed: libvirt keeps threads and state for the
		 * process's life */
		libs[i] = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
		if (!libs[i]) {
			g_set_error(
				error, SV_ERROR, SV_ERROR_MISSING_DEPENDENCY,
				"cannot load %s (%s): install libvirt (apt-get install libvirt0)",
				library_names[i], dlerror());
			return FALSE;
		}
	}
#define RESOLVE(lib, ret, name, params, args)                                           \
	if (!resolve(libs[lib], library_names[lib], #name, (void **)&dl_##name, error)) \
		return FALSE;
	SV_LIBVIRT_FUNCTIONS(RESOLVE)
#undef RESOLVE
	return resolve(libs[LIBVIRT], library_names[LIBVIRT], "virSetErrorFunc",
		       (void **)&dl_virSetErrorFunc, error);
}

gboolean sv_libvirt_load(GError **error)
{
	static gsize done;
	static gboolean loaded;
	static GError *failure;
	if (g_once_init_enter(&done)) {
		loaded = load_once(&failure);
		g_once_init_leave(&done, 1);
	}
	if (!loaded && failure)
		g_propagate_error(error, g_error_copy(failure));
	return loaded;
}

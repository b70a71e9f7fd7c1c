/* SPDX-License-Identifier: MIT */
/*
 * test-image --arch ARCH: guests with a Debian userland (snapvm image, run
 * --image), end to end through the snapvm binary. The test image (python3,
 * numpy with OpenBLAS) is built once into $SNAPVM_CACHE_DIR and reused by
 * later runs (keyed by its inputs). Cases: a second build is instant; the
 * refusals that need no guest; export/import; a command not in the image; a
 * dynamically linked host program that talks over loopback, with --env,
 * --workdir and --copy-out; a pure-Python program and a numpy program (2
 * vCPUs: OpenBLAS starts a thread) checkpointed mid-run and restored, whose
 * output tail and exit status must be the uninterrupted run's.
 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/guest-fixture.h"
#include "tests/test-paths.h"

#define PACKAGES "python3,python3-numpy,libopenblas0-pthread"

static const char *arch;
static char *image_name;
static char *workdir; /* host temp dir for snapshots and results */
static gboolean image_ok;

static char *source_path(const char *rel)
{
	const char *src = g_getenv("SNAPVM_SOURCE_DIR");
	return g_build_filename(src ? src : ".", rel, NULL);
}

static const char *other_arch(void)
{
	return strcmp(arch, "x86_64") ? "x86_64" : "aarch64";
}

static void expect(const SvTestCmd *r, int status, const char *needle, const char *what)
{
	if (r->status != status || (needle && !strstr(r->err, needle) && !strstr(r->out, needle)))
		g_error("%s: exit %d (wanted %d), stdout \"%s\", stderr \"%s\" (wanted \"%s\")",
			what, r->status, status, r->out, r->err, needle ? needle : "");
}

static gboolean need_image(void)
{
	if (!image_ok)
		g_test_skip("the test image could not be built (see /image/.../build)");
	return image_ok;
}

static void test_build(void)
{
	gint64 t0 = g_get_monotonic_time();
	const char *build[] = { "image",    "build",	  "--arch", arch, "--name",
				image_name, "--packages", PACKAGES, NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(build);
	if (r.status != 0 && strstr(r.err, "mmdebstrap is not installed")) {
		g_test_skip("mmdebstrap is not installed (apt-get install mmdebstrap)");
		return;
	}
	expect(&r, 0, image_name, "image build");
	g_test_message("image build (cold or cached): %.1f s", (g_get_monotonic_time() - t0) / 1e6);
	image_ok = TRUE;
	/* the same inputs again: nothing to build */
	t0 = g_get_monotonic_time();
	g_auto(SvTestCmd) again = sv_test_snapvm(build);
	expect(&again, 0, image_name, "image build again");
	double s = (g_get_monotonic_time() - t0) / 1e6;
	g_test_message("image build, cached: %.2f s", s);
	g_assert_cmpfloat(s, <, 10.0);
	g_assert_cmpstr(r.out, ==, again.out);
	const char *list[] = { "image", "list", "--json", NULL };
	g_auto(SvTestCmd) l = sv_test_snapvm(list);
	expect(&l, 0, image_name, "image list");
	g_assert_nonnull(strstr(l.out, "\"python3-numpy\""));
}

static void test_refusals(void)
{
	if (!need_image())
		return;
	const char *other[] = { "run",	    "--arch", other_arch(), "--image",
				image_name, "--",     "python3",    NULL };
	g_auto(SvTestCmd) a = sv_test_snapvm(other);
	expect(&a, 125, "run it with --arch", "run of another arch's image");
	const char *missing[] = { "run", "--image", "no-such-image", "--", "python3", NULL };
	g_auto(SvTestCmd) m = sv_test_snapvm(missing);
	expect(&m, 125, "no image named 'no-such-image'", "run of a missing image");
	g_autofree char *dyn = sv_test_workload("loopback", arch);
	const char *no_libs[] = { "run", "--arch", arch, "--", dyn, NULL };
	g_auto(SvTestCmd) d = sv_test_snapvm(no_libs);
	expect(&d, 125, "snapvm run --image NAME", "dynamic program without an image");
	const char *bad_copy[] = {
		"run", "--image", image_name, "--copy-in", "/etc/hostname:/etc/x",
		"--",  "true",	  NULL
	};
	g_auto(SvTestCmd) c = sv_test_snapvm(bad_copy);
	expect(&c, 2, "is not under /work", "copy-in outside /work");
	const char *bad_out[] = { "run",     "--image", image_name, "--copy-out",
				  "nocolon", "--",	"true",	    NULL };
	g_auto(SvTestCmd) o = sv_test_snapvm(bad_out);
	expect(&o, 2, "give GUEST:HOST", "copy-out without HOST");
	const char *bad_name[] = { "image", "build", "--packages", "x", "--name", "../x", NULL };
	g_auto(SvTestCmd) n = sv_test_snapvm(bad_name);
	expect(&n, 2, "is not an image name", "image build --name ../x");
}

static void test_export_import(void)
{
	if (!need_image())
		return;
	g_autofree char *file = g_build_filename(workdir, "image.tar", NULL);
	g_autofree char *copy = g_strdup_printf("%s-copy", image_name);
	const char *exp[] = { "image", "export", image_name, "-o", file, NULL };
	g_auto(SvTestCmd) e = sv_test_snapvm(exp);
	expect(&e, 0, NULL, "image export");
	const char *imp[] = { "image", "import", "--name", copy, file, NULL };
	g_auto(SvTestCmd) i = sv_test_snapvm(imp);
	expect(&i, 0, copy, "image import");
	const char *list[] = { "image", "list", "--json", NULL };
	g_auto(SvTestCmd) l = sv_test_snapvm(list);
	g_assert_nonnull(strstr(l.out, copy));
	const char *rm[] = { "image", "rm", copy, NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(rm);
	expect(&r, 0, NULL, "image rm");
	/* a damaged export is refused: cut it short */
	g_autofree char *cut = g_build_filename(workdir, "cut.tar", NULL);
	g_autofree char *data = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(file, &data, &len, NULL));
	g_assert_true(g_file_set_contents(cut, data, (gssize)(len / 2), NULL));
	const char *bad[] = { "image", "import", "--name", copy, cut, NULL };
	g_auto(SvTestCmd) b = sv_test_snapvm(bad);
	g_assert_cmpint(b.status, ==, 125);
	g_unlink(cut);
	g_unlink(file);
}

static void test_not_in_image(void)
{
	if (!need_image())
		return;
	const char *run[] = { "run", "--image", image_name, "--", "no-such-command", NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(run);
	expect(&r, 125, "is not in image", "a command the image lacks");
	g_assert_nonnull(strstr(r.err, "PATH="));
}

/* A dynamic host program: its libraries from the image, lo up, --env,
 * the default working directory, --copy-out. */
static void test_dynamic_loopback(void)
{
	if (!need_image())
		return;
	g_autofree char *dyn = sv_test_workload("loopback", arch);
	g_autofree char *result = g_build_filename(workdir, "result.txt", NULL);
	g_autofree char *out_spec = g_strdup_printf("result.txt:%s", result);
	const char *run[] = { "run",	    "--image", image_name, "--env", "SNAPVM_TEST=hello",
			      "--copy-out", out_spec,  "--",	   dyn,	    "word",
			      NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(run);
	expect(&r, 0, "loopback ok: sent 4 bytes, got back ping", "loopback program");
	g_assert_nonnull(strstr(r.out, "env SNAPVM_TEST=hello"));
	g_assert_nonnull(strstr(r.out, "cwd /work"));
	g_autofree char *got = NULL;
	g_assert_true(g_file_get_contents(result, &got, NULL, NULL));
	g_assert_cmpstr(got, ==, "result word\n");
}

/* The detached run's pid from run --detach --json. */
static guint pid_from_json(const char *out)
{
	gint64 pid = sv_test_json_int(out, "pid");
	g_assert_cmpint(pid, >, 0);
	return (guint)pid;
}

/* A cache with no image, and one whose only image (named "other") is not
 * the snapshot's: restore must say how to get the image, and refuse the
 * other one. */
static void restore_refusals(const char *snap)
{
	g_autofree char *cache = g_build_filename(workdir, "cache", NULL);
	g_autofree char *fake = g_build_filename(cache, "rootfs", arch, "fake", NULL);
	g_autofree char *names = g_build_filename(cache, "rootfs", "names", NULL);
	g_assert_cmpint(g_mkdir_with_parents(fake, 0755), ==, 0);
	g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "SNAPVM_CACHE_DIR", cache, TRUE);
	const char *rs[] = { "restore", snap, NULL };
	g_auto(SvTestCmd) missing = sv_test_snapvm_env(rs, env);
	expect(&missing, 125, "snapvm image import", "restore without the image");
	g_autofree char *manifest = g_strdup_printf(
		"{\"kind\": \"rootfs\", \"arch\": \"%s\", \"image_sha256\": \"%064d\", "
		"\"requested\": [\"x\"], \"packages\": []}",
		arch, 0);
	const char *files[] = { "manifest.json", "rootfs.ext4", "modules.cpio", "files.tsv" };
	for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *p = g_build_filename(fake, files[i], NULL);
		g_assert_true(g_file_set_contents(p, i ? "" : manifest, -1, NULL));
	}
	g_assert_cmpint(g_mkdir_with_parents(names, 0755), ==, 0);
	g_autofree char *link = g_build_filename(names, "other", NULL);
	g_assert_cmpint(symlink(fake, link), ==, 0);
	const char *other[] = { "restore", "--image", "other", snap, NULL };
	g_auto(SvTestCmd) diff = sv_test_snapvm_env(other, env);
	expect(&diff, 125, "is a different one", "restore on another image");
	const char *rm[] = { "/bin/rm", "-rf", cache, NULL };
	g_free(sv_test_host_output(rm));
}

/* Runs script uninterrupted, then again detached: checkpointed after
 * settle_s (files referenced in the image, then self-contained), the first
 * restored in a fresh guest; the restored output must be the end of the
 * uninterrupted one, with the same exit status. */
static void checkpoint_restore(const char *script, const char *steps, const char *delay,
			       const char *vcpus, int want_status, const char *ready_map,
			       gboolean refusals)
{
	g_autofree char *src = source_path(script);
	g_autofree char *base = g_path_get_basename(script);
	const char *full[] = { "run", "--image", image_name, "--vcpus", vcpus, "--copy-in", src,
			       "--",  "python3", base,	     steps,	delay, NULL };
	g_auto(SvTestCmd) ref = sv_test_snapvm(full);
	expect(&ref, want_status, "done", "uninterrupted run");

	g_autofree char *vm = g_strdup_printf("img-%s-%d", arch, (int)getpid());
	const char *det[] = { "run",	 "--image",  image_name, "--vcpus", vcpus, "--copy-in",
			      src,	 "--detach", "--json",	 "--name",  vm,	   "--",
			      "python3", base,	     steps,	 delay,	    NULL };
	g_auto(SvTestCmd) d = sv_test_snapvm(det);
	expect(&d, 0, NULL, "detached run");
	guint pid = pid_from_json(d.out);
	g_autofree char *snap = g_build_filename(workdir, "snap.svs", NULL);
	g_autofree char *self = g_build_filename(workdir, "self.svs", NULL);
	g_autofree char *pid_s = g_strdup_printf("%u", pid);
	const char *ck[] = { "checkpoint", vm, "--pid", pid_s, "-o", snap, NULL };
	const char *inspect[] = { "inspect", "--json", snap, NULL };
	/* until the program is past its start (its script read, the module
	 * it imports mapped): the restore guest has no copy of /work */
	SvTestCmd c = { 0 };
	for (int tries = 0; tries < 120; tries++) {
		sv_test_cmd_clear(&c);
		c = sv_test_snapvm(ck);
		if (c.status != 0)
			break;
		g_auto(SvTestCmd) in = sv_test_snapvm(inspect);
		if (strstr(in.out, ready_map)) {
			/* into its steps, for a checkpoint mid-run */
			g_usleep(2 * G_USEC_PER_SEC);
			sv_test_cmd_clear(&c);
			c = sv_test_snapvm(ck);
			break;
		}
		g_usleep(G_USEC_PER_SEC / 2);
	}
	const char *ck_self[] = { "checkpoint",	      vm,   "--pid", pid_s,
				  "--self-contained", "-o", self,    NULL };
	g_auto(SvTestCmd) cs = sv_test_snapvm(c.status == 0 ? ck_self : ck);
	const char *stop[] = { "stop", vm, NULL };
	g_auto(SvTestCmd) s = sv_test_snapvm(stop);
	expect(&c, 0, "referenced in the image", "checkpoint");
	g_assert_nonnull(strstr(ref.out, "step 0 "));
	expect(&cs, 0, NULL, "checkpoint --self-contained");
	GStatBuf st, st_self;
	g_assert_cmpint(g_stat(snap, &st), ==, 0);
	g_assert_cmpint(g_stat(self, &st_self), ==, 0);
	g_test_message("%s snapshot: %.1f MiB referencing the image's files, %.1f MiB "
		       "self-contained",
		       base, st.st_size / 1048576.0, st_self.st_size / 1048576.0);
	g_assert_cmpint(st.st_size, <, st_self.st_size);
	g_unlink(self);
	if (refusals)
		restore_refusals(snap);
	const char *rs[] = { "restore", snap, NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(rs);
	expect(&r, want_status, "done", "restore");
	/* the rest of the run (all of it if the checkpoint came before the
	 * first line) */
	if (!g_str_has_suffix(ref.out, r.out))
		g_error("restored output is not the end of the uninterrupted one:\n--- "
			"uninterrupted\n%s--- restored\n%s",
			ref.out, r.out);
	g_unlink(snap);
	sv_test_cmd_clear(&c);
}

static void test_python(void)
{
	if (need_image())
		checkpoint_restore("tests/workloads/python/floats.py", "40", "0.25", "1", 7,
				   "_hashlib", TRUE);
}

static void test_numpy_run(void)
{
	if (!need_image())
		return;
	g_autofree char *src = source_path("tests/workloads/python/matvec.py");
	const char *run[] = { "run", "--image", image_name,  "--vcpus", "2", "--copy-in", src,
			      "--",  "python3", "matvec.py", "3",	"0", NULL };
	g_auto(SvTestCmd) r = sv_test_snapvm(run);
	expect(&r, 0, "done", "numpy run");
	g_assert_nonnull(strstr(r.out, "step 2 v0="));
}

static void test_numpy_checkpoint(void)
{
	if (need_image())
		checkpoint_restore("tests/workloads/python/matvec.py", "40", "0.25", "2", 0,
				   "_multiarray_umath", FALSE);
}

int main(int argc, char **argv)
{
	arch = sv_test_take_arch(&argc, argv, "x86_64");
	g_test_init(&argc, &argv, NULL);
	sv_test_state_dir();
	image_name = g_strdup_printf("snapvm-test-python-%s", arch);
	workdir = g_dir_make_tmp("snapvm-test-image-XXXXXX", NULL);
	g_assert_nonnull(workdir);
#define ADD(path, fn)                                                          \
	do {                                                                   \
		g_autofree char *p = g_strdup_printf("/image/%s/" path, arch); \
		g_test_add_func(p, fn);                                        \
	} while (0)
	ADD("build", test_build);
	ADD("refusals", test_refusals);
	ADD("export-import", test_export_import);
	ADD("not-in-image", test_not_in_image);
	ADD("dynamic-loopback", test_dynamic_loopback);
	ADD("python/checkpoint-restore", test_python);
	ADD("numpy/run", test_numpy_run);
	ADD("numpy/checkpoint-restore", test_numpy_checkpoint);
#undef ADD
	int rc = g_test_run();
	sv_test_state_dir_cleanup();
	g_rmdir(workdir);
	return rc;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* What the benchmarks share: progress lines, clocks, medians, CPU pinning and the report. */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/libbpf.h>

#include "common.h"

void progress(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(const double *v, int n)
{
	double s[BENCH_MEDIAN_MAX];

	if (n < 1)
		return 0;
	if (n > BENCH_MEDIAN_MAX)
		n = BENCH_MEDIAN_MAX;
	memcpy(s, v, sizeof(*v) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int pin_fastest(int (*speed)(void *arg, int cpu, double *score), void *arg)
{
	int cpu, best = -1, err;
	double best_score = 0, score;
	cpu_set_t allowed;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return -errno;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || pin(cpu))
			continue;
		err = speed(arg, cpu, &score);
		if (err)
			return err;
		if (best < 0 || score > best_score) {
			best = cpu;
			best_score = score;
		}
	}
	if (best < 0)
		return -ENOENT;
	err = pin(best);
	return err ? err : best;
}

#define HOLD_MAX	64

static int hold_free[HOLD_MAX];	/* veths released by unhold_prog(), for reuse */
static int nfree;

int hold_prog(int prog_fd)
{
	static int made;
	char cmd[128], name[16];
	int ifindex, err;

	if (nfree) {
		ifindex = hold_free[--nfree];
	} else {
		snprintf(name, sizeof(name), "hold%d", made);
		snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %sp", name, name);
		if (system(cmd) != 0)
			return -EIO;
		ifindex = (int)if_nametoindex(name);
		if (!ifindex)
			return -ENODEV;
		made++;
	}
	err = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (err) {
		fprintf(stderr, "bench: hold a program on a veth of its own: %s\n", strerror(-err));
		if (nfree < HOLD_MAX)
			hold_free[nfree++] = ifindex;
		return err;
	}
	return ifindex;
}

void unhold_prog(int handle)
{
	if (handle <= 0)
		return;
	bpf_xdp_detach(handle, XDP_FLAGS_DRV_MODE, NULL);
	if (nfree < HOLD_MAX)
		hold_free[nfree++] = handle;
}

int jit_enabled(void)
{
	FILE *f = fopen("/proc/sys/net/core/bpf_jit_enable", "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !v)
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, "\n")] = 0;
		snprintf(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

struct json_object *jnum(double v)
{
	char s[32];

	snprintf(s, sizeof(s), "%.3f", v);
	return json_object_new_double_s(v, s);
}

struct json_object *machine_json(int cpu, int jit)
{
	struct json_object *j = json_object_new_object();
	struct utsname u;
	char model[256];

	cpu_model(model, sizeof(model));
	if (!uname(&u)) {
		json_object_object_add(j, "sysname", json_object_new_string(u.sysname));
		json_object_object_add(j, "release", json_object_new_string(u.release));
		json_object_object_add(j, "version", json_object_new_string(u.version));
		json_object_object_add(j, "machine", json_object_new_string(u.machine));
	}
	json_object_object_add(j, "cpu_model", json_object_new_string(model));
	json_object_object_add(j, "ncpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(j, "bench_cpu", json_object_new_int(cpu));
	json_object_object_add(j, "bpf_jit_enable", json_object_new_int(jit));
	return j;
}

int make_parent(const char *path)
{
	char dir[4096];
	char *s;

	snprintf(dir, sizeof(dir), "%s", path);
	s = strrchr(dir, '/');
	if (!s || s == dir)
		return 0;
	*s = 0;
	for (s = dir + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int write_report(const char *path, struct json_object *root)
{
	int err = make_parent(path);

	if (err || json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY)) {
		fprintf(stderr, "write %s: %s\n", path,
			err ? strerror(-err) : json_util_get_last_err());
		return -1;
	}
	progress("wrote %s", path);
	return 0;
}

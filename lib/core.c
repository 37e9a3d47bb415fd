// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libshoal core: create or adopt the pinned data plane, attach it, and access its maps. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/membarrier.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "shoal.h"
#include "shoal.skel.h"
#include "shoal_nic.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

enum map_idx {
	M_CONF, M_NODES, M_VIPS, M_TABLES, M_POOLS, M_STATS, M_VIPSTATS, M_SYNC, M_EVENTS, M__NR
};

static const char *const map_names[M__NR] = {
	[M_CONF] = "conf",     [M_NODES] = "nodes", [M_VIPS] = "vips",
	[M_TABLES] = "tables", [M_POOLS] = "pools", [M_STATS] = "stats",
	[M_VIPSTATS] = "vipstats", [M_SYNC] = "sync", [M_EVENTS] = "events",
};

/* XDP programs bound to a device (for its RX metadata kfuncs), Linux 6.3+. */
#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif

struct inner {
	int fd;
	struct shoal_bucket *mem;
	bool fresh;		/* created by a stage, not yet in the tables map */
};

struct shoal {
	char pin_dir[PATH_MAX];
	bool pinned;
	int fd[M__NR];
	int prog_fd;		/* the attached program */
	int trace_fd;		/* the one test runs use: prog_fd, or in nic mode an unbound copy */
	int link_fd;		/* only when created unpinned, or attached by us */
	int lock_fd;
	int lock_depth;
	int sync_inner;		/* what we store into sync[0] to wait for a grace period */
	volatile struct shoal_conf *conf;
	struct shoal_node *nodes;
	struct shoal_vip *vips;
	struct inner inner[SHOAL_MAX_POOLS];
	__u32 m;
	int ncpus;
	bool synced;
	__u64 staged_pools;
	bool staged_vips;
};

static int load_prog(struct shoal *s, const char *obj_path, bool nic, int ifindex, int *fd);
static void repin(struct shoal *s, const char *name, int fd);

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

static size_t array_mmap_len(__u32 value_size, __u32 entries)
{
	return page_round((size_t)((value_size + 7) & ~7U) * entries);
}

/* nodes and vips are global arrays: one map element holding the whole array. */
static size_t nodes_len(void)
{
	return page_round(sizeof(struct shoal_node) * SHOAL_MAX_NODES);
}

static size_t vips_len(void)
{
	return page_round(sizeof(struct shoal_vip) * 2 * SHOAL_VIP_SLOTS);
}

static int pin_path(const struct shoal *s, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", s->pin_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The pin directory must live on bpffs; /sys/fs/bpf is mounted if it is not yet. */
static int ensure_bpffs(const char *dir)
{
	char parent[PATH_MAX], *slash;
	struct statfs st;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (statfs(parent, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (strcmp(parent, "/sys/fs/bpf") == 0) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") == 0)
			return 0;
		return shoal_err(-errno, "mount bpffs on /sys/fs/bpf");
	}
	return shoal_err(-EINVAL, "%s: not on a bpffs mount", parent);
}

/* An inner bucket table: two copies of m buckets, mappable for userspace writes. */
static int create_table_map(__u32 m, const char *name)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32),
				sizeof(struct shoal_bucket), 2 * m, &o);

	return fd < 0 ? shoal_err(-errno, "create %s table (%u buckets)", name, m) : fd;
}

bool shoal_exists(const char *pin_dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/conf", pin_dir ? pin_dir : SHOAL_PIN_DEFAULT);
	return access(p, F_OK) == 0;
}

static void shoal_init_handle(struct shoal *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < M__NR; i++)
		s->fd[i] = -1;
	for (i = 0; i < SHOAL_MAX_POOLS; i++)
		s->inner[i].fd = -1;
	s->prog_fd = s->trace_fd = s->link_fd = s->lock_fd = s->sync_inner = -1;
	s->ncpus = libbpf_num_possible_cpus();
}

static int map_mmaps(struct shoal *s)
{
	void *p;

	p = mmap(NULL, array_mmap_len(sizeof(struct shoal_conf), 1), PROT_READ | PROT_WRITE,
		 MAP_SHARED, s->fd[M_CONF], 0);
	if (p == MAP_FAILED)
		return shoal_err(-errno, "mmap conf");
	s->conf = p;
	p = mmap(NULL, nodes_len(), PROT_READ | PROT_WRITE, MAP_SHARED, s->fd[M_NODES], 0);
	if (p == MAP_FAILED)
		return shoal_err(-errno, "mmap nodes");
	s->nodes = p;
	p = mmap(NULL, vips_len(), PROT_READ | PROT_WRITE, MAP_SHARED, s->fd[M_VIPS], 0);
	if (p == MAP_FAILED)
		return shoal_err(-errno, "mmap vips");
	s->vips = p;
	return 0;
}

static void conf_defaults(struct shoal *s, __u32 m)
{
	static const __u8 prefix[3] = SHOAL_MAC_PREFIX_DEFAULT;
	struct shoal_conf init = {
		.m = m, .drain_ns = 600ULL * 1000000000ULL, .abi = SHOAL_ABI_VERSION,
	};

	memcpy((void *)s->conf, &init, sizeof(init));
	shoal_set_mac_prefix(s, prefix);
}

int shoal_create(struct shoal **out, const char *pin_dir, __u32 m)
{
	struct shoal_create_opts o = { .m = m };

	return shoal_create_opts(out, pin_dir, &o);
}

int shoal_create_opts(struct shoal **out, const char *pin_dir, const struct shoal_create_opts *o)
{
	struct shoal_bpf *skel = NULL;
	struct shoal *s;
	char p[PATH_MAX];
	int err, i, tmpl = -1;
	__u32 m = o->m;
	bool nic = o->flow_hash == SHOAL_HASH_NIC;

	if (nic && o->ifindex <= 0)
		return shoal_errmsg(-EINVAL, "the NIC's RX hash needs the uplink to bind the program to");
	if (!m)
		m = SHOAL_M_DEFAULT;
	if (m > SHOAL_M_MAX)
		return shoal_err(-EINVAL, "M=%u exceeds %u", m, SHOAL_M_MAX);
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	shoal_init_handle(s);
	s->m = m;
	if (pin_dir) {
		snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", pin_dir);
		s->pinned = true;
		err = ensure_bpffs(pin_dir);
		if (err)
			goto out;
		if (mkdir(pin_dir, 0700) && errno != EEXIST) {
			err = shoal_err(-errno, "mkdir %s", pin_dir);
			goto out;
		}
		/* Under the lock, so two creators cannot both pass the check. */
		err = shoal_lock(s);
		if (err)
			goto out;
		if (shoal_exists(pin_dir)) {
			err = shoal_err(-EEXIST, "%s already holds a shoal instance", pin_dir);
			goto out;
		}
	}

	skel = shoal_bpf__open();
	if (!skel) {
		err = shoal_err(-errno, "open BPF object");
		goto out;
	}
	/*
	 * The bucket tables' size is the cluster's M, known only now. Hand libbpf
	 * a template of that size (libbpf 1.1 cannot resize its own inner map).
	 */
	tmpl = create_table_map(m, "template");
	if (tmpl < 0) {
		err = tmpl;
		goto out;
	}
	err = bpf_map__set_inner_map_fd(skel->maps.tables, tmpl);
	if (err) {
		err = shoal_err(err, "size bucket tables");
		goto out;
	}
	err = shoal_bpf__load(skel);
	if (err) {
		err = shoal_err(err, "load BPF program");
		goto out;
	}

	{
		struct bpf_map *maps[M__NR] = {
			[M_CONF] = skel->maps.data_conf,	[M_NODES] = skel->maps.data_nodes,
			[M_VIPS] = skel->maps.data_vips,	[M_TABLES] = skel->maps.tables,
			[M_POOLS] = skel->maps.pools,	[M_STATS] = skel->maps.stats,
			[M_VIPSTATS] = skel->maps.vipstats, [M_SYNC] = skel->maps.sync,
			[M_EVENTS] = skel->maps.events,
		};

		for (i = 0; i < M__NR; i++) {
			s->fd[i] = dup(bpf_map__fd(maps[i]));
			if (s->fd[i] < 0) {
				err = -errno;
				goto out;
			}
		}
	}
	/*
	 * The skeleton's program is bound to no device: in software mode it is the
	 * one attached; in nic mode it serves test runs (flow, fixtures) and a
	 * copy bound to the uplink is attached.
	 */
	s->trace_fd = dup(bpf_program__fd(skel->progs.shoal_xdp));
	if (s->trace_fd < 0) {
		err = -errno;
		goto out;
	}
	if (nic) {
		err = load_prog(s, NULL, true, o->ifindex, &s->prog_fd);
		if (err)
			goto out;
	} else {
		s->prog_fd = dup(s->trace_fd);
		if (s->prog_fd < 0) {
			err = -errno;
			goto out;
		}
	}
	err = map_mmaps(s);
	if (err)
		goto out;
	conf_defaults(s, m);
	s->conf->flow_hash = nic ? SHOAL_HASH_NIC : SHOAL_HASH_SOFTWARE;
	s->conf->hash_ifindex = nic ? (__u32)o->ifindex : 0;
	s->synced = true;

	if (s->pinned) {
		/* prog first, conf last: conf's pin is what shoal_exists() looks for. */
		err = pin_path(s, "prog", p, sizeof(p));
		if (!err && bpf_obj_pin(s->prog_fd, p))
			err = shoal_err(-errno, "pin %s", p);
		if (!err && nic && !(err = pin_path(s, "prog_trace", p, sizeof(p))) &&
		    bpf_obj_pin(s->trace_fd, p))
			err = shoal_err(-errno, "pin %s", p);
		if (err)
			goto unpin_prog;
		for (i = M__NR - 1; i >= 0; i--) {
			err = pin_path(s, map_names[i], p, sizeof(p));
			if (!err && bpf_obj_pin(s->fd[i], p))
				err = shoal_err(-errno, "pin %s", p);
			if (err)
				goto unpin;
		}
		shoal_unlock(s);
	}
	shoal_bpf__destroy(skel);
	close(tmpl);
	*out = s;
	return 0;

unpin:
	/* Only what this call pinned: maps above i, and the programs. */
	for (i = i + 1; i < M__NR; i++) {
		if (pin_path(s, map_names[i], p, sizeof(p)) == 0)
			unlink(p);
	}
unpin_prog:
	if (pin_path(s, "prog", p, sizeof(p)) == 0)
		unlink(p);
	if (pin_path(s, "prog_trace", p, sizeof(p)) == 0)
		unlink(p);
out:
	shoal_bpf__destroy(skel);
	if (tmpl >= 0)
		close(tmpl);
	shoal_close(s);
	return err;
}

/* Pinned maps must be the ones this build expects, or nothing may touch them. */
static int check_maps(struct shoal *s)
{
	static const struct {
		__u32 type, value_size, max_entries;
	} want[M__NR] = {
		[M_CONF] = { BPF_MAP_TYPE_ARRAY, sizeof(struct shoal_conf), 1 },
		[M_NODES] = { BPF_MAP_TYPE_ARRAY, sizeof(struct shoal_node) * SHOAL_MAX_NODES, 1 },
		[M_VIPS] = { BPF_MAP_TYPE_ARRAY, sizeof(struct shoal_vip) * 2 * SHOAL_VIP_SLOTS, 1 },
		[M_TABLES] = { BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32), SHOAL_MAX_POOLS },
		[M_POOLS] = { BPF_MAP_TYPE_ARRAY, sizeof(struct shoal_pool), SHOAL_MAX_POOLS },
		[M_STATS] = { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(struct shoal_counter), SHOAL_R_MAX },
		[M_VIPSTATS] = { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(struct shoal_counter), SHOAL_MAX_VIPS },
		[M_SYNC] = { BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32), 1 },
		[M_EVENTS] = { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u64), SHOAL_E_MAX },
	};
	int i;

	for (i = 0; i < M__NR; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(s->fd[i], &info, &len))
			return shoal_err(-errno, "inspect map %s", map_names[i]);
		if (info.type != want[i].type || info.value_size != want[i].value_size ||
		    info.max_entries != want[i].max_entries)
			return shoal_errmsg(-EPROTO, "%s/%s does not have the layout this shoal expects (another version made it): detach it and apply again",
					    s->pin_dir, map_names[i]);
	}
	return 0;
}

/* The program test runs use: pinned beside the attached one in nic mode, else that one. */
static int open_trace(struct shoal *s)
{
	char p[PATH_MAX];
	int fd;

	if (pin_path(s, "prog_trace", p, sizeof(p)))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(p);
	if (fd < 0 && errno != ENOENT)
		return shoal_err(-errno, "open %s", p);
	if (fd < 0)
		fd = dup(s->prog_fd);
	if (fd < 0)
		return -errno;
	if (s->trace_fd >= 0)
		close(s->trace_fd);
	s->trace_fd = fd;
	return 0;
}

int shoal_open(struct shoal **out, const char *pin_dir)
{
	struct shoal *s;
	char p[PATH_MAX];
	int err, i;

	if (!pin_dir)
		pin_dir = SHOAL_PIN_DEFAULT;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	shoal_init_handle(s);
	snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", pin_dir);
	s->pinned = true;

	for (i = 0; i < M__NR; i++) {
		err = pin_path(s, map_names[i], p, sizeof(p));
		if (err)
			goto out;
		s->fd[i] = bpf_obj_get(p);
		if (s->fd[i] < 0) {
			err = -errno;
			if (err == -ENOENT)
				shoal_err(err, "no shoal instance at %s", pin_dir);
			else
				shoal_err(err, "open %s", p);
			goto out;
		}
	}
	err = pin_path(s, "prog", p, sizeof(p));
	if (err)
		goto out;
	s->prog_fd = bpf_obj_get(p);
	if (s->prog_fd < 0) {
		err = shoal_err(-errno, "open %s", p);
		goto out;
	}
	err = open_trace(s);
	if (err)
		goto out;
	err = check_maps(s);
	if (!err)
		err = map_mmaps(s);
	if (err)
		goto out;
	if (s->conf->abi != SHOAL_ABI_VERSION) {
		err = shoal_errmsg(-EPROTO, "%s was made by another shoal version (ABI %u, this is %u): detach it and apply again",
				   pin_dir, s->conf->abi, SHOAL_ABI_VERSION);
		goto out;
	}
	s->m = s->conf->m;
	*out = s;
	return 0;
out:
	shoal_close(s);
	return err;
}

int shoal_purge(const char *pin_dir)
{
	static const char *const extra[] = { "link", "prog", "prog_trace" };
	char p[PATH_MAX];
	size_t i;
	int fd;

	if (!pin_dir)
		pin_dir = SHOAL_PIN_DEFAULT;
	snprintf(p, sizeof(p), "%s/link", pin_dir);
	fd = bpf_obj_get(p);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", pin_dir, extra[i]);
		unlink(p);
	}
	for (i = 0; i < M__NR; i++) {
		snprintf(p, sizeof(p), "%s/%s", pin_dir, map_names[i]);
		unlink(p);
	}
	if (rmdir(pin_dir) && errno != ENOENT)
		return shoal_err(-errno, "remove %s", pin_dir);
	return 0;
}

static void inner_release(struct shoal *s, int pool)
{
	struct inner *in = &s->inner[pool];

	if (in->mem)
		munmap(in->mem, array_mmap_len(sizeof(struct shoal_bucket), 2 * s->m));
	if (in->fd >= 0)
		close(in->fd);
	in->mem = NULL;
	in->fd = -1;
	in->fresh = false;
}

void shoal_close(struct shoal *s)
{
	int i;

	if (!s)
		return;
	for (i = 0; i < SHOAL_MAX_POOLS; i++)
		inner_release(s, i);
	if (s->conf)
		munmap((void *)s->conf, array_mmap_len(sizeof(struct shoal_conf), 1));
	if (s->nodes)
		munmap(s->nodes, nodes_len());
	if (s->vips)
		munmap(s->vips, vips_len());
	for (i = 0; i < M__NR; i++) {
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	}
	if (s->prog_fd >= 0)
		close(s->prog_fd);
	if (s->trace_fd >= 0)
		close(s->trace_fd);
	if (s->link_fd >= 0)
		close(s->link_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->sync_inner >= 0)
		close(s->sync_inner);
	free(s);
}

int shoal_destroy(struct shoal *s)
{
	char p[PATH_MAX];
	int err, i;

	err = shoal_detach(s);
	if (err && err != -ENOENT)
		return err;
	if (s->pinned) {
		for (i = 0; i < M__NR; i++) {
			if (pin_path(s, map_names[i], p, sizeof(p)) == 0)
				unlink(p);
		}
		if (pin_path(s, "prog_trace", p, sizeof(p)) == 0)
			unlink(p);
		if (pin_path(s, "prog", p, sizeof(p)) == 0)
			unlink(p);
		rmdir(s->pin_dir);
	}
	shoal_close(s);
	return 0;
}

/* A writer holds the lock for one apply (milliseconds); one holding it this long is stuck. */
#define SHOAL_LOCK_WAIT_MS	10000

int shoal_lock(struct shoal *s)
{
	int waited, err;

	if (!s->pinned)
		return 0;
	if (s->lock_depth++)
		return 0;
	s->lock_fd = open(s->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->lock_fd < 0)
		goto fail;
	/* Bounded: waiting forever on a stuck writer would hang the caller too. */
	for (waited = 0; flock(s->lock_fd, LOCK_EX | LOCK_NB); waited += 10) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			goto fail;
		if (waited >= SHOAL_LOCK_WAIT_MS) {
			errno = ETIMEDOUT;
			goto fail;
		}
		usleep(10000);
	}
	return 0;
fail:
	err = -errno;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
	s->lock_depth = 0;
	if (err == -ETIMEDOUT)
		return shoal_err(err, "lock %s: another shoalctl or shoald has held it for %d s",
				 s->pin_dir, SHOAL_LOCK_WAIT_MS / 1000);
	return shoal_err(err, "lock %s", s->pin_dir);
}

void shoal_unlock(struct shoal *s)
{
	if (!s->pinned || !s->lock_depth || --s->lock_depth)
		return;
	close(s->lock_fd);
	s->lock_fd = -1;
}

int shoal_prog_fd(const struct shoal *s)
{
	return s->prog_fd;
}

__u32 shoal_m(const struct shoal *s)
{
	return s->m;
}

const char *shoal_pin_dir(const struct shoal *s)
{
	return s->pinned ? s->pin_dir : NULL;
}

/* ---- attach ---- */

static int link_open(struct shoal *s)
{
	char p[PATH_MAX];

	if (s->link_fd >= 0 || !s->pinned)
		return s->link_fd;
	if (pin_path(s, "link", p, sizeof(p)))
		return -1;
	s->link_fd = bpf_obj_get(p);
	return s->link_fd;
}

int shoal_attachment(struct shoal *s, int *ifindex, enum shoal_xdp_mode *mode)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = link_open(s);

	*ifindex = 0;
	if (mode)
		*mode = SHOAL_XDP_NATIVE;
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return shoal_err(-errno, "link info");
	*ifindex = info.xdp.ifindex;
	if (mode) {
		struct bpf_xdp_query_opts q = { .sz = sizeof(q) };

		if (*ifindex && bpf_xdp_query(*ifindex, 0, &q) == 0)
			*mode = q.attach_mode == XDP_ATTACHED_SKB ? SHOAL_XDP_GENERIC
								  : SHOAL_XDP_NATIVE;
	}
	return 0;
}

int shoal_attach(struct shoal *s, const char *ifname, enum shoal_xdp_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	char p[PATH_MAX];
	int ifindex, cur, fd;

	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex)
		return shoal_err(-ENODEV, "attach on %s: no such interface", ifname);
	if (shoal_attachment(s, &cur, NULL) == 0 && cur) {
		if (cur == ifindex)
			return 0;
		return shoal_err(-EBUSY, "attach on %s: already attached to ifindex %d", ifname,
				 cur);
	}
	/* A link whose device went away is defunct: drop it so a new one can be pinned. */
	if (s->link_fd >= 0) {
		close(s->link_fd);
		s->link_fd = -1;
		if (s->pinned && pin_path(s, "link", p, sizeof(p)) == 0)
			unlink(p);
	}
	/*
	 * In nic mode the program is bound to one device. The uplink came back
	 * with another index (or this is another uplink): bind a new copy to it.
	 */
	if (s->conf->flow_hash == SHOAL_HASH_NIC && s->conf->hash_ifindex != (__u32)ifindex) {
		int err = load_prog(s, NULL, true, ifindex, &fd);

		if (err)
			return err;
		close(s->prog_fd);
		s->prog_fd = fd;
		repin(s, "prog", fd);
		s->conf->hash_ifindex = (__u32)ifindex;
	}
	opts.flags = mode == SHOAL_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(s->prog_fd, ifindex, BPF_XDP, &opts);
	if (fd < 0) {
		int err = -errno;

		if (err == -EOPNOTSUPP && mode == SHOAL_XDP_NATIVE)
			return shoal_err(err, "attach on %s: driver has no native XDP (use generic mode)",
					 ifname);
		if (err == -EBUSY)
			return shoal_err(err, "attach on %s: another XDP program is attached",
					 ifname);
		return shoal_err(err, "attach on %s", ifname);
	}
	if (s->pinned) {
		if (pin_path(s, "link", p, sizeof(p)) || bpf_obj_pin(fd, p)) {
			int err = -errno;

			close(fd);
			return shoal_err(err, "pin link for %s", ifname);
		}
	}
	if (s->link_fd >= 0)
		close(s->link_fd);
	s->link_fd = fd;
	return 0;
}

int shoal_detach(struct shoal *s)
{
	char p[PATH_MAX];
	int fd = link_open(s);

	if (fd < 0)
		return -ENOENT;
	if (bpf_link_detach(fd) && errno != EINVAL && errno != ENOLINK)
		return shoal_err(-errno, "detach");
	if (s->pinned && pin_path(s, "link", p, sizeof(p)) == 0)
		unlink(p);
	close(fd);
	s->link_fd = -1;
	return 0;
}

/* ---- upgrade ---- */

/* The map names a BPF object uses, by our index. */
static const char *const obj_map_names[M__NR] = {
	[M_CONF] = ".data.conf", [M_NODES] = ".data.nodes", [M_VIPS] = ".data.vips",
	[M_TABLES] = "tables",	  [M_POOLS] = "pools",	     [M_STATS] = "stats",
	[M_VIPSTATS] = "vipstats", [M_SYNC] = "sync", [M_EVENTS] = "events",
};

/* Hand every map of `obj` the running map's fd; refuse any layout difference. */
static int reuse_maps(struct shoal *s, struct bpf_object *obj)
{
	struct bpf_map *map;
	int i;

	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		for (i = 0; i < M__NR; i++) {
			if (!strcmp(bpf_map__name(map), obj_map_names[i]))
				break;
		}
		if (i == M__NR)
			return shoal_errmsg(-EPROTO, "the new program has a map shoal does not know ('%s'): it needs detach and apply, not an upgrade",
					    bpf_map__name(map));
		if (bpf_obj_get_info_by_fd(s->fd[i], &info, &len))
			return shoal_err(-errno, "inspect map %s", map_names[i]);
		if (bpf_map__type(map) != info.type || bpf_map__value_size(map) != info.value_size ||
		    (bpf_map__type(map) != BPF_MAP_TYPE_ARRAY_OF_MAPS &&
		     bpf_map__max_entries(map) != info.max_entries))
			return shoal_errmsg(-EPROTO, "the new program lays out map '%s' differently: it needs detach and apply, not an upgrade",
					    map_names[i]);
		if (bpf_map__reuse_fd(map, s->fd[i]))
			return shoal_err(-errno, "reuse map %s", map_names[i]);
	}
	return 0;
}

/*
 * Load shoal's program over the running maps: from obj_path, or the build
 * built in (the NIC RX-hash build for nic), bound to ifindex when it is not 0.
 * *fd gets the program.
 */
static int load_prog(struct shoal *s, const char *obj_path, bool nic, int ifindex, int *fd)
{
	struct shoal_nic_bpf *nskel = NULL;
	struct shoal_bpf *skel = NULL;
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	int err;

	*fd = -1;
	if (obj_path) {
		obj = bpf_object__open_file(obj_path, NULL);
		if (!obj)
			return shoal_err(-errno, "open %s", obj_path);
	} else if (nic) {
		nskel = shoal_nic_bpf__open();
		if (!nskel)
			return shoal_err(-errno, "open the built-in BPF object (RX hash)");
		obj = nskel->obj;
	} else {
		skel = shoal_bpf__open();
		if (!skel)
			return shoal_err(-errno, "open the built-in BPF object");
		obj = skel->obj;
	}
	if (obj_path) {
		/* The RX-hash build calls the metadata kfunc: its BTF names it. */
		struct btf *btf = bpf_object__btf(obj);
		bool has = btf && btf__find_by_name_kind(btf, "bpf_xdp_metadata_rx_hash", BTF_KIND_FUNC) >= 0;

		if (has != nic) {
			err = shoal_errmsg(-EINVAL, nic ?
				"%s is the software-hash build, and this data plane keys flows on the NIC's RX hash (flow_hash nic): use the RX-hash build, shoal_nic.bpf.o" :
				"%s is the RX-hash build, and this data plane keys flows in software: use shoal.bpf.o",
				obj_path);
			goto out;
		}
	}
	err = reuse_maps(s, obj);
	if (err)
		goto out;
	prog = bpf_object__find_program_by_name(obj, "shoal_xdp");
	if (!prog) {
		err = shoal_errmsg(-ENOENT, "the object has no program 'shoal_xdp'");
		goto out;
	}
	if (ifindex) {
		bpf_program__set_ifindex(prog, (__u32)ifindex);
		bpf_program__set_flags(prog, bpf_program__flags(prog) | BPF_F_XDP_DEV_BOUND_ONLY);
	}
	err = bpf_object__load(obj);
	if (err) {
		if (ifindex)
			err = shoal_err(err, "load the program bound to ifindex %d (RX-hash hints need Linux 6.3+)",
					ifindex);
		else
			err = shoal_err(err, "load the program");
		goto out;
	}
	*fd = dup(bpf_program__fd(prog));
	if (*fd < 0)
		err = -errno;
out:
	if (nskel)
		shoal_nic_bpf__destroy(nskel);
	else if (skel)
		shoal_bpf__destroy(skel);
	else
		bpf_object__close(obj);
	return err;
}

/* Pin fd at name, replacing what was there. */
static void repin(struct shoal *s, const char *name, int fd)
{
	char p[PATH_MAX];

	if (!s->pinned || pin_path(s, name, p, sizeof(p)))
		return;
	unlink(p);
	if (bpf_obj_pin(fd, p))
		shoal_warn("pin the new program at %s: %s", p, strerror(errno));
}

int shoal_upgrade(struct shoal *s, const char *obj_path, bool if_changed, __u32 *old_id,
		  __u32 *new_id)
{
	__u8 old_tag[BPF_TAG_SIZE] = { 0 };
	bool nic = s->conf->flow_hash == SHOAL_HASH_NIC;
	struct bpf_prog_info info;
	int err, fd = -1, tfd = -1, link;
	__u32 len;

	*old_id = *new_id = 0;
	err = shoal_lock(s);
	if (err)
		return err;
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(s->prog_fd, &info, &len) == 0) {
		*old_id = info.id;
		memcpy(old_tag, info.tag, sizeof(old_tag));
	}
	/* The same mode as what runs: in nic mode, OBJECT is the RX-hash build, bound to the same device. */
	err = load_prog(s, obj_path, nic, nic ? (int)s->conf->hash_ifindex : 0, &fd);
	/* Traces run on the built-in software build: a bound program cannot be test-run. */
	if (!err && nic)
		err = load_prog(s, NULL, false, 0, &tfd);
	if (err)
		goto out;
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (if_changed && *old_id && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	    !memcmp(info.tag, old_tag, sizeof(old_tag))) {
		*new_id = *old_id;	/* the same instructions: nothing to swap */
		err = 0;
		goto out;
	}
	/* The swap: one syscall, the device never runs without a program. */
	link = link_open(s);
	if (link >= 0 && bpf_link_update(link, fd, NULL)) {
		err = shoal_err(-errno, "swap the attached program");
		goto out;
	}
	repin(s, "prog", fd);
	if (nic)
		repin(s, "prog_trace", tfd);
	close(s->prog_fd);
	s->prog_fd = fd;
	fd = -1;
	close(s->trace_fd);
	s->trace_fd = nic ? tfd : dup(s->prog_fd);
	tfd = -1;
	memset(&info, 0, sizeof(info));
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(s->prog_fd, &info, &len) == 0)
		*new_id = info.id;
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tfd >= 0)
		close(tfd);
	shoal_unlock(s);
	return err;
}

int shoal_prog_refresh(struct shoal *s)
{
	struct bpf_prog_info a = {}, b = {};
	__u32 la = sizeof(a), lb = sizeof(b);
	char p[PATH_MAX];
	int fd;

	if (!s->pinned || pin_path(s, "prog", p, sizeof(p)))
		return 0;
	fd = bpf_obj_get(p);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &a, &la) || bpf_obj_get_info_by_fd(s->prog_fd, &b, &lb) ||
	    a.id == b.id) {
		close(fd);
		return 0;
	}
	close(s->prog_fd);
	s->prog_fd = fd;
	open_trace(s);
	return 1;
}

int shoal_prog_id(const struct shoal *s)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(s->prog_fd, &info, &len) ? -errno : (int)info.id;
}

/* ---- conf ---- */

volatile struct shoal_conf *shoal_conf(struct shoal *s)
{
	return s->conf;
}

int shoal_set_identity(struct shoal *s, __u16 self)
{
	if (self >= SHOAL_MAX_NODES)
		return -EINVAL;
	/* self_be first: a packet that sees the new self also sees its MAC bytes. */
	__atomic_store_n(&s->conf->self_be, (__u16)((self >> 8) | (self << 8)), __ATOMIC_RELEASE);
	__atomic_store_n(&s->conf->self, self, __ATOMIC_RELEASE);
	return 0;
}

int shoal_set_key(struct shoal *s, const __u64 key[2])
{
	s->conf->key[0] = key[0];
	s->conf->key[1] = key[1];
	return 0;
}

static __u32 fwd_tag(const __u8 prefix[3], __u8 hop)
{
	__u8 b[4] = { prefix[0], prefix[1], prefix[2], hop };
	__u32 t;

	memcpy(&t, b, sizeof(t));
	return t;
}

/* With s == NULL, only validates. */
int shoal_set_mac_prefix(struct shoal *s, const __u8 prefix[3])
{
	int h;

	/* Locally administered (bit 1 set), unicast (bit 0 clear). */
	if ((prefix[0] & 0x03) != 0x02)
		return -EINVAL;
	if (!s)
		return 0;
	memcpy((void *)s->conf->mac_prefix, prefix, 3);
	for (h = 0; h < SHOAL_MAX_HOPS; h++)
		__atomic_store_n(&s->conf->fwd_tag[h], fwd_tag(prefix, h + 1), __ATOMIC_RELEASE);
	return 0;
}

/* ---- nodes, pools ---- */

int shoal_node_get(struct shoal *s, __u16 id, struct shoal_node *n)
{
	if (id >= SHOAL_MAX_NODES)
		return -EINVAL;
	memcpy(n, &s->nodes[id], sizeof(*n));
	return 0;
}

/*
 * The program reads mac and flags. A new entry's flags are stored last, so
 * the entry is complete before it counts as a peer; changing a live entry's
 * MAC in place may misdirect the frames forwarded while it changes.
 */
int shoal_node_put(struct shoal *s, __u16 id, const struct shoal_node *n)
{
	struct shoal_node *d;

	if (!id || id >= SHOAL_MAX_NODES)
		return -EINVAL;
	d = &s->nodes[id];
	memcpy(d->mac, n->mac, sizeof(d->mac));
	memcpy((char *)d + offsetof(struct shoal_node, weight), (const char *)n +
	       offsetof(struct shoal_node, weight), sizeof(*n) - offsetof(struct shoal_node, weight));
	__atomic_store_n(&d->flags, n->flags, __ATOMIC_RELEASE);
	return 0;
}

int shoal_node_clear(struct shoal *s, __u16 id)
{
	struct shoal_node z = {};

	return shoal_node_put(s, id, &z);
}

int shoal_pool_get(struct shoal *s, __u8 id, struct shoal_pool *p)
{
	__u32 k = id;

	if (id >= SHOAL_MAX_POOLS)
		return -EINVAL;
	return bpf_map_lookup_elem(s->fd[M_POOLS], &k, p) ? -errno : 0;
}

int shoal_pool_put(struct shoal *s, __u8 id, const struct shoal_pool *p)
{
	__u32 k = id;

	if (id >= SHOAL_MAX_POOLS)
		return -EINVAL;
	return bpf_map_update_elem(s->fd[M_POOLS], &k, p, BPF_ANY) ? -errno : 0;
}

/* ---- double-buffered tables ---- */

/*
 * A grace period. Updating an ARRAY_OF_MAPS element from userspace makes the
 * kernel wait in synchronize_rcu() before the syscall returns (so that no
 * program still uses the old inner map), and XDP runs inside an RCU read-side
 * section: afterwards, no program run that could have seen the old copy index
 * is still going. The sync map exists for this alone. Should it fail,
 * membarrier(MEMBARRIER_CMD_GLOBAL) does the same on most kernels.
 */
static int grace_period(struct shoal *s)
{
	__u32 zero = 0;

	if (s->sync_inner < 0)
		s->sync_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sync", sizeof(__u32),
					       sizeof(__u32), 1, NULL);
	if (s->sync_inner < 0 ||
	    bpf_map_update_elem(s->fd[M_SYNC], &zero, &s->sync_inner, BPF_ANY)) {
		if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0)) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	s->synced = true;
	return 0;
}

/* Before the first write into an inactive copy, make sure nobody reads it. */
static int stage_begin(struct shoal *s)
{
	return s->synced ? 0 : grace_period(s);
}

static int inner_get(struct shoal *s, __u8 pool, bool create)
{
	struct inner *in = &s->inner[pool];
	size_t len = array_mmap_len(sizeof(struct shoal_bucket), 2 * s->m);
	__u32 k = pool, id;
	void *mem;

	if (in->mem)
		return 0;
	if (bpf_map_lookup_elem(s->fd[M_TABLES], &k, &id) == 0) {
		in->fd = bpf_map_get_fd_by_id(id);
		if (in->fd < 0)
			return shoal_err(-errno, "pool %u table", pool);
	} else if (create) {
		char name[16];

		snprintf(name, sizeof(name), "pool%u", pool);
		in->fd = create_table_map(s->m, name);
		if (in->fd < 0)
			return in->fd;
		in->fresh = true;
	} else {
		return -ENOENT;
	}
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, in->fd, 0);
	if (mem == MAP_FAILED) {
		int err = -errno;

		inner_release(s, pool);
		return shoal_err(err, "mmap pool %u table", pool);
	}
	in->mem = mem;
	return 0;
}

int shoal_table_read(struct shoal *s, __u8 pool, struct shoal_bucket *out)
{
	int err;
	__u32 copy;

	if (pool >= SHOAL_MAX_POOLS)
		return -EINVAL;
	err = inner_get(s, pool, false);
	if (err)
		return err;
	copy = s->conf->pool_copy[pool] & 1;
	memcpy(out, s->inner[pool].mem + (size_t)copy * s->m, sizeof(*out) * s->m);
	return 0;
}

int shoal_table_stage(struct shoal *s, __u8 pool, const struct shoal_bucket *b)
{
	size_t bytes = sizeof(*b) * s->m;
	struct inner *in;
	__u32 copy;
	int err;

	if (pool >= SHOAL_MAX_POOLS)
		return -EINVAL;
	err = stage_begin(s);
	if (err)
		return err;
	err = inner_get(s, pool, false);
	if (err == -ENOENT)
		err = inner_get(s, pool, true);
	if (err)
		return err;
	in = &s->inner[pool];
	copy = s->conf->pool_copy[pool] & 1;
	if (in->fresh) {
		/* Nobody reads it until shoal_commit() publishes it: fill both copies. */
		memcpy(in->mem, b, bytes);
		memcpy(in->mem + s->m, b, bytes);
		return 0;
	}
	memcpy(in->mem + (size_t)(copy ^ 1) * s->m, b, bytes);
	s->staged_pools |= 1ULL << pool;
	return 0;
}

void shoal_stage_abort(struct shoal *s)
{
	int i;

	for (i = 0; i < SHOAL_MAX_POOLS; i++) {
		if (s->inner[i].fresh)
			inner_release(s, i);
	}
	s->staged_pools = 0;
	s->staged_vips = false;
}

int shoal_table_drop(struct shoal *s, __u8 pool)
{
	__u32 k = pool;

	if (pool >= SHOAL_MAX_POOLS)
		return -EINVAL;
	inner_release(s, pool);
	s->staged_pools &= ~(1ULL << pool);
	if (bpf_map_delete_elem(s->fd[M_TABLES], &k) && errno != ENOENT)
		return shoal_err(-errno, "drop pool %u table", pool);
	return 0;
}

int shoal_vips_read(struct shoal *s, struct shoal_vip *slots)
{
	__u32 copy = s->conf->vip_copy & 1;

	memcpy(slots, s->vips + (size_t)copy * SHOAL_VIP_SLOTS,
	       sizeof(*slots) * SHOAL_VIP_SLOTS);
	return 0;
}

int shoal_vips_stage(struct shoal *s, const struct shoal_vip *slots)
{
	__u32 copy = s->conf->vip_copy & 1;
	int err = stage_begin(s);

	if (err)
		return err;
	memcpy(s->vips + (size_t)(copy ^ 1) * SHOAL_VIP_SLOTS, slots,
	       sizeof(*slots) * SHOAL_VIP_SLOTS);
	s->staged_vips = true;
	return 0;
}

int shoal_commit(struct shoal *s)
{
	bool fresh = false;
	int i;

	/* New pools' tables appear whole (their maps were filled at stage). */
	for (i = 0; i < SHOAL_MAX_POOLS; i++) {
		__u32 k = (__u32)i;

		if (!s->inner[i].fresh)
			continue;
		if (bpf_map_update_elem(s->fd[M_TABLES], &k, &s->inner[i].fd, BPF_ANY))
			return shoal_err(-errno, "install pool %d table", i);
		s->inner[i].fresh = false;
		fresh = true;
	}
	if (!s->staged_pools && !s->staged_vips && !fresh)
		return 0;
	for (i = 0; i < SHOAL_MAX_POOLS; i++) {
		volatile __u8 *c = &s->conf->pool_copy[i];

		if (s->staged_pools & (1ULL << i))
			__atomic_store_n(c, (__u8)(*c ^ 1), __ATOMIC_RELEASE);
	}
	if (s->staged_vips)
		__atomic_store_n(&s->conf->vip_copy, s->conf->vip_copy ^ 1, __ATOMIC_RELEASE);
	s->staged_pools = 0;
	s->staged_vips = false;
	return grace_period(s);
}

/* ---- counters ---- */

static int percpu_sum(struct shoal *s, int fd, __u32 key, struct shoal_counter *out)
{
	struct shoal_counter *v;
	int i;

	v = calloc((size_t)s->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	memset(out, 0, sizeof(*out));
	for (i = 0; i < s->ncpus; i++) {
		out->packets += v[i].packets;
		out->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

int shoal_stats_read(struct shoal *s, struct shoal_counter out[SHOAL_R_MAX])
{
	int r, err;

	for (r = 0; r < SHOAL_R_MAX; r++) {
		err = percpu_sum(s, s->fd[M_STATS], r, &out[r]);
		if (err)
			return err;
	}
	return 0;
}

int shoal_events_read(struct shoal *s, __u64 out[SHOAL_E_MAX])
{
	__u64 *v = calloc((size_t)s->ncpus, sizeof(*v));
	__u32 e;
	int c;

	if (!v)
		return -ENOMEM;
	for (e = 0; e < SHOAL_E_MAX; e++) {
		out[e] = 0;
		if (bpf_map_lookup_elem(s->fd[M_EVENTS], &e, v)) {
			free(v);
			return shoal_err(-errno, "read events");
		}
		for (c = 0; c < s->ncpus; c++)
			out[e] += v[c];
	}
	free(v);
	return 0;
}

int shoal_vipstats_read(struct shoal *s, __u16 id, struct shoal_counter *out)
{
	if (id >= SHOAL_MAX_VIPS)
		return -EINVAL;
	return percpu_sum(s, s->fd[M_VIPSTATS], id, out);
}

static int percpu_clear(struct shoal *s, int fd, __u32 key)
{
	struct shoal_counter *v = calloc((size_t)s->ncpus, sizeof(*v));
	int err = 0;

	if (!v)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &key, v, BPF_ANY))
		err = -errno;
	free(v);
	return err;
}

int shoal_vipstats_clear(struct shoal *s, __u16 id)
{
	if (id >= SHOAL_MAX_VIPS)
		return -EINVAL;
	return percpu_clear(s, s->fd[M_VIPSTATS], id);
}

int shoal_stats_clear(struct shoal *s)
{
	int r, err;

	for (r = 0; r < SHOAL_R_MAX; r++) {
		err = percpu_clear(s, s->fd[M_STATS], r);
		if (err)
			return err;
	}
	return 0;
}

/* ---- test run ---- */

int shoal_run(struct shoal *s, const void *frame, size_t len, bool trace, struct shoal_run *r)
{
	return shoal_run_hash(s, frame, len, trace, NULL, r);
}

int shoal_run_hash(struct shoal *s, const void *frame, size_t len, bool trace,
		   const __u32 *rx_hash, struct shoal_run *r)
{
	__u8 in[sizeof(struct shoal_trace) + sizeof(r->out)];
	__u8 out[sizeof(in)];
	struct xdp_md ctx = {};
	size_t meta = trace ? sizeof(struct shoal_trace) : 0;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (len > sizeof(r->out) || len < 14)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (trace) {
		struct shoal_trace t = { .magic = SHOAL_TRACE_MAGIC };

		if (rx_hash) {
			t.rx_hash = *rx_hash;
			t.flags = SHOAL_TRACE_F_RX_HASH;
		}

		memcpy(in, &t, sizeof(t));
		ctx.data = (__u32)meta;
		ctx.data_end = (__u32)(meta + len);
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	memcpy(in + meta, frame, len);
	o.data_in = in;
	o.data_size_in = (__u32)(meta + len);
	o.data_out = out;
	o.data_size_out = sizeof(out);
	o.repeat = 1;
	if (bpf_prog_test_run_opts(s->trace_fd, &o))
		return shoal_err(-errno, "test run");
	r->action = o.retval;
	if (o.data_size_out < meta)
		return -EPROTO;
	if (trace)
		memcpy(&r->trace, out, sizeof(r->trace));
	r->out_len = o.data_size_out - (__u32)meta;
	memcpy(r->out, out + meta, r->out_len);
	return 0;
}

/* ---- time ---- */

__u64 shoal_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

__u32 shoal_now_ticks(void)
{
	return (__u32)(shoal_now_ns() >> SHOAL_TICK_SHIFT);
}

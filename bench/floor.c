// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Loading bench/floor.bpf.c and setting up its restore wrapper, for bench/micro.c and bench/scale.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.h"

static int floor_prog(struct bpf_object *obj, const char *path, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	if (!p) {
		fprintf(stderr, "%s: no program %s\n", path, name);
		return -ENOENT;
	}
	return bpf_program__fd(p);
}

int floor_open(struct floor *fl, const char *path)
{
	struct bpf_map *rodata, *frame, *target;
	size_t size;
	int err;

	fl->obj = bpf_object__open_file(path, NULL);
	if (!fl->obj) {
		err = -errno;
		fprintf(stderr, "open %s: %s\n", path, strerror(-err));
		return err;
	}
	rodata = bpf_object__find_map_by_name(fl->obj, ".rodata");
	frame = bpf_object__find_map_by_name(fl->obj, "frame");
	target = bpf_object__find_map_by_name(fl->obj, "target");
	if (!rodata || !frame || !target) {
		fprintf(stderr, "%s: missing .rodata, frame or target map\n", path);
		return -ENOENT;
	}
	if (bpf_map__value_size(frame) != FLOOR_FRAME_MAX) {
		fprintf(stderr, "%s: frame map holds %u bytes, want %d\n", path,
			bpf_map__value_size(frame), FLOOR_FRAME_MAX);
		return -EINVAL;
	}
	/* floor_conf is the only read-only variable of floor.bpf.c. */
	if (!bpf_map__initial_value(rodata, &size) || size != sizeof(fl->conf)) {
		fprintf(stderr, "%s: .rodata is not just floor_conf\n", path);
		return -ENOENT;
	}
	err = bpf_map__set_initial_value(rodata, &fl->conf, sizeof(fl->conf));
	if (!err)
		err = bpf_object__load(fl->obj);
	if (err) {
		fprintf(stderr, "load %s: %s\n", path, strerror(-err));
		return err;
	}
	fl->empty_fd = floor_prog(fl->obj, path, "floor_empty");
	fl->trivial_fd = floor_prog(fl->obj, path, "floor_trivial");
	fl->restore_fd = floor_prog(fl->obj, path, "floor_restore");
	fl->move_fd = floor_prog(fl->obj, path, "floor_move");
	fl->move_swap_fd = floor_prog(fl->obj, path, "floor_move_swap");
	if (fl->empty_fd < 0 || fl->trivial_fd < 0 || fl->restore_fd < 0 || fl->move_fd < 0 ||
	    fl->move_swap_fd < 0)
		return -ENOENT;
	fl->frame_fd = bpf_map__fd(frame);
	fl->target_fd = bpf_map__fd(target);
	return 0;
}

int floor_set_target(const struct floor *fl, int prog_fd, const char *what)
{
	__u32 zero = 0;
	int err = bpf_map_update_elem(fl->target_fd, &zero, &prog_fd, BPF_ANY);

	if (err)
		fprintf(stderr, "putting %s in the wrapper's prog array (tail call target): "
			"the kernel refused it: %s\n", what, strerror(-err));
	return err;
}

int floor_set_frame(const struct floor *fl, const __u8 *frame, size_t len)
{
	__u8 v[FLOOR_FRAME_MAX] = {};
	__u32 zero = 0;
	int err;

	if (len > sizeof(v))
		return -EINVAL;
	memcpy(v, frame, len);
	err = bpf_map_update_elem(fl->frame_fd, &zero, v, BPF_ANY);
	if (err)
		fprintf(stderr, "saving the wrapper's frame: %s\n", strerror(-err));
	return err;
}

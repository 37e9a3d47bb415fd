// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control socket: a root-only Unix stream socket; each connection sends one
 * JSON request line ({"cmd": "status"}) and gets one JSON line back. Anything
 * else - too long, not JSON, an unknown command - gets {"error": ...}.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shoald.h"

#define CTL_MAX_REQUEST 4096
#define CTL_DEADLINE_MS 250

static const char *const peer_state[] = { "unknown", "alive", "holding", "dead" };

int ctl_setup(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX], *slash;
	int probe;

	if (strlen(d->socket_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->socket_path);
	snprintf(dir, sizeof(dir), "%s", d->socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	/* A socket that answers belongs to a running shoald: do not steal it. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (void *)&sa, sizeof(sa)) == 0) {
		close(probe);
		dlog(0, "%s: another shoald answers there", d->socket_path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(d->socket_path);
	d->ctl = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->ctl < 0)
		return -errno;
	/* Root only: the mode is set before anyone can connect. */
	{
		mode_t old = umask(0077);
		int err = bind(d->ctl, (void *)&sa, sizeof(sa));

		umask(old);
		if (err)
			return -errno;
	}
	chmod(d->socket_path, 0600);
	return listen(d->ctl, 16) ? -errno : 0;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void add_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_hex(struct json_object *o, const char *k, __u64 v)
{
	char b[24];

	snprintf(b, sizeof(b), "%016llx", (unsigned long long)v);
	add_str(o, k, b);
}

/* How a node keys flows, as shoalctl hash check compares it. */
static struct json_object *hash_json(const struct shoal_hash_info *h)
{
	struct json_object *x = json_object_new_object(), *f = json_object_new_object();
	static const char *const flow[SHOAL_RSS_FLOWS] = { "tcp4", "udp4", "tcp6", "udp6" };
	char b[16];
	int k;

	add_str(x, "source", h->mode == SHOAL_HASH_NIC ? "nic" : "software");
	json_object_object_add(x, "rss", json_object_new_boolean(h->rss_ok));
	if (h->rss_ok) {
		add_str(x, "function", shoal_hfunc_name(h->hfunc));
		add_int(x, "key_bytes", h->key_len);
		add_hex(x, "key_digest", h->key_digest);
		for (k = 0; k < SHOAL_RSS_FLOWS; k++)
			add_str(f, flow[k], shoal_rxh_letters(h->fields[k], b));
		json_object_object_add(x, "fields", f);
	} else {
		json_object_put(f);
	}
	return x;
}

struct json_object *ctl_status(struct daemon *d)
{
	struct json_object *o = json_object_new_object(), *peers = json_object_new_array();
	struct json_object *checks = json_object_new_array();
	const struct shoal_node_cfg *me = shoal_cluster_node_id(&d->cfg, d->self);
	const struct peer *leader = peers_leader(d);
	__u64 now = now_ns();
	size_t i;

	add_str(o, "node", me ? me->name : NULL);
	add_int(o, "id", d->self);
	add_str(o, "dev", d->dev_name);
	add_str(o, "config", d->config_path);
	add_hex(o, "config_digest", d->cfg_digest);
	add_str(o, "reload_error", d->reload_error[0] ? d->reload_error : NULL);
	add_str(o, "apply_error", d->apply_error[0] ? d->apply_error : NULL);
	add_str(o, "nexthop_error", d->nexthop_error[0] ? d->nexthop_error : NULL);
	add_int(o, "reloads", d->reloads);
	add_int(o, "reload_failures", d->reload_failures);
	add_int(o, "applies", d->applies);
	add_int(o, "table_syncs", d->table_syncs);
	add_hex(o, "model_digest", d->model_digest);
	add_hex(o, "table_digest", d->table_digest);
	add_int(o, "prog_id", shoal_prog_id(d->s));
	add_int(o, "uptime_seconds", (int64_t)((now - d->started) / 1000000000ULL));
	add_str(o, "state", d->fresh ? "joining" : "serving");
	json_object_object_add(o, "healthy", json_object_new_boolean(d->healthy));
	{
		struct json_object *ad = json_object_new_array();
		struct shoal_pool pool;
		int p;

		for (p = 0; p < SHOAL_MAX_POOLS; p++) {
			if ((d->all_drained >> p) & 1 && !shoal_pool_get(d->s, (__u8)p, &pool) &&
			    (pool.flags & SHOAL_POOL_F_VALID))
				json_object_array_add(ad, json_object_new_string_len(pool.name,
							   (int)strnlen(pool.name, sizeof(pool.name))));
		}
		json_object_object_add(o, "pools_all_drained", ad);
	}
	add_int(o, "leader", leader && leader->id < d->self ? leader->id : d->self);
	add_int(o, "heartbeats_sent", d->hb_sent);
	add_int(o, "heartbeats_received", d->hb_received);
	add_int(o, "heartbeats_rejected", d->hb_rejected);
	json_object_object_add(o, "hash", hash_json(&d->hash));
	for (i = 0; i < d->npeers; i++) {
		const struct peer *p = &d->peers[i];
		struct json_object *x = json_object_new_object();
		char a[SHOAL_ADDRSTRLEN];

		add_int(x, "id", p->id);
		add_str(x, "name", p->name);
		add_str(x, "address", shoal_format_addr(&p->addr, a));
		add_str(x, "state", peer_state[p->state]);
		json_object_object_add(x, "counts", json_object_new_boolean(peer_counts(p)));
		json_object_object_add(x, "healthy", json_object_new_boolean(p->healthy));
		add_int(x, "last_seen_ms", p->last_seen ? (int64_t)((now - p->last_seen) / 1000000) : -1);
		add_int(x, "state_since_ms", p->last_change ? (int64_t)((now - p->last_change) / 1000000) : -1);
		json_object_object_add(x, "daemon_down", json_object_new_boolean(p->daemon_down));
		add_int(x, "restart_grace_ms", p->grace_until > now ? (int64_t)((p->grace_until - now) / 1000000) : 0);
		add_int(x, "flaps", p->flaps);
		add_int(x, "hold_down_ms", (int64_t)(p->hold_ns / 1000000));
		add_hex(x, "table_digest", p->table_digest);
		add_hex(x, "model_digest", p->model_digest);
		json_object_object_add(x, "hash", p->hash_at ? hash_json(&p->hash) : NULL);
		{
			char why[200];

			if (!p->hash_at)
				snprintf(why, sizeof(why), "no hash report heard yet");
			else
				shoal_hash_info_diff(&p->hash, &d->hash, why, sizeof(why));
			add_str(x, "hash_differs", why[0] ? why : NULL);
		}
		json_object_array_add(peers, x);
	}
	json_object_object_add(o, "peers", peers);
	for (i = 0; i < d->nchecks; i++) {
		const struct check *k = &d->checks[i];
		struct json_object *x = json_object_new_object();

		add_str(x, "check", k->label);
		json_object_object_add(x, "healthy", json_object_new_boolean(k->healthy));
		add_str(x, "last_error", k->last_error[0] ? k->last_error : NULL);
		json_object_array_add(checks, x);
	}
	json_object_object_add(o, "checks", checks);
	return o;
}

static struct json_object *ctl_rates(struct daemon *d)
{
	struct json_object *o = json_object_new_object(), *r = json_object_new_object();
	int i;

	for (i = 0; i < SHOAL_R_MAX; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "pps", json_object_new_double(d->rates.pps[i]));
		json_object_object_add(x, "bps", json_object_new_double(d->rates.bps[i]));
		json_object_object_add(r, shoal_reason_name(i), x);
	}
	json_object_object_add(o, "reasons", r);
	return o;
}

static struct json_object *dispatch(struct daemon *d, const char *line)
{
	struct json_object *req = json_tokener_parse(line), *cmd, *resp;
	const char *c;

	if (!req || !json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &cmd) ||
	    !json_object_is_type(cmd, json_type_string)) {
		json_object_put(req);
		resp = json_object_new_object();
		add_str(resp, "error", "expected one JSON object with a \"cmd\" string");
		return resp;
	}
	c = json_object_get_string(cmd);
	if (!strcmp(c, "status")) {
		resp = ctl_status(d);
	} else if (!strcmp(c, "rates")) {
		resp = ctl_rates(d);
	} else if (!strcmp(c, "reload")) {
		int err = daemon_reload(d, "control socket");

		resp = json_object_new_object();
		json_object_object_add(resp, "reloaded", json_object_new_boolean(!err));
		if (err)
			add_str(resp, "error", d->reload_error);
	} else {
		resp = json_object_new_object();
		add_str(resp, "error", "unknown command (status, rates, reload)");
	}
	json_object_put(req);
	return resp;
}

void ctl_accept(struct daemon *d)
{
	for (;;) {
		char buf[CTL_MAX_REQUEST + 1];
		struct json_object *resp;
		struct pollfd pfd;
		size_t len = 0;
		const char *out;
		int fd = accept4(d->ctl, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		/*
		 * One line within CTL_DEADLINE_MS in all, and the answer written within
		 * as long: a client that stalls or trickles costs the loop (heartbeats,
		 * checks) at most that, never a hang.
		 */
		__u64 until = now_ns() + CTL_DEADLINE_MS * 1000000ULL, t;
		struct timeval tv = { 0, CTL_DEADLINE_MS * 1000 };

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (len < CTL_MAX_REQUEST && (t = now_ns()) < until &&
		       poll(&pfd, 1, (int)((until - t) / 1000000) + 1) > 0) {
			ssize_t n = read(fd, buf + len, CTL_MAX_REQUEST - len);

			if (n <= 0)
				break;
			len += (size_t)n;
			if (memchr(buf, '\n', len))
				break;
		}
		buf[len] = '\0';
		if (len >= CTL_MAX_REQUEST) {
			char junk[4096];
			ssize_t n;

			/*
			 * Read the rest (within the deadline) before answering: a client
			 * still writing when we close gets EPIPE and never sees the answer.
			 */
			while (!memchr(buf, '\n', len) && (t = now_ns()) < until &&
			       poll(&pfd, 1, (int)((until - t) / 1000000) + 1) > 0 &&
			       (n = read(fd, junk, sizeof(junk))) > 0) {
				if (memchr(junk, '\n', (size_t)n))
					break;
			}
			resp = json_object_new_object();
			add_str(resp, "error", "request too long (at most 4096 bytes)");
		} else {
			resp = dispatch(d, buf);
		}
		out = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
		if (write(fd, out, strlen(out)) < 0 || write(fd, "\n", 1) < 0)
			dlog(3, "control client went away");
		json_object_put(resp);
		close(fd);
	}
}

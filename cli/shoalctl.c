// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* shoalctl: the operator's CLI, bpftool-style objects and verbs over libshoal. */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cluster.h"
#include "log.h"
#include "maglev.h"
#include "packet.h"
#include "shoal.h"
#include "shoal/hash.h"

#define SHOAL_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static struct {
	bool json;
	bool pretty;
	bool verbose;
	const char *pin;
	const char *socket;
} opt;

/* ---- output ---- */

__attribute__((format(printf, 1, 2)))
static int error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (opt.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(msg));
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		fprintf(stderr, "shoalctl: %s\n", msg);
	}
	return EXIT_FAIL;
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("%s (try: shoalctl help)", msg);
	return EXIT_USAGE;
}

/* The library's own message is more precise than ours: prefer it. */
static int lib_error(const char *what, int err)
{
	const char *m = shoal_last_error();

	if (m[0])
		return error("%s", m);
	return error("%s: %s", what, strerror(-err));
}

static void json_print(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, opt.pretty ? JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* A human table: rows of cells, columns padded to their widest cell. */
#define TBL_COLS 12
#define TBL_ROWS_MAX 100000
struct table {
	int ncols;
	size_t nrows;
	char *(*cells)[TBL_COLS];
	bool right[TBL_COLS];
};

static void tbl_init(struct table *t, int ncols, ...)
{
	va_list ap;
	int i;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->cells = calloc(1, sizeof(*t->cells));
	va_start(ap, ncols);
	for (i = 0; i < ncols; i++)
		t->cells[0][i] = strdup(va_arg(ap, const char *));
	va_end(ap);
	t->nrows = 1;
}

__attribute__((format(printf, 3, 4)))
static void tbl_set(struct table *t, int col, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(t->cells[t->nrows - 1][col]);
	t->cells[t->nrows - 1][col] = strdup(buf);
}

static void tbl_row(struct table *t)
{
	t->cells = realloc(t->cells, (t->nrows + 1) * sizeof(*t->cells));
	memset(t->cells[t->nrows], 0, sizeof(*t->cells));
	t->nrows++;
}

static void tbl_print(struct table *t)
{
	size_t w[TBL_COLS] = {}, r;
	int c;

	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			size_t l = t->cells[r][c] ? strlen(t->cells[r][c]) : 0;

			if (l > w[c])
				w[c] = l;
		}
	}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r][c] ? t->cells[r][c] : "";
			bool last = c == t->ncols - 1;

			if (t->right[c] && r)
				printf("%*s", (int)w[c], s);
			else if (last)
				printf("%s", s);
			else
				printf("%-*s", (int)w[c], s);
			if (!last)
				printf("  ");
			free(t->cells[r][c]);
		}
		printf("\n");
	}
	free(t->cells);
}

/* ---- argument helpers ---- */

static bool is_prefix(const char *arg, const char *word)
{
	return arg && *arg && !strncmp(arg, word, strlen(arg));
}

/* Prefix matching over a NULL-terminated list; -1 none, -2 ambiguous. */
static int match(const char *arg, const char *const *words)
{
	int i, hit = -1;

	for (i = 0; words[i]; i++) {
		if (!strcmp(arg, words[i]))
			return i;
		if (is_prefix(arg, words[i]))
			hit = hit == -1 ? i : -2;
	}
	return hit;
}

static bool is_help(const char *arg)
{
	return arg && (!strcmp(arg, "help") || !strcmp(arg, "-h") || !strcmp(arg, "--help"));
}

static const char *pin_dir(void)
{
	return opt.pin ? opt.pin : SHOAL_PIN_DEFAULT;
}

static int open_state(struct shoal **s)
{
	int err;

	if (!shoal_exists(pin_dir()))
		return error("no shoal data plane at %s (start one with: shoalctl apply FILE)",
			     pin_dir());
	err = shoal_open(s, pin_dir());
	return err ? lib_error("open state", err) : 0;
}

/*
 * Open the state and read the cluster model from it. A command that will
 * change the model reads, changes and applies under one lock, or concurrent
 * edits are lost (the lock is re-entrant, so apply takes it again).
 */
static int open_model(struct shoal **s, struct shoal_cluster *c, bool to_change)
{
	int ret = open_state(s);

	if (ret)
		return ret;
	if (to_change && (ret = shoal_lock(*s))) {
		shoal_close(*s);
		return lib_error("lock state", ret);
	}
	ret = shoal_cluster_read(*s, c);
	if (ret) {
		shoal_close(*s);
		return lib_error("read state", ret);
	}
	return 0;
}

static const char *node_name(const struct shoal_cluster *c, struct shoal *s, __u16 id, char *buf,
			     size_t len)
{
	struct shoal_node_cfg *n = c ? shoal_cluster_node_id(c, id) : NULL;
	struct shoal_node raw;

	if (!id)
		return "-";
	if (n)
		return n->name;
	if (s && !shoal_node_get(s, id, &raw) && raw.name[0]) {
		snprintf(buf, len, "%.*s", SHOAL_NAME_LEN, raw.name);
		return buf;
	}
	snprintf(buf, len, "#%u", id);
	return buf;
}

static void format_vip(const struct shoal_addr *a, __u16 port, __u8 proto, char *buf, size_t len)
{
	char as[SHOAL_ADDRSTRLEN], ps[8];

	shoal_format_addr(a, as);
	if (port)
		snprintf(ps, sizeof(ps), "%u", port);
	else
		snprintf(ps, sizeof(ps), "any");
	snprintf(buf, len, a->family == 6 ? "[%s]:%s/%s" : "%s:%s/%s", as, ps,
		 shoal_proto_name(proto));
}

/* "ADDR:PORT/PROTO", "[V6]:PORT/PROTO", PORT may be "any". */
static int parse_vip(const char *arg, struct shoal_vip_cfg *v)
{
	char buf[128], *slash, *colon, *host;
	unsigned long long port;

	memset(v, 0, sizeof(*v));
	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	slash = strrchr(buf, '/');
	if (!slash || shoal_parse_proto(slash + 1, &v->proto))
		return -EINVAL;
	*slash = '\0';
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	host = buf;
	if (host[0] == '[') {
		size_t l = strlen(host);

		if (l < 2 || host[l - 1] != ']')
			return -EINVAL;
		host[l - 1] = '\0';
		host++;
	} else if (strchr(host, ':')) {
		return -EINVAL;	/* IPv6 needs brackets: 2001:db8::1:443 is ambiguous */
	}
	if (shoal_parse_addr(host, &v->addr))
		return -EINVAL;
	if (!strcmp(colon + 1, "any") || !strcmp(colon + 1, "*"))
		v->port = 0;
	else if (shoal_parse_uint(colon + 1, 65535, &port) || !port)
		return -EINVAL;
	else
		v->port = (__u16)port;
	return 0;
}

/* ---- apply ---- */

static const char apply_help[] =
	"Usage: shoalctl apply FILE [dev IFNAME] [node NAME] [mode native|generic] [base EXPORT]\n"
	"                           [force] [check]\n"
	"\n"
	"Make this node serve the cluster config FILE (YAML; see docs/config.md).\n"
	"The first apply loads the XDP program, attaches it to the uplink and pins\n"
	"its state; later applies update tables and VIPs in place, atomically.\n"
	"\n"
	"  dev IFNAME   uplink to attach to (default: the interface whose MAC is listed\n"
	"               in FILE)\n"
	"  node NAME    which node of FILE this host is (default: the running identity,\n"
	"               else the node whose MAC is on a local interface)\n"
	"  mode MODE    native (default; fails if the driver lacks XDP) or generic\n"
	"  base EXPORT  start from a peer's tables (shoalctl table export) instead of\n"
	"               this node's: for a node that joins or lost its state, so that\n"
	"               it knows the previous owners its peers know\n"
	"  force        accept a new cluster seed (remaps every flow)\n"
	"  check        validate FILE and exit, changing nothing\n"
	"\n"
	"A rejected FILE changes nothing: the error names the file, line and field.\n";

static struct json_object *report_json(const struct shoal_apply_report *r, const char *dev)
{
	struct json_object *o = json_object_new_object(), *pools = json_object_new_array();
	size_t i;

	for (i = 0; i < r->npools; i++) {
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "name", json_object_new_string(r->pools[i].name));
		json_object_object_add(p, "generation", json_object_new_int64((int64_t)r->pools[i].gen));
		json_object_object_add(p, "buckets_moved", json_object_new_int64(r->pools[i].moved));
		json_object_object_add(p, "buckets_deferred", json_object_new_int64(r->pools[i].deferred));
		json_object_object_add(p, "buckets_in_transition",
				       json_object_new_int64(r->pools[i].in_transition));
		json_object_object_add(p, "created", json_object_new_boolean(r->pools[i].created));
		json_object_object_add(p, "all_drained", json_object_new_boolean(r->pools[i].all_drained));
		json_object_array_add(pools, p);
	}
	json_object_object_add(o, "self", json_object_new_int(r->self));
	if (dev)
		json_object_object_add(o, "dev", json_object_new_string(dev));
	json_object_object_add(o, "pools", pools);
	json_object_object_add(o, "pools_dropped", json_object_new_int64((int64_t)r->pools_dropped));
	json_object_object_add(o, "nodes_added", json_object_new_int64((int64_t)r->nodes_added));
	json_object_object_add(o, "nodes_updated", json_object_new_int64((int64_t)r->nodes_updated));
	json_object_object_add(o, "nodes_retired", json_object_new_int64((int64_t)r->nodes_retired));
	json_object_object_add(o, "nodes_freed", json_object_new_int64((int64_t)r->nodes_freed));
	json_object_object_add(o, "vips", json_object_new_int64((int64_t)r->vips));
	json_object_object_add(o, "vips_changed", json_object_new_boolean(r->vips_changed));
	return o;
}

static void report_print(const struct shoal_apply_report *r, const struct shoal_cluster *c,
			 const char *dev)
{
	char nb[40];
	size_t i;

	if (opt.json) {
		json_print(report_json(r, dev));
		return;
	}
	printf("applied: this node is %s (id %u)%s%s\n", node_name(c, NULL, r->self, nb, sizeof(nb)),
	       r->self, dev ? ", attached to " : "", dev ? dev : "");
	for (i = 0; i < r->npools; i++) {
		printf("  pool %-16s generation %llu, %u buckets moved%s, %u in transition", r->pools[i].name,
		       (unsigned long long)r->pools[i].gen, r->pools[i].moved,
		       r->pools[i].created ? " (new)" : "", r->pools[i].in_transition);
		if (r->pools[i].deferred)
			printf(", %u kept by their owner until their transition ends", r->pools[i].deferred);
		if (r->pools[i].all_drained)
			printf("; every member is drained, so none is (the pool would serve nobody)");
		printf("\n");
	}
	printf("  nodes: %zu added, %zu updated, %zu left (kept while they drain), %zu freed\n",
	       r->nodes_added, r->nodes_updated, r->nodes_retired, r->nodes_freed);
	printf("  vips: %zu%s\n", r->vips, r->vips_changed ? " (changed)" : "");
	if (r->gue_nodes)
		printf("  gue: %zu peers, fabric MTU %u, %zu next hops unresolved%s%s\n", r->gue_nodes,
		       r->fabric_mtu, r->nexthops_unresolved, r->nexthops_unresolved ? ": " : "",
		       r->nexthops_unresolved ? r->nexthop_error : "");
}

static int do_apply_model(struct shoal *s, const struct shoal_cluster *c, __u16 self, bool force,
			  const struct shoal_base *base, const char *dev, enum shoal_xdp_mode mode)
{
	struct shoal_apply_opts o = { .self = self, .force = force, .base = base, .dev = dev };
	struct shoal_apply_report rep;
	char err[512] = "";
	int ret;

	ret = shoal_cluster_apply(s, c, &o, &rep, err, sizeof(err));
	if (ret)
		return error("%s", err[0] ? err : strerror(-ret));
	/* The program serves the config from its first packet: attach after the tables. */
	if (dev) {
		ret = shoal_attach(s, dev, mode);
		if (ret) {
			lib_error("attach", ret);
			return error("the config is applied, but the program is not attached to %s", dev);
		}
	}
	report_print(&rep, c, dev);
	return EXIT_OK;
}

static int cmd_apply(int argc, char **argv)
{
	static const char *const kw[] = { "dev", "node", "mode", "force", "check", "base", NULL };
	const char *file = NULL, *dev = NULL, *node = NULL, *base_file = NULL;
	struct shoal_base base = {};
	enum shoal_xdp_mode mode = SHOAL_XDP_NATIVE;
	bool force = false, check = false, created = false;
	struct shoal_cluster c;
	struct shoal *s = NULL;
	char err[512], found_dev[IF_NAMESIZE] = "";
	__u16 self = 0;
	int ret, i;

	if (argc < 1 || is_help(argv[0])) {
		fputs(apply_help, argc < 1 ? stderr : stdout);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	file = argv[0];
	for (i = 1; i < argc; i++) {
		switch (match(argv[i], kw)) {
		case 0:
			if (++i >= argc)
				return usage_error("dev needs an interface name");
			dev = argv[i];
			break;
		case 1:
			if (++i >= argc)
				return usage_error("node needs a node name");
			node = argv[i];
			break;
		case 2:
			if (++i >= argc)
				return usage_error("mode needs native or generic");
			if (is_prefix(argv[i], "native"))
				mode = SHOAL_XDP_NATIVE;
			else if (is_prefix(argv[i], "generic"))
				mode = SHOAL_XDP_GENERIC;
			else
				return usage_error("mode: '%s' is not native or generic", argv[i]);
			break;
		case 3:
			force = true;
			break;
		case 4:
			check = true;
			break;
		case 5:
			if (++i >= argc)
				return usage_error("base needs a file from 'shoalctl table export'");
			base_file = argv[i];
			break;
		default:
			return usage_error("apply: unexpected '%s'", argv[i]);
		}
	}

	ret = shoal_config_load(file, &c, err, sizeof(err));
	if (ret)
		return error("%s", err);
	if (check) {
		if (opt.json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "valid", json_object_new_boolean(true));
			json_print(o);
		} else {
			printf("%s: valid (%zu nodes, %zu pools, %zu vips)\n", file, c.nnodes,
			       c.npools, c.nvips);
		}
		shoal_cluster_free(&c);
		return EXIT_OK;
	}
	if (base_file && shoal_base_read(base_file, &base, err, sizeof(err))) {
		shoal_cluster_free(&c);
		return error("%s", err);
	}

	if (node) {
		struct shoal_node_cfg *n = shoal_cluster_node(&c, node);

		if (!n) {
			ret = error("%s: no node named '%s'", file, node);
			goto out;
		}
		self = n->id;
	}

	if (shoal_exists(pin_dir())) {
		ret = shoal_open(&s, pin_dir());
		if (ret) {
			ret = lib_error("open state", ret);
			goto out;
		}
	}
	if (!self && (!s || !shoal_conf(s)->self)) {
		ret = shoal_detect_node(&c, dev, &self, found_dev, sizeof(found_dev));
		if (ret == -EEXIST)
			ret = error("%s: several local interfaces carry nodes' MACs; name the node and the uplink (node NAME dev IFNAME)",
				    file);
		else if (ret)
			ret = error("%s: no local interface%s%s has a MAC listed in the config; name the node (node NAME) and the uplink (dev IFNAME)",
				    file, dev ? " named " : "", dev ? dev : "");
		if (ret)
			goto out;
		if (!dev)
			dev = found_dev;
	}
	if (!dev) {
		int ifindex = 0;

		if (s)
			shoal_attachment(s, &ifindex, NULL);
		/* Not attached (first apply, or the device went away): find the uplink. */
		if (!ifindex) {
			__u16 want = self ? self : shoal_conf(s)->self, dummy = 0;
			struct shoal_cluster one = c;

			one.nodes = shoal_cluster_node_id(&c, want);
			one.nnodes = one.nodes ? 1 : 0;
			if (!one.nnodes ||
			    shoal_detect_node(&one, NULL, &dummy, found_dev, sizeof(found_dev))) {
				ret = error("this node's MAC is on no local interface (or on several); give the uplink (dev IFNAME)");
				goto out;
			}
			dev = found_dev;
		}
	}

	if (!s) {
		char why[256];

		ret = shoal_cluster_create(&s, pin_dir(), &c, dev, why, sizeof(why));
		if (ret) {
			ret = lib_error("create data plane", ret);
			goto out;
		}
		created = true;
		if (opt.verbose || c.flow_hash != SHOAL_FH_SOFTWARE)
			printf("flows are keyed on %s\n", why);
	}

	ret = do_apply_model(s, &c, self, force, base_file ? &base : NULL, dev, mode);
	if (ret && created) {
		shoal_destroy(s);
		s = NULL;
	}
out:
	shoal_close(s);
	shoal_cluster_free(&c);
	shoal_base_free(&base);
	return ret;
}

/* ---- the daemon's control socket ---- */

/* One request to shoald; NULL when no daemon answers. */
static struct json_object *daemon_call(const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = opt.socket ? opt.socket : "/run/shoal/shoald.sock";
	struct timeval tv = { 3, 0 };
	char req[128], buf[1 << 16];
	size_t len = 0;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* The send timeout bounds connect() too: a stuck daemon's full backlog must not hang us. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (void *)&sa, sizeof(sa))) {
		close(fd);
		return NULL;
	}
	snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}\n", cmd);
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return json_tokener_parse(buf);
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *x;

	return json_object_object_get_ex(o, k, &x) && x ? json_object_get_string(x) : NULL;
}

/* ---- list, in the spirit of ipvsadm -Ln ---- */

/* Connections on this host for a VIP: established, and in any other state. */
static void local_conns(const struct shoal_addr *a, __u16 port, long *active, long *inactive)
{
	const char *file = a->family == 6 ? "/proc/net/tcp6" : "/proc/net/tcp";
	char line[512];
	FILE *f = fopen(file, "r");

	*active = *inactive = 0;
	if (!f) {
		*active = *inactive = -1;
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char local[64];
		unsigned int st, lp;
		__u32 w[4] = { 0 };

		if (sscanf(line, "%*d: %63[0-9A-Fa-f]:%x %*s %x", local, &lp, &st) != 3)
			continue;
		if (a->family == 4) {
			if (sscanf(local, "%8x", &w[0]) != 1 || w[0] != a->a[0])
				continue;
		} else if (sscanf(local, "%8x%8x%8x%8x", &w[0], &w[1], &w[2], &w[3]) != 4 ||
			   memcmp(w, a->a, 16)) {
			continue;
		}
		if ((port && lp != port) || st == 0x0A /* listening */)
			continue;
		if (st == 0x01)
			(*active)++;
		else
			(*inactive)++;
	}
	fclose(f);
}

static int cmd_list(int argc, char **argv)
{
	struct json_object *arr = opt.json ? json_object_new_array() : NULL;
	struct json_object *st = NULL, *peers = NULL;
	struct shoal_counter *c0 = NULL, *c1 = NULL;
	struct shoal_cluster c;
	struct shoal_vip *slots;
	bool stats = false, rate = false;
	struct shoal *s;
	int i, ret;
	size_t k;

	for (i = 0; i < argc; i++) {
		if (is_help(argv[i])) {
			printf("Usage: shoalctl list [--stats | --rate]\n\n"
			       "VIPs and the nodes behind them, as ipvsadm -Ln shows a virtual service:\n"
			       "forward method (Local here, Route to a peer on the segment), weight,\n"
			       "state (from shoald when it runs: dead or unhealthy peers), and this\n"
			       "host's active and inactive connections. --stats adds packets and bytes\n"
			       "seen for each VIP on this node; --rate measures them over one second.\n");
			json_object_put(arr);
			return EXIT_OK;
		}
		if (!strcmp(argv[i], "--stats") || !strcmp(argv[i], "stats"))
			stats = true;
		else if (!strcmp(argv[i], "--rate") || !strcmp(argv[i], "rate"))
			rate = true;
		else {
			json_object_put(arr);
			return usage_error("list: unexpected '%s'", argv[i]);
		}
	}
	ret = open_model(&s, &c, false);
	if (ret) {
		json_object_put(arr);
		return ret;
	}
	st = daemon_call("status");
	if (st)
		json_object_object_get_ex(st, "peers", &peers);
	slots = malloc(sizeof(*slots) * SHOAL_VIP_SLOTS);
	c0 = calloc(SHOAL_MAX_VIPS, sizeof(*c0));
	c1 = calloc(SHOAL_MAX_VIPS, sizeof(*c1));
	if (!slots || !c0 || !c1) {
		ret = error("out of memory");
		goto out;
	}
	shoal_vips_read(s, slots);
	for (i = 0; i < SHOAL_VIP_SLOTS; i++) {
		if (slots[i].family)
			shoal_vipstats_read(s, slots[i].id, &c0[slots[i].id]);
	}
	if (rate) {
		sleep(1);
		for (i = 0; i < SHOAL_VIP_SLOTS; i++) {
			if (slots[i].family)
				shoal_vipstats_read(s, slots[i].id, &c1[slots[i].id]);
		}
	}
	if (!arr) {
		char nb[40];

		printf("shoal on %s (id %u): %zu nodes, M=%u, %s\n",
		       node_name(&c, s, shoal_conf(s)->self, nb, sizeof(nb)), shoal_conf(s)->self,
		       c.nnodes, shoal_m(s), st ? "shoald running" : "no shoald");
		printf("Prot LocalAddress:Port                 Scheduler%s\n",
		       stats ? "      Pkts      Bytes" : rate ? "       PPS        BPS" : "");
		printf("  -> RemoteAddress:Port                Forward Weight State      ActiveConn InActConn\n");
	}
	for (i = 0; i < SHOAL_VIP_SLOTS; i++) {
		struct shoal_vip *v = &slots[i];
		struct shoal_addr a = { .family = v->family };
		struct json_object *jv = NULL, *jn = NULL;
		const struct shoal_pool_cfg *pc = NULL;
		char as[SHOAL_ADDRSTRLEN], ep[96];
		__u16 port;

		if (!v->family)
			continue;
		memcpy(a.a, v->addr, sizeof(a.a));
		port = ntohs(v->port);
		shoal_format_addr(&a, as);
		for (k = 0; k < c.nvips; k++) {
			if (shoal_addr_eq(&c.vips[k].addr, &a) && c.vips[k].port == port &&
			    c.vips[k].proto == v->proto)
				pc = shoal_cluster_pool(&c, c.vips[k].pool);
		}
		snprintf(ep, sizeof(ep), a.family == 6 ? "[%s]:%u" : "%s:%u", as, port);
		if (arr) {
			jv = json_object_new_object();
			json_object_object_add(jv, "protocol", json_object_new_string(shoal_proto_name(v->proto)));
			json_object_object_add(jv, "address", json_object_new_string(as));
			json_object_object_add(jv, "port", json_object_new_int(port));
			json_object_object_add(jv, "scheduler", json_object_new_string("maglev"));
			json_object_object_add(jv, "packets", json_object_new_int64((int64_t)c0[v->id].packets));
			json_object_object_add(jv, "bytes", json_object_new_int64((int64_t)c0[v->id].bytes));
			if (rate) {
				json_object_object_add(jv, "pps", json_object_new_int64(
					(int64_t)(c1[v->id].packets - c0[v->id].packets)));
				json_object_object_add(jv, "bps", json_object_new_int64(
					(int64_t)(c1[v->id].bytes - c0[v->id].bytes)));
			}
			jn = json_object_new_array();
		} else {
			printf("%-4s %-34s maglev", v->proto == IPPROTO_TCP ? "TCP" : "UDP", ep);
			if (stats)
				printf("    %10llu %10llu", (unsigned long long)c0[v->id].packets,
				       (unsigned long long)c0[v->id].bytes);
			else if (rate)
				printf("    %10llu %10llu",
				       (unsigned long long)(c1[v->id].packets - c0[v->id].packets),
				       (unsigned long long)(c1[v->id].bytes - c0[v->id].bytes));
			printf("\n");
		}
		for (k = 0; pc && k < pc->nmembers; k++) {
			const struct shoal_node_cfg *n = shoal_cluster_node_id(&c, pc->members[k]);
			bool self = n->id == shoal_conf(s)->self;
			const char *state = n->drained ? "drained" : "active";
			char na[SHOAL_ADDRSTRLEN], rp[96];
			long act = -1, inact = -1;
			size_t q;

			for (q = 0; peers && q < json_object_array_length(peers); q++) {
				struct json_object *pj = json_object_array_get_idx(peers, q), *x;

				if (json_object_object_get_ex(pj, "id", &x) && json_object_get_int(x) == n->id) {
					if (json_object_object_get_ex(pj, "counts", &x) && !json_object_get_boolean(x))
						state = "dead";
					else if (json_object_object_get_ex(pj, "healthy", &x) &&
						 !json_object_get_boolean(x))
						state = "unhealthy";
				}
			}
			if (self)
				local_conns(&a, port, &act, &inact);
			shoal_format_addr(&n->addr, na);
			snprintf(rp, sizeof(rp), n->addr.family == 6 ? "[%s]:%u" : "%s:%u", na, port);
			if (arr) {
				struct json_object *x = json_object_new_object();

				json_object_object_add(x, "node", json_object_new_string(n->name));
				json_object_object_add(x, "address", json_object_new_string(na));
				json_object_object_add(x, "forward", json_object_new_string(self ? "local" : "route"));
				json_object_object_add(x, "weight", json_object_new_int64(n->weight));
				json_object_object_add(x, "state", json_object_new_string(state));
				json_object_object_add(x, "active_conns", act >= 0 ? json_object_new_int64(act) : NULL);
				json_object_object_add(x, "inactive_conns", inact >= 0 ? json_object_new_int64(inact) : NULL);
				json_object_array_add(jn, x);
			} else if (act >= 0) {
				printf("  -> %-34s %-7s %-6u %-10s %-10ld %ld\n", rp, self ? "Local" : "Route",
				       n->weight, state, act, inact);
			} else {
				printf("  -> %-34s %-7s %-6u %-10s %-10s %s\n", rp, self ? "Local" : "Route",
				       n->weight, state, "-", "-");
			}
		}
		if (arr) {
			json_object_object_add(jv, "nodes", jn);
			json_object_array_add(arr, jv);
		}
	}
	if (arr) {
		json_print(arr);
		arr = NULL;
	}
	ret = EXIT_OK;
out:
	json_object_put(arr);
	json_object_put(st);
	free(slots);
	free(c0);
	free(c1);
	shoal_cluster_free(&c);
	shoal_close(s);
	return ret;
}

/* ---- upgrade ---- */

static int cmd_upgrade(int argc, char **argv)
{
	__u32 old_id, new_id;
	struct shoal *s;
	int ret;

	if (argc && is_help(argv[0])) {
		printf("Usage: shoalctl upgrade [OBJECT]\n\n"
		       "Replace the running XDP program with the one in OBJECT (default: the one\n"
		       "built into this shoalctl), keeping tables, VIPs and counters. The attached\n"
		       "link swaps programs in one step: no packet goes unprocessed.\n"
		       "Where flows are keyed on the NIC's RX hash (flow_hash: nic), OBJECT must\n"
		       "be the RX-hash build (shoal_nic.bpf.o), and elsewhere the software build\n"
		       "(shoal.bpf.o). The RX-hash build is loaded bound to the uplink again.\n");
		return EXIT_OK;
	}
	if (argc > 1)
		return usage_error("upgrade takes at most one object file");
	ret = open_state(&s);
	if (ret)
		return ret;
	ret = shoal_upgrade(s, argc ? argv[0] : NULL, false, &old_id, &new_id);
	shoal_close(s);
	if (ret)
		return lib_error("upgrade", ret);
	if (opt.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "old_prog_id", json_object_new_int64(old_id));
		json_object_object_add(o, "new_prog_id", json_object_new_int64(new_id));
		json_print(o);
	} else {
		printf("upgraded: program %u replaced by %u; maps and counters kept\n", old_id, new_id);
	}
	return EXIT_OK;
}

/* ---- detach / status ---- */

static int cmd_detach(int argc, char **argv)
{
	struct shoal *s;
	int ret;

	if (argc && is_help(argv[0])) {
		printf("Usage: shoalctl detach\n\nDetach the XDP program and remove all pinned state.\n");
		return EXIT_OK;
	}
	if (argc)
		return usage_error("detach takes no arguments");
	if (!shoal_exists(pin_dir()))
		return error("no shoal data plane at %s", pin_dir());
	/* State another version made cannot be opened, but can be removed. */
	ret = shoal_open(&s, pin_dir());
	ret = ret == -EPROTO ? shoal_purge(pin_dir()) : ret ? ret : shoal_destroy(s);
	if (ret)
		return lib_error("detach", ret);
	if (!opt.json)
		printf("detached; state under %s removed\n", pin_dir());
	else
		json_print(json_object_new_object());
	return EXIT_OK;
}

/* shoald's view, when one runs: health, peers, the last config error. */
static void print_daemon(void)
{
	struct json_object *st = daemon_call("status"), *x;
	size_t i;

	if (!st) {
		printf("shoald    not running (or not at its socket)\n");
		return;
	}
	printf("shoald    %s, service %s, config %s\n", jstr(st, "state"),
	       json_object_object_get_ex(st, "healthy", &x) && json_object_get_boolean(x) ?
	       "healthy" : "FAILING", jstr(st, "config"));
	if (jstr(st, "reload_error"))
		printf("  config error: %s (the last good config keeps serving)\n",
		       jstr(st, "reload_error"));
	if (jstr(st, "apply_error"))
		printf("  apply error: %s\n", jstr(st, "apply_error"));
	if (jstr(st, "nexthop_error"))
		printf("  GUE next hop missing: %s\n", jstr(st, "nexthop_error"));
	if (json_object_object_get_ex(st, "pools_all_drained", &x)) {
		for (i = 0; i < json_object_array_length(x); i++)
			printf("  pool %s: EVERY MEMBER DRAINED, so none is (the pool would serve nobody)\n",
			       json_object_get_string(json_object_array_get_idx(x, i)));
	}
	if (json_object_object_get_ex(st, "checks", &x)) {
		for (i = 0; i < json_object_array_length(x); i++) {
			struct json_object *k = json_object_array_get_idx(x, i), *h;

			printf("  check %-40s %s%s%s\n", jstr(k, "check"),
			       json_object_object_get_ex(k, "healthy", &h) && json_object_get_boolean(h) ?
			       "up" : "DOWN", jstr(k, "last_error") ? ": " : "",
			       jstr(k, "last_error") ? jstr(k, "last_error") : "");
		}
	}
	if (json_object_object_get_ex(st, "peers", &x)) {
		for (i = 0; i < json_object_array_length(x); i++) {
			struct json_object *p = json_object_array_get_idx(x, i), *h, *seen, *g;
			char heard[48] = "never heard";

			json_object_object_get_ex(p, "healthy", &h);
			json_object_object_get_ex(p, "last_seen_ms", &seen);
			if (json_object_get_int64(seen) >= 0)
				snprintf(heard, sizeof(heard), "last heard %lld ms ago",
					 (long long)json_object_get_int64(seen));
			printf("  peer  %-12s %-16s %-8s %s, %s", jstr(p, "name"), jstr(p, "address"),
			       jstr(p, "state"), json_object_get_boolean(h) ? "healthy" : "failing",
			       heard);
			if (json_object_object_get_ex(p, "restart_grace_ms", &g) &&
			    json_object_get_int64(g) > 0)
				printf(", restarting (grace %lld ms)", (long long)json_object_get_int64(g));
			printf("\n");
		}
	}
	json_object_put(st);
}

static void counters_by_action(const struct shoal_counter *c, __u64 out[3])
{
	int r;

	out[0] = out[1] = out[2] = 0;
	for (r = 0; r < SHOAL_R_MAX; r++) {
		int a = shoal_reason_action(r);

		out[a == XDP_PASS ? 0 : a == XDP_TX ? 1 : 2] += c[r].packets;
	}
}

static int cmd_status(int argc, char **argv)
{
	struct shoal_counter ctr[SHOAL_R_MAX];
	struct shoal_cluster c;
	enum shoal_xdp_mode mode;
	struct shoal *s;
	char ifname[IF_NAMESIZE] = "-", nb[40], dur[32];
	__u64 by[3];
	int ifindex, ret;
	volatile struct shoal_conf *conf;

	if (argc && is_help(argv[0])) {
		printf("Usage: shoalctl status\n\nWhere shoal is attached, who this node is, and a summary of its state.\n");
		return EXIT_OK;
	}
	ret = open_state(&s);
	if (ret)
		return ret;
	conf = shoal_conf(s);
	shoal_attachment(s, &ifindex, &mode);
	if (ifindex && !if_indextoname((unsigned)ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "ifindex %d", ifindex);
	ret = shoal_cluster_read(s, &c);
	if (!ret)
		ret = shoal_stats_read(s, ctr);
	if (ret) {
		shoal_close(s);
		return lib_error("read state", ret);
	}
	counters_by_action(ctr, by);
	shoal_format_duration(conf->drain_ns, dur, sizeof(dur));
	if (opt.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "pin_dir", json_object_new_string(pin_dir()));
		json_object_object_add(o, "attached", json_object_new_boolean(ifindex != 0));
		json_object_object_add(o, "dev", ifindex ? json_object_new_string(ifname) : NULL);
		json_object_object_add(o, "mode", json_object_new_string(mode == SHOAL_XDP_GENERIC ?
									 "generic" : "native"));
		json_object_object_add(o, "self", json_object_new_int(conf->self));
		json_object_object_add(o, "self_name", json_object_new_string(
			node_name(&c, s, conf->self, nb, sizeof(nb))));
		json_object_object_add(o, "buckets", json_object_new_int64(conf->m));
		json_object_object_add(o, "drain_seconds",
				       json_object_new_int64((int64_t)(conf->drain_ns / 1000000000ULL)));
		json_object_object_add(o, "nodes", json_object_new_int64((int64_t)c.nnodes));
		json_object_object_add(o, "pools", json_object_new_int64((int64_t)c.npools));
		json_object_object_add(o, "vips", json_object_new_int64((int64_t)c.nvips));
		{
			struct json_object *h = json_object_new_object(), *ev = json_object_new_object();
			__u64 e[SHOAL_E_MAX] = { 0 };
			int k;

			shoal_events_read(s, e);
			json_object_object_add(h, "source", json_object_new_string(
				conf->flow_hash == SHOAL_HASH_NIC ? "nic" : "software"));
			for (k = 0; k < SHOAL_E_MAX; k++)
				json_object_object_add(ev, shoal_event_name(k), json_object_new_int64((int64_t)e[k]));
			json_object_object_add(h, "fallbacks", ev);
			json_object_object_add(o, "flow_hash", h);
		}
		if (conf->self_family) {
			struct json_object *g = json_object_new_object();
			struct shoal_addr sa = { .family = conf->self_family };
			char sas[SHOAL_ADDRSTRLEN];

			memcpy(sa.a, (const void *)conf->self_addr, sizeof(sa.a));
			json_object_object_add(g, "address", json_object_new_string(shoal_format_addr(&sa, sas)));
			json_object_object_add(g, "port", json_object_new_int(ntohs(conf->gue_port)));
			json_object_object_add(g, "inner_mtu", json_object_new_int(conf->gue_mtu));
			json_object_object_add(o, "gue", g);
		}
		json_object_object_add(o, "packets_pass", json_object_new_int64((int64_t)by[0]));
		json_object_object_add(o, "packets_tx", json_object_new_int64((int64_t)by[1]));
		json_object_object_add(o, "packets_drop", json_object_new_int64((int64_t)by[2]));
		json_object_object_add(o, "daemon", daemon_call("status"));
		json_print(o);
	} else {
		printf("state     %s\n", pin_dir());
		if (ifindex)
			printf("attached  %s (%s XDP)\n", ifname,
			       mode == SHOAL_XDP_GENERIC ? "generic" : "native");
		else
			printf("attached  no\n");
		printf("node      %s (id %u)\n", node_name(&c, s, conf->self, nb, sizeof(nb)),
		       conf->self);
		printf("cluster   %zu nodes, %zu pools, %zu vips, M=%u, drain %s\n", c.nnodes,
		       c.npools, c.nvips, conf->m, dur);
		if (conf->flow_hash == SHOAL_HASH_NIC) {
			__u64 e[SHOAL_E_MAX] = { 0 };
			char ifn[IF_NAMESIZE] = "?";

			shoal_events_read(s, e);
			if_indextoname(conf->hash_ifindex, ifn);
			printf("hash      the NIC's RX hash on %s; fallbacks to software: %llu without one, %llu not over the ports, %llu ICMP errors\n",
			       ifn, (unsigned long long)e[SHOAL_E_HASH_NO_NIC],
			       (unsigned long long)e[SHOAL_E_HASH_NOT_L4], (unsigned long long)e[SHOAL_E_HASH_ICMP]);
		} else {
			printf("hash      software (keyed 5-tuple hash)\n");
		}
		if (conf->self_family) {
			struct shoal_addr sa = { .family = conf->self_family };
			char sas[SHOAL_ADDRSTRLEN];

			memcpy(sa.a, (const void *)conf->self_addr, sizeof(sa.a));
			printf("gue       %s, UDP %u; packets up to %u bytes fit the fabric\n",
			       shoal_format_addr(&sa, sas), ntohs(conf->gue_port), conf->gue_mtu);
		}
		printf("packets   %llu passed, %llu forwarded, %llu dropped\n",
		       (unsigned long long)by[0], (unsigned long long)by[1],
		       (unsigned long long)by[2]);
		print_daemon();
	}
	shoal_cluster_free(&c);
	shoal_close(s);
	return EXIT_OK;
}

/* ---- tables ---- */

struct share {
	__u32 owned;
	__u32 prev;		/* buckets listing the node as a live previous owner */
};

static int table_of(struct shoal *s, const struct shoal_cluster *c, const char *pool,
		    struct shoal_bucket **out, __u8 *pool_id)
{
	struct shoal_pool p;
	int i, ret;

	(void)c;
	for (i = 0; i < SHOAL_MAX_POOLS; i++) {
		if (shoal_pool_get(s, (__u8)i, &p) == 0 && (p.flags & SHOAL_POOL_F_VALID) &&
		    !strncmp(p.name, pool, SHOAL_NAME_LEN))
			break;
	}
	if (i == SHOAL_MAX_POOLS)
		return -ENOENT;
	*pool_id = (__u8)i;
	*out = malloc(sizeof(**out) * shoal_m(s));
	if (!*out)
		return -ENOMEM;
	ret = shoal_table_read(s, (__u8)i, *out);
	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

static const char table_help[] =
	"Usage: shoalctl table show [POOL] [buckets FIRST[-LAST]]\n"
	"       shoalctl table export [FILE]\n"
	"\n"
	"Bucket shares per node next to their weight shares, previous-owner counts,\n"
	"the generation and a digest of the owners (equal digests on two nodes mean\n"
	"equal tables). With buckets, list individual buckets and their chains.\n"
	"\n"
	"export writes this node's tables - owners, previous owners and their time\n"
	"left - and the nodes they name, as JSON (stdout by default), for another\n"
	"node to start from: shoalctl apply FILE base EXPORT.\n";

static int show_pool(struct shoal *s, const struct shoal_cluster *c, const struct shoal_pool_cfg *pc,
		     long first, long last, struct json_object *arr)
{
	struct share *sh = calloc(SHOAL_MAX_NODES, sizeof(*sh));
	struct shoal_bucket *t = NULL;
	struct shoal_pool pool;
	__u32 m = shoal_m(s), now = shoal_now_ticks(), b, transition = 0;
	__u16 *owners = NULL;
	__u64 wsum = 0;
	bool all_drained;
	__u8 pid;
	size_t i;
	int ret, k;
	char nb[40];

	if (!sh)
		return -ENOMEM;
	ret = table_of(s, c, pc->name, &t, &pid);
	if (ret) {
		free(sh);
		return ret;
	}
	shoal_pool_get(s, pid, &pool);
	owners = malloc(sizeof(*owners) * m);
	for (b = 0; b < m; b++) {
		owners[b] = t[b].owner;
		sh[t[b].owner].owned++;
		if (bucket_in_transition(&t[b], now))
			transition++;
		for (k = 0; k < SHOAL_MAX_PREV && t[b].prev[k]; k++) {
			if ((__s32)(t[b].expire[k] - now) > 0)
				sh[t[b].prev[k]].prev++;
		}
	}
	all_drained = shoal_pool_all_drained(c, pc);
	for (i = 0; i < pc->nmembers; i++)
		wsum += shoal_pool_weight(shoal_cluster_node_id(c, pc->members[i]), all_drained);

	if (arr) {
		struct json_object *o = json_object_new_object(), *nodes = json_object_new_array();
		char dg[24];

		snprintf(dg, sizeof(dg), "%016llx", (unsigned long long)maglev_digest(owners, m));
		json_object_object_add(o, "pool", json_object_new_string(pc->name));
		json_object_object_add(o, "generation", json_object_new_int64((int64_t)pool.gen));
		json_object_object_add(o, "buckets", json_object_new_int64(m));
		json_object_object_add(o, "digest", json_object_new_string(dg));
		json_object_object_add(o, "in_transition", json_object_new_int64(transition));
		json_object_object_add(o, "all_drained", json_object_new_boolean(all_drained));
		for (i = 0; i < pc->nmembers; i++) {
			__u16 id = pc->members[i];
			const struct shoal_node_cfg *n = shoal_cluster_node_id(c, id);
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "node", json_object_new_string(n->name));
			json_object_object_add(x, "id", json_object_new_int(id));
			json_object_object_add(x, "weight", json_object_new_int64(n->weight));
			json_object_object_add(x, "drained", json_object_new_boolean(n->drained));
			json_object_object_add(x, "buckets", json_object_new_int64(sh[id].owned));
			json_object_object_add(x, "share", json_object_new_double((double)sh[id].owned / m));
			json_object_object_add(x, "weight_share", json_object_new_double(
				wsum ? (double)shoal_pool_weight(n, all_drained) / (double)wsum : 0));
			json_object_object_add(x, "previous_owner_of", json_object_new_int64(sh[id].prev));
			json_object_array_add(nodes, x);
		}
		json_object_object_add(o, "nodes", nodes);
		if (first >= 0) {
			struct json_object *bl = json_object_new_array();

			for (b = (__u32)first; b <= (__u32)last && b < m; b++) {
				struct json_object *x = json_object_new_object(), *pl = json_object_new_array();

				json_object_object_add(x, "bucket", json_object_new_int64(b));
				json_object_object_add(x, "owner", json_object_new_int(t[b].owner));
				for (k = 0; k < SHOAL_MAX_PREV && t[b].prev[k]; k++) {
					struct json_object *pv = json_object_new_object();

					json_object_object_add(pv, "node", json_object_new_int(t[b].prev[k]));
					json_object_object_add(pv, "expires_in_seconds", json_object_new_int64(
						(int64_t)((__s32)(t[b].expire[k] - now) *
							  (double)(1ULL << SHOAL_TICK_SHIFT) / 1e9)));
					json_object_array_add(pl, pv);
				}
				json_object_object_add(x, "previous", pl);
				json_object_array_add(bl, x);
			}
			json_object_object_add(o, "bucket_list", bl);
		}
		json_object_array_add(arr, o);
	} else {
		struct table tb;

		printf("pool %s: generation %llu, %u buckets, %u in transition, digest %016llx\n",
		       pc->name, (unsigned long long)pool.gen, m, transition,
		       (unsigned long long)maglev_digest(owners, m));
		if (all_drained)
			printf("every member is drained: none is, or the pool would serve nobody\n");
		tbl_init(&tb, 6, "NODE", "WEIGHT", "BUCKETS", "SHARE", "WEIGHT SHARE", "PREV OWNER OF");
		tb.right[1] = tb.right[2] = tb.right[3] = tb.right[4] = tb.right[5] = true;
		for (i = 0; i < pc->nmembers; i++) {
			__u16 id = pc->members[i];
			const struct shoal_node_cfg *n = shoal_cluster_node_id(c, id);

			tbl_row(&tb);
			tbl_set(&tb, 0, "%s%s", n->name, n->drained ? " (drained)" : "");
			tbl_set(&tb, 1, "%u", n->weight);
			tbl_set(&tb, 2, "%u", sh[id].owned);
			tbl_set(&tb, 3, "%.2f%%", 100.0 * sh[id].owned / m);
			tbl_set(&tb, 4, "%.2f%%", wsum ? 100.0 * shoal_pool_weight(n, all_drained) / (double)wsum : 0.0);
			tbl_set(&tb, 5, "%u", sh[id].prev);
		}
		tbl_print(&tb);
		if (first >= 0) {
			printf("\n");
			tbl_init(&tb, 3, "BUCKET", "OWNER", "PREVIOUS (expires in)");
			for (b = (__u32)first; b <= (__u32)last && b < m; b++) {
				char chain[160] = "";
				size_t off = 0;

				tbl_row(&tb);
				tbl_set(&tb, 0, "%u", b);
				tbl_set(&tb, 1, "%s", node_name(c, s, t[b].owner, nb, sizeof(nb)));
				for (k = 0; k < SHOAL_MAX_PREV && t[b].prev[k]; k++) {
					double left = (__s32)(t[b].expire[k] - now) *
						      (double)(1ULL << SHOAL_TICK_SHIFT) / 1e9;
					char when[24];

					if (left > 0)
						snprintf(when, sizeof(when), "%.0fs", left);
					else
						snprintf(when, sizeof(when), "expired");
					off += (size_t)snprintf(chain + off, sizeof(chain) - off, "%s%s (%s)",
								k ? ", " : "",
								node_name(c, s, t[b].prev[k], nb, sizeof(nb)),
								when);
					if (off >= sizeof(chain))
						off = sizeof(chain) - 1;
				}
				tbl_set(&tb, 2, "%s", off ? chain : "-");
			}
			tbl_print(&tb);
		}
	}
	free(owners);
	free(t);
	free(sh);
	return 0;
}

static int cmd_table(int argc, char **argv)
{
	static const char *const verbs[] = { "show", "help", "export", NULL };
	struct json_object *arr = opt.json ? json_object_new_array() : NULL;
	struct shoal_cluster c;
	const char *pool = NULL;
	long first = -1, last = -1;
	struct shoal *s;
	size_t i;
	int ret, v = argc ? match(argv[0], verbs) : 0;

	if (v == 1 || (argc > 1 && is_help(argv[1]))) {
		fputs(table_help, stdout);
		json_object_put(arr);
		return EXIT_OK;
	}
	if (v == 2) {
		FILE *f = stdout;

		json_object_put(arr);
		if (argc > 2)
			return usage_error("table export [FILE]");
		ret = open_state(&s);
		if (ret)
			return ret;
		if (argc == 2 && !(f = fopen(argv[1], "w"))) {
			shoal_close(s);
			return error("%s: %s", argv[1], strerror(errno));
		}
		ret = shoal_base_write(s, f);
		if (f != stdout && fclose(f) && !ret)
			ret = -EIO;
		shoal_close(s);
		return ret ? lib_error("export tables", ret) : EXIT_OK;
	}
	if (v != 0) {
		json_object_put(arr);
		return usage_error("table: unknown command '%s'", argv[0]);
	}
	for (i = 1; i < (size_t)argc; i++) {
		if (is_prefix(argv[i], "buckets") && i + 1 < (size_t)argc) {
			unsigned long long a, z;
			char range[64], *dash;

			snprintf(range, sizeof(range), "%s", argv[++i]);
			dash = strchr(range, '-');
			if (dash)
				*dash = '\0';
			if (shoal_parse_uint(range, SHOAL_M_MAX, &a) ||
			    (dash ? shoal_parse_uint(dash + 1, SHOAL_M_MAX, &z) : (z = a, 0)) || z < a) {
				json_object_put(arr);
				return usage_error("buckets: expected FIRST or FIRST-LAST");
			}
			first = (long)a;
			last = (long)z;
		} else if (!pool) {
			pool = argv[i];
		} else {
			json_object_put(arr);
			return usage_error("table show: unexpected '%s'", argv[i]);
		}
	}
	ret = open_state(&s);
	if (ret) {
		json_object_put(arr);
		return ret;
	}
	ret = shoal_cluster_read(s, &c);
	if (ret) {
		shoal_close(s);
		json_object_put(arr);
		return lib_error("read state", ret);
	}
	if (pool && !shoal_cluster_pool(&c, pool)) {
		ret = error("no pool named '%s'", pool);
		goto out;
	}
	for (i = 0; i < c.npools; i++) {
		if (pool && strcmp(pool, c.pools[i].name))
			continue;
		if (!arr && i && !pool)
			printf("\n");
		if (show_pool(s, &c, &c.pools[i], first, last, arr)) {
			ret = error("pool %s: no table", c.pools[i].name);
			goto out;
		}
	}
	if (arr) {
		json_print(arr);
		arr = NULL;
	}
out:
	json_object_put(arr);
	shoal_cluster_free(&c);
	shoal_close(s);
	return ret;
}

/* ---- nodes ---- */

static const char node_help[] =
	"Usage: shoalctl node list\n"
	"       shoalctl node set NAME weight W\n"
	"       shoalctl node drain NAME       no new flows; its connections go on\n"
	"       shoalctl node undrain NAME\n"
	"       shoalctl node remove NAME      out of the cluster; forwardable while it drains\n"
	"\n"
	"Changes apply to this node's tables at once. Every node must make the same\n"
	"change (or apply the same config) for their tables to agree again.\n";

static int mutate_and_apply(struct shoal *s, struct shoal_cluster *c)
{
	return do_apply_model(s, c, 0, false, NULL, NULL, SHOAL_XDP_NATIVE);
}

static int cmd_node(int argc, char **argv)
{
	static const char *const verbs[] = { "list", "set", "drain", "undrain", "remove", "help",
					     NULL };
	struct shoal_cluster c;
	struct shoal_node_cfg *n = NULL;
	struct shoal *s;
	int v = argc ? match(argv[0], verbs) : 0, ret;

	if (v == 5 || (argc > 1 && is_help(argv[1]))) {
		fputs(node_help, stdout);
		return EXIT_OK;
	}
	if (v < 0)
		return usage_error("node: unknown or ambiguous command '%s'", argv[0]);
	if (v >= 1 && argc < 2)
		return usage_error("node %s needs a node name", verbs[v]);
	if (v == 1 && (argc != 4 || !is_prefix(argv[2], "weight")))
		return usage_error("usage: node set NAME weight W");
	if ((v >= 2 && argc != 2) || (v == 0 && argc > 1))
		return usage_error("node %s: unexpected arguments", verbs[v]);
	ret = open_model(&s, &c, v >= 1);
	if (ret)
		return ret;
	if (v >= 1) {
		n = shoal_cluster_node(&c, argv[1]);
		if (!n) {
			ret = error("no node named '%s'", argv[1]);
			goto out;
		}
	}

	switch (v) {
	case 0: {
		struct share *sh = calloc(SHOAL_MAX_NODES, sizeof(*sh));
		struct json_object *arr = opt.json ? json_object_new_array() : NULL;
		__u32 m = shoal_m(s), now = shoal_now_ticks(), b;
		struct table tb;
		size_t p;
		int id, k;

		for (p = 0; p < c.npools; p++) {
			struct shoal_bucket *t;
			__u8 pid;

			if (table_of(s, &c, c.pools[p].name, &t, &pid))
				continue;
			for (b = 0; b < m; b++) {
				sh[t[b].owner].owned++;
				for (k = 0; k < SHOAL_MAX_PREV && t[b].prev[k]; k++) {
					if ((__s32)(t[b].expire[k] - now) > 0)
						sh[t[b].prev[k]].prev++;
				}
			}
			free(t);
		}
		if (!arr) {
			tbl_init(&tb, 9, "NAME", "ID", "MAC", "ADDRESS", "FORWARD", "WEIGHT", "STATE",
				 "BUCKETS", "PREV OWNER OF");
			tb.right[1] = tb.right[5] = tb.right[7] = tb.right[8] = true;
		}
		/* Configured nodes, then those that left but still drain. */
		for (id = 1; id < SHOAL_MAX_NODES; id++) {
			struct shoal_node raw;
			char mac[18], addr[SHOAL_ADDRSTRLEN], hop[18], fwd[32];
			struct shoal_addr a;
			const char *state;
			bool gue;

			if (shoal_node_get(s, (__u16)id, &raw) || !(raw.flags & SHOAL_NODE_F_PEER))
				continue;
			shoal_format_mac(raw.mac, mac);
			shoal_format_mac(raw.hop_mac, hop);
			/* GUE: by which next hop (this node's own entry sends nothing). */
			gue = raw.flags & SHOAL_NODE_F_GUE;
			snprintf(fwd, sizeof(fwd), "%s%s%s", gue ? "gue" : "l2",
				 !gue || id == shoal_conf(s)->self ? "" : " via ",
				 !gue || id == shoal_conf(s)->self ? "" :
				 raw.flags & SHOAL_NODE_F_HOP ? hop : "(unresolved)");
			a.family = raw.family;
			memcpy(a.a, raw.addr, sizeof(a.a));
			shoal_format_addr(&a, addr);
			state = raw.flags & SHOAL_NODE_F_REMOVED ? "removed" :
				raw.flags & SHOAL_NODE_F_DRAINED ? "drained" : "active";
			if (arr) {
				struct json_object *x = json_object_new_object();

				json_object_object_add(x, "name", json_object_new_string_len(
					raw.name, (int)strnlen(raw.name, SHOAL_NAME_LEN)));
				json_object_object_add(x, "id", json_object_new_int(id));
				json_object_object_add(x, "mac", json_object_new_string(mac));
				json_object_object_add(x, "address", json_object_new_string(addr));
				json_object_object_add(x, "forwarding", json_object_new_string(gue ? "gue" : "l2"));
				if (gue && id != shoal_conf(s)->self)
					json_object_object_add(x, "next_hop", raw.flags & SHOAL_NODE_F_HOP ?
							       json_object_new_string(hop) : NULL);
				json_object_object_add(x, "weight", json_object_new_int(raw.weight));
				json_object_object_add(x, "state", json_object_new_string(state));
				json_object_object_add(x, "self", json_object_new_boolean(
					id == shoal_conf(s)->self));
				json_object_object_add(x, "buckets", json_object_new_int64(sh[id].owned));
				json_object_object_add(x, "previous_owner_of", json_object_new_int64(sh[id].prev));
				json_object_array_add(arr, x);
			} else {
				tbl_row(&tb);
				tbl_set(&tb, 0, "%.*s%s", SHOAL_NAME_LEN, raw.name,
					id == shoal_conf(s)->self ? " *" : "");
				tbl_set(&tb, 1, "%d", id);
				tbl_set(&tb, 2, "%s", mac);
				tbl_set(&tb, 3, "%s", addr);
				tbl_set(&tb, 4, "%s", fwd);
				tbl_set(&tb, 5, "%u", raw.weight);
				tbl_set(&tb, 6, "%s", state);
				tbl_set(&tb, 7, "%u", sh[id].owned);
				tbl_set(&tb, 8, "%u", sh[id].prev);
			}
		}
		if (arr)
			json_print(arr);
		else
			tbl_print(&tb);
		free(sh);
		ret = EXIT_OK;
		break;
	}
	case 1: {
		unsigned long long w;

		if (shoal_parse_uint(argv[3], SHOAL_WEIGHT_MAX, &w)) {
			ret = usage_error("weight: '%s' is not 0..%u", argv[3], SHOAL_WEIGHT_MAX);
			goto out;
		}
		n->weight = (__u32)w;
		ret = mutate_and_apply(s, &c);
		break;
	}
	case 2:
	case 3:
		n->drained = v == 2;
		ret = mutate_and_apply(s, &c);
		break;
	case 4:
		if (n->id == shoal_conf(s)->self)
			fprintf(stderr, "shoalctl: note: removing this node itself; it keeps serving its connections while it drains\n");
		shoal_cluster_remove_node(&c, argv[1]);
		ret = mutate_and_apply(s, &c);
		break;
	}
out:
	shoal_cluster_free(&c);
	shoal_close(s);
	return ret;
}

/* ---- vips ---- */

static const char vip_help[] =
	"Usage: shoalctl vip list\n"
	"       shoalctl vip add ADDR:PORT/PROTO [pool NAME]\n"
	"       shoalctl vip del ADDR:PORT/PROTO\n"
	"\n"
	"PORT is a number or 'any'; PROTO is tcp or udp; IPv6 as [ADDR]:PORT/PROTO.\n"
	"Examples: 198.51.100.1:80/tcp  198.51.100.2:any/udp  [2001:db8::1]:443/tcp\n";

static int cmd_vip(int argc, char **argv)
{
	static const char *const verbs[] = { "list", "add", "del", "help", NULL };
	struct shoal_vip_cfg v;
	struct shoal_cluster c;
	struct shoal *s;
	int verb = argc ? match(argv[0], verbs) : 0, ret;

	if (verb == 3 || (argc > 1 && is_help(argv[1]))) {
		fputs(vip_help, stdout);
		return EXIT_OK;
	}
	if (verb < 0)
		return usage_error("vip: unknown or ambiguous command '%s'", argv[0]);
	if (verb >= 1) {
		if (argc < 2)
			return usage_error("vip %s needs ADDR:PORT/PROTO", verbs[verb]);
		if (parse_vip(argv[1], &v))
			return usage_error("'%s' is not ADDR:PORT/PROTO (e.g. 198.51.100.1:80/tcp)",
					   argv[1]);
	}
	if ((verb == 0 && argc > 1) || (verb == 2 && argc != 2) ||
	    (verb == 1 && argc != 2 && (argc != 4 || !is_prefix(argv[2], "pool"))))
		return usage_error("vip %s: unexpected arguments", verbs[verb]);
	ret = open_model(&s, &c, verb >= 1);
	if (ret)
		return ret;

	if (verb == 0) {
		struct shoal_vip *slots = malloc(sizeof(*slots) * SHOAL_VIP_SLOTS);
		struct json_object *arr = opt.json ? json_object_new_array() : NULL;
		struct shoal_pool pools[SHOAL_MAX_POOLS];
		struct table tb;
		int i;

		for (i = 0; i < SHOAL_MAX_POOLS; i++)
			shoal_pool_get(s, (__u8)i, &pools[i]);
		shoal_vips_read(s, slots);
		if (!arr) {
			tbl_init(&tb, 5, "VIP", "POOL", "ID", "PACKETS", "BYTES");
			tb.right[2] = tb.right[3] = tb.right[4] = true;
		}
		for (i = 0; i < SHOAL_VIP_SLOTS; i++) {
			struct shoal_vip *x = &slots[i];
			struct shoal_counter ctr = {};
			struct shoal_addr a;
			char buf[96];

			if (!x->family || (x->flags & SHOAL_VIP_F_GUE))
				continue;
			a.family = x->family;
			memcpy(a.a, x->addr, sizeof(a.a));
			format_vip(&a, ntohs(x->port), x->proto, buf, sizeof(buf));
			shoal_vipstats_read(s, x->id, &ctr);
			if (arr) {
				struct json_object *o = json_object_new_object();
				char as[SHOAL_ADDRSTRLEN];

				json_object_object_add(o, "vip", json_object_new_string(buf));
				json_object_object_add(o, "address", json_object_new_string(shoal_format_addr(&a, as)));
				json_object_object_add(o, "port", json_object_new_int(ntohs(x->port)));
				json_object_object_add(o, "protocol", json_object_new_string(shoal_proto_name(x->proto)));
				json_object_object_add(o, "pool", json_object_new_string_len(
					pools[x->pool % SHOAL_MAX_POOLS].name,
					(int)strnlen(pools[x->pool % SHOAL_MAX_POOLS].name, SHOAL_NAME_LEN)));
				json_object_object_add(o, "id", json_object_new_int(x->id));
				json_object_object_add(o, "packets", json_object_new_int64((int64_t)ctr.packets));
				json_object_object_add(o, "bytes", json_object_new_int64((int64_t)ctr.bytes));
				json_object_array_add(arr, o);
			} else {
				tbl_row(&tb);
				tbl_set(&tb, 0, "%s", buf);
				tbl_set(&tb, 1, "%.*s", SHOAL_NAME_LEN, pools[x->pool % SHOAL_MAX_POOLS].name);
				tbl_set(&tb, 2, "%u", x->id);
				tbl_set(&tb, 3, "%llu", (unsigned long long)ctr.packets);
				tbl_set(&tb, 4, "%llu", (unsigned long long)ctr.bytes);
			}
		}
		if (arr)
			json_print(arr);
		else
			tbl_print(&tb);
		free(slots);
		ret = EXIT_OK;
	} else if (verb == 1) {
		const char *pool = argc == 4 ? argv[3] : NULL;

		if (!pool && c.npools != 1) {
			ret = usage_error("the cluster has %zu pools: name one (pool NAME)", c.npools);
		} else {
			snprintf(v.pool, sizeof(v.pool), "%s", pool ? pool : c.pools[0].name);
			if (!shoal_cluster_pool(&c, v.pool))
				ret = error("no pool named '%s'", v.pool);
			else if (shoal_cluster_add_vip(&c, &v) == -EEXIST)
				ret = error("%s is already a VIP", argv[1]);
			else
				ret = mutate_and_apply(s, &c);
		}
	} else {
		if (shoal_cluster_del_vip(&c, &v.addr, v.port, v.proto))
			ret = error("%s is not a VIP", argv[1]);
		else
			ret = mutate_and_apply(s, &c);
	}
	shoal_cluster_free(&c);
	shoal_close(s);
	return ret;
}

/* ---- stats ---- */

static int cmd_stats(int argc, char **argv)
{
	static const char *const verbs[] = { "show", "reset", "help", NULL };
	struct shoal_counter ctr[SHOAL_R_MAX];
	struct shoal *s;
	int v = argc ? match(argv[0], verbs) : 0, r, ret;

	if (v == 2 || (argc > 1 && is_help(argv[1]))) {
		printf("Usage: shoalctl stats [show]   every verdict counter by name\n"
		       "       shoalctl stats reset    zero them (and the per-VIP counters)\n");
		return EXIT_OK;
	}
	if (v < 0 || argc > 1)
		return usage_error("stats: unknown command '%s'", argv[argc > 1 ? 1 : 0]);
	ret = open_state(&s);
	if (ret)
		return ret;
	if (v == 1) {
		int i;

		ret = shoal_stats_clear(s);
		for (i = 0; !ret && i < SHOAL_MAX_VIPS; i++)
			ret = shoal_vipstats_clear(s, (__u16)i);
		shoal_close(s);
		if (ret)
			return lib_error("reset counters", ret);
		if (opt.json)
			json_print(json_object_new_object());
		return EXIT_OK;
	}
	ret = shoal_stats_read(s, ctr);
	shoal_close(s);
	if (ret)
		return lib_error("read counters", ret);
	if (opt.json) {
		struct json_object *o = json_object_new_object();

		for (r = 0; r < SHOAL_R_MAX; r++) {
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "action", json_object_new_string(
				shoal_action_name((__u32)shoal_reason_action(r))));
			json_object_object_add(x, "packets", json_object_new_int64((int64_t)ctr[r].packets));
			json_object_object_add(x, "bytes", json_object_new_int64((int64_t)ctr[r].bytes));
			json_object_object_add(o, shoal_reason_name(r), x);
		}
		json_print(o);
	} else {
		struct table tb;

		tbl_init(&tb, 5, "REASON", "ACTION", "PACKETS", "BYTES", "MEANING");
		tb.right[2] = tb.right[3] = true;
		for (r = 0; r < SHOAL_R_MAX; r++) {
			tbl_row(&tb);
			tbl_set(&tb, 0, "%s", shoal_reason_name(r));
			tbl_set(&tb, 1, "%s", shoal_action_name((__u32)shoal_reason_action(r)));
			tbl_set(&tb, 2, "%llu", (unsigned long long)ctr[r].packets);
			tbl_set(&tb, 3, "%llu", (unsigned long long)ctr[r].bytes);
			tbl_set(&tb, 4, "%s", shoal_reason_help(r));
		}
		tbl_print(&tb);
	}
	return EXIT_OK;
}

/* ---- flow ---- */

static const char flow_help[] =
	"Usage: shoalctl flow tcp|udp SRC:PORT DST:PORT [from NODE [hop 1|2]] [rxhash HASH]\n"
	"\n"
	"Which node owns the flow, and what this node does with its packets: the\n"
	"loaded program itself runs on synthesised frames (BPF_PROG_TEST_RUN), so\n"
	"the answer is the data plane's, sockets on this host included. Counters\n"
	"do not move. With from NODE, the frame is one NODE forwarded to us.\n"
	"Where flows are keyed on the NIC's RX hash (flow_hash: nic), the bucket\n"
	"depends on the hash the NIC gives the frame: name it with rxhash HASH\n"
	"(hex or decimal); without it the answer is the software hash's.\n";

struct probe {
	const char *what;
	__u8 flags;
};

static int cmd_flow(int argc, char **argv)
{
	static const struct probe tcp_probes[] = {
		{ "new connection (SYN)", PKT_TCP_SYN },
		{ "established (ACK)", PKT_TCP_ACK },
	};
	static const struct probe udp_probes[] = { { "datagram", 0 } };
	const struct probe *probes;
	struct json_object *arr = NULL, *top = NULL;
	struct shoal_cluster c;
	struct pkt_spec spec = {};
	struct shoal_node self_node;
	struct shoal *s;
	__u8 proto;
	__u16 from = 0;
	int hop = 1, nprobes, i, ret = EXIT_OK;
	bool have_rx = false;
	__u32 rx = 0;
	char nb[40];

	if (argc < 1 || is_help(argv[0])) {
		fputs(flow_help, argc < 1 ? stderr : stdout);
		return argc < 1 ? EXIT_USAGE : EXIT_OK;
	}
	if (argc < 3 || shoal_parse_proto(argv[0], &proto))
		return usage_error("usage: flow tcp|udp SRC:PORT DST:PORT");
	if (shoal_parse_endpoint(argv[1], &spec.src, &spec.sport))
		return usage_error("'%s' is not ADDR:PORT", argv[1]);
	if (shoal_parse_endpoint(argv[2], &spec.dst, &spec.dport))
		return usage_error("'%s' is not ADDR:PORT", argv[2]);
	if (spec.src.family != spec.dst.family)
		return usage_error("source and destination must be the same IP version");
	ret = open_state(&s);
	if (ret)
		return ret;
	ret = shoal_cluster_read(s, &c);
	if (ret) {
		shoal_close(s);
		return lib_error("read state", ret);
	}
	for (i = 3; i < argc; i++) {
		if (is_prefix(argv[i], "from") && i + 1 < argc) {
			struct shoal_node_cfg *n = shoal_cluster_node(&c, argv[++i]);

			if (!n) {
				ret = error("no node named '%s'", argv[i]);
				goto out;
			}
			from = n->id;
		} else if (is_prefix(argv[i], "rxhash") && i + 1 < argc) {
			char *e;
			unsigned long long v;

			i++;
			errno = 0;
			v = strtoull(argv[i], &e, 0);
			if (errno || *e || !*argv[i] || v > 0xffffffffULL) {
				ret = usage_error("rxhash: '%s' is not a 32-bit number", argv[i]);
				goto out;
			}
			rx = (__u32)v;
			have_rx = true;
		} else if (is_prefix(argv[i], "hop") && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "1") && strcmp(argv[i], "2")) {
				ret = usage_error("hop is 1 or 2");
				goto out;
			}
			hop = argv[i][0] - '0';
		} else {
			ret = usage_error("flow: unexpected '%s'", argv[i]);
			goto out;
		}
	}

	if (hop != 1 && !from) {
		ret = usage_error("hop needs from NODE: only peers' frames carry a hop");
		goto out;
	}
	spec.proto = proto;
	shoal_node_get(s, shoal_conf(s)->self, &self_node);
	memcpy(spec.dst_mac, self_node.mac, 6);
	if (from) {
		volatile struct shoal_conf *conf = shoal_conf(s);

		memcpy(spec.src_mac, (const void *)conf->mac_prefix, 3);
		spec.src_mac[3] = (__u8)hop;
		spec.src_mac[4] = (__u8)(from >> 8);
		spec.src_mac[5] = (__u8)from;
	} else {
		/* A router MAC: locally administered, never the forwarding prefix. */
		memcpy(spec.src_mac, "\x02\x00\x5e\x00\x00\x01", 6);
	}
	probes = proto == IPPROTO_TCP ? tcp_probes : udp_probes;
	nprobes = proto == IPPROTO_TCP ? 2 : 1;

	if (opt.json) {
		top = json_object_new_object();
		arr = json_object_new_array();
	}
	for (i = 0; i < nprobes; i++) {
		struct shoal_run r;
		__u8 frame[256];
		size_t len;
		const struct shoal_trace *t = &r.trace;

		spec.tcp_flags = probes[i].flags;
		spec.seq = 1;
		spec.ack = probes[i].flags & PKT_TCP_ACK ? 1 : 0;
		len = pkt_build(&spec, frame, sizeof(frame));
		ret = shoal_run_hash(s, frame, len, true, have_rx ? &rx : NULL, &r);
		if (ret) {
			ret = lib_error("run program", ret);
			goto out;
		}
		if (i == 0) {
			char as[96];

			if (!(t->flags & SHOAL_TRACE_F_VIP)) {
				if (top) {
					json_object_object_add(top, "vip", NULL);
				} else {
					printf("not a VIP flow: this node passes it untouched (%s)\n",
					       shoal_reason_name(t->reason));
				}
				if (top) {
					json_object_object_add(top, "action", json_object_new_string(
						shoal_action_name(r.action)));
					json_object_object_add(top, "reason", json_object_new_string(
						shoal_reason_name(t->reason)));
				}
				ret = EXIT_OK;
				break;
			}
			format_vip(&spec.dst, spec.dport, proto, as, sizeof(as));
			if (top) {
				json_object_object_add(top, "vip", json_object_new_string(as));
				json_object_object_add(top, "bucket", json_object_new_int64(t->bucket));
				json_object_object_add(top, "bucket_from", json_object_new_string(
					t->flags & SHOAL_TRACE_F_RX_HASH ? "rx_hash" : "software"));
				json_object_object_add(top, "owner", json_object_new_string(
					node_name(&c, s, t->owner, nb, sizeof(nb))));
				json_object_object_add(top, "owner_id", json_object_new_int(t->owner));
				json_object_object_add(top, "this_node", json_object_new_string(
					node_name(&c, s, shoal_conf(s)->self, nb, sizeof(nb))));
			} else {
				printf("flow      %s %s -> %s\n", shoal_proto_name(proto), argv[1], argv[2]);
				printf("vip       %s\n", as);
				printf("bucket    %u of %u (%s)\n", t->bucket, shoal_m(s),
				       t->flags & SHOAL_TRACE_F_RX_HASH ? "from the RX hash given" :
				       shoal_conf(s)->flow_hash == SHOAL_HASH_NIC ?
				       "software hash; the NIC's decides on the wire: give rxhash" :
				       "software hash");
				printf("owner     %s\n", node_name(&c, s, t->owner, nb, sizeof(nb)));
				printf("this node %s\n", node_name(&c, s, shoal_conf(s)->self, nb, sizeof(nb)));
				if (from)
					printf("arrives   forwarded by %s, cluster hop %d\n",
					       node_name(&c, s, from, nb, sizeof(nb)), hop);
			}
		}
		if (top) {
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "packet", json_object_new_string(probes[i].what));
			json_object_object_add(x, "action", json_object_new_string(shoal_action_name(r.action)));
			json_object_object_add(x, "reason", json_object_new_string(shoal_reason_name(t->reason)));
			if (r.action == XDP_TX && t->reason != SHOAL_R_TX_TOO_BIG) {
				json_object_object_add(x, "to", json_object_new_string(
					node_name(&c, s, t->target, nb, sizeof(nb))));
				json_object_object_add(x, "format", json_object_new_string(
					t->flags & SHOAL_TRACE_F_GUE_OUT ? "gue" : "l2"));
			}
			json_object_object_add(x, "socket_lookup", json_object_new_boolean(
				t->flags & SHOAL_TRACE_F_LOOKUP));
			json_object_array_add(arr, x);
		} else {
			bool fwd = r.action == XDP_TX && t->reason != SHOAL_R_TX_TOO_BIG;

			printf("%-22s %s%s%s%s  [%s: %s]\n", probes[i].what, shoal_action_name(r.action),
			       fwd ? " to " : "", fwd ? node_name(&c, s, t->target, nb, sizeof(nb)) : "",
			       fwd && (t->flags & SHOAL_TRACE_F_GUE_OUT) ? " in GUE" : "",
			       shoal_reason_name(t->reason), shoal_reason_help(t->reason));
		}
		ret = EXIT_OK;
	}
	if (top) {
		json_object_object_add(top, "packets", arr);
		arr = NULL;
		json_print(top);
		top = NULL;
	}
out:
	json_object_put(arr);
	json_object_put(top);
	shoal_cluster_free(&c);
	shoal_close(s);
	return ret;
}

/* ---- main ---- */

/* Library errors come back through lib_error(); warnings and chatter go to stderr. */
static void cli_log(enum shoal_log_level level, const char *msg)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };

	if (level == SHOAL_LOG_ERROR)
		return;
	fprintf(stderr, "shoalctl: %s: %s\n", tag[level], msg);
}

/* ---- hash ---- */

static const char hash_help[] =
	"Usage: shoalctl hash check\n"
	"\n"
	"Do all nodes key flows alike? Where flows are keyed on the NIC's RX hash\n"
	"(flow_hash: nic), every node's NIC must hash the same fields with the same\n"
	"function and secret key, or nodes disagree on owners. shoald reads its\n"
	"uplink's RSS settings (what ethtool -x and ethtool -n DEV rx-flow-hash show)\n"
	"and tells its peers every 10 s - the key as a digest keyed by the cluster\n"
	"seed, never the key. This compares this node's with each peer's.\n"
	"Exit status: 0 all alike, 1 a difference or a peer not heard, 2 usage.\n";

static const char *jget(struct json_object *o, const char *k)
{
	struct json_object *x;

	if (!o || !json_object_object_get_ex(o, k, &x) || !x)
		return "-";
	return json_object_get_string(x);
}

static int cmd_hash(int argc, char **argv)
{
	static const char *const flows[] = { "tcp4", "udp4", "tcp6", "udp6" };
	struct json_object *st, *dmn, *peers, *mine, *arr = NULL;	/* mine: this node's */
	struct table tb;
	size_t i, n;
	int bad = 0, nic = 0, rss = 0, k;

	if (argc < 1 || is_help(argv[0]) || !is_prefix(argv[0], "check")) {
		fputs(hash_help, argc < 1 || !is_help(argv[0]) ? stderr : stdout);
		return argc >= 1 && is_help(argv[0]) ? EXIT_OK : EXIT_USAGE;
	}
	st = daemon_call("status");
	if (!st || !json_object_object_get_ex(st, "hash", &mine) ||
	    !json_object_object_get_ex(st, "peers", &peers))
		return error("shoald does not answer on its control socket: it tells the peers' settings");
	dmn = st;
	if (opt.json)
		arr = json_object_new_array();
	else
		tbl_init(&tb, 8, "NODE", "HASH", "RSS FUNCTION", "KEY", "TCP4", "UDP4", "TCP6", "UDP6");
	n = json_object_array_length(peers);
	for (i = 0; i <= n; i++) {
		struct json_object *p = i ? json_object_array_get_idx(peers, i - 1) : NULL, *h, *f = NULL;
		char name[64], why[200] = "";

		h = i ? NULL : mine;
		if (p)
			json_object_object_get_ex(p, "hash", &h);
		snprintf(name, sizeof(name), "%s%s", i ? jget(p, "name") : jget(dmn, "node"), i ? "" : " *");
		if (h)
			json_object_object_get_ex(h, "fields", &f);
		/* shoald compares (shoal_hash_info_diff); a peer it has not heard differs too. */
		if (p && strcmp(jget(p, "hash_differs"), "-"))
			snprintf(why, sizeof(why), "%s", jget(p, "hash_differs"));
		if (h) {
			nic += !strcmp(jget(h, "source"), "nic");
			rss += !strcmp(jget(h, "rss"), "true");
		}
		bad += why[0] != '\0';
		if (arr) {
			struct json_object *x = json_object_new_object();

			json_object_object_add(x, "node", json_object_new_string(i ? jget(p, "name") : jget(dmn, "node")));
			json_object_object_add(x, "self", json_object_new_boolean(i == 0));
			json_object_object_add(x, "hash", h ? json_object_get(h) : NULL);
			json_object_object_add(x, "differs", why[0] ? json_object_new_string(why) : NULL);
			json_object_array_add(arr, x);
			continue;
		}
		tbl_row(&tb);
		tbl_set(&tb, 0, "%s", name);
		tbl_set(&tb, 1, "%s", h ? jget(h, "source") : "?");
		tbl_set(&tb, 2, "%s", !h ? "?" : strcmp(jget(h, "rss"), "true") ? "none" : jget(h, "function"));
		tbl_set(&tb, 3, "%.16s", h ? jget(h, "key_digest") : "?");
		for (k = 0; k < 4; k++)
			tbl_set(&tb, 4 + k, "%s", jget(f, flows[k]));
		if (why[0])
			fprintf(stderr, "%s: %s\n", i ? jget(p, "name") : jget(dmn, "node"), why);
	}
	if (arr) {
		json_print(arr);
	} else {
		tbl_print(&tb);
		if (bad)
			printf("%d node%s key flows differently from this one: with flow_hash nic they would disagree on owners\n",
			       bad, bad == 1 ? "" : "s");
		else if (!rss)
			printf("all %zu nodes alike; no NIC shows RSS settings (veth, say): the RX hash is then the kernel's own flow hash, the same only where nodes share one kernel\n",
			       n + 1);
		else
			printf("all %zu nodes key flows alike%s\n", n + 1,
			       nic ? "" : " (none keys on the NIC's hash now)");
	}
	json_object_put(st);
	return bad ? EXIT_FAIL : EXIT_OK;
}

static const char main_help[] =
	"Usage: shoalctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
	"\n"
	"shoal is an XDP layer-4 load balancer that runs on the serving nodes.\n"
	"\n"
	"Objects and commands (any unique prefix works: 'shoalctl n l'):\n"
	"  apply FILE [dev IF] [node NAME] [mode native|generic] [force] [check]\n"
	"                      serve the cluster config FILE on this node\n"
	"  detach              detach the program and remove the pinned state\n"
	"  status              attachment, identity and a summary\n"
	"  node list|set|drain|undrain|remove ...\n"
	"  vip list|add|del ...\n"
	"  table show [POOL] [buckets FIRST[-LAST]] | export [FILE]\n"
	"  stats [show|reset]  every verdict counter by name\n"
	"  flow tcp|udp SRC:PORT DST:PORT   who owns a flow, what this node does with it\n"
	"  list [--stats|--rate]  VIPs and their nodes, in the spirit of ipvsadm -Ln\n"
	"  upgrade [OBJECT]    swap in a new XDP program, keeping maps and counters\n"
	"  hash check          do all nodes key flows alike (hash source, NIC RSS key, fields)\n"
	"  help                this text; OBJECT help for each object\n"
	"\n"
	"Options:\n"
	"  -j, --json          JSON on stdout (errors as {\"error\": ...} on stderr)\n"
	"  -p, --pretty        indented JSON (implies --json)\n"
	"  -P, --pin DIR       state directory on bpffs (default " SHOAL_PIN_DEFAULT ",\n"
	"                      or $SHOAL_PIN)\n"
	"  -S, --socket PATH   shoald's control socket (default /run/shoal/shoald.sock,\n"
	"                      or $SHOALD_SOCKET)\n"
	"  -v, --verbose       log what the library does\n"
	"  -V, --version\n"
	"\n"
	"Exit status: 0 success, 1 failure, 2 usage error.\n";

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },	{ "pretty", no_argument, NULL, 'p' },
		{ "pin", required_argument, NULL, 'P' }, { "verbose", no_argument, NULL, 'v' },
		{ "socket", required_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },	{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const objects[] = { "apply", "detach", "status", "node", "vip",
					       "table", "stats", "flow", "upgrade", "list", "hash",
					       "help", NULL };
	int (*const handlers[])(int, char **) = { cmd_apply, cmd_detach, cmd_status, cmd_node,
						  cmd_vip, cmd_table, cmd_stats, cmd_flow,
						  cmd_upgrade, cmd_list, cmd_hash, NULL };
	int c, o;

	opt.pin = getenv("SHOAL_PIN");
	opt.socket = getenv("SHOALD_SOCKET");
	while ((c = getopt_long(argc, argv, "+jpP:S:vVh", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt.json = true;
			break;
		case 'p':
			opt.json = opt.pretty = true;
			break;
		case 'P':
			opt.pin = optarg;
			break;
		case 'S':
			opt.socket = optarg;
			break;
		case 'v':
			opt.verbose = true;
			shoal_set_log_level(SHOAL_LOG_DEBUG);
			break;
		case 'V':
			printf("shoalctl %s\n", SHOAL_VERSION);
			return EXIT_OK;
		case 'h':
			fputs(main_help, stdout);
			return EXIT_OK;
		default:
			fputs(main_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(main_help, stderr);
		return EXIT_USAGE;
	}
	/* The library logs errors once; the CLI prints them (as JSON with -j). */
	if (!opt.verbose)
		shoal_set_log_level(SHOAL_LOG_WARN);
	shoal_set_log(cli_log);
	o = match(argv[optind], objects);
	if (o == -2)
		return usage_error("'%s' is ambiguous", argv[optind]);
	if (o < 0)
		return usage_error("unknown object '%s'", argv[optind]);
	if (!strcmp(objects[o], "help")) {
		fputs(main_help, stdout);
		return EXIT_OK;
	}
	shoal_clear_error();
	if (geteuid() != 0 && !(optind + 1 < argc && is_help(argv[optind + 1])))
		return error("needs root (BPF maps and bpffs are root-only)");
	return handlers[o](argc - optind - 1, argv + optind + 1);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shoald: the per-node daemon. It reads the cluster config, attaches (or
 * adopts the pinned data plane, so a restart loses nothing), checks the local
 * service and its peers, and keeps the tables in step with what it learns:
 * a dead peer leaves the tables, a peer or this node with a failing service
 * drains, and every live node ends up with the same tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "maglev.h"
#include "shoald.h"

#define SHOALD_VERSION "0.1.0"

static int log_max = 2;	/* 0 error, 1 warning, 2 info, 3 debug */
static bool journal;

__u64 now_ns(void)
{
	return shoal_now_ns();
}

void dlog(int level, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { 3, 4, 6, 7 };
	char msg[1024];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Under systemd, stderr goes to the journal: a <N> prefix sets the priority. */
	if (journal) {
		fprintf(stderr, "<%d>%s\n", prio[level], msg);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld shoald[%d]: %s: %s\n", tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, getpid(), tag[level], msg);
	}
}

/* libshoal's own messages go to the same log. */
static void lib_log(enum shoal_log_level level, const char *msg)
{
	dlog(level == SHOAL_LOG_ERROR ? 0 : level == SHOAL_LOG_WARN ? 1 : 3, "%s", msg);
}

static __u64 fnv64(const void *p, size_t n, __u64 h)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0, n = 0;
	char *b = NULL;

	if (!f)
		return -errno;
	for (;;) {
		if (n == cap) {
			char *nb = realloc(b, cap ? cap * 2 : 65536);

			if (!nb || cap > (64u << 20)) {
				free(nb ? nb : b);
				fclose(f);
				return -EFBIG;
			}
			b = nb;
			cap = cap ? cap * 2 : 65536;
		}
		size_t got = fread(b + n, 1, cap - n, f);

		n += got;
		if (!got)
			break;
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

/* The tables this node runs, reduced to one number peers can compare. */
static __u64 tables_digest(struct daemon *d)
{
	__u32 m = shoal_m(d->s);
	struct shoal_bucket *t = malloc(sizeof(*t) * m);
	__u16 *owners = malloc(sizeof(*owners) * m);
	__u64 h = 0xcbf29ce484222325ULL;
	__u32 b;
	int p;

	if (!t || !owners)
		goto out;
	for (p = 0; p < SHOAL_MAX_POOLS; p++) {
		if (shoal_table_read(d->s, (__u8)p, t))
			continue;
		for (b = 0; b < m; b++)
			owners[b] = t[b].owner;
		h = fnv64(&p, sizeof(p), h);
		h ^= maglev_digest(owners, m);
		h *= 0x100000001b3ULL;
	}
out:
	free(t);
	free(owners);
	return h;
}

/*
 * The model shoald applies: the config, less the peers it holds dead, with
 * nodes whose service fails drained. Every node that agrees on the config and
 * on who is dead and who is unhealthy computes the same model (and digest).
 */
static int effective_model(struct daemon *d, struct shoal_cluster *m, __u64 *gone, __u64 *digest)
{
	__u64 h = d->cfg_digest;
	size_t i;
	int err;

	err = shoal_cluster_copy(m, &d->cfg);
	if (err)
		return err;
	memset(gone, 0, sizeof(__u64) * (SHOAL_MAX_NODES / 64));
	for (i = 0; i < d->npeers && !d->retiring; i++) {
		const struct peer *p = &d->peers[i];
		struct shoal_node_cfg *n = shoal_cluster_node_id(m, p->id);

		if (!n)
			continue;
		if (!peer_counts(p)) {
			shoal_cluster_remove_node(m, n->name);
			gone[p->id / 64] |= 1ULL << (p->id % 64);
			h = fnv64("dead", 4, h);
			h = fnv64(&p->id, sizeof(p->id), h);
		} else if (!p->healthy && !n->drained) {
			n->drained = true;
			h = fnv64("sick", 4, h);
			h = fnv64(&p->id, sizeof(p->id), h);
		}
	}
	if (!d->healthy) {
		struct shoal_node_cfg *n = shoal_cluster_node_id(m, d->self);

		if (n && !n->drained) {
			n->drained = true;
			h = fnv64("sick", 4, h);
			h = fnv64(&d->self, sizeof(d->self), h);
		}
	}
	*digest = h;
	return 0;
}

static int apply_model(struct daemon *d, const struct shoal_base *base, const char *why)
{
	struct shoal_apply_opts o = { .self = d->self, .base = base, .dev = d->dev_name[0] ? d->dev_name : NULL };
	struct shoal_apply_report rep;
	__u64 gone[SHOAL_MAX_NODES / 64], digest, all_drained;
	struct shoal_cluster m;
	size_t i;
	int err;

	err = effective_model(d, &m, gone, &digest);
	if (err)
		return err;
	o.gone = gone;
	err = shoal_cluster_apply(d->s, &m, &o, &rep, d->apply_error, sizeof(d->apply_error));
	shoal_cluster_free(&m);
	if (err) {
		dlog(0, "apply (%s) failed: %s", why, d->apply_error);
		return err;
	}
	d->apply_error[0] = '\0';
	if (rep.nexthops_unresolved && strcmp(rep.nexthop_error, d->nexthop_error))
		dlog(1, "GUE: %zu peers' next hops unresolved (drop_nexthop until they are): %s",
		     rep.nexthops_unresolved, rep.nexthop_error);
	snprintf(d->nexthop_error, sizeof(d->nexthop_error), "%s",
		 rep.nexthops_unresolved ? rep.nexthop_error : "");
	d->model_digest = digest;
	d->table_digest = tables_digest(d);
	d->applies++;
	d->settle_at = 0;
	all_drained = 0;
	for (i = 0; i < rep.npools; i++) {
		const struct shoal_pool_report *pr = &rep.pools[i];
		__u64 bit = 1ULL << (pr->id % 64);

		/*
		 * Buckets kept by an owner still in transition follow the Maglev
		 * table only at the next apply after their window: schedule one,
		 * or the table would stay off its weights until the next change.
		 */
		if (pr->deferred)
			d->settle_at = now_ns() + d->cfg.drain_ns + 250000000ULL;
		if (pr->all_drained)
			all_drained |= bit;
		if (pr->all_drained != !!(d->all_drained & bit)) {
			if (pr->all_drained)
				dlog(1, "pool %s: every member is drained (by the config or failing checks): none is, or the pool would serve nobody",
				     pr->name);
			else
				dlog(2, "pool %s: a member takes new flows again: drains apply", pr->name);
		}
		if (rep.pools[i].changed || rep.pools[i].created)
			dlog(2, "applied (%s): pool %s generation %llu, %u buckets moved, %u in transition",
			     why, rep.pools[i].name, (unsigned long long)rep.pools[i].gen,
			     rep.pools[i].moved, rep.pools[i].in_transition);
	}
	d->all_drained = all_drained;	/* rebuilt: a pool that left the config leaves it */
	return 0;
}

int daemon_apply_base(struct daemon *d, const struct shoal_base *base, const char *why)
{
	return apply_model(d, base, why);
}

/* Re-apply if what we know changed the model. */
void daemon_reapply(struct daemon *d, const char *why)
{
	__u64 gone[SHOAL_MAX_NODES / 64], digest;
	struct shoal_cluster m;

	if (!d->have_cfg || d->fresh)
		return;
	if (effective_model(d, &m, gone, &digest))
		return;
	shoal_cluster_free(&m);
	if (digest != d->model_digest)
		apply_model(d, NULL, why);
}

static int identify(struct daemon *d, const struct shoal_cluster *c)
{
	char dev[IF_NAMESIZE] = "";
	__u16 id = 0;
	int err;

	if (d->node_name) {
		const struct shoal_node_cfg *n = shoal_cluster_node(c, d->node_name);

		if (!n) {
			dlog(0, "%s: no node named '%s'", d->config_path, d->node_name);
			return -ENOENT;
		}
		id = n->id;
		if (!d->dev) {
			struct shoal_cluster one = *c;

			one.nodes = (struct shoal_node_cfg *)n;
			one.nnodes = 1;
			if (shoal_detect_node(&one, NULL, &id, dev, sizeof(dev)))
				dev[0] = '\0';
		}
	} else {
		err = shoal_detect_node(c, d->dev, &id, dev, sizeof(dev));
		if (err) {
			dlog(0, "%s: %s; name the node (--node) and uplink (--dev)", d->config_path,
			     err == -EEXIST ? "several interfaces carry nodes' MACs"
					    : "no local interface has a MAC listed in the config");
			return -ENOENT;
		}
	}
	if (d->dev)
		snprintf(dev, sizeof(dev), "%s", d->dev);
	if (!dev[0]) {
		dlog(0, "cannot tell this node's uplink; give --dev");
		return -ENOENT;
	}
	d->self = id;
	snprintf(d->dev_name, sizeof(d->dev_name), "%s", dev);
	return 0;
}

/*
 * (Re)load the config. A file that does not parse, or that changes what cannot
 * change in place, leaves the last good config serving; the error is logged and
 * shown by `shoalctl status`.
 */
int daemon_reload(struct daemon *d, const char *why)
{
	struct shoal_cluster c;
	char err[512], *text = NULL;
	size_t len = 0;
	__u64 digest;
	int ret;

	d->reloads++;
	d->reload_at = (__u64)time(NULL);
	ret = read_file(d->config_path, &text, &len);
	if (ret) {
		snprintf(d->reload_error, sizeof(d->reload_error), "%s: %s", d->config_path,
			 strerror(-ret));
		goto bad;
	}
	digest = fnv64(text, len, 0xcbf29ce484222325ULL);
	if (d->have_cfg && digest == d->cfg_digest) {
		free(text);
		d->reload_error[0] = '\0';
		return 0;
	}
	ret = shoal_config_parse(text, len, d->config_path, &c, err, sizeof(err));
	free(text);
	if (ret) {
		snprintf(d->reload_error, sizeof(d->reload_error), "%s", err);
		goto bad;
	}
	if (d->have_cfg && (c.m != d->cfg.m || memcmp(c.seed, d->cfg.seed, sizeof(c.seed)) ||
			    memcmp(c.mac_prefix, d->cfg.mac_prefix, 3))) {
		snprintf(d->reload_error, sizeof(d->reload_error),
			 "%s: buckets, seed and mac_prefix cannot change while serving (restart shoald with the state detached)",
			 d->config_path);
		shoal_cluster_free(&c);
		goto bad;
	}
	if (d->have_cfg)
		shoal_cluster_free(&d->cfg);
	d->cfg = c;
	d->cfg_digest = digest;
	d->have_cfg = true;
	d->reload_error[0] = '\0';
	/*
	 * Left out of the config: this node retires. Its peers stop talking to it,
	 * so their silence means nothing; it keeps its last view of them and serves
	 * the connections it still holds until it is stopped.
	 */
	if (d->self && !shoal_cluster_node_id(&c, d->self) && !d->retiring) {
		d->retiring = true;
		dlog(2, "this node is no longer in the config: retiring (its connections go on)");
	}
	dlog(2, "config %s loaded (%s): %zu nodes, %zu pools, %zu vips", d->config_path, why,
	     c.nnodes, c.npools, c.nvips);
	{
		struct stat st;

		if (stat(d->config_path, &st) == 0 && (st.st_mode & 0077))
			dlog(1, "%s is readable by others (mode %04o): it holds the cluster's secret seed; chmod 600 it",
			     d->config_path, st.st_mode & 07777);
	}
	if (!d->s)
		return 0;	/* at start: peers and checks are set up once the data plane is open */
	peers_setup(d);
	health_setup(d);
	if (!d->fresh)
		apply_model(d, NULL, why);
	return 0;
bad:
	d->reload_failures++;
	dlog(0, "config not loaded (%s), still serving the last good one: %s", why, d->reload_error);
	return -EINVAL;
}

/*
 * A node with no state joins: once it hears a serving peer it starts from the
 * leader's tables; if none serves within daemon.dead_after (the whole cluster
 * is starting), it builds its tables from the config like everyone else.
 */
static void finish_joining(struct daemon *d, __u64 now)
{
	const struct peer *leader = peers_leader(d);
	struct shoal_base base;
	bool all = true;
	size_t i;

	/* Wait to hear every peer (or out the dead_after window): the model must be theirs. */
	for (i = 0; i < d->npeers; i++)
		all &= d->peers[i].state == PEER_ALIVE || !d->peers[i].addr.family;
	if ((!leader || !all) && now - d->fresh_since < d->cfg.daemon.dead_after_ns)
		return;
	d->fresh = false;
	if (leader && peers_fetch_tables(d, leader, &base) == 0) {
		/* Who the leader's tables know is alive until proven dead, as after a restart. */
		for (i = 0; i < d->npeers; i++) {
			const struct shoal_node *n = &base.nodes[d->peers[i].id];

			if ((n->flags & SHOAL_NODE_F_PEER) && !(n->flags & SHOAL_NODE_F_REMOVED))
				d->peers[i].presumed = true;
		}
		dlog(2, "joining: starting from %s's tables", leader->name);
		apply_model(d, &base, "joining");
		shoal_base_free(&base);
	} else {
		/*
		 * A cold start: nobody serves yet. Every peer heard is starting
		 * too and builds the same tables from the same config, so it
		 * counts now; waiting for it to serve would make each node start
		 * alone and take the others in one change at a time.
		 */
		for (i = 0; i < d->npeers; i++)
			if (d->peers[i].state == PEER_ALIVE)
				d->peers[i].presumed = true;
		dlog(2, "joining: no serving peer, building tables from the config");
		apply_model(d, NULL, "first start");
	}
	if (shoal_attach(d->s, d->dev_name, d->mode))
		dlog(0, "attach to %s failed", d->dev_name);
}

static void every_second(struct daemon *d, __u64 now)
{
	struct shoal_counter c[SHOAL_R_MAX];
	double dt;
	int r;

	if (!shoal_stats_read(d->s, c)) {
		dt = d->rates.at ? (double)(now - d->rates.at) / 1e9 : 0;
		for (r = 0; r < SHOAL_R_MAX && dt > 0; r++) {
			d->rates.pps[r] = (double)(c[r].packets - d->rates.reason[r].packets) / dt;
			d->rates.bps[r] = (double)(c[r].bytes - d->rates.reason[r].bytes) / dt;
		}
		memcpy(d->rates.reason, c, sizeof(c));
		d->rates.at = now;
	}
	if (!d->fresh)
		d->table_digest = tables_digest(d);
	if (shoal_prog_refresh(d->s) > 0)
		dlog(2, "the program was upgraded (shoalctl upgrade): now %d", shoal_prog_id(d->s));
	/* How this node keys flows, read and told every 10 s (the NIC's settings may change). */
	if (d->have_cfg && d->hash_tick++ % 10 == 0) {
		struct shoal_rss rss;

		shoal_rss_read(d->dev_name, &rss);
		shoal_hash_info_make(&rss, shoal_conf(d->s)->flow_hash, d->cfg.seed, &d->hash);
		peers_send_hash(d);
	}
	/* GUE next hops: every 5 s, or every second while some are unknown. */
	if (d->have_cfg && !d->fresh && shoal_cluster_uses_gue(&d->cfg) &&
	    (d->nexthop_error[0] || ++d->nexthop_tick >= 5)) {
		struct shoal_apply_report rep;

		d->nexthop_tick = 0;
		if (!shoal_nexthops_refresh(d->s, d->dev_name[0] ? d->dev_name : NULL, &rep)) {
			if (!rep.nexthops_unresolved && d->nexthop_error[0])
				dlog(2, "GUE: every peer's next hop is resolved");
			snprintf(d->nexthop_error, sizeof(d->nexthop_error), "%s",
				 rep.nexthops_unresolved ? rep.nexthop_error : "");
		}
	}
	metrics_update(d);
}

static void on_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const char *base = strrchr(d->config_path, '/');
	bool hit = false;
	ssize_t n;

	base = base ? base + 1 : d->config_path;
	while ((n = read(d->ino, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *e = (void *)p;

			if (e->len && !strcmp(e->name, base))
				hit = true;
			p += sizeof(*e) + e->len;
		}
	}
	if (hit)
		daemon_reload(d, "file changed");
}

static int watch_config(struct daemon *d)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", d->config_path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	d->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ino < 0)
		return -errno;
	/* The directory: editors replace files (rename), which a file watch would miss. */
	d->ino_wd = inotify_add_watch(d->ino, slash == dir ? "/" : dir,
				      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	return d->ino_wd < 0 ? -errno : 0;
}

static int ep_add(struct daemon *d, int fd, __u32 tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return fd < 0 ? 0 : epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev);
}

enum { TAG_SIG = 1, TAG_TIMER, TAG_INO, TAG_UDP, TAG_TCP, TAG_CTL, TAG_ICMP, TAG_CHECK = 1000 };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: shoald [OPTIONS]\n"
		"\n"
		"The shoal node daemon: serves the cluster config on this node, checks the local\n"
		"service and the peers, keeps the tables in step, and survives its own restarts\n"
		"(the data plane stays attached and pinned).\n"
		"\n"
		"  -c, --config FILE    cluster config (default /etc/shoal/shoal.yaml); reloaded\n"
		"                       on SIGHUP and when the file changes\n"
		"  -P, --pin DIR        state directory on bpffs (default " SHOAL_PIN_DEFAULT ")\n"
		"  -n, --node NAME      this node (default: the node whose MAC is local)\n"
		"  -d, --dev IFNAME     the uplink (default: the interface with that MAC)\n"
		"  -m, --mode MODE      native (default) or generic XDP\n"
		"  -s, --socket PATH    control socket (default " SHOALD_SOCKET_DEFAULT ")\n"
		"  -M, --metrics ADDR:PORT  Prometheus endpoint, overriding daemon.metrics\n"
		"                       (\"\" turns it off)\n"
		"  -v, --verbose        log debug messages;  -q, --quiet  errors and warnings only\n"
		"  -V, --version        -h, --help\n"
		"\n"
		"SIGHUP reloads; SIGTERM stops, leaving the data plane serving for the next start.\n"
		"Exit status: 0 stopped, 1 could not start, 2 usage error.\n");
}

static int start(struct daemon *d);
static int run(struct daemon *d, const sigset_t *ss);

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' }, { "pin", required_argument, NULL, 'P' },
		{ "node", required_argument, NULL, 'n' },   { "dev", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },   { "socket", required_argument, NULL, 's' },
		{ "metrics", required_argument, NULL, 'M' }, { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },	     { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },	     { NULL, 0, NULL, 0 },
	};
	static struct daemon dd;
	struct daemon *d = &dd;
	sigset_t ss;
	int c, ret;

	d->config_path = "/etc/shoal/shoal.yaml";
	d->pin = SHOAL_PIN_DEFAULT;
	d->socket_path = SHOALD_SOCKET_DEFAULT;
	d->ino = d->udp = d->tcp = d->ctl = d->icmp = -1;
	while ((c = getopt_long(argc, argv, "c:P:n:d:m:s:M:vqVh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': d->config_path = optarg; break;
		case 'P': d->pin = optarg; break;
		case 'n': d->node_name = optarg; break;
		case 'd': d->dev = optarg; break;
		case 'm':
			if (!strcmp(optarg, "native"))
				d->mode = SHOAL_XDP_NATIVE;
			else if (!strcmp(optarg, "generic"))
				d->mode = SHOAL_XDP_GENERIC;
			else {
				fprintf(stderr, "shoald: mode: native or generic\n");
				return 2;
			}
			break;
		case 's': d->socket_path = optarg; break;
		case 'M': d->metrics_override = optarg; break;
		case 'v': log_max = 3; break;
		case 'q': log_max = 1; break;
		case 'V': printf("shoald %s\n", SHOALD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "shoald: needs root (BPF, bpffs, XDP)\n");
		return 1;
	}
	/*
	 * Signals are read from a signalfd by the main loop. Blocked before any
	 * thread exists (the metrics server's inherit the mask): a signal the
	 * kernel hands to a thread that does not block it takes its default
	 * action, and SIGTERM would kill the daemon without a goodbye.
	 */
	sigemptyset(&ss);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	journal = getenv("JOURNAL_STREAM") != NULL;
	shoal_set_log(lib_log);
	shoal_set_log_level(SHOAL_LOG_DEBUG);
	pthread_mutex_init(&d->lock, NULL);
	d->started = now_ns();
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		d->hb_seq = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	}

	/* The config must be good at start: there is nothing else to serve. */
	if (daemon_reload(d, "start"))
		return 1;
	if (identify(d, &d->cfg))
		return 1;
	/* Before touching the data plane: a second shoald must change nothing. */
	if (ctl_setup(d)) {
		dlog(0, "cannot open the control socket %s", d->socket_path);
		return 1;
	}
	ret = start(d);
	if (ret) {
		unlink(d->socket_path);
		return ret;
	}
	return run(d, &ss);
}

/* Adopt or create the data plane, peers, checks; 0 or an exit status. */
static int start(struct daemon *d)
{
	int ret;

	if (shoal_exists(d->pin)) {
		/* A restart: adopt what is serving, change nothing that need not change. */
		ret = shoal_open(&d->s, d->pin);
		if (ret) {
			dlog(0, "cannot adopt the state at %s", d->pin);
			return 1;
		}
		dlog(2, "adopted the running data plane at %s (program %d)", d->pin, shoal_prog_id(d->s));
	} else {
		char why[256];

		ret = shoal_cluster_create(&d->s, d->pin, &d->cfg, d->dev_name, why, sizeof(why));
		if (ret) {
			dlog(0, "cannot create the data plane at %s (%s)", d->pin, why);
			return 1;
		}
		dlog(2, "flows are keyed on %s", why);
		d->fresh = true;
		d->fresh_since = now_ns();
		dlog(2, "no state at %s: joining, waiting to hear from peers", d->pin);
	}
	if (peers_setup(d)) {
		dlog(0, "cannot open the peer port %u", d->cfg.daemon.peer_port);
		return 1;
	}
	health_setup(d);
	if (!d->fresh) {
		if (apply_model(d, NULL, "start"))
			return 1;
		/* Peers hear us at once; then the slower work. */
		peers_tick(d, now_ns());
		/* A new shoald (a package upgrade, say) brings its program in too. */
		{
			__u32 old_id, new_id;

			if (shoal_upgrade(d->s, NULL, true, &old_id, &new_id))
				dlog(1, "could not swap in this shoald's program; the running one serves on");
			else if (new_id != old_id)
				dlog(2, "swapped in this shoald's program: %u -> %u", old_id, new_id);
		}

		{
			int ifindex = 0;

			shoal_attachment(d->s, &ifindex, NULL);
			if (!ifindex && shoal_attach(d->s, d->dev_name, d->mode))
				return 1;
		}
	}
	if (metrics_setup(d))
		dlog(1, "metrics endpoint could not start; continuing without it");
	return 0;
}

/* The event loop, until a signal stops it. */
static int run(struct daemon *d, const sigset_t *ss)
{
	struct itimerspec its = { { 0, SHOALD_TICK_MS * 1000000L }, { 0, SHOALD_TICK_MS * 1000000L } };

	d->sigfd = signalfd(-1, ss, SFD_CLOEXEC | SFD_NONBLOCK);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	timerfd_settime(d->tfd, 0, &its, NULL);
	d->ep = epoll_create1(EPOLL_CLOEXEC);
	if (watch_config(d))
		dlog(1, "cannot watch %s for changes; SIGHUP still reloads", d->config_path);
	ep_add(d, d->sigfd, TAG_SIG);
	ep_add(d, d->tfd, TAG_TIMER);
	ep_add(d, d->ino, TAG_INO);
	ep_add(d, d->udp, TAG_UDP);
	ep_add(d, d->tcp, TAG_TCP);
	ep_add(d, d->ctl, TAG_CTL);
	ep_add(d, d->icmp, TAG_ICMP);
	dlog(2, "serving as %s (id %u) on %s", shoal_cluster_node_id(&d->cfg, d->self) ?
	     shoal_cluster_node_id(&d->cfg, d->self)->name : "?", d->self, d->dev_name);

	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(d->ep, evs, 32, -1), i;

		for (i = 0; i < n; i++) {
			__u64 tag = evs[i].data.u64;

			if (tag == TAG_SIG) {
				struct signalfd_siginfo si;

				while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						daemon_reload(d, "SIGHUP");
					} else if (si.ssi_signo == SIGCHLD) {
						/* exec checks are reaped through their pidfds */
					} else {
						dlog(2, "stopping on signal %u; the data plane keeps serving",
						     si.ssi_signo);
						goto stop;
					}
				}
			} else if (tag == TAG_TIMER) {
				__u64 exp, now = now_ns();

				if (read(d->tfd, &exp, sizeof(exp)) < 0)
					continue;
				if (d->fresh)
					finish_joining(d, now);
				health_tick(d, now);
				peers_tick(d, now);
				if (d->settle_at && now >= d->settle_at && !d->fresh)
					apply_model(d, NULL, "transition windows ended");
				if (now >= d->next_second) {
					d->next_second = now + 1000000000ULL;
					every_second(d, now);
				}
			} else if (tag == TAG_INO) {
				on_inotify(d);
			} else if (tag == TAG_UDP) {
				peers_receive(d);
			} else if (tag == TAG_TCP) {
				peers_serve_tables(d);
			} else if (tag == TAG_ICMP) {
				peers_echo_receive(d);
			} else if (tag == TAG_CTL) {
				ctl_accept(d);
			} else if (tag >= TAG_CHECK) {
				health_event(d, (int)(tag - TAG_CHECK), evs[i].events);
			}
		}
	}
stop:
	peers_goodbye(d);
	metrics_stop(d);
	if (d->ctl >= 0)
		unlink(d->socket_path);
	health_free(d);
	peers_free(d);
	shoal_close(d->s);
	shoal_cluster_free(&d->cfg);
	return 0;
}

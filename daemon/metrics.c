// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Prometheus metrics on daemon.metrics (loopback by default). The main loop
 * renders the text once a second; the HTTP thread only hands out a copy, so it
 * never touches maps or daemon state.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shoald.h"

struct buf {
	char *p;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap ? b->cap * 2 : 65536) + (size_t)n;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			return;
	}
}

static void help(struct buf *b, const char *name, const char *type, const char *text)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

void metrics_update(struct daemon *d)
{
	const struct shoal_node_cfg *me = shoal_cluster_node_id(&d->cfg, d->self);
	const char *node = me ? me->name : "unknown";
	struct shoal_counter c[SHOAL_R_MAX], vc;
	struct shoal_vip *slots = NULL;
	struct shoal_bucket *t = NULL;
	__u32 m = shoal_m(d->s), b, *owned = NULL;
	struct buf out = { 0 };
	size_t i;
	int r, p;

	if (!d->mhd)
		return;
	help(&out, "shoal_info", "gauge", "This node; the value is always 1.");
	put(&out, "shoal_info{node=\"%s\",id=\"%u\",dev=\"%s\",prog_id=\"%d\"} 1\n", node, d->self,
	    d->dev_name, shoal_prog_id(d->s));
	if (!shoal_stats_read(d->s, c)) {
		help(&out, "shoal_packets_total", "counter",
		     "Packets the XDP program decided, by verdict reason.");
		for (r = 0; r < SHOAL_R_MAX; r++)
			put(&out, "shoal_packets_total{node=\"%s\",reason=\"%s\",action=\"%s\"} %llu\n",
			    node, shoal_reason_name(r),
			    shoal_action_name((__u32)shoal_reason_action(r)),
			    (unsigned long long)c[r].packets);
		help(&out, "shoal_bytes_total", "counter", "Bytes of those packets, by verdict reason.");
		for (r = 0; r < SHOAL_R_MAX; r++)
			put(&out, "shoal_bytes_total{node=\"%s\",reason=\"%s\"} %llu\n", node,
			    shoal_reason_name(r), (unsigned long long)c[r].bytes);
	}

	{
		__u64 e[SHOAL_E_MAX];

		help(&out, "shoal_flow_hash_nic", "gauge",
		     "1 when first-hop buckets are keyed on the NIC's RX hash, 0 for the software hash.");
		put(&out, "shoal_flow_hash_nic{node=\"%s\"} %d\n", node,
		    shoal_conf(d->s)->flow_hash == SHOAL_HASH_NIC);
		if (!shoal_events_read(d->s, e)) {
			help(&out, "shoal_hash_fallbacks_total", "counter",
			     "nic mode: first-hop packets keyed in software instead, by why.");
			for (r = 0; r < SHOAL_E_MAX; r++)
				put(&out, "shoal_hash_fallbacks_total{node=\"%s\",why=\"%s\"} %llu\n", node,
				    shoal_event_name(r), (unsigned long long)e[r]);
		}
	}

	/*
	 * The exposition format wants each family's samples together: families
	 * that come from one walk are gathered in their own buffers, then joined.
	 */
	slots = malloc(sizeof(*slots) * SHOAL_VIP_SLOTS);
	if (slots) {
		struct buf bytes = { 0 };

		shoal_vips_read(d->s, slots);
		help(&out, "shoal_vip_packets_total", "counter", "Packets for each VIP on this node.");
		help(&bytes, "shoal_vip_bytes_total", "counter", "Bytes for each VIP on this node.");
		for (i = 0; i < SHOAL_VIP_SLOTS; i++) {
			struct shoal_addr a = { .family = slots[i].family };
			char as[SHOAL_ADDRSTRLEN];

			if (!slots[i].family || (slots[i].flags & SHOAL_VIP_F_GUE) ||
			    shoal_vipstats_read(d->s, slots[i].id, &vc))
				continue;
			memcpy(a.a, slots[i].addr, sizeof(a.a));
			shoal_format_addr(&a, as);
			put(&out, "shoal_vip_packets_total{node=\"%s\",vip=\"%s\",port=\"%u\",protocol=\"%s\"} %llu\n",
			    node, as, ntohs(slots[i].port), shoal_proto_name(slots[i].proto),
			    (unsigned long long)vc.packets);
			put(&bytes, "shoal_vip_bytes_total{node=\"%s\",vip=\"%s\",port=\"%u\",protocol=\"%s\"} %llu\n",
			    node, as, ntohs(slots[i].port), shoal_proto_name(slots[i].proto),
			    (unsigned long long)vc.bytes);
		}
		if (bytes.p)
			put(&out, "%s", bytes.p);
		free(bytes.p);
	}

	t = malloc(sizeof(*t) * m);
	owned = calloc(SHOAL_MAX_NODES, sizeof(*owned));
	{
		struct buf trans = { 0 }, share = { 0 }, alld = { 0 };

		help(&out, "shoal_table_generation", "gauge", "Generation of each pool's bucket table.");
		help(&trans, "shoal_table_buckets_in_transition", "gauge",
		     "Buckets whose previous owner still gets a second chance.");
		help(&share, "shoal_table_bucket_share", "gauge",
		     "Share of each pool's buckets that each node owns.");
		help(&alld, "shoal_pool_all_drained", "gauge",
		     "1 if every member of the pool is drained, so drains are ignored, else 0.");
		for (p = 0; t && owned && p < SHOAL_MAX_POOLS; p++) {
			struct shoal_pool pool;
			__u32 transition = 0, now = shoal_now_ticks();

			if (shoal_pool_get(d->s, (__u8)p, &pool) || !(pool.flags & SHOAL_POOL_F_VALID) ||
			    shoal_table_read(d->s, (__u8)p, t))
				continue;
			memset(owned, 0, sizeof(*owned) * SHOAL_MAX_NODES);
			for (b = 0; b < m; b++) {
				owned[t[b].owner]++;
				transition += t[b].prev[0] && (__s32)(t[b].expire[0] - now) > 0;
			}
			put(&out, "shoal_table_generation{node=\"%s\",pool=\"%.32s\"} %llu\n", node,
			    pool.name, (unsigned long long)pool.gen);
			put(&trans, "shoal_table_buckets_in_transition{node=\"%s\",pool=\"%.32s\"} %u\n",
			    node, pool.name, transition);
			put(&alld, "shoal_pool_all_drained{node=\"%s\",pool=\"%.32s\"} %d\n", node,
			    pool.name, (int)((d->all_drained >> p) & 1));
			for (i = 0; i < d->cfg.nnodes; i++) {
				const struct shoal_node_cfg *n = &d->cfg.nodes[i];

				put(&share, "shoal_table_bucket_share{node=\"%s\",pool=\"%.32s\",owner=\"%s\"} %.6f\n",
				    node, pool.name, n->name, (double)owned[n->id] / m);
			}
		}
		if (trans.p)
			put(&out, "%s", trans.p);
		if (share.p)
			put(&out, "%s", share.p);
		if (alld.p)
			put(&out, "%s", alld.p);
		free(trans.p);
		free(share.p);
		free(alld.p);
	}

	help(&out, "shoal_peer_up", "gauge",
	     "1 if the peer counts as alive (heard, or presumed since start), else 0.");
	for (i = 0; i < d->npeers; i++)
		put(&out, "shoal_peer_up{node=\"%s\",peer=\"%s\"} %d\n", node, d->peers[i].name,
		    peer_counts(&d->peers[i]));
	help(&out, "shoal_peer_healthy", "gauge", "1 if the peer reports its service healthy.");
	for (i = 0; i < d->npeers; i++)
		put(&out, "shoal_peer_healthy{node=\"%s\",peer=\"%s\"} %d\n", node, d->peers[i].name,
		    d->peers[i].healthy);
	help(&out, "shoal_peer_flaps_total", "counter", "Times the peer died soon after returning.");
	for (i = 0; i < d->npeers; i++)
		put(&out, "shoal_peer_flaps_total{node=\"%s\",peer=\"%s\"} %u\n", node,
		    d->peers[i].name, d->peers[i].flaps);
	help(&out, "shoal_healthy", "gauge", "1 if every check of the local service passes.");
	put(&out, "shoal_healthy{node=\"%s\"} %d\n", node, d->healthy);
	help(&out, "shoal_check_up", "gauge", "Each local health check.");
	for (i = 0; i < d->nchecks; i++) {
		char esc[2 * sizeof(d->checks[i].label)], *e = esc;
		const char *l;

		/* Label values escape backslash, double quote and newline. */
		for (l = d->checks[i].label; *l; l++) {
			if (*l == '\\' || *l == '"' || *l == '\n')
				*e++ = '\\';
			*e++ = *l == '\n' ? 'n' : *l;
		}
		*e = '\0';
		put(&out, "shoal_check_up{node=\"%s\",check=\"%s\"} %d\n", node, esc,
		    d->checks[i].healthy);
	}
	help(&out, "shoal_config_reloads_total", "counter", "Config loads attempted.");
	put(&out, "shoal_config_reloads_total{node=\"%s\"} %u\n", node, d->reloads);
	help(&out, "shoal_config_reload_errors_total", "counter", "Config loads refused.");
	put(&out, "shoal_config_reload_errors_total{node=\"%s\"} %u\n", node, d->reload_failures);
	help(&out, "shoal_config_last_reload_ok", "gauge", "1 if the last load succeeded.");
	put(&out, "shoal_config_last_reload_ok{node=\"%s\"} %d\n", node, !d->reload_error[0]);
	help(&out, "shoal_heartbeats_total", "counter", "Heartbeats sent, received and rejected.");
	put(&out, "shoal_heartbeats_total{node=\"%s\",kind=\"sent\"} %u\n", node, d->hb_sent);
	put(&out, "shoal_heartbeats_total{node=\"%s\",kind=\"received\"} %u\n", node, d->hb_received);
	put(&out, "shoal_heartbeats_total{node=\"%s\",kind=\"rejected\"} %u\n", node, d->hb_rejected);
	help(&out, "shoal_table_syncs_total", "counter", "Times this node took the leader's tables.");
	put(&out, "shoal_table_syncs_total{node=\"%s\"} %u\n", node, d->table_syncs);

	free(slots);
	free(t);
	free(owned);
	pthread_mutex_lock(&d->lock);
	free(d->metrics_text);
	d->metrics_text = out.p;
	pthread_mutex_unlock(&d->lock);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	static const char nf[] = "not found: try /metrics\n";
	struct daemon *d = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *copy;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") || strcmp(url, "/metrics")) {
		r = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, MHD_HTTP_NOT_FOUND, r);
		MHD_destroy_response(r);
		return ret;
	}
	pthread_mutex_lock(&d->lock);
	copy = strdup(d->metrics_text ? d->metrics_text : "");
	pthread_mutex_unlock(&d->lock);
	if (!copy)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int metrics_setup(struct daemon *d)
{
	const char *where = d->metrics_override ? d->metrics_override : d->cfg.daemon.metrics;
	struct sockaddr_storage ss = {};
	struct shoal_addr a;
	__u16 port;

	if (!where || !*where)
		return 0;
	if (shoal_parse_endpoint(where, &a, &port)) {
		dlog(0, "metrics: '%s' is not ADDR:PORT", where);
		return -1;
	}
	if (a.family == 4) {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, &a.a[0], 4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a.a, 16);
	}
	d->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (a.family == 6 ? MHD_USE_IPv6 : 0),
				  port, NULL, NULL, &handle, d, MHD_OPTION_SOCK_ADDR, &ss,
				  MHD_OPTION_CONNECTION_TIMEOUT, 5U, MHD_OPTION_END);
	if (!d->mhd) {
		dlog(0, "metrics: cannot listen on %s", where);
		return -1;
	}
	metrics_update(d);
	dlog(2, "metrics on http://%s/metrics", where);
	return 0;
}

void metrics_stop(struct daemon *d)
{
	if (d->mhd)
		MHD_stop_daemon(d->mhd);
	d->mhd = NULL;
}

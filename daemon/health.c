// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Checks of the local service behind each VIP: TCP connect, HTTP GET with an
 * expected status, or a command's exit status; with interval, timeout, rise and
 * fall as keepalived has them. A node whose checks fail drains (no new flows,
 * its connections go on) and comes back when they pass again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shoald.h"

#define TAG_CHECK 1000	/* shoald.c's epoll tag base for check fds */

static void check_stop(struct daemon *d, struct check *k)
{
	if (k->fd >= 0) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, k->fd, NULL);
		close(k->fd);
		k->fd = -1;
	}
	if (k->pidfd >= 0) {
		epoll_ctl(d->ep, EPOLL_CTL_DEL, k->pidfd, NULL);
		close(k->pidfd);
		k->pidfd = -1;
	}
	if (k->pid > 0) {
		kill(-k->pid, SIGKILL);
		kill(k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
		k->pid = 0;
	}
	k->len = 0;
}

static void node_health(struct daemon *d)
{
	bool healthy = true;
	size_t i;

	for (i = 0; i < d->nchecks; i++)
		healthy &= d->checks[i].healthy;
	if (healthy == d->healthy)
		return;
	d->healthy = healthy;
	dlog(healthy ? 2 : 1, "local service %s: this node %s", healthy ? "healthy" : "failing",
	     healthy ? "takes new flows again" : "drains (its connections go on)");
	daemon_reapply(d, healthy ? "service healthy" : "service failing");
}

static void result(struct daemon *d, struct check *k, bool ok, const char *why)
{
	__u64 now = now_ns();

	check_stop(d, k);
	k->next_due = now + k->cfg.interval_ns;
	if (ok) {
		k->bad_run = 0;
		k->ok_run++;
		k->last_error[0] = '\0';
		if (!k->healthy && k->ok_run >= k->cfg.rise) {
			k->healthy = true;
			k->last_change = now;
			dlog(2, "check %s: up", k->label);
		}
	} else {
		k->ok_run = 0;
		k->bad_run++;
		snprintf(k->last_error, sizeof(k->last_error), "%s", why);
		if (k->healthy && k->bad_run >= k->cfg.fall) {
			k->healthy = false;
			k->last_change = now;
			dlog(1, "check %s: down (%s)", k->label, why);
		}
	}
	node_health(d);
}

static void start_socket(struct daemon *d, struct check *k)
{
	struct sockaddr_storage ss = {};
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };
	socklen_t len;

	if (k->addr.family == 4) {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(k->port);
		memcpy(&s4->sin_addr, &k->addr.a[0], 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(k->port);
		memcpy(&s6->sin6_addr, k->addr.a, 16);
		len = sizeof(*s6);
	}
	k->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->fd < 0) {
		result(d, k, false, strerror(errno));
		return;
	}
	if (connect(k->fd, (void *)&ss, len) && errno != EINPROGRESS) {
		result(d, k, false, strerror(errno));
		return;
	}
	ev.data.u64 = TAG_CHECK + (__u64)k->fd;
	epoll_ctl(d->ep, EPOLL_CTL_ADD, k->fd, &ev);
}

/*
 * The command runs under /bin/sh with the daemon's environment plus
 * SHOAL_NODE, SHOAL_VIP and SHOAL_PORT, so one command line serves every node
 * (a maintenance file per node, say). The environment is built before fork():
 * the metrics server runs threads, and the child may only make async-signal-safe
 * calls until execve().
 */
extern char **environ;

static void start_exec(struct daemon *d, struct check *k)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const struct shoal_node_cfg *me = shoal_cluster_node_id(&d->cfg, d->self);
	char node[80], vip[32 + SHOAL_ADDRSTRLEN], port[32], a[SHOAL_ADDRSTRLEN];
	char *argv[] = { "sh", "-c", k->cfg.command, NULL };
	size_t n = 0, i;
	char **envp;
	pid_t pid;

	while (environ[n])
		n++;
	envp = calloc(n + 4, sizeof(*envp));
	if (!envp) {
		result(d, k, false, "out of memory");
		return;
	}
	snprintf(node, sizeof(node), "SHOAL_NODE=%s", me ? me->name : "");
	snprintf(vip, sizeof(vip), "SHOAL_VIP=%s", shoal_format_addr(&k->addr, a));
	snprintf(port, sizeof(port), "SHOAL_PORT=%u", k->port);
	for (i = 0; i < n; i++)
		envp[i] = environ[i];
	envp[n] = node;
	envp[n + 1] = vip;
	envp[n + 2] = port;
	pid = fork();
	if (pid < 0) {
		free(envp);
		result(d, k, false, strerror(errno));
		return;
	}
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		setpgid(0, 0);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	free(envp);
	setpgid(pid, pid);	/* as the child does: whichever runs first, kill(-pid) reaches it */
	k->pid = pid;
	k->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (k->pidfd < 0) {
		result(d, k, false, "pidfd_open failed");
		return;
	}
	ev.data.u64 = TAG_CHECK + (__u64)k->pidfd;
	epoll_ctl(d->ep, EPOLL_CTL_ADD, k->pidfd, &ev);
}

void health_tick(struct daemon *d, __u64 now)
{
	size_t i;

	for (i = 0; i < d->nchecks; i++) {
		struct check *k = &d->checks[i];

		if (k->fd >= 0 || k->pid > 0) {
			if (now >= k->deadline)
				result(d, k, false, "timed out");
			continue;
		}
		if (now < k->next_due)
			continue;
		k->deadline = now + k->cfg.timeout_ns;
		if (k->cfg.type == SHOAL_HEALTH_EXEC)
			start_exec(d, k);
		else
			start_socket(d, k);
	}
}

static void on_socket(struct daemon *d, struct check *k, __u32 events)
{
	int err = 0;
	socklen_t l = sizeof(err);
	ssize_t n;

	if (k->len == 0 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			result(d, k, false, strerror(err));
			return;
		}
		if (k->cfg.type == SHOAL_HEALTH_TCP) {
			result(d, k, true, NULL);
			return;
		}
		if (k->len == 0) {
			char req[256];
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.u64 = TAG_CHECK + (__u64)k->fd };
			char host[SHOAL_ADDRSTRLEN];
			int rl = snprintf(req, sizeof(req),
					  "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: shoald\r\n"
					  "Connection: close\r\n\r\n",
					  k->cfg.path, shoal_format_addr(&k->addr, host));

			if (write(k->fd, req, (size_t)rl) != rl) {
				result(d, k, false, "request not sent");
				return;
			}
			epoll_ctl(d->ep, EPOLL_CTL_MOD, k->fd, &ev);
			k->len = 1;	/* request sent; buf holds the reply from offset 1 */
			return;
		}
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = read(k->fd, k->buf + k->len - 1, sizeof(k->buf) - k->len);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0)
		k->len += (size_t)n;
	if (n > 0 && !memchr(k->buf, '\n', k->len - 1) && k->len < sizeof(k->buf))
		return;
	k->buf[k->len - 1] = '\0';
	{
		unsigned int status = 0;
		char why[64];

		if (sscanf(k->buf, "HTTP/%*d.%*d %u", &status) != 1) {
			result(d, k, false, "no HTTP status line");
			return;
		}
		if (status != k->cfg.expect) {
			snprintf(why, sizeof(why), "HTTP status %u, expected %u", status, k->cfg.expect);
			result(d, k, false, why);
			return;
		}
		result(d, k, true, NULL);
	}
}

void health_event(struct daemon *d, int fd, __u32 events)
{
	size_t i;

	for (i = 0; i < d->nchecks; i++) {
		struct check *k = &d->checks[i];

		if (k->fd == fd) {
			on_socket(d, k, events);
			return;
		}
		if (k->pidfd == fd) {
			int status = 0;
			char why[64];

			if (waitpid(k->pid, &status, WNOHANG) <= 0)
				return;
			k->pid = 0;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				result(d, k, true, NULL);
			} else {
				snprintf(why, sizeof(why), "command %s %d",
					 WIFEXITED(status) ? "exited" : "killed by signal",
					 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
				result(d, k, false, why);
			}
			return;
		}
	}
}

/*
 * Checks start healthy (a restart must not drain a serving node) and keep their
 * state across reloads when they are the same check.
 */
void health_setup(struct daemon *d)
{
	struct check *old = d->checks;
	size_t nold = d->nchecks, i, j;
	struct check *k;

	d->checks = calloc(d->cfg.nvips ? d->cfg.nvips : 1, sizeof(*d->checks));
	d->nchecks = 0;
	if (!d->checks)
		return;
	for (i = 0; i < d->cfg.nvips; i++) {
		const struct shoal_vip_cfg *v = &d->cfg.vips[i];
		char a[SHOAL_ADDRSTRLEN];

		if (v->health.type == SHOAL_HEALTH_NONE)
			continue;
		k = &d->checks[d->nchecks];
		memset(k, 0, sizeof(*k));
		k->cfg = v->health;
		k->addr = v->addr;
		k->port = v->health.port ? v->health.port : v->port;
		k->fd = k->pidfd = -1;
		k->healthy = true;
		shoal_format_addr(&v->addr, a);
		if (k->cfg.type == SHOAL_HEALTH_EXEC)
			snprintf(k->label, sizeof(k->label), "exec '%.60s'", k->cfg.command);
		else
			snprintf(k->label, sizeof(k->label), "%s %s:%u%.100s",
				 k->cfg.type == SHOAL_HEALTH_HTTP ? "http" : "tcp", a, k->port,
				 k->cfg.type == SHOAL_HEALTH_HTTP ? k->cfg.path : "");
		for (j = 0; j < d->nchecks; j++) {
			if (!strcmp(d->checks[j].label, k->label))
				break;
		}
		if (j < d->nchecks)
			continue;	/* the same check for another VIP on one service */
		for (j = 0; j < nold; j++) {
			if (!strcmp(old[j].label, k->label)) {
				k->healthy = old[j].healthy;
				k->ok_run = old[j].ok_run;
				k->bad_run = old[j].bad_run;
				k->last_change = old[j].last_change;
				snprintf(k->last_error, sizeof(k->last_error), "%s", old[j].last_error);
			}
		}
		d->nchecks++;
	}
	for (j = 0; j < nold; j++)
		check_stop(d, &old[j]);
	free(old);
	d->healthy = true;
	for (i = 0; i < d->nchecks; i++)
		d->healthy &= d->checks[i].healthy;
}

void health_free(struct daemon *d)
{
	(void)d;	/* health_setup() carries state over and frees the old checks */
}

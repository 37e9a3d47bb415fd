// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Small parsers and formatters: MACs, addresses, numbers, durations, primes. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int shoal_parse_mac(const char *s, __u8 mac[6])
{
	int i;

	for (i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (__u8)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

void shoal_format_mac(const __u8 mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

int shoal_parse_addr(const char *s, struct shoal_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->a[0]) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = 6;
		return 0;
	}
	return -EINVAL;
}

const char *shoal_format_addr(const struct shoal_addr *a, char buf[SHOAL_ADDRSTRLEN])
{
	if (a->family == 4)
		inet_ntop(AF_INET, &a->a[0], buf, SHOAL_ADDRSTRLEN);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->a, buf, SHOAL_ADDRSTRLEN);
	else
		snprintf(buf, SHOAL_ADDRSTRLEN, "-");
	return buf;
}

bool shoal_addr_eq(const struct shoal_addr *x, const struct shoal_addr *y)
{
	return x->family == y->family && !memcmp(x->a, y->a, sizeof(x->a));
}

int shoal_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int shoal_parse_endpoint(const char *s, struct shoal_addr *a, __u16 *port)
{
	char host[64];
	const char *colon, *p;
	unsigned long long v;
	bool bracketed = s[0] == '[';
	size_t n;

	if (bracketed) {
		colon = strchr(s, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		n = (size_t)(colon - s - 1);
		p = colon + 2;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
		p = colon + 1;
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	/* An IPv6 address needs brackets: "2001:db8::1:443" is ambiguous. */
	if (!bracketed && memchr(s, ':', n))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (shoal_parse_addr(host, a))
		return -EINVAL;
	if (shoal_parse_uint(p, 65535, &v))
		return -EINVAL;
	*port = (__u16)v;
	return 0;
}

int shoal_parse_duration(const char *s, __u64 *ns)
{
	__u64 total = 0;
	bool any = false;

	if (!*s)
		return -EINVAL;
	while (*s) {
		unsigned long long v = 0;
		__u64 unit;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (unsigned long long)(*s++ - '0');
			if (v > 100000000ULL)
				return -ERANGE;
		}
		switch (*s) {
		case 'h': unit = 3600ULL * 1000000000ULL; s++; break;
		case 'm':
			if (s[1] == 's') {
				unit = 1000000ULL;
				s += 2;
			} else {
				unit = 60ULL * 1000000000ULL;
				s++;
			}
			break;
		case 's': unit = 1000000000ULL; s++; break;
		case '\0':
			if (any)
				return -EINVAL;
			unit = 1000000000ULL;
			break;
		default:
			return -EINVAL;
		}
		total += v * unit;
		if (total > 366ULL * 86400 * 1000000000ULL)
			return -ERANGE;
		any = true;
	}
	*ns = total;
	return 0;
}

void shoal_format_duration(__u64 ns, char *buf, size_t len)
{
	__u64 s = ns / 1000000000ULL;

	if (s >= 3600 && s % 60 == 0)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
}

int shoal_parse_hex128(const char *s, __u64 out[2])
{
	int i;

	if (strlen(s) != 32)
		return -EINVAL;
	out[0] = out[1] = 0;
	for (i = 0; i < 32; i++) {
		int v = hexval(s[i]);

		if (v < 0)
			return -EINVAL;
		out[i / 16] = out[i / 16] << 4 | (__u64)v;
	}
	return 0;
}

int shoal_parse_proto(const char *s, __u8 *proto)
{
	if (!strcasecmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcasecmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

const char *shoal_proto_name(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

bool shoal_is_prime(__u32 n)
{
	__u32 d;

	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (d = 3; (__u64)d * d <= n; d += 2) {
		if (n % d == 0)
			return false;
	}
	return true;
}

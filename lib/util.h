/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Small parsers and formatters: MACs, addresses, numbers, durations, primes. */
#ifndef SHOAL_UTIL_H
#define SHOAL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define SHOAL_ADDRSTRLEN 46	/* INET6_ADDRSTRLEN */

/* An IPv4 or IPv6 address, network byte order; IPv4 in a[0]. family 0 = none. */
struct shoal_addr {
	__u8 family;
	__u32 a[4];
};

int shoal_parse_mac(const char *s, __u8 mac[6]);
void shoal_format_mac(const __u8 mac[6], char buf[18]);
int shoal_parse_addr(const char *s, struct shoal_addr *a);
const char *shoal_format_addr(const struct shoal_addr *a, char buf[SHOAL_ADDRSTRLEN]);
bool shoal_addr_eq(const struct shoal_addr *x, const struct shoal_addr *y);
/* "ADDR:PORT" or "[V6ADDR]:PORT"; port in host order. */
int shoal_parse_endpoint(const char *s, struct shoal_addr *a, __u16 *port);
/* Strict unsigned decimal, no sign, no trailing junk, at most max. */
int shoal_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
/* "90", "90s", "10m", "2h", "1h30m", "500ms" -> nanoseconds */
int shoal_parse_duration(const char *s, __u64 *ns);
void shoal_format_duration(__u64 ns, char *buf, size_t len);
int shoal_parse_hex128(const char *s, __u64 out[2]);
int shoal_parse_proto(const char *s, __u8 *proto);
const char *shoal_proto_name(__u8 proto);
bool shoal_is_prime(__u32 n);

#endif /* SHOAL_UTIL_H */

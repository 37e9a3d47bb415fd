/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Checks the fixture suites share: one counter moved, under the expected reason; passed untouched. */
#ifndef SHOAL_TEST_EXPECT_H
#define SHOAL_TEST_EXPECT_H

/* Include after <cmocka.h> and "fixture.h". */

/* Exactly one reason counter moved, by one, and it is `reason`; the traced run agrees. */
static inline void expect_reason(const struct fx_result *r, int reason)
{
	if (r->reason != reason)
		fail_msg("reason: got %s, want %s", r->reason < 0 ? "(none or several)" :
			 shoal_reason_name(r->reason), shoal_reason_name(reason));
	assert_int_equal(r->moved, 1);
	assert_int_equal(r->trace.reason, reason);
}

/* Passed up under `reason`, the frame as it came. */
static inline void expect_pass(const struct fx_result *r, int reason)
{
	expect_reason(r, reason);
	assert_int_equal(r->action, XDP_PASS);
	assert_int_equal(r->out_len, r->in_len);
	assert_memory_equal(r->out, r->in, r->in_len);
}

#endif /* SHOAL_TEST_EXPECT_H */

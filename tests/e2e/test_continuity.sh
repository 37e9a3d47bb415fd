#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Invariant I2 on real TCP stacks, on one L2 segment: 200 long-lived connections stream
# and check every byte while a node drains, a node joins, the drained node leaves,
# weights change and the router's ECMP set changes. No connection may break; new
# connections made during each change must all succeed (e2e_continuity in lib.sh).
. "$(dirname "$0")/lib.sh"

e2e_up 4 ecmp
e2e_continuity 200
e2e_done

#!/usr/bin/env bats
# The test sandbox (tests/integration/in-sandbox) sees only its own objects:
# a sandbox made while a lab and a named netns exist around it finds no
# netns, no nslab process, no mount under its /run but its own tmpfs, and
# detaching its copies of the outer mounts leaves the outer ones in place.

load helpers

@test "sandbox: a new sandbox sees none of the labs and netns around it, and leaves them alone" {
  "$NSLAB" up "$SEED" >/dev/null
  ip netns add foreign
  run unshare --net --mount --pid --fork --mount-proc --kill-child \
    env BATS_TEST_DIRNAME="$BATS_TEST_DIRNAME" "$REPO/tests/integration/in-sandbox" bash -c '
      . "$BATS_TEST_DIRNAME/helpers.bash"
      leftovers
      ip netns list
      awk '\''$5 == "/run" || index($5, "/run/") == 1 { print $5 }'\'' /proc/self/mountinfo'
  [ "$status" -eq 0 ]
  [ "$output" = "/run" ]
  # Still there outside: the sandbox detached only its own copies.
  ip netns list | grep -x foreign >/dev/null
  grep -E ' /run/netns/foreign ' /proc/self/mountinfo >/dev/null
  "$NSLAB" status k3s >/dev/null
  ip netns del foreign
  "$NSLAB" down k3s >/dev/null
}

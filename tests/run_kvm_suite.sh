#!/usr/bin/env bash
# The whole test suite on the KVM backend (hal/kvm.py), on demand.
#
# CI (.ci/run) runs the whole suite on KVM beside the one on Unicorn. This runs everything with
# CLOUDOS_BACKEND=kvm, in one pytest session (the guest programs are compiled once),
# and says how long it took. It fails at once where /dev/kvm cannot be used, rather than
# let the suite quietly run on Unicorn. Arguments go to pytest:
#
#   tests/run_kvm_suite.sh                 # everything
#   tests/run_kvm_suite.sh tests/guest -x  # a part, stop at the first failure
#
# Tests that check something one backend cannot show say so in their skip reason or
# branch on the ``guest_backend`` fixture (tests/conftest.py); tests/hal runs both
# backends whatever CLOUDOS_BACKEND says.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! reason=$(python3 -c 'import sys
from cloudos.hal.kvm import unavailable
why = unavailable()
print(why or "")
sys.exit(why is not None)'); then
    echo "run_kvm_suite: KVM cannot be used here: $reason" >&2
    exit 2
fi

# (PYTHONDONTWRITEBYTECODE makes every guest start recompile CloudOS: ~0.3 s each)
start=$(date +%s)
status=0
CLOUDOS_BACKEND=kvm env -u PYTHONDONTWRITEBYTECODE python3 -m pytest -q "${@:-tests}" || status=$?
echo "run_kvm_suite: pytest exited $status after $(( $(date +%s) - start )) s on KVM"
exit "$status"

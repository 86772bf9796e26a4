#!/bin/sh
# Run by the release step against the released copy: the app must answer, and answer right.
set -eu
cd "$(dirname "$0")"
answer=$(python3 -m sample_app 2 3)
if [ "$answer" != "5" ]; then
    echo "smoke test failed: 2 + 3 gave '$answer'" >&2
    exit 1
fi
echo "smoke test passed: 2 + 3 = $answer"

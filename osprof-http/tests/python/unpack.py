"""Verifies a header pair with OSProfiler's own signed_unpack; prints the result as JSON."""
import json
import sys

from osprofiler import _utils

info, hmac, keys = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
print(json.dumps(_utils.signed_unpack(info, hmac, keys)))

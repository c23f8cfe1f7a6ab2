"""A Python OSProfiler client: starts a trace, calls URL with its signed headers.

Prints {"base_id", "span_id", "body"} as JSON.
"""
import json
import sys
import urllib.request

from osprofiler import profiler, web

url = sys.argv[1]
profiler.init("SECRET_KEY")
with profiler.Trace("python-client"):
    trace = profiler.get()
    request = urllib.request.Request(url, headers=web.get_trace_id_headers())
    body = urllib.request.urlopen(request).read().decode()
    print(json.dumps({"base_id": trace.get_base_id(), "span_id": trace.get_id(), "body": body}))

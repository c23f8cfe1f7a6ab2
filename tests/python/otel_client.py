"""An OpenTelemetry caller: starts a span with the OpenTelemetry SDK, puts its context in
`traceparent` with the SDK's propagator and, when given a key, signs it for osprof in
`tracestate` as osprof_core::web documents (osprof=1:<expires>:<HMAC-SHA256 of
"<traceparent>;<expires>">), implemented here from that text alone. Then GETs the URL.

Usage: otel_client.py URL [KEY [EXPIRES_IN_SECONDS]]
Prints {"trace_id", "span_id", "server_timing", "body"} as JSON.
"""
import hashlib
import hmac
import json
import sys
import time
import urllib.request

from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider

trace.set_tracer_provider(TracerProvider())
tracer = trace.get_tracer("otel-caller")

url = sys.argv[1]
key = sys.argv[2] if len(sys.argv) > 2 else None
expires_in = int(sys.argv[3]) if len(sys.argv) > 3 else 300

with tracer.start_as_current_span("call") as span:
    headers = {}
    inject(headers)
    if key is not None:
        expires = int(time.time()) + expires_in
        signed = "%s;%d" % (headers["traceparent"], expires)
        mac = hmac.new(key.encode(), signed.encode(), hashlib.sha256).hexdigest()
        entry = "osprof=1:%d:%s" % (expires, mac)
        headers["tracestate"] = entry + ("," + headers["tracestate"] if "tracestate" in headers else "")
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        context = span.get_span_context()
        print(json.dumps({
            "trace_id": format(context.trace_id, "032x"),
            "span_id": format(context.span_id, "016x"),
            "server_timing": response.headers.get("Server-Timing"),
            "body": response.read().decode(),
        }))

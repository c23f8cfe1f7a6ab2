"""Sends a trace as oslo.messaging notifications with OSProfiler's own messaging driver:
argv = transport URL (rabbit://...), base id. Two spans (wsgi > db)."""
import sys

from oslo_config import cfg
from osprofiler import opts
from osprofiler.drivers import messaging

opts.set_defaults(cfg.CONF)
cfg.CONF([], project="osprof-test")

transport_url, base = sys.argv[1], sys.argv[2]
driver = messaging.Messaging("messaging://", project="nova", service="api",
                             host="python-host", context={}, conf=cfg.CONF,
                             transport_url=transport_url)


def event(name, trace_id, parent_id, at):
    return {"name": name, "base_id": base, "trace_id": trace_id, "parent_id": parent_id,
            "timestamp": "2026-11-22T10:00:00.%06d" % at, "info": {"host": "python-host"}}


driver.notify(event("wsgi-start", "w", base, 0))
driver.notify(event("db-start", "d", "w", 1000))
driver.notify(event("db-stop", "d", "w", 3000))
driver.notify(event("wsgi-stop", "w", base, 5000))
driver.transport.cleanup()

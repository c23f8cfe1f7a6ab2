"""Writes a trace to Redis with OSProfiler's own redis driver: argv = connection string,
base id. Two spans (wsgi > db), plus one event under the legacy `osprofiler:` layout."""
import sys

import redis
from oslo_config import cfg
from oslo_serialization import jsonutils
from osprofiler import opts
from osprofiler.drivers import redis_driver

opts.set_defaults(cfg.CONF)

connection, base = sys.argv[1], sys.argv[2]
driver = redis_driver.Redis(connection, project="nova", service="api", host="python-host")


def event(name, trace_id, parent_id, at):
    return {"name": name, "base_id": base, "trace_id": trace_id, "parent_id": parent_id,
            "timestamp": "2026-11-22T10:00:00.%06d" % at, "info": {"host": "python-host"}}


driver.notify(event("wsgi-start", "w", base, 0))
driver.notify(event("db-start", "d", "w", 1000))
driver.notify(event("db-stop", "d", "w", 3000))
driver.notify(event("wsgi-stop", "w", base, 5000))
# OSProfiler before the list layout: one key per event.
legacy = dict(event("rpc-start", "r", "w", 3500), project="nova", service="api")
redis.Redis.from_url(connection).set("osprofiler:%s_r" % base, jsonutils.dumps(legacy))

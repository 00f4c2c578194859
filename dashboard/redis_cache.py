"""Django's built-in Redis cache, with one Redis client per connection pool.

The built-in backend makes a new `redis.Redis` for every operation (to pick a pool), and
building one costs more than a GET on loopback (it sets up some 170 response callbacks). A
client is a thin, thread-safe handle on its pool, so one per pool serves every thread.
"""

from __future__ import annotations

import threading

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            with self._clients_lock:
                client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
